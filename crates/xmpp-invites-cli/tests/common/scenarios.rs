//! Scenarios run on every backend (tests/sqlite.rs, tests/postgres.rs).

use std::collections::BTreeSet;
use std::process::Stdio;

use serde_json::Value;

use super::{Db, prosody_rows};

/// A fixed "now": a minute after the captured Prosody rows were created.
pub const NOW: i64 = 1_795_268_481;
const NOW_S: &str = "1795268481";

fn token(v: &Value) -> String {
    v["token"].as_str().unwrap().to_owned()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Every create command, then list, show and the stored rows.
pub fn create_each_kind(db: &Db) {
    let any = db.json(&["--now", NOW_S, "create", "account", "example.com"]);
    assert_eq!(any["type"], "account");
    assert_eq!(any["jid"], "example.com");
    assert_eq!(any["expires"], NOW + 604_800);
    assert_eq!(any["created_at"], NOW);
    assert!(s(&any["uri"]).starts_with("xmpp:example.com?register;preauth="));

    let bound = db.json(&["create", "account", "Romeo@Example.COM"]);
    assert_eq!(bound["jid"], "romeo@example.com");
    assert_eq!(bound["username"], "romeo");

    let admin = db.json(&[
        "create",
        "account",
        "example.com",
        "--admin",
        "--role",
        "x:editor",
        "--group",
        "g1",
        "--group",
        "g2",
        "--note",
        "for the team",
        "--max-uses",
        "3",
        "--expires-after",
        "2 days",
    ]);
    // Prosody 0.12 reads roles as a set: the default form.
    assert_eq!(
        admin["record"]["additional_data"]["roles"],
        serde_json::json!({"prosody:admin": true, "x:editor": true})
    );
    assert_eq!(admin["groups"], serde_json::json!(["g1", "g2"]));
    assert_eq!(admin["note"], "for the team");
    assert_eq!(admin["max_uses"], 3);
    assert_eq!(
        admin["expires"].as_i64().unwrap() - admin["created_at"].as_i64().unwrap(),
        172_800
    );

    let listed = db.json(&[
        "create",
        "account",
        "example.com",
        "--role",
        "prosody:member",
        "--role-format",
        "list",
    ]);
    assert_eq!(
        listed["record"]["additional_data"]["roles"],
        serde_json::json!(["prosody:member"])
    );

    let contact = db.json(&["create", "contact", "juliet@example.com"]);
    assert_eq!(contact["type"], "contact-only");
    assert_eq!(contact["inviter"], "juliet");
    assert!(
        contact["record"].is_null(),
        "a contact-only invite stores no record"
    );
    // It has nowhere to keep a note: refused rather than dropped.
    let rows = db.rows();
    let noted = db.fails(
        1,
        &[
            "create",
            "contact",
            "juliet@example.com",
            "--note",
            "for Bob",
        ],
    );
    assert_eq!(noted.error_code(), "conflicting-options");
    assert!(s(&noted.error()["hint"]).contains("--allow-registration"));
    assert_eq!(db.rows(), rows);
    let both = db.json(&[
        "create",
        "contact",
        "romeo@example.com",
        "--allow-registration",
        "--note",
        "for Bob",
    ]);
    assert_eq!(both["type"], "account-and-contact");
    assert!(s(&both["uri"]).ends_with(";ibr=y"));
    assert_eq!(both["note"], "for Bob");
    let reset = db.json(&["--now", NOW_S, "create", "reset", "romeo@example.com"]);
    assert_eq!(reset["type"], "password-reset");
    assert_eq!(reset["reset_username"], "romeo");
    assert_eq!(reset["expires"], NOW + 86_400);

    // The rows, as Prosody's mod_storage_sql keeps them.
    let rows = db.rows();
    assert_eq!(rows.len(), 8, "{rows:#?}");
    for r in &rows {
        assert_eq!(r[0], "example.com");
        assert_eq!(r[2], "invite_token");
        if r[1].is_empty() {
            assert_eq!(r[4], "json");
            let v: Value = serde_json::from_str(&r[5]).unwrap();
            assert_eq!(v["token"], r[3].as_str());
        } else {
            assert_eq!(r[4], "number");
            assert!(r[5].parse::<i64>().is_ok(), "{r:?}");
        }
    }
    // The contact-only invite has only the inviter's entry.
    let t = token(&contact);
    let c = db.rows_of(&t);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0][1], "juliet");
    assert_eq!(db.rows_of(&token(&both)).len(), 2);

    // list shows each invite once, show shows each.
    let list = db.json(&["list", "example.com"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 7, "{list:#?}");
    let tokens: BTreeSet<String> = list.iter().map(token).collect();
    for v in [&any, &bound, &admin, &listed, &contact, &both, &reset] {
        assert!(tokens.contains(&token(v)));
        let shown = db.json(&["show", "example.com", &token(v)]);
        assert_eq!(shown["type"], v["type"]);
        assert_eq!(shown["uri"], v["uri"]);
    }
    let shown = db.json(&["show", "example.com", &token(&both)]);
    assert_eq!(shown["contact_entries"][0]["user"], "romeo");
    assert_eq!(shown["note"], "for Bob");

    // Human output.
    let out = db.ok(&["list", "example.com"]).stdout;
    assert!(out.contains("contact-only"), "{out}");
    assert!(out.contains("7 invite(s) on example.com"), "{out}");
    let out = db.ok(&["show", "example.com", &token(&admin)]).stdout;
    assert!(out.contains("prosody:admin"), "{out}");
    assert!(out.contains("0 of 3"), "{out}");
    // Another host is empty.
    assert_eq!(db.json(&["list", "example.org"]), serde_json::json!([]));
    assert!(
        db.ok(&["list", "example.org"])
            .stdout
            .contains("No invites")
    );
}

