//! What the fuzz targets share: how an input is cut into a control block
//! and string fields, a bounded JSON value built from fuzz bytes, and the
//! shared test vectors (compiled in, so the targets follow the vectors).
//!
//! Input layout of the field-based targets (`token`, `c_api`,
//! `uri_roundtrip`, `template`): an optional fixed-size control block, then
//! fields separated by NUL bytes. NUL is the separator because a C string
//! cannot hold one; `seed.py` writes the same layout from the vectors.

use arbitrary::Unstructured;
use serde_json::{Map, Value};

/// The shared vectors, as in `tests/vectors/`.
pub mod vectors {
    /// Records captured from a real Prosody 0.12.3.
    pub const PROSODY_RECORDS: &str = include_str!("../../tests/vectors/prosody_records.json");
}

/// A fixed-size control block read front to back; bytes past the end of the
/// input read as zero, so every input has one.
pub struct Ctrl<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Ctrl<'a> {
    /// The control block of `size` bytes at the start of `data`, and the
    /// rest.
    pub fn split(data: &'a [u8], size: usize) -> (Self, &'a [u8]) {
        let (head, rest) = data.split_at(size.min(data.len()));
        (
            Ctrl {
                bytes: head,
                pos: 0,
            },
            rest,
        )
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            *b = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
        out
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    /// A little-endian i64.
    pub fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
}

/// The NUL-separated fields after the control block; a missing field reads
/// as `None`.
pub struct Fields<'a> {
    fields: Vec<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// Splits `rest` at every NUL byte.
    pub fn new(rest: &'a [u8]) -> Self {
        Fields {
            fields: if rest.is_empty() {
                Vec::new()
            } else {
                rest.split(|&b| b == 0).collect()
            },
        }
    }

    /// Field `i` as bytes (no NUL inside).
    pub fn bytes(&self, i: usize) -> Option<&'a [u8]> {
        self.fields.get(i).copied()
    }

    /// Field `i` as text, invalid UTF-8 replaced.
    pub fn text(&self, i: usize) -> String {
        self.bytes(i)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
}

/// Keys that templates and records name, so that fuzzed trees and fuzzed
/// templates meet often.
const KEYS: &[&str] = &[
    "a",
    "b",
    "item",
    "idx",
    "host",
    "invite",
    "token",
    "uri",
    "jid",
    "type",
    "list",
    "map",
    "dotted.key",
    "_",
    "1",
    "2",
    "roles",
    "groups",
    "additional_data",
    "expires",
    "created_at",
    "prosody:admin",
];

/// A JSON value built from fuzz bytes, bounded in depth and breadth so that
/// one input can never make a tree larger than `budget` nodes.
pub fn bounded_value(u: &mut Unstructured<'_>, depth: usize, budget: &mut usize) -> Value {
    if *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    let pick = u.int_in_range(0..=7u8).unwrap_or(0);
    match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary().unwrap_or(false)),
        2 => Value::from(u.arbitrary::<i64>().unwrap_or(0)),
        3 => serde_json::Number::from_f64(u.arbitrary::<f64>().unwrap_or(0.5))
            .map_or(Value::Null, Value::Number),
        4 | 5 => Value::String(u.arbitrary::<String>().unwrap_or_default()),
        6 if depth > 0 => {
            let n = u.int_in_range(0..=6usize).unwrap_or(0);
            Value::Array(
                (0..n)
                    .map(|_| bounded_value(u, depth - 1, budget))
                    .collect(),
            )
        }
        7 if depth > 0 => {
            let n = u.int_in_range(0..=6usize).unwrap_or(0);
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(key(u), bounded_value(u, depth - 1, budget));
            }
            Value::Object(map)
        }
        _ => Value::String(String::new()),
    }
}

/// An object key: mostly one of [`KEYS`], sometimes arbitrary text.
pub fn key(u: &mut Unstructured<'_>) -> String {
    let i = u.int_in_range(0..=KEYS.len()).unwrap_or(0);
    match KEYS.get(i) {
        Some(k) => (*k).to_owned(),
        None => u.arbitrary::<String>().unwrap_or_default(),
    }
}

/// Percent-decodes `s` (every `%` must start a `%XX` escape); `None` if an
/// escape is broken.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The host normalised as the URI parser does (nameprep, then IDNA to
/// A-labels and back to Unicode), as the round-trip test in
/// `crates/xmpp-invites/src/uri.rs` does with its private `canonical_host`.
pub fn canonical_host(host: &str) -> Option<String> {
    let ascii = xmpp_invites::host_to_ascii(&xmpp_invites::prep_host(host).ok()?).ok()?;
    let (unicode, result) = idna::domain_to_unicode(&ascii);
    result.ok()?;
    Some(unicode)
}
