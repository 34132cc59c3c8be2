//! Faults and secrets: a store killed mid-write keeps whole transactions
//! only, and no error the tool prints carries a whole token.

mod common;

use std::time::Duration;

use common::Db;
use serde_json::Value;

fn tokens(db: &Db) -> Vec<String> {
    let list = db.json(&["list", "example.com"]);
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["token"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn kill_9_during_bulk_create_leaves_whole_batches() {
    let db = Db::sqlite();
    db.ok(&["create", "account", "example.com", "--count", "2000"]);
    let mut committed = 2000;
    // Kill a 10,000-invite transaction at several points of its life.
    for delay_ms in [5u64, 40, 120, 200, 280, 360, 440, 900] {
        let mut child = db
            .cmd()
            .args(["create", "account", "example.com", "--count", "10000"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        let finished = child.wait().unwrap().success();
        let n = tokens(&db).len();
        // All or nothing: the killed batch is wholly there or wholly absent.
        if finished || n == committed + 10_000 {
            committed += 10_000;
        }
        eprintln!("kill at {delay_ms} ms: finished={finished}, stored={n}");
        assert_eq!(n, committed, "after a kill at {delay_ms} ms");
    }
    // The file is sound, and every stored invite is whole and valid.
    let integrity = db.run(&["list", "example.com"]);
    assert_eq!(integrity.code, 0, "{integrity:?}");
    let all = tokens(&db);
    for token in all.iter().step_by(997) {
        db.ok(&["validate", "example.com", token]);
    }
    let conn = rusqlite::Connection::open(db.database()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM prosody WHERE store = 'invite_token'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows as usize, all.len());
}

#[test]
fn errors_never_print_a_whole_token() {
    let db = Db::sqlite();
    let made: Value = db.json(&["create", "account", "example.com", "--expires-after", "1 s"]);
    let expired = made["token"].as_str().unwrap().to_owned();
    let spent = db.json(&["create", "account", "example.com"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    db.ok(&["use", "example.com", &spent]);
    let unknown = "AAAAAAAAAAAAAAAAAAAAAAAA";
    std::thread::sleep(Duration::from_millis(2100));
    let mut seen = 0;
    for token in [expired.as_str(), spent.as_str(), unknown] {
        for cmd in ["validate", "use", "show", "delete"] {
            for json in [false, true] {
                let mut args = vec![];
                if json {
                    args.push("--json");
                }
                args.extend([cmd, "example.com", token]);
                let run = db.run(&args);
                if run.code != 0 {
                    seen += 1;
                    assert!(
                        !run.stderr.contains(token),
                        "{args:?} printed the token: {run:?}"
                    );
                    assert!(
                        run.stderr.contains(&token[..4]),
                        "{args:?}: the redacted form names it: {run:?}"
                    );
                }
            }
        }
    }
    assert!(seen >= 16, "only {seen} failures were checked");
}