/// What people see: URI, landing link, local and UTC expiry, QR code.
pub fn human_output(db: &Db) {
    let out = db
        .cmd()
        .env("TZ", "Europe/Berlin")
        .args([
            "--now",
            "1795856400",
            "--invites-page",
            "https://{host}/invite?{invite.token}",
            "create",
            "account",
            "example.com",
            "--expires-after",
            "1 week",
            "--qr",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("URI:      xmpp:example.com?register;preauth="),
        "{text}"
    );
    assert!(
        text.contains("Link:     https://example.com/invite?"),
        "{text}"
    );
    // 2026-12-05T09:00:00Z is 10:00 in Berlin.
    assert!(
        text.contains("2026-12-05 10:00:00 CET (+01:00) (local)"),
        "{text}"
    );
    assert!(text.contains("2026-12-05T09:00:00Z (UTC)"), "{text}");
    assert!(
        text.contains('█') && text.contains('▀'),
        "no QR code: {text}"
    );

    // Stored text cannot forge lines: control characters are escaped,
    // other Unicode is kept.
    let forged = "FORGEDxxxxxxxxxxxxxxxxxx  account  evil@example.com";
    let note = format!("für Jürgen\n{forged}\u{1b}[2J");
    let made = db.ok(&["create", "account", "example.org", "--note", &note]);
    let list = db.ok(&["list", "example.org"]).stdout;
    let t = made
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token:"))
        .unwrap()
        .trim();
    let shown = db.ok(&["show", "example.org", t]).stdout;
    for out in [&made.stdout, &list, &shown] {
        assert!(
            !out.lines().any(|l| l.starts_with("FORGED")),
            "a forged line: {out}"
        );
        assert!(
            out.contains(&format!("für Jürgen\\n{forged}\\u{{1b}}[2J")),
            "{out}"
        );
        assert!(!out.contains('\u{1b}'), "{out}");
    }
    assert_eq!(list.lines().count(), 3, "{list}");
    // JSON keeps the note as stored.
    assert_eq!(db.json(&["list", "example.org"])[0]["note"], note.as_str());
    // The main job: a fresh directory, no options.
    let fresh = super::tempdir();
    let out = std::process::Command::new(super::BIN)
        .args(["create", "account", "example.com", "--qr"])
        .current_dir(fresh.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(fresh.path().join("invites.sqlite3").exists());
}

/// Records exactly as a real Prosody 0.12.3 stored them (captured in
/// tests/vectors/prosody_records.json), in a table created as Prosody does.
pub fn prosody_rows_are_managed(db: &Db) {
    db.create_prosody_schema();
    let captured = prosody_rows();
    for r in &captured {
        db.insert_row(["host", "user", "store", "key", "type", "value"].map(|k| s(&r[k])));
    }
    let before = db.rows();

    // Expected: each key once, whether it has a record, a contact entry or both.
    let expected = |host: &str| -> BTreeSet<String> {
        captured
            .iter()
            .filter(|r| r["host"] == host)
            .map(|r| s(&r["key"]).to_owned())
            .collect()
    };
    for host in ["example.com", "münchen.example"] {
        let list = db.json(&["--now", NOW_S, "list", host]);
        let got: BTreeSet<String> = list.as_array().unwrap().iter().map(token).collect();
        assert_eq!(got, expected(host), "{list:#?}");
        for item in list.as_array().unwrap() {
            assert!(item.get("error").is_none(), "unreadable: {item}");
            assert_eq!(item["expired"], false);
            // Its URI as clients read it: stock's text where that is RFC
            // 5122's already, mended where stock left a byte unescaped
            // (a?b, 100%, jürgen); the rows stay as stock wrote them. (A
            // contact entry alone has no stored URI: it is written.)
            let jid = s(&item["jid"]);
            let plain = jid.is_ascii() && !jid.contains(['?', '%']);
            if !item["record"].is_null() {
                assert_eq!(item["uri"] == item["record"]["uri"], plain, "{item}");
            }
            let parsed = db.json(&["parse", s(&item["uri"])]);
            assert_eq!(parsed["jid"], item["jid"], "{item}");
            assert_eq!(parsed["token"], item["token"], "{item}");
            assert_eq!(
                parsed["uri"], item["uri"],
                "written as this tool writes: {item}"
            );
            let shown = db
                .ok(&["--now", NOW_S, "show", host, s(&item["token"])])
                .stdout;
            assert!(
                shown.contains(&format!("URI:        {}\n", s(&item["uri"]))),
                "{shown}"
            );
            // Each one validates, as a server would.
            let v = db.json(&["--now", NOW_S, "validate", host, s(&item["token"])]);
            assert_eq!(v["valid"], true);
            assert_eq!(v["type"], item["type"]);
            // And is expired a week later.
            let late = db.fails(
                2,
                &["--now", "1795873300", "validate", host, s(&item["token"])],
            );
            assert_eq!(late.error_code(), "token-expired");
        }
    }
    // The IDN host's A-label is another host to Prosody (its VirtualHost
    // keeps the name as written): nothing is found under it, and the hint
    // says where the invites are.
    let ace = "xn--mnchen-3ya.example";
    let by_ace = db.json(&["--now", NOW_S, "list", ace]);
    assert_eq!(by_ace, serde_json::json!([]));
    let human = db.ok(&["--now", NOW_S, "list", ace]);
    assert!(human.stdout.contains("under münchen.example"), "{human:?}");
    let miss = db.fails(
        2,
        &["--now", NOW_S, "validate", ace, "xI46zWtHcRYLJvXskecmi4OS"],
    );
    assert_eq!(miss.error_code(), "not-found");
    assert!(
        s(&miss.error()["hint"]).contains("stored under münchen.example"),
        "{miss:?}"
    );

    let show = |t: &str| db.json(&["--now", NOW_S, "show", "example.com", t]);
    let admin = show("bZV0unmPYxS-dClfodrSbuhx");
    assert_eq!(admin["type"], "account");
    assert_eq!(admin["roles"], serde_json::json!(["prosody:admin"]));
    assert_eq!(
        show("PYyDy1bSRDxZ2dcePWbTkMuV")["groups"],
        serde_json::json!(["g1", "g2"])
    );
    let reset = show("iKjH5CgPOwhVUGe_l1nLHYhc");
    assert_eq!(reset["type"], "password-reset");
    assert_eq!(reset["reset_username"], "romeo");
    let contact = show("FRLsuWdVF6_pRUlg9ehXzP4T");
    assert_eq!(contact["type"], "contact-only");
    assert_eq!(contact["inviter"], "romeo");
    assert_eq!(
        contact["uri"],
        "xmpp:romeo@example.com?roster;preauth=FRLsuWdVF6_pRUlg9ehXzP4T"
    );
    assert_eq!(
        show("EcuaIHblxEcxf-A5duTy_3PC")["type"],
        "account-and-contact"
    );
    assert_eq!(show("gaekZn9wb1HazIxKMd3RD7ou")["type"], "group");
    let human = db.ok(&[
        "--now",
        NOW_S,
        "show",
        "example.com",
        "4yl_ndRs8o2jdan-GqMG4Gf0",
    ]);
    assert!(human.stdout.contains("a?b@example.com"), "{human:?}");

    // Spending: each kind removes what Prosody's use() removes.
    let spend = |t: &str| db.json(&["--now", NOW_S, "use", "example.com", t]);
    assert_eq!(spend("rOTQpK5Ayzgzmo0p-InC6j9q")["outcome"], "deleted");
    assert!(db.rows_of("rOTQpK5Ayzgzmo0p-InC6j9q").is_empty());
    let again = db.fails(
        2,
        &[
            "--now",
            NOW_S,
            "use",
            "example.com",
            "rOTQpK5Ayzgzmo0p-InC6j9q",
        ],
    );
    assert_eq!(again.error_code(), "not-found");
    let both = spend("EcuaIHblxEcxf-A5duTy_3PC");
    assert_eq!(both["inviter"], "romeo");
    assert_eq!(both["redemption"], "registration");
    assert!(db.rows_of("EcuaIHblxEcxf-A5duTy_3PC").is_empty());
    let sub = spend("FRLsuWdVF6_pRUlg9ehXzP4T");
    assert_eq!(sub["redemption"], "subscription");
    assert!(db.rows_of("FRLsuWdVF6_pRUlg9ehXzP4T").is_empty());
    assert_eq!(spend("gaekZn9wb1HazIxKMd3RD7ou")["outcome"], "kept");
    assert_eq!(spend("gaekZn9wb1HazIxKMd3RD7ou")["outcome"], "kept");
    let reset = spend("iKjH5CgPOwhVUGe_l1nLHYhc");
    assert_eq!(reset["reset_username"], "romeo");

    // Rows not spent are untouched, byte for byte.
    let spent = [
        "rOTQpK5Ayzgzmo0p-InC6j9q",
        "EcuaIHblxEcxf-A5duTy_3PC",
        "FRLsuWdVF6_pRUlg9ehXzP4T",
        "iKjH5CgPOwhVUGe_l1nLHYhc",
    ];
    let kept: Vec<_> = before
        .into_iter()
        .filter(|r| !spent.contains(&r[3].as_str()))
        .collect();
    assert_eq!(db.rows(), kept);

    // A fresh invite next to Prosody's reads back the same way.
    let created = db.json(&["create", "account", "example.com", "--admin"]);
    assert_eq!(
        created["record"]["additional_data"]["roles"],
        serde_json::json!({"prosody:admin": true})
    );
}

/// validate never writes; use spends; max-uses counts.
pub fn validate_and_use(db: &Db) {
    let t = token(&db.json(&["create", "account", "example.com"]));
    let before = db.rows();
    for _ in 0..2 {
        let v = db.json(&["validate", "example.com", &t]);
        assert_eq!(v["valid"], true);
        assert!(v.get("used").is_none());
    }
    assert_eq!(db.rows(), before);
    let human = db.ok(&["validate", "example.com", &t]).stdout;
    assert!(
        human.starts_with("Valid: account invite for any username"),
        "{human}"
    );
    let used = db.ok(&["use", "example.com", &t]).stdout;
    assert!(used.contains("spent"), "{used}");
    assert_eq!(
        db.fails(2, &["use", "example.com", &t]).error_code(),
        "not-found"
    );
    assert_eq!(
        db.fails(2, &["validate", "example.com", &t]).error_code(),
        "not-found"
    );

    let m = token(&db.json(&["create", "account", "example.com", "--max-uses", "2"]));
    let first = db.json(&["use", "example.com", &m]);
    assert_eq!(first["outcome"], "counted");
    assert_eq!(first["uses_left"], 1);
    assert_eq!(db.json(&["show", "example.com", &m])["uses"], 1);
    assert_eq!(db.json(&["use", "example.com", &m])["outcome"], "deleted");
    db.fails(2, &["use", "example.com", &m]);

    // Malformed and unknown tokens, wrong host.
    assert_eq!(
        db.fails(2, &["validate", "example.com", "short"])
            .error_code(),
        "token-bad-length"
    );
    assert_eq!(
        db.fails(2, &["use", "example.com", "abc+def/ghi=jklmnopq"])
            .error_code(),
        "token-bad-alphabet"
    );
    let other = token(&db.json(&["create", "account", "example.com"]));
    db.fails(2, &["use", "example.org", &other]);
    // Expired.
    let old = token(&db.json(&[
        "--now",
        "1000000000",
        "create",
        "account",
        "example.com",
        "--expires-after",
        "1h",
    ]));
    let run = db.fails(2, &["use", "example.com", &old]);
    assert_eq!(run.error_code(), "token-expired");
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap()
            .contains("2001-09-09T02:46:40Z")
    );
    // The boundary: equal is still valid.
    db.json(&["--now", "1000003600", "validate", "example.com", &old]);
    db.fails(2, &["--now", "1000003601", "validate", "example.com", &old]);
    // Human errors say what to do.
    let run = db.run(&["use", "example.com", &old]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("hint: create a new invite"), "{run:?}");
}

/// `expire USER@HOST`: contact invites under the user's key, records with
/// the user as source, account and reset invites bound to the user.
pub fn expire_user(db: &Db) {
    let mine = [
        db.json(&["create", "contact", "romeo@example.com"]),
        db.json(&[
            "create",
            "contact",
            "romeo@example.com",
            "--allow-registration",
        ]),
        db.json(&["create", "reset", "romeo@example.com"]),
        db.json(&["create", "account", "romeo@example.com"]),
    ];
    let theirs = [
        db.json(&["create", "contact", "juliet@example.com"]),
        db.json(&["create", "account", "example.com"]),
        db.json(&["create", "reset", "juliet@example.com"]),
        db.json(&["create", "account", "romeo@example.org"]),
    ];
    // An invite romeo created through an ad-hoc command: Prosody's
    // mod_invites_adhoc writes his full JID as source.
    let sourced = "SourcedByRomeo0000000000";
    db.insert(
        "example.com",
        "",
        sourced,
        "json",
        &format!(
            r#"{{"type":"register","jid":"example.com","token":"{sourced}","allow_registration":true,"additional_data":{{"source":"romeo@example.com/phone"}},"uri":"xmpp:example.com?register;preauth={sourced}","created_at":{NOW},"expires":{}}}"#,
            // Far ahead: `expire` runs on the real clock, which passes NOW.
            NOW + 10 * 31_556_952
        ),
    );
    let result = db.json(&["expire", "Romeo@example.com"]);
    let expired: BTreeSet<String> = result["expired"]
        .as_array()
        .unwrap()
        .iter()
        .map(token)
        .collect();
    let mut want: BTreeSet<String> = mine.iter().map(token).collect();
    want.insert(sourced.to_owned());
    assert_eq!(expired, want, "{result:#}");
    for t in &want {
        let run = db.fails(2, &["validate", "example.com", t]);
        assert_eq!(run.error_code(), "token-expired", "{t}");
    }
    for v in &theirs {
        let host = s(&v["host"]);
        db.json(&["validate", host, &token(v)]);
    }
    // Again: nothing pending.
    let again = db.json(&["expire", "romeo@example.com"]);
    assert_eq!(again["expired"], serde_json::json!([]));
    assert!(
        db.ok(&["expire", "romeo@example.com"])
            .stdout
            .contains("no pending invites")
    );
    // cleanup removes what expire expired, and only that.
    let cleaned = db.json(&["cleanup"]);
    assert_eq!(cleaned["removed_records"], 4);
    assert_eq!(cleaned["removed_contact_entries"], 2);
    let left = db.json(&["list", "example.com"]);
    let left: BTreeSet<String> = left.as_array().unwrap().iter().map(token).collect();
    let theirs_here: BTreeSet<String> = theirs[..3].iter().map(token).collect();
    assert_eq!(left, theirs_here);
    assert_eq!(
        db.fails(1, &["expire", "example.com"]).error_code(),
        "missing-username"
    );
}

/// `expire HOST TOKEN`: that invite's record and every user's entry for
/// it, and nothing else; an unknown or already expired token is not found.
pub fn expire_invite(db: &Db) {
    let both = db.json(&[
        "create",
        "contact",
        "romeo@example.com",
        "--allow-registration",
    ]);
    let contact_only = db.json(&["create", "contact", "romeo@example.com"]);
    let other = db.json(&["create", "account", "example.com"]);
    let t = token(&both);
    let result = db.json(&["expire", "example.com", &t]);
    assert_eq!(result["token"], t.as_str(), "{result:#}");
    let mut kinds: Vec<String> = result["expired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["type"].as_str().unwrap(),
                e["user"].as_str().unwrap_or("")
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["account-and-contact:", "contact entry:romeo"],
        "{result:#}"
    );
    assert_eq!(
        db.fails(2, &["validate", "example.com", &t]).error_code(),
        "token-expired"
    );
    // Still listed, as expired; the others stay pending.
    let listed = db.json(&["list", "example.com"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| token(v) == t)
        .expect("the expired invite is listed");
    assert_eq!(row["expired"], true, "{row:#}");
    for v in [&contact_only, &other] {
        db.json(&["validate", "example.com", &token(v)]);
    }
    // A user-level entry alone (contact-only) is expired too.
    let c = token(&contact_only);
    let result = db.json(&["expire", "example.com", &c]);
    assert_eq!(result["expired"].as_array().unwrap().len(), 1, "{result:#}");
    // Again, or a token nobody has, or another host: not found.
    for (host, t) in [
        ("example.com", t.as_str()),
        ("example.com", "-NoSuchToken00000000000"),
        ("example.org", &token(&other)),
    ] {
        let run = db.fails(2, &["expire", host, t]);
        assert_eq!(run.error_code(), "not-found", "{run:?}");
        assert!(run.stderr.contains("no pending invite"), "{run:?}");
    }
    let cleaned = db.json(&["cleanup"]);
    assert_eq!(cleaned["removed_records"], 1);
    assert_eq!(cleaned["removed_contact_entries"], 2);
    db.json(&["validate", "example.com", &token(&other)]);
    assert!(
        db.ok(&["expire", "example.com", &token(&other)])
            .stdout
            .contains("Expired invite")
    );
}

/// cleanup removes expired invites at both levels, of one host or all.
pub fn cleanup(db: &Db) {
    let past = ["--now", "1000000000"];
    let old = |args: &[&str]| {
        let mut all = past.to_vec();
        all.extend_from_slice(args);
        all.extend_from_slice(&["--expires-after", "1 day"]);
        token(&db.json(&all))
    };
    let gone = [
        old(&["create", "account", "example.com"]),
        old(&["create", "contact", "romeo@example.com"]),
        old(&[
            "create",
            "contact",
            "romeo@example.com",
            "--allow-registration",
        ]),
        old(&["create", "account", "example.org"]),
    ];
    let stay = [
        token(&db.json(&["create", "account", "example.com"])),
        token(&db.json(&["create", "contact", "romeo@example.com"])),
        token(&db.json(&[
            "create",
            "account",
            "example.com",
            "--expires-after",
            "never",
        ])),
    ];
    let listed = db.json(&["list", "example.com"]);
    assert_eq!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["expired"] == true)
            .count(),
        3
    );
    let one = db.json(&["cleanup", "example.org"]);
    assert_eq!(one["removed_records"], 1);
    assert!(db.rows_of(&gone[3]).is_empty());
    let all = db.json(&["cleanup"]);
    assert_eq!(all["removed_records"], 2);
    assert_eq!(all["removed_contact_entries"], 2);
    for t in &gone {
        assert!(db.rows_of(t).is_empty(), "{t}");
    }
    for t in &stay {
        assert!(!db.rows_of(t).is_empty(), "{t}");
    }
    let nothing = db.ok(&["cleanup"]).stdout;
    assert!(nothing.contains("Removed 0 expired record(s)"), "{nothing}");
    // Many: more than a page.
    for _ in 0..3 {
        db.json(&[
            "--now",
            "1000000000",
            "create",
            "account",
            "example.net",
            "--count",
            "200",
            "--expires-after",
            "1h",
        ]);
    }
    assert_eq!(db.json(&["cleanup"])["removed_records"], 600);
    assert_eq!(db.rows().len(), 3);
}

