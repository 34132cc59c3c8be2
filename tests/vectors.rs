//! The shared vectors in tests/vectors/, checked against the Rust core. The C
//! and Lua suites read the same files and must agree byte for byte.

use serde_json::{Value, json};
use xmpp_invites::{
    Admission, BareJid, ContactRecord, InviteAction, InviteRecord, InviteType, InviteUri, Period,
    Policy, Redemption, RegistrationAttempt, RegistrationGate, Renderer, Requester, StorageChange,
    Stored, Token, ValidInvite, validate,
};
use xmpp_invites_suite::load_vectors;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn opt_s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn action(name: &str) -> InviteAction {
    match name {
        "register" => InviteAction::Register,
        "roster" => InviteAction::Roster,
        other => panic!("unknown action {other}"),
    }
}

#[test]
fn uri_build() {
    let v = load_vectors("uris.json");
    let token = Token::parse(s(&v, "token")).unwrap();
    for case in v["build"].as_array().unwrap() {
        let jid = BareJid::new(opt_s(case, "localpart"), s(case, "host")).unwrap();
        let uri = InviteUri::new(jid, action(s(case, "action")), &token, case["ibr"] == true);
        assert_eq!(uri.to_uri().unwrap(), s(case, "uri"), "{}", s(case, "name"));
        // And back: the parse of what we build is what we built.
        let back = InviteUri::parse(s(case, "uri")).unwrap();
        assert_eq!(back.to_uri().unwrap(), s(case, "uri"));
    }
    for case in v["build_errors"].as_array().unwrap() {
        let err = BareJid::new(opt_s(case, "localpart"), s(case, "host"))
            .map_err(|e| e.code())
            .and_then(|jid| {
                InviteUri::new(jid, action(s(case, "action")), &token, case["ibr"] == true)
                    .to_uri()
                    .map_err(|e| e.code())
            })
            .unwrap_err();
        assert_eq!(err, s(case, "error"), "{}", s(case, "name"));
    }
}

#[test]
fn uri_parse() {
    let v = load_vectors("uris.json");
    for case in v["parse"].as_array().unwrap() {
        let uri = s(case, "uri");
        match InviteUri::parse(uri) {
            Ok(got) => {
                let want = &case["ok"];
                assert!(!want.is_null(), "{uri}: expected {}, parsed", case["error"]);
                assert_eq!(got.jid.username(), opt_s(want, "localpart"), "{uri}");
                assert_eq!(got.jid.host(), s(want, "host"), "{uri}");
                assert_eq!(got.action.as_str(), s(want, "action"), "{uri}");
                assert_eq!(got.token, s(want, "token"), "{uri}");
                assert_eq!(got.ibr, want["ibr"] == true, "{uri}");
            }
            Err(e) => assert_eq!(e.code(), s(case, "error"), "{uri}: {e}"),
        }
    }
}

#[test]
fn templates() {
    let v = load_vectors("templates.json");
    let renderer = Renderer::url();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() > 20);
    for case in cases {
        let out = renderer.render(s(case, "template"), &v["values"]).unwrap();
        assert_eq!(out, s(case, "output"), "{}", s(case, "template"));
    }
}

#[test]
fn periods() {
    let v = load_vectors("periods.json");
    for case in v["cases"].as_array().unwrap() {
        let input = s(case, "input");
        match Period::parse(input) {
            Ok(Period::Seconds(n)) => assert_eq!(Some(n), case["seconds"].as_u64(), "{input:?}"),
            Ok(Period::Never) => assert_eq!(case["never"], true, "{input:?}"),
            Err(e) => assert_eq!(e.code(), s(case, "error"), "{input:?}: {e}"),
        }
    }
}

