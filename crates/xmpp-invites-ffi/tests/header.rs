//! The checked-in header is exactly what the pinned cbindgen generates from
//! the sources now.

use std::path::PathBuf;

#[test]
fn checked_in_header_is_current() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::generate_with_config(&crate_dir, config)
        .unwrap()
        .write(&mut generated);
    let checked_in = std::fs::read(crate_dir.join("../../include/xmpp_invites.h"))
        .expect("include/xmpp_invites.h is missing: cargo run -p xmpp-invites-ffi --example generate_header");
    assert!(
        generated == checked_in,
        "include/xmpp_invites.h is stale: regenerate with `cargo run -p xmpp-invites-ffi --example generate_header`"
    );
}