/// delete removes both levels; unknown → exit 2.
pub fn delete(db: &Db) {
    let both = token(&db.json(&[
        "create",
        "contact",
        "romeo@example.com",
        "--allow-registration",
    ]));
    let other = token(&db.json(&["create", "account", "example.com"]));
    let d = db.json(&["delete", "example.com", &both]);
    assert_eq!(d["rows"], 2);
    assert!(db.rows_of(&both).is_empty());
    assert_eq!(db.rows().len(), 1);
    assert_eq!(
        db.fails(2, &["delete", "example.com", &both]).error_code(),
        "not-found"
    );
    assert!(
        db.ok(&["delete", "example.com", &other])
            .stdout
            .contains("Deleted")
    );
    assert!(db.rows().is_empty());
}

/// A Prosody whose VirtualHost is written as an A-label
/// (`xn--mnchen-3ya.example`) keeps its rows under that name: every
/// command finds them by it, and `create` writes under it.
pub fn punycode_host(db: &Db) {
    const ACE: &str = "xn--mnchen-3ya.example";
    db.create_prosody_schema();
    // The captured münchen.example rows, as that Prosody writes them.
    for r in prosody_rows()
        .iter()
        .filter(|r| r["host"] == "münchen.example")
    {
        let ace = |k: &str| s(&r[k]).replace("münchen.example", ACE);
        db.insert(
            ACE,
            s(&r["user"]),
            s(&r["key"]),
            s(&r["type"]),
            &ace("value"),
        );
    }
    let list = db.json(&["--now", NOW_S, "list", ACE]);
    let tokens: BTreeSet<String> = list.as_array().unwrap().iter().map(token).collect();
    assert_eq!(tokens.len(), 3, "{list:#}");
    for t in &tokens {
        let v = db.json(&["--now", NOW_S, "validate", ACE, t]);
        assert_eq!(v["host"], ACE);
        db.json(&["--now", NOW_S, "show", ACE, t]);
    }
    // The Unicode spelling is another host: nothing there, and a hint.
    assert_eq!(
        db.json(&["--now", NOW_S, "list", "münchen.example"]),
        serde_json::json!([])
    );
    let miss = db.fails(
        2,
        &[
            "--now",
            NOW_S,
            "use",
            "münchen.example",
            "xI46zWtHcRYLJvXskecmi4OS",
        ],
    );
    assert!(s(&miss.error()["hint"]).contains(ACE), "{miss:?}");

    let used = db.json(&["--now", NOW_S, "use", ACE, "xI46zWtHcRYLJvXskecmi4OS"]);
    assert_eq!(used["outcome"], "deleted");
    assert!(db.rows_of("xI46zWtHcRYLJvXskecmi4OS").is_empty());
    let expired = db.json(&["--now", NOW_S, "expire", &format!("jürgen@{ACE}")]);
    assert_eq!(
        expired["expired"].as_array().unwrap().len(),
        3,
        "{expired:#}"
    );
    let deleted = db.json(&["delete", ACE, "4np_Y3I9bgXosMELbvcRWlBU"]);
    assert_eq!(deleted["rows"], 1);
    let clean = db.json(&["--now", NOW_S, "cleanup", ACE]);
    assert_eq!(clean["removed_records"], 1, "{clean:#}");
    assert_eq!(clean["removed_contact_entries"], 1, "{clean:#}");
    assert!(db.rows().is_empty());

    // Created under the name as given, the A-label included.
    let made = db.run(&["--json", "create", "contact", &format!("Jürgen@{ACE}")]);
    assert_eq!(made.code, 0, "{made:?}");
    assert!(made.stderr.is_empty(), "{made:?}");
    assert_eq!(made.json()["jid"], format!("jürgen@{ACE}"));
    let rows = db.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], ACE);
    assert_eq!(rows[0][1], "jürgen");
    // Creating under the other spelling works, with a note on stderr.
    let plain = db.run(&["create", "account", "münchen.example"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(
        plain
            .stderr
            .starts_with("xmpp-invites: note: storing under münchen.example"),
        "{plain:?}"
    );
    db.exec("DELETE FROM prosody WHERE host = 'münchen.example'");
    // With --json the note is JSON too, one object per line.
    let other = db.run(&["--json", "create", "account", "münchen.example"]);
    assert_eq!(other.code, 0, "{other:?}");
    let note: Value = serde_json::from_str(other.stderr.trim())
        .unwrap_or_else(|e| panic!("the note is not JSON ({e}): {other:?}"));
    assert_eq!(note["note"]["code"], "other-spelling", "{other:?}");
    assert!(
        note["note"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("invites under {ACE}")),
        "{other:?}"
    );
    assert_eq!(
        db.rows()
            .iter()
            .filter(|r| r[0] == "münchen.example")
            .count(),
        1
    );
}

/// --count N: one transaction, N invites, a JSON array.
pub fn bulk_create(db: &Db) {
    let v = db.json(&[
        "create",
        "account",
        "example.com",
        "--count",
        "25",
        "--max-uses",
        "2",
    ]);
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 25);
    let tokens: BTreeSet<String> = items.iter().map(token).collect();
    assert_eq!(tokens.len(), 25);
    assert_eq!(db.rows().len(), 25);
    let human = db
        .ok(&["create", "account", "example.com", "--count", "3"])
        .stdout;
    assert_eq!(
        human.matches("Created an account invite").count(),
        3,
        "{human}"
    );
    assert_eq!(
        db.fails(
            1,
            &["create", "account", "romeo@example.com", "--count", "2"]
        )
        .error_code(),
        "conflicting-options"
    );
}