#[test]
fn policy() {
    let v = load_vectors("policy.json");
    for case in v["cases"].as_array().unwrap() {
        let p = &case["policy"];
        let host = s(p, "host");
        let mut policy = match s(p, "preset") {
            "invites_adhoc" => Policy::invites_adhoc(host),
            "easy_invite" => Policy::easy_invite(host),
            other => panic!("unknown preset {other}"),
        };
        let list = |key: &str| -> Option<Vec<String>> {
            p.get(key).map(|l| {
                l.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect()
            })
        };
        if let Some(b) = p["allow_user_invites"].as_bool() {
            policy.allow_user_invites = b;
        }
        if let Some(b) = p["allow_contact_invites"].as_bool() {
            policy.allow_contact_invites = b;
        }
        if let Some(l) = list("allow_user_invites_by_roles") {
            policy.allow_user_invites_by_roles = l;
        }
        if let Some(l) = list("deny_user_invites_by_roles") {
            policy.deny_user_invites_by_roles = l;
        }
        let r = &case["requester"];
        let roles: Vec<&str> = r["roles"]
            .as_array()
            .map_or(vec![], |a| a.iter().map(|x| x.as_str().unwrap()).collect());
        let mut requester = Requester::parse(s(r, "jid"))
            .unwrap()
            .admin(r["admin"] == true)
            .with_roles(roles);
        if let Some(granted) = r["may_invite_users"].as_bool() {
            assert_eq!(s(case, "type"), "contact-command", "{case}");
            requester = requester.invite_permission(granted);
        }
        let what = s(case, "type");
        let decision = if what == "contact-command" {
            match policy.contact_invite(&requester) {
                Ok(c) => {
                    assert_eq!(c.invite_type.as_str(), s(case, "creates"), "{case}");
                    // The command is allowed; the reason says why ibr=y is or is not set.
                    xmpp_invites::Decision {
                        allowed: true,
                        reason: c.registration.reason,
                    }
                }
                Err(d) => d,
            }
        } else {
            policy.decide(&requester, what.parse::<InviteType>().unwrap())
        };
        assert_eq!(decision.allowed, case["allowed"] == true, "{case}");
        assert_eq!(decision.reason.code(), s(case, "reason"), "{case}");
        assert!(!decision.reason.to_string().is_empty());
    }
}

fn change_json(c: &StorageChange) -> Value {
    match c {
        StorageChange::DeleteRecord { token } => json!({"op": "delete-record", "token": token}),
        StorageChange::DeleteContactExpiry { user, token } => {
            json!({"op": "delete-contact", "user": user, "token": token})
        }
        StorageChange::PutRecord { token, record } => {
            json!({"op": "put-record", "token": token, "uses": record.uses})
        }
        StorageChange::PutContactExpiry {
            user,
            token,
            expires,
        } => {
            json!({"op": "put-contact", "user": user, "token": token, "expires": expires})
        }
    }
}

fn check_gate(gate: RegistrationGate, invite: Option<&ValidInvite>, attempt: &Value) {
    let a = RegistrationAttempt {
        username: s(attempt, "username"),
        account_exists: attempt["account_exists"] == true,
        reserved: attempt["reserved"] == true,
    };
    let want = &attempt["expect"];
    match gate.check(invite, a) {
        Err(e) => assert_eq!(e.code(), s(want, "error"), "{attempt}: {e}"),
        Ok(Admission::Open) => assert_eq!(s(want, "admission"), "open", "{attempt}"),
        Ok(Admission::PasswordReset { username }) => {
            assert_eq!(s(want, "admission"), "password-reset", "{attempt}");
            assert_eq!(username, s(want, "username"));
        }
        Ok(Admission::NewAccount {
            username,
            inviter,
            roles,
            groups,
        }) => {
            assert_eq!(s(want, "admission"), "new-account", "{attempt}");
            assert_eq!(username, s(want, "username"));
            assert_eq!(inviter.as_deref(), opt_s(want, "inviter"));
            assert_eq!(
                roles.map(|r| json!(r.as_slice())).unwrap_or(Value::Null),
                want["roles"]
            );
            assert_eq!(json!(groups), want["groups"]);
        }
    }
}

