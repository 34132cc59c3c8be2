//! The record decoders on arbitrary text and on structure-aware mutations
//! of the records a real Prosody stored (tests/vectors/prosody_records.json):
//! no panic, and a decoded record re-encodes to JSON that decodes to an
//! equal record; reading the same JSON as text (the C path) and as a
//! value (the Lua-table path) agree. Also `ContactRecord::from_json`.
//!
//! Input: JSON text; or 0xFF (never the start of UTF-8) followed by bytes
//! that pick a captured record and mutate it (set a key of the record or
//! of its `additional_data` to a bounded fuzzed value, or remove it).
#![no_main]

use std::sync::OnceLock;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use xmpp_invites::{ContactRecord, InviteRecord};
use xmpp_invites_fuzz::{bounded_value, key, vectors};

/// The values Prosody stored, parsed: records (type json) and numbers.
fn captured() -> &'static [Value] {
    static VALUES: OnceLock<Vec<Value>> = OnceLock::new();
    VALUES.get_or_init(|| {
        let v: Value = serde_json::from_str(vectors::PROSODY_RECORDS).expect("vectors");
        v["sql_rows"]
            .as_array()
            .expect("sql_rows")
            .iter()
            .map(|row| serde_json::from_str(row["value"].as_str().unwrap()).unwrap())
            .collect()
    })
}

fn mutate(data: &[u8]) -> String {
    let mut u = Unstructured::new(data);
    let all = captured();
    let mut v = all[u.choose_index(all.len()).unwrap_or(0)].clone();
    let mut budget = 48;
    for _ in 0..u.int_in_range(1..=4u8).unwrap_or(1) {
        let inner = u.arbitrary::<bool>().unwrap_or(false);
        let target = match (&mut v, inner) {
            (Value::Object(m), true) => match m.get_mut("additional_data") {
                Some(Value::Object(d)) => Some(d),
                _ => None,
            },
            (Value::Object(m), false) => Some(m),
            _ => None,
        };
        let (k, remove) = (key(&mut u), u.arbitrary::<bool>().unwrap_or(false));
        match target {
            Some(m) if remove => {
                m.remove(&k);
            }
            Some(m) => {
                let value = bounded_value(&mut u, 3, &mut budget);
                m.insert(k, value);
            }
            None => v = bounded_value(&mut u, 3, &mut budget),
        }
    }
    v.to_string()
}

fn check_record(text: &str) {
    let decoded = InviteRecord::from_json(text);
    // The Lua binding hands the core a value, not text: both must agree
    // wherever the text is JSON.
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let from_value = InviteRecord::from_value(value);
        assert_eq!(
            decoded.as_ref().ok(),
            from_value.as_ref().ok(),
            "{text:?}: from_json and from_value disagree"
        );
    }
    let Ok(record) = decoded else {
        return;
    };
    let json = record.to_json();
    let again = InviteRecord::from_json(&json)
        .unwrap_or_else(|e| panic!("{text:?} re-encoded as {json:?}, which does not decode: {e}"));
    assert_eq!(again, record, "{text:?} -> {json:?}");
    // Stable from then on: the second encoding is the first.
    assert_eq!(again.to_json(), json);
    assert_eq!(
        InviteRecord::from_value(record.to_value()).as_ref(),
        Ok(&record)
    );
    // Derived views never panic.
    let _ = (
        record.invite_type(),
        record.jid_username(),
        record.jid_host(),
    );
    let _ = record.reserves_username("romeo", 0);
}

fn check_contact(text: &str) {
    let Ok(c) = ContactRecord::from_json(text) else {
        return;
    };
    assert_eq!(ContactRecord::from_json(&c.to_json()), Ok(c), "{text:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = match data.split_first() {
        Some((0xFF, rest)) => mutate(rest),
        _ => match std::str::from_utf8(data) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        },
    };
    check_record(&text);
    check_contact(&text);
});
