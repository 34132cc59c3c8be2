//! Links GCC's unwinder into the module statically, on Linux with glibc,
//! for every Lua but LuaJIT.
//!
//! Rust's standard library links `libgcc_s.so.1` (the unwinder behind
//! panics and backtraces). A plain interpreter has not loaded it yet, and
//! loading it made up about a third of `require "xmpp_invites"` (about
//! 180 µs of 510 µs, median of 150 alternating runs). With the static
//! unwinder (`libgcc_eh.a`, whose symbols are hidden) the module needs
//! only libc and libm.
//!
//! The unwinder is only ever used for the module's own panics, which are
//! caught inside it: Lua 5.1 to 5.4 raise errors with `longjmp`. LuaJIT
//! raises them as exceptions through `libgcc_s`, which unwind through the
//! module's frames and call their personality routine, and GCC advises
//! that code which exceptions cross share one unwinder; so the LuaJIT
//! build keeps `libgcc_s`. So should a build for a Lua compiled as C++
//! (whose errors are C++ exceptions): set `XMPP_INVITES_SHARED_LIBGCC=1`.
//!
//! How: rustc asks for `-lgcc_s`. A linker script of that name in a
//! directory searched first names `libgcc_eh.a` instead (what the C
//! driver's `-static-libgcc` does, which rustc's explicit `-lgcc_s`
//! bypasses). Where the linker cannot find `libgcc_eh.a`, or a cross build
//! names no linker to ask, nothing changes.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=XMPP_INVITES_SHARED_LIBGCC");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || env::var_os("CARGO_FEATURE_LUAJIT").is_some()
        || !matches!(var("XMPP_INVITES_SHARED_LIBGCC").as_str(), "" | "0")
    {
        return;
    }
    // The linker driver cargo resolved for the target, else rustc's
    // default, which is the target's only when not cross-compiling (a
    // linker given in RUSTFLAGS is not visible here).
    let linker = match env::var("RUSTC_LINKER") {
        Ok(linker) => linker,
        Err(_) if var("TARGET") == var("HOST") => "cc".to_owned(),
        Err(_) => return,
    };
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
