//! `Token::parse`, `validate`, the use changes and the registration gate
//! with a fuzzed presented token, record fields, contact expiry, redemption
//! and `now`: no panic; a token that parses is 16..=128 characters of the
//! base64url alphabet; and what validation accepts obeys the rules (the
//! token matches, not expired, not used up, changes spend this token, the
//! gate admits only the bound or reset name).
//!
//! Input: a 34-byte control block (now, expires, contact expiry, max_uses,
//! uses, two flag bytes), then NUL-separated fields: presented token,
//! record token, record jid, inviter, allow_reset, username.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmpp_invites::{
    AdditionalData, Admission, InviteAction, InviteRecord, MAX_TOKEN_LEN, MIN_TOKEN_LEN,
    NEVER_EXPIRES, Redemption, RegistrationAttempt, RegistrationGate, StorageChange, Stored, Token,
    TokenError, ValidateError, prep_username, validate,
};
use xmpp_invites_fuzz::{Ctrl, Fields};

fuzz_target!(|data: &[u8]| {
    let (mut c, rest) = Ctrl::split(data, 34);
    let (now, expires, contact_expires) = (c.i64(), c.i64(), c.i64());
    let (max_uses, uses) = (c.u32(), c.u32());
    let (f, g) = (c.u8(), c.u8());
    let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
    let fields = Fields::new(rest);
    let presented = fields.text(0);

    // Token::parse: the length and alphabet check before any lookup.
    match Token::parse(&presented) {
        Ok(t) => {
            assert_eq!(t.as_str(), presented);
            assert!((MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&presented.len()));
            assert!(
                presented
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(t.ct_eq_str(&presented));
            let other = fields.text(1);
            assert_eq!(t.ct_eq_str(&other), other == presented);
            assert!(!t.redacted().contains(&presented[4..]));
        }
        Err(TokenError::Missing) => assert!(presented.is_empty()),
        Err(TokenError::BadLength { len, .. }) => {
            assert_eq!(len, presented.len());
            assert!(!(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&len));
        }
        Err(TokenError::BadAlphabet) => assert!(
            !presented
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        ),
        Err(e) => panic!("Token::parse({presented:?}) gave {e:?}"),
    }

    let record = bit(f, 0).then(|| InviteRecord {
        action: if bit(f, 1) {
            InviteAction::Roster
        } else {
            InviteAction::Register
        },
        jid: fields.text(2),
        token: if bit(g, 3) {
            presented.clone()
        } else {
            fields.text(1)
        },
        allow_registration: bit(f, 2),
        additional_data: bit(g, 2).then(|| AdditionalData {
            allow_reset: Some(fields.text(4)),
            ..AdditionalData::default()
        }),
        uri: String::new(),
        created_at: None,
        expires: bit(f, 3).then_some(expires),
        reusable: bit(f, 6).then_some(bit(f, 7)),
        landing_page: None,
        max_uses: bit(g, 0).then_some(max_uses),
        uses: bit(g, 1).then_some(uses),
        extra: Default::default(),
    });
    let inviter = fields.text(3);
    let redemption = if bit(f, 5) {
        Redemption::Subscription { inviter: &inviter }
    } else {
        Redemption::Registration
    };
    let stored = Stored {
        record: record.as_ref(),
        contact_expires: bit(f, 4).then_some(contact_expires),
    };
    let result = validate(&presented, stored, redemption, now);
    let valid = match result {
        Ok(v) => v,
        Err(ValidateError::NoToken) => {
            assert!(presented.is_empty());
            return;
        }
        Err(ValidateError::Malformed(_)) => {
            assert!(Token::parse(&presented).is_err());
            return;
        }
        Err(ValidateError::Expired { expired_at }) => {
            assert!(now > expired_at);
            return;
        }
        Err(_) => return,
    };
    assert_eq!(valid.token().as_str(), presented);
    assert!(
        valid.expires() >= now,
        "valid at {now} but expires {}",
        valid.expires()
    );
    if let Some(r) = valid.record() {
        assert_eq!(r.token, presented);
    }
    match redemption {
        Redemption::Registration => {
            let r = record.as_ref().expect("registration needs the record");
            assert_eq!(r.token, presented);
            assert!(r.allow_registration);
            assert_eq!(valid.expires(), r.expires.unwrap_or(NEVER_EXPIRES));
            if let Some(max) = r.max_uses {
                assert!(r.uses.unwrap_or(0) < max);
            }
            assert!(!valid.is_for_subscription());
        }
        Redemption::Subscription { inviter } => {
            assert!(valid.is_for_subscription());
            assert_eq!(valid.inviter(), prep_username(inviter).ok().as_deref());
        }
    }

    let changes = valid.use_changes();
    for change in &changes {
        assert_eq!(change.token(), presented);
        let _ = change.sql_value();
        if let StorageChange::PutRecord { record, .. } = change {
            let max = record.max_uses.expect("only max_uses invites are put back");
            assert!(record.uses.unwrap_or(0) < max);
        }
    }
    if changes.is_empty() {
        assert!(
            valid.is_reusable(),
            "a single-use invite that is never spent"
        );
    }

    let username = fields.text(5);
    let attempt = RegistrationAttempt {
        username: &username,
        account_exists: bit(g, 5),
        reserved: bit(g, 6),
    };
    let gate = RegistrationGate {
        invite_only: bit(g, 4),
    };
    match gate.check(Some(&valid), attempt) {
        Ok(Admission::NewAccount {
            username: name,
            inviter,
            ..
        }) => {
            assert!(!attempt.account_exists);
            assert!(!valid.is_for_subscription());
            assert_eq!(prep_username(&username).as_ref(), Ok(&name));
            if let Some(bound) = valid.bound_username() {
                assert_eq!(prep_username(bound).as_ref(), Ok(&name));
            }
            assert!(valid.reset_username().is_none());
            assert_eq!(inviter.as_deref(), valid.inviter());
        }
        Ok(Admission::PasswordReset { username: name }) => {
            assert!(attempt.account_exists);
            let reset = valid.reset_username().expect("a reset invite");
            assert_eq!(prep_username(reset).as_ref(), Ok(&name));
        }
        Ok(Admission::Open) => panic!("an invite admitted as open registration"),
        Err(_) => {}
    }
    match gate.check(None, attempt) {
        Ok(Admission::Open) => assert!(!gate.invite_only && !attempt.account_exists),
        Ok(other) => panic!("no invite, yet {other:?}"),
        Err(_) => {}
    }
});
