//! The escaping property of `Renderer::url()`: in an escaped slot no byte
//! outside `A-Za-z0-9.~_-` stands unescaped, every `%` starts a `%xx`
//! escape, and decoding the slot gives back the value.
//!
//! The template is made only of `{vN}` blocks (escaped, no `!`), some with
//! the `urlescape` or `noscheme` filter, separated by literal text that
//! holds no slot character, so the output can be cut back into its slots.
//!
//! Input: NUL-separated fields, one per slot: the first byte picks the
//! filter and the literal after the slot, the rest (lossy UTF-8) is the
//! value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use xmpp_invites::{Renderer, strip_scheme};
use xmpp_invites_fuzz::{Fields, percent_decode};

/// Literal text between slots: non-empty, and no character of a slot.
const LITERALS: &[&str] = &[
    "/", "?", "&=", "#", " ", "é€", ":", "@", "!$", "\n", "\"'<>", "+,;", "*()", "[]",
];

fn slot_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '~' | '_' | '-' | '%')
}

#[derive(Clone, Copy, Debug)]
enum Filter {
    None,
    UrlEscape,
    NoScheme,
}

fuzz_target!(|data: &[u8]| {
    let fields = Fields::new(data);
    let mut template = String::new();
    let mut values = Map::new();
    let mut slots = Vec::new();
    for i in 0..64 {
        let Some(field) = fields.bytes(i) else { break };
        let (sel, value) = field.split_first().map_or((0, &[][..]), |(s, v)| (*s, v));
        let value = String::from_utf8_lossy(value).into_owned();
        let filter = match sel % 3 {
            0 => Filter::None,
            1 => Filter::UrlEscape,
            _ => Filter::NoScheme,
        };
        let literal = LITERALS[usize::from(sel / 3) % LITERALS.len()];
        let name = format!("v{i}");
        match filter {
            Filter::None => template.push_str(&format!("{{{name}}}")),
            Filter::UrlEscape => template.push_str(&format!("{{{name}|urlescape}}")),
            Filter::NoScheme => template.push_str(&format!("{{{name}|noscheme}}")),
        }
        template.push_str(literal);
        values.insert(name, Value::String(value.clone()));
        slots.push((filter, value, literal));
    }
    let out = Renderer::url()
        .render(&template, &Value::Object(values))
        .unwrap_or_else(|e| panic!("{template:?}: {e}"));

    let mut rest = out.as_str();
    for (filter, value, literal) in &slots {
        let end = rest.find(|c: char| !slot_char(c)).unwrap_or(rest.len());
        let (slot, after) = rest.split_at(end);
        assert!(
            after.starts_with(literal),
            "{template:?} -> {out:?}: slot {slot:?} of {value:?} is not followed by {literal:?}: an unescaped byte"
        );
        let decoded = percent_decode(slot)
            .unwrap_or_else(|| panic!("{out:?}: slot {slot:?} has a broken %-escape"));
        let expected = match filter {
            Filter::None => value.clone(),
            Filter::UrlEscape => {
                // Escaped twice: decoding once gives the inner escape, which
                // decodes to the value.
                let inner = String::from_utf8(decoded.clone()).expect("ASCII");
                assert!(inner.chars().all(slot_char), "{inner:?}");
                let twice = percent_decode(&inner).expect("inner escape");
                assert_eq!(twice, value.as_bytes(), "{out:?}");
                inner
            }
            Filter::NoScheme => strip_scheme(value),
        };
        assert_eq!(
            decoded,
            expected.as_bytes(),
            "{template:?} -> {out:?}: slot {slot:?}"
        );
        rest = &after[literal.len()..];
    }
    assert!(rest.is_empty(), "{out:?}: trailing {rest:?}");
});
