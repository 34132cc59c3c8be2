//! `Period::parse` on arbitrary text: no panic; a period of seconds prints
//! as text that parses back to it; expiry arithmetic never wraps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmpp_invites::{NEVER_EXPIRES, Period};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Period::parse(text) else {
        return;
    };
    match p {
        Period::Seconds(_) => {
            let shown = p.to_string();
            assert_eq!(Period::parse(&shown), Ok(p), "{text:?} shown as {shown:?}");
        }
        Period::Never => assert_eq!(p.to_string(), "never"),
    }
    if let Some(s) = p.as_seconds()
        && let Ok(s) = i64::try_from(s)
    {
        assert_eq!(Period::from_seconds(s), Ok(p));
        // Negative seconds are refused, never read as `never`.
        assert!(Period::from_seconds(-1 - s).is_err());
    }
    for now in [
        i64::MIN,
        -1,
        0,
        1_795_268_421,
        NEVER_EXPIRES - 1,
        NEVER_EXPIRES,
        i64::MAX,
    ] {
        match (p, p.expiry_from(now)) {
            (Period::Never, e) => assert_eq!(e, Ok(NEVER_EXPIRES)),
            (Period::Seconds(s), Ok(e)) => {
                assert_eq!(
                    i128::from(e),
                    i128::from(now) + i128::from(s),
                    "{text:?} at {now}"
                );
                assert!(e < NEVER_EXPIRES);
            }
            (Period::Seconds(s), Err(_)) => {
                assert!(
                    i128::from(now) + i128::from(s) >= i128::from(NEVER_EXPIRES),
                    "{text:?} at {now}"
                );
            }
        }
    }
});