/// A failure in the middle of a multi-row change leaves nothing behind.
pub fn no_partial_write(db: &Db) {
    db.json(&["create", "account", "example.com"]);
    let before = db.rows();
    // --qr: a link too long to draw is refused before anything is stored.
    let long = format!("https://example.com/{}?{{invite.token}}", "a".repeat(3000));
    for count in ["1", "3"] {
        let run = db.run(&[
            "--invites-page",
            &long,
            "--qr",
            "create",
            "account",
            "example.com",
            "--count",
            count,
        ]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("[qr-too-long]"), "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        assert_eq!(db.rows(), before);
    }
    db.fail_inserts_after(3);
    let run = db.fails(3, &["create", "account", "example.com", "--count", "5"]);
    assert_eq!(run.error_code(), "store-error");
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap()
            .contains("simulated failure")
    );
    assert_eq!(db.rows(), before);

    // cleanup: the second delete fails, so the first is rolled back too.
    let old = [
        "--now",
        "1000000000",
        "create",
        "account",
        "example.org",
        "--expires-after",
        "1h",
    ];
    if db.is_postgres() {
        db.exec("DROP TRIGGER fail_insert ON prosody; DROP FUNCTION fail_insert();");
    } else {
        db.exec("DROP TRIGGER fail_insert;");
    }
    db.json(&old);
    db.json(&old);
    let before = db.rows();
    db.fail_deletes_after_one();
    db.fails(3, &["cleanup"]);
    assert_eq!(db.rows(), before);
}

