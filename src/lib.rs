//! Support for the workspace's cross-language suites: the shared test
//! vectors in `tests/vectors/`, read by the Rust tests here and by the C and
//! Lua suites.

use std::path::PathBuf;

/// The folder holding the shared vectors.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

/// Reads and parses `tests/vectors/<name>`.
pub fn load_vectors(name: &str) -> serde_json::Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
