//! `XmppUri::parse` and `InviteUri::parse` on arbitrary text: no panic, and
//! every invite URI that parses builds back to text that parses to the same
//! invite (parse is a fixpoint of build ∘ parse), in ASCII.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmpp_invites::{InviteUri, MAX_URI_LEN, UriError, XmppUri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let any = XmppUri::parse(text);
    let invite = InviteUri::parse(text);
    if text.len() > MAX_URI_LEN {
        assert_eq!(invite, Err(UriError::TooLong));
        return;
    }
    // Every invite URI is an xmpp: URI.
    if invite.is_ok() {
        assert!(any.is_ok(), "{text:?}: an invite URI that XmppUri refuses");
    }
    let Ok(uri) = invite else {
        return;
    };
    let built = uri
        .to_uri()
        .unwrap_or_else(|e| panic!("{text:?} parsed to {uri:?}, which does not build: {e}"));
    assert!(built.is_ascii(), "{text:?} built as non-ASCII {built:?}");
    assert_eq!(
        InviteUri::parse(&built).as_ref(),
        Ok(&uri),
        "{text:?} -> {built:?} does not parse back to the same invite"
    );
    let without = uri.to_uri_without_scheme().unwrap();
    assert_eq!(built.strip_prefix("xmpp:"), Some(without.as_str()));
});