/// Rows that are not invites: reported clearly, the rest still works.
pub fn corrupt_rows(db: &Db) {
    let good = token(&db.json(&["create", "account", "example.com"]));
    let contact = token(&db.json(&["create", "contact", "romeo@example.com"]));
    db.insert(
        "example.com",
        "",
        "NotJson00000000000000000",
        "json",
        "{not json",
    );
    db.insert(
        "example.com",
        "",
        "WrongType000000000000000",
        "number",
        "17",
    );
    db.insert(
        "example.com",
        "",
        "OtherToken00000000000000",
        "json",
        r#"{"type":"register","jid":"example.com","token":"SomethingElse00000000000","uri":""}"#,
    );
    db.insert(
        "example.com",
        "juliet",
        "BadNumber000000000000000",
        "number",
        "soon",
    );
    db.insert("example.com", "", "", "json", "{}");

    // list: lists everything it can, marks the rest, exits 4.
    let run = db.run(&["--json", "list", "example.com"]);
    assert_eq!(run.code, 4, "{run:?}");
    let items = run.json();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 7, "{items:#?}");
    assert_eq!(items.iter().filter(|i| i.get("error").is_some()).count(), 5);
    assert!(items.iter().any(|i| i["token"] == good.as_str()));
    assert!(items.iter().any(|i| i["token"] == contact.as_str()));
    assert_eq!(run.error_code(), "corrupt-row");
    let human = db.run(&["list", "example.com"]);
    assert_eq!(human.code, 4);
    assert!(human.stdout.contains("UNREADABLE"), "{human:?}");
    assert!(
        human
            .stderr
            .contains("5 stored row(s) on example.com are not invites"),
        "{human:?}"
    );
    assert!(human.stderr.contains("hint:"), "{human:?}");

    // show / validate / use: a clear error, exit 4, nothing written.
    let before = db.rows();
    for t in [
        "NotJson00000000000000000",
        "WrongType000000000000000",
        "OtherToken00000000000000",
    ] {
        let run = db.run(&["--json", "show", "example.com", t]);
        assert_eq!(run.code, 4, "{run:?}");
        assert_eq!(run.json()["unreadable_rows"].as_array().unwrap().len(), 1);
        assert_eq!(
            db.fails(4, &["validate", "example.com", t]).error_code(),
            "corrupt-row"
        );
        assert_eq!(
            db.fails(4, &["use", "example.com", t]).error_code(),
            "corrupt-row"
        );
    }
    let human = db.run(&["show", "example.com", "NotJson00000000000000000"]);
    assert!(human.stdout.contains("{not json"), "{human:?}");
    assert!(human.stderr.contains("is not an invite"), "{human:?}");
    db.fails(4, &["use", "example.com", "BadNumber000000000000000"]);
    // expire HOST TOKEN: a corrupt row alone changes nothing and says so.
    assert_eq!(
        db.fails(4, &["expire", "example.com", "NotJson00000000000000000"])
            .error_code(),
        "corrupt-row"
    );
    assert_eq!(db.rows(), before);
    // The good ones still work.
    db.json(&["validate", "example.com", &good]);
    // cleanup and expire go on past them and exit 4.
    let run = db.run(&["--json", "cleanup"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json()["unreadable_rows"], 5);
    assert_eq!(db.run(&["expire", "romeo@example.com"]).code, 4);
    assert!(
        db.fails(2, &["validate", "example.com", &contact])
            .error_code()
            == "token-expired"
    );
    // With a readable entry beside a corrupt one, expire HOST TOKEN expires
    // the one and exits 4 for the other.
    let mixed = token(&db.json(&["create", "contact", "juliet@example.com"]));
    db.insert("example.com", "", &mixed, "json", "{not json");
    let run = db.run(&["--json", "expire", "example.com", &mixed]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.error_code(), "corrupt-row", "{run:?}");
    let done = run.json();
    assert_eq!(done["expired"][0]["type"], "contact entry", "{done:#}");
    assert_eq!(done["expired"][0]["user"], "juliet", "{done:#}");
    assert_eq!(done["unreadable_rows"], 1, "{done:#}");
    // delete removes a corrupt row.
    db.json(&["delete", "example.com", "NotJson00000000000000000"]);
}

