//! The URI round trip as a property: build an invite URI from fuzzed parts
//! (a localpart that passes `prep_username`, a host from a small set with
//! IDNs or a fuzzed one that passes `prep_host`, an action, `ibr`, a token
//! made valid with `Token::parse`), then the text is ASCII and
//! `InviteUri::parse(uri.to_uri()) == uri` once the host is normalised the
//! way parsing does it (to Unicode via IDNA), and building again gives the
//! same text.
//!
//! Input: byte 0 flags (bit 0 roster, bit 1 ibr, bit 2 no localpart), byte
//! 1 the host (an index into `HOSTS`, else field 2), then NUL-separated
//! fields: localpart, token characters, host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmpp_invites::{
    BareJid, InviteAction, InviteUri, MAX_TOKEN_LEN, MIN_TOKEN_LEN, Token, UriError, prep_username,
};
use xmpp_invites_fuzz::{Ctrl, Fields, canonical_host};

const HOSTS: &[&str] = &[
    "example.com",
    "münchen.example",
    "xn--bcher-kva.example",
    "xn--mnchen-3ya.example",
    "MÜNCHEN.Example",
    "example.com.",
    "straße.example",
    "ﬁ.example",
    "例え.テスト",
    "ドメイン名例.jp",
    "παράδειγμα.δοκιμή",
    "пример.испытание",
    "مثال.إختبار",
    "example。com",
    "localhost",
    "a.b.c.d.example",
];

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fuzz_target!(|data: &[u8]| {
    let (mut ctrl, rest) = Ctrl::split(data, 2);
    let (flags, host_sel) = (ctrl.u8(), ctrl.u8());
    let fields = Fields::new(rest);

    let localpart = if flags & 4 != 0 {
        None
    } else {
        match prep_username(&fields.text(0)) {
            Ok(l) => Some(l),
            Err(_) => return,
        }
    };
    let host = match HOSTS.get(usize::from(host_sel)) {
        Some(h) => (*h).to_owned(),
        None => fields.text(2),
    };
    let Ok(jid) = BareJid::new(localpart.as_deref(), &host) else {
        return;
    };
    // The token: the field's bytes mapped onto the base64url alphabet,
    // padded or cut to the accepted lengths.
    let mut token: String = fields
        .bytes(1)
        .unwrap_or_default()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .take(MAX_TOKEN_LEN)
        .collect();
    while token.len() < MIN_TOKEN_LEN {
        token.push('A');
    }
    let token = Token::parse(&token).expect("a token of the base64url alphabet");

    let action = if flags & 1 != 0 {
        InviteAction::Roster
    } else {
        InviteAction::Register
    };
    let ibr = flags & 2 != 0;
    let uri = InviteUri::new(jid, action, &token, ibr);
    let text = match uri.to_uri() {
        Ok(t) => t,
        Err(UriError::RosterWithoutUser) if localpart.is_none() => return,
        Err(e) => panic!("{uri:?} does not build: {e}"),
    };
    assert!(text.is_ascii(), "{uri:?} built as non-ASCII {text:?}");

    let back = InviteUri::parse(&text)
        .unwrap_or_else(|e| panic!("{uri:?} built as {text:?}, which does not parse: {e}"));
    let host = canonical_host(uri.jid.host()).unwrap_or_else(|| {
        panic!(
            "the host {:?} of a valid JID is not canonical",
            uri.jid.host()
        )
    });
    assert_eq!(back.jid.host(), host, "{text:?}");
    assert_eq!(back.jid.username(), uri.jid.username(), "{text:?}");
    assert_eq!(
        (back.action, &back.token, back.ibr),
        (uri.action, &uri.token, uri.ibr),
        "{text:?}"
    );
    if let Ok(jid) = BareJid::new(uri.jid.username(), &host) {
        assert_eq!(back, InviteUri { jid, ..uri.clone() }, "{text:?}");
    }
    assert_eq!(back.to_uri().as_deref(), Ok(text.as_str()));
});
