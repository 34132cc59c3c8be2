//! Writes include/xmpp_invites.h from this crate's sources with the pinned
//! cbindgen: `cargo run -p xmpp-invites-ffi --example generate_header`.
//! The build itself never writes into the source tree; tests/header.rs
//! fails when the checked-in header differs from what this produces.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = crate_dir.join("../../include/xmpp_invites.h");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    cbindgen::generate_with_config(&crate_dir, config)
        .expect("cbindgen could not read the crate")
        .write_to_file(&out);
    println!("wrote {}", out.display());
}