/// Exactly one of `racers` processes spending one single-use invite at once
/// succeeds; the others find it gone. With `hold_ms` each winner pauses
/// inside its transaction, so the others certainly try meanwhile.
pub fn race(db: &Db, racers: usize, rounds: usize, hold_ms: Option<u64>) {
    for round in 0..rounds {
        let t = token(&db.json(&["create", "account", "example.com"]));
        let winners = spend_at_once(db, &t, racers, hold_ms);
        assert_eq!(
            winners, 1,
            "round {round}: {winners} processes used one single-use invite"
        );
        assert!(db.rows_of(&t).is_empty());
    }
    // A max-uses invite lets exactly that many through.
    let t = token(&db.json(&["create", "account", "example.com", "--max-uses", "3"]));
    assert_eq!(spend_at_once(db, &t, racers.max(4), hold_ms), 3);
    assert!(db.rows_of(&t).is_empty());
}

fn spend_at_once(db: &Db, token: &str, racers: usize, hold_ms: Option<u64>) -> usize {
    let hold = hold_ms.map(|ms| ms.to_string());
    let children: Vec<_> = (0..racers)
        .map(|_| {
            let mut c = db.cmd();
            c.args(["--json", "--lock-timeout", "30"]);
            if let Some(ms) = &hold {
                c.args(["--hold-ms", ms]);
            }
            c.args(["use", "example.com", token])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut winners = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let run = super::Run::from(out);
        match run.code {
            0 => {
                assert_eq!(run.json()["used"], true);
                winners += 1;
            }
            2 => assert_eq!(run.error_code(), "not-found", "{run:?}"),
            _ => panic!("a racer failed: {run:?}"),
        }
    }
    winners
}

/// Every command's --json output parses; errors are JSON on stderr.
pub fn json_everywhere(db: &Db) {
    let a = db.json(&["create", "account", "example.com"]);
    let t = token(&a);
    for args in [
        vec!["list", "example.com"],
        vec!["show", "example.com", t.as_str()],
        vec!["validate", "example.com", t.as_str()],
        vec!["parse", s(&a["uri"])],
        vec!["expire", "romeo@example.com"],
        vec!["cleanup"],
        vec!["use", "example.com", t.as_str()],
    ] {
        let v = db.json(&args);
        assert!(v.is_object() || v.is_array(), "{args:?}: {v}");
    }
    let d = token(&db.json(&["create", "reset", "romeo@example.com"]));
    db.json(&["delete", "example.com", &d]);
    // Every invite object of list and show has the same keys, whatever its
    // type, among them those the README promises.
    db.json(&["create", "contact", "romeo@example.com"]);
    db.json(&[
        "create",
        "contact",
        "juliet@example.com",
        "--allow-registration",
    ]);
    db.json(&["create", "account", "example.com", "--group", "g"]);
    let listed = db.json(&["list", "example.com"]);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let items = listed.as_array().unwrap();
    let types: std::collections::BTreeSet<&str> = items.iter().map(|i| s(&i["type"])).collect();
    assert_eq!(types.len(), 3, "{listed}");
    let want = keys(&items[0]);
    for key in [
        "token",
        "host",
        "type",
        "jid",
        "uri",
        "landing_page",
        "inviter",
        "roles",
        "groups",
        "expires",
        "expires_utc",
        "expired",
        "record",
    ] {
        assert!(want.iter().any(|k| k == key), "{key} missing: {want:?}");
    }
    // show adds what else is stored under the token.
    let mut shown_keys = want.clone();
    shown_keys.extend(["contact_entries".to_owned(), "unreadable_rows".to_owned()]);
    shown_keys.sort();
    for item in items {
        assert_eq!(keys(item), want, "{item}");
        let shown = db.json(&["show", "example.com", &token(item)]);
        assert_eq!(keys(&shown), shown_keys, "{shown}");
    }
    let e = db.fails(2, &["show", "example.com", &t]).error();
    assert_eq!(e["exit"], 2);
    assert!(e["hint"].as_str().unwrap().len() > 10);
}

/// The configuration file: database (relative to the file), landing page,
/// supported types, default expiry, role format.
pub fn config_file(db: &Db) {
    let cfg = db.dir.path().join("xi.toml");
    let database = match &db.backend {
        super::Backend::Sqlite(_) => "sub.sqlite3".to_owned(),
        super::Backend::Postgres(url) => url.clone(),
    };
    std::fs::write(
        &cfg,
        format!(
            r#"database = "{database}"
invites_page = "https://{{host}}/join/{{invite.token}}"
invites_page_supports = ["account", "contact"]
invite_expiry = "2 days"
role_format = "list"
"#
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let run = |args: &[&str]| -> Value {
        let mut c = std::process::Command::new(super::BIN);
        c.args(["--json", "--config", &cfg])
            .args(args)
            .env("TZ", "UTC");
        let out = c.current_dir("/").output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let a = run(&[
        "--now",
        NOW_S,
        "create",
        "account",
        "example.com",
        "--admin",
    ]);
    assert_eq!(a["expires"], NOW + 172_800);
    assert_eq!(
        a["landing_page"],
        format!("https://example.com/join/{}", token(&a))
    );
    assert_eq!(a["roles"], serde_json::json!(["prosody:admin"]));
    assert_eq!(
        a["record"]["additional_data"]["roles"],
        serde_json::json!(["prosody:admin"])
    );
    // "contact" is taken as contact-only, as Prosody's default says.
    let c = run(&["create", "contact", "romeo@example.com"]);
    assert!(c["landing_page"].is_string(), "{c}");
    let both = run(&[
        "create",
        "contact",
        "romeo@example.com",
        "--allow-registration",
    ]);
    assert!(both["landing_page"].is_null(), "{both}");
    // A reset keeps its 1 day; options beat the file.
    let r = run(&["--now", NOW_S, "create", "reset", "romeo@example.com"]);
    assert_eq!(r["expires"], NOW + 86_400);
    let o = run(&[
        "--now",
        NOW_S,
        "--invites-page",
        "https://x.example/{invite.token}",
        "create",
        "account",
        "example.com",
        "--expires-after",
        "1h",
    ]);
    assert_eq!(o["expires"], NOW + 3600);
    assert!(s(&o["landing_page"]).starts_with("https://x.example/"));
    if let super::Backend::Sqlite(_) = db.backend {
        assert!(db.dir.path().join("sub.sqlite3").exists());
    }
}

/// A change whose report cannot be written (stdout on a full disk) stands,
/// and the error says what was done, with its own exit status (5), so that
/// nobody takes it for "nothing happened" and runs the command again. A
/// command that changed nothing keeps exit 1.
pub fn output_failure_after_a_change(db: &Db) {
    let to_full = |args: &[&str]| {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        super::Run::from(
            db.cmd()
                .arg("--json")
                .args(args)
                .stdout(full)
                .output()
                .unwrap(),
        )
    };
    let failed = |run: &super::Run, done: &str| {
        assert_eq!(run.code, 5, "{run:?}");
        assert_eq!(run.error_code(), "output-failed", "{run:?}");
        assert_eq!(run.error()["exit"], 5, "{run:?}");
        let message = run.error()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(done), "{message}");
    };
    let run = to_full(&["create", "account", "example.com", "--count", "3"]);
    failed(&run, "3 invite(s) were created and stored on example.com");
    let listed = db.json(&["list", "example.com"]);
    let tokens: Vec<String> = listed.as_array().unwrap().iter().map(token).collect();
    assert_eq!(tokens.len(), 3, "{listed}");

    let run = to_full(&["use", "example.com", &tokens[0]]);
    failed(&run, "was used");
    assert_eq!(
        db.fails(2, &["validate", "example.com", &tokens[0]])
            .error_code(),
        "not-found"
    );

    let run = to_full(&["delete", "example.com", &tokens[1]]);
    failed(&run, "was deleted");
    assert!(db.rows_of(&tokens[1]).is_empty());

    let created = db.json(&["create", "account", "romeo@example.com"]);
    let run = to_full(&["expire", "romeo@example.com"]);
    failed(
        &run,
        "1 pending invite entries of romeo@example.com were expired",
    );
    let run = to_full(&["cleanup"]);
    failed(&run, "1 expired record(s)");
    assert!(db.rows_of(&token(&created)).is_empty());

    // Nothing changed: a plain output failure. (Using a reusable invite
    // changes nothing either.)
    let reusable = "Rz9sT2vR7qLm4KpZ8wYd1eFg";
    db.insert(
        "example.com",
        "",
        reusable,
        "json",
        &format!(
            r#"{{"type":"register","jid":"example.com","token":"{reusable}","allow_registration":true,"reusable":true,"created_at":{},"expires":{}}}"#,
            now() - 10,
            now() + 3600
        ),
    );
    let run = to_full(&["use", "example.com", reusable]);
    assert_eq!(
        (run.code, run.error_code().as_str()),
        (1, "output-failed"),
        "{run:?}"
    );
    assert_eq!(db.rows_of(reusable).len(), 1);
    db.ok(&["delete", "example.com", reusable]);
    let run = to_full(&["list", "example.com"]);
    assert_eq!(
        (run.code, run.error_code().as_str()),
        (1, "output-failed"),
        "{run:?}"
    );
    let run = to_full(&["cleanup"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(db.rows_of(&tokens[2]).len(), 1);
}

/// `expire` while a `use` of the same invite is under way: the invite is
/// spent and stays gone. (On PostgreSQL `expire` scans without locks; it
/// used to write back the record it had read, bringing the spent invite
/// back as an expired one.)
pub fn expire_during_use(db: &Db) {
    for max_uses in [None, Some("2")] {
        let mut args = vec!["create", "account", "romeo@example.com"];
        if let Some(n) = max_uses {
            args.extend(["--max-uses", n]);
        }
        let t = token(&db.json(&args));
        let spender = db
            .cmd()
            .args(["--hold-ms", "1500", "use", "example.com", &t])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let expired = db.run(&["--json", "expire", "romeo@example.com"]);
        let spent = spender.wait_with_output().unwrap();
        assert!(spent.status.success(), "{spent:?}");
        assert_eq!(expired.code, 0, "{expired:?}");
        let rows = db.rows_of(&t);
        match max_uses {
            // Spent and deleted: expire found nothing left to expire.
            None => {
                assert!(rows.is_empty(), "{rows:?}");
                assert_eq!(
                    expired.json()["expired"],
                    serde_json::json!([]),
                    "{expired:?}"
                );
            }
            // One use left, then expired: both changes are in the record.
            Some(_) => {
                assert_eq!(rows.len(), 1, "{rows:?}");
                let record: Value = serde_json::from_str(&rows[0][5]).unwrap();
                assert_eq!(record["uses"], 1, "{record}");
                assert!(record["expires"].as_i64().unwrap() < now(), "{record}");
                db.ok(&["delete", "example.com", &t]);
            }
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