#[test]
fn validation_and_gate() {
    let v = load_vectors("validation.json");
    for case in v["cases"].as_array().unwrap() {
        let name = s(case, "name");
        let record = (!case["record"].is_null())
            .then(|| InviteRecord::from_value(case["record"].clone()).unwrap());
        let stored = Stored {
            record: record.as_ref(),
            contact_expires: case["contact_expires"].as_i64(),
        };
        let redemption = match &case["redemption"] {
            Value::String(r) if r == "registration" => Redemption::Registration,
            other => Redemption::Subscription {
                inviter: s(other, "subscription"),
            },
        };
        let result = validate(
            s(case, "presented"),
            stored,
            redemption,
            case["now"].as_i64().unwrap(),
        );
        let want = &case["expect"];
        match &result {
            Ok(valid) => {
                let ok = &want["ok"];
                assert!(!ok.is_null(), "{name}: expected {}", want["error"]);
                assert_eq!(valid.invite_type().as_str(), s(ok, "type"), "{name}");
                assert_eq!(valid.inviter(), opt_s(ok, "inviter"), "{name}");
                let changes: Vec<Value> = valid.use_changes().iter().map(change_json).collect();
                assert_eq!(Value::from(changes), ok["use_changes"], "{name}");
            }
            Err(e) => assert_eq!(e.code(), s(want, "error"), "{name}: {e}"),
        }
        for attempt in case["gate"].as_array().into_iter().flatten() {
            check_gate(RegistrationGate::default(), result.as_ref().ok(), attempt);
        }
        for attempt in case["gate_without_invite"].as_array().into_iter().flatten() {
            check_gate(
                RegistrationGate {
                    invite_only: attempt["invite_only"] == true,
                },
                None,
                attempt,
            );
        }
    }
}

/// `{}` and `[]` are the same empty Lua table; a false `allow_registration`
/// is the same as none.
fn lua_equivalent(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.is_empty() => json!([]),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| !(k.as_str() == "allow_registration" && **v == json!(false)))
                .map(|(k, v)| (k.clone(), lua_equivalent(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lua_equivalent).collect()),
        other => other.clone(),
    }
}

#[test]
fn records_written_by_stock_prosody() {
    let v = load_vectors("prosody_records.json");
    let rows = v["sql_rows"].as_array().unwrap();
    assert!(rows.len() >= 20);
    let (mut host_level, mut user_level) = (0, 0);
    for row in rows {
        let what = s(row, "what");
        let value = s(row, "value");
        if s(row, "user").is_empty() {
            host_level += 1;
            assert_eq!(s(row, "type"), "json");
            let record = InviteRecord::from_json(value).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(record.token, s(row, "key"));
            // Written back, it is the same record to Lua.
            let original: Value = serde_json::from_str(value).unwrap();
            assert_eq!(
                lua_equivalent(&serde_json::from_str(&record.to_json()).unwrap()),
                lua_equivalent(&original),
                "{what}"
            );
            let expected_type = if what.contains("--reset") {
                InviteType::PasswordReset
            } else if what.contains("create_group") {
                InviteType::Group
            } else if what.contains("create_contact") {
                InviteType::AccountAndContact
            } else {
                InviteType::Account
            };
            assert_eq!(record.invite_type(), expected_type, "{what}");
            // It validates at creation and at expiry, not a second later.
            let created = record.created_at.unwrap();
            let expires = record.expires.unwrap();
            let stored = Stored {
                record: Some(&record),
                contact_expires: None,
            };
            for now in [created, expires] {
                let valid = validate(&record.token, stored, Redemption::Registration, now).unwrap();
                assert_eq!(
                    valid.inviter(),
                    (record.action == InviteAction::Roster).then(|| record.jid_username().unwrap())
                );
            }
            let late = validate(&record.token, stored, Redemption::Registration, expires + 1);
            assert_eq!(late.unwrap_err().code(), "token-expired");
        } else {
            user_level += 1;
            assert_eq!(s(row, "type"), "number");
            let expires = ContactRecord::from_json(value).unwrap().expires;
            assert_eq!(ContactRecord { expires }.to_json(), value);
            // The contact-only invite that stock 0.12.3 cannot redeem for a
            // subscription validates here.
            let stored = Stored {
                record: None,
                contact_expires: Some(expires),
            };
            let valid = validate(
                s(row, "key"),
                stored,
                Redemption::Subscription {
                    inviter: s(row, "user"),
                },
                expires,
            )
            .unwrap();
            assert_eq!(
                valid.inviter(),
                Some(
                    xmpp_invites::prep_username(s(row, "user"))
                        .unwrap()
                        .as_str()
                )
            );
        }
    }
    assert!(host_level > 10 && user_level >= 4);
}
