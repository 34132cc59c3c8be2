//! Links GCC's unwinder into the module statically, on Linux with glibc,
//! for Lua 5.3 and 5.4.
//!
//! Rust's standard library links `libgcc_s.so.1` (the unwinder behind
//! panics and backtraces). A plain interpreter has not loaded it yet, and
//! loading it made up about a third of `require "xmpp_invites"` (about
//! 180 µs of 510 µs, median of 150 alternating runs). With the static
//! unwinder (`libgcc_eh.a`, whose symbols are hidden) the module needs
//! only libc, libm and the dynamic loader. With Debian 12's GCC the static
//! unwinder finds frames through `_dl_find_object`, so the module then
//! needs glibc 2.35 or later (2.34 with `libgcc_s`).
//!
//! Lua 5.3 and 5.4 raise errors with `longjmp`, so the unwinder only ever
//! serves the module's own panics, which are caught inside it. LuaJIT
//! raises errors as exceptions through `libgcc_s` that unwind through the
//! module's frames, whose personality routine then calls the unwinder's
//! accessors: the static copy's accessors do not work on a context the
//! shared one made (GCC 12's `_Unwind_SetGR` aborts), so the LuaJIT build
//! keeps `libgcc_s`. So does the Lua 5.1 build, which LuaJIT loads too
//! (both ABIs share `package.cpath` on Debian). So should a build for a
//! Lua compiled as C++, whose errors are C++ exceptions: set
//! `XMPP_INVITES_SHARED_LIBGCC=1` (`0` or unset: static where possible;
//! any other value stops the build).
//!
//! How: rustc asks for `-lgcc_s`. A linker script of that name in a
//! directory searched first names `libgcc_eh.a` instead (what the C
//! driver's `-static-libgcc` does, which rustc's explicit `-lgcc_s`
//! bypasses). Where `cc` (or the linker cargo was told to use) reports no
//! `libgcc_eh.a`, and in cross builds, whose linker may need flags this
//! script does not see to find the target's archive, nothing changes.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=XMPP_INVITES_SHARED_LIBGCC");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let shared = match var("XMPP_INVITES_SHARED_LIBGCC").as_str() {
        "" | "0" => false,
        "1" => true,
        other => panic!("XMPP_INVITES_SHARED_LIBGCC must be 0 or 1, not {other:?}"),
    };
    // The features exclude each other: the Lua 5.1 and LuaJIT builds keep
    // libgcc_s.
    let lua53_or_54 = ["CARGO_FEATURE_LUA53", "CARGO_FEATURE_LUA54"]
        .iter()
        .any(|f| env::var_os(f).is_some());
    if shared
        || !lua53_or_54
        || var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
    {
        return;
    }
    // The linker driver cargo was told to use, else rustc's default.
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    let Ok(out) = Command::new(&linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        println!("cargo:warning=`{linker}` did not run: keeping libgcc_s");
        return;
    };
    let found = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // The path goes into the script in quotes.
    let quotable = found.to_str().is_some_and(|p| !p.contains('"'));
    if !out.status.success() || !found.is_absolute() || !found.is_file() || !quotable {
        println!("cargo:warning=no libgcc_eh.a from `{linker}`: keeping libgcc_s");
        return;
    }
    let dir = PathBuf::from(var("OUT_DIR")).join("static-libgcc");
    let script = format!("INPUT(\"{}\")\n", found.display());
    let written =
        fs::create_dir_all(&dir).and_then(|()| fs::write(dir.join("libgcc_s.so"), script));
    if let Err(e) = written {
        println!("cargo:warning=cannot write the libgcc_s script: {e}; keeping libgcc_s");
        return;
    }
    // A compiler upgrade that moves or removes the archive runs this again.
    println!("cargo:rerun-if-changed={}", found.display());
    println!("cargo:rustc-link-search=native={}", dir.display());
}
