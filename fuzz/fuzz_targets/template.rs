//! `Renderer::url()` (and `html()`, and the landing page on a stored
//! record) on a fuzzed template and a fuzzed but bounded JSON tree: no
//! panic, no runaway output, text without blocks left as it is.
//!
//! Input: the template, a NUL, then the values: JSON text if it parses,
//! otherwise bytes from which a bounded tree is built.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use xmpp_invites::{InviteRecord, LandingPage, MAX_RENDERED_LEN, Renderer};
use xmpp_invites_fuzz::{bounded_value, key, vectors};

fn records() -> &'static [InviteRecord] {
    static RECORDS: OnceLock<Vec<InviteRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let v: Value = serde_json::from_str(vectors::PROSODY_RECORDS).expect("vectors");
        v["sql_rows"]
            .as_array()
            .expect("sql_rows")
            .iter()
            .filter(|row| row["type"] == "json")
            .map(|row| InviteRecord::from_json(row["value"].as_str().unwrap()).unwrap())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let (template, values) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(template) = std::str::from_utf8(template) else {
        return;
    };
    let values = match serde_json::from_slice::<Value>(values) {
        Ok(v) => v,
        Err(_) => {
            let mut u = Unstructured::new(values);
            let mut budget = 64;
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=8u8).unwrap_or(0) {
                map.insert(key(&mut u), bounded_value(&mut u, 4, &mut budget));
            }
            Value::Object(map)
        }
    };
    for renderer in [Renderer::url(), Renderer::html()] {
        if let Ok(out) = renderer.render(template, &values) {
            assert!(out.len() <= MAX_RENDERED_LEN);
            if !template.contains('{') {
                assert_eq!(out, template);
            }
        }
    }
    // The landing page renders the common templates through a compiled fast
    // path; it must agree with the general renderer on the same values.
    let records = records();
    if !records.is_empty() {
        let record = &records[template.len() % records.len()];
        let host = if template.len() % 2 == 0 {
            "example.com"
        } else {
            "a b/ü?#"
        };
        let page = LandingPage::new(template);
        if let Ok(Some(link)) = page.link(host, record) {
            assert!(link.len() <= MAX_RENDERED_LEN);
            let mut invite = record.to_value();
            if let Value::Object(map) = &mut invite {
                map.remove("landing_page");
            }
            let values = json!({ "host": host, "invite": invite });
            assert_eq!(
                Renderer::url().render(template, &values).as_ref(),
                Ok(&link),
                "{template:?} on {record:?}"
            );
        }
    }
});
