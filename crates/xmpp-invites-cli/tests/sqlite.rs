//! The scenarios on SQLite, and what only SQLite has: files, journal modes,
//! locks and permissions.

mod common;

use common::{Db, scenarios};

macro_rules! on_sqlite {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            scenarios::$name(&Db::sqlite());
        }
    )*};
}

on_sqlite!(
    create_each_kind,
    human_output,
    prosody_rows_are_managed,
    punycode_host,
    validate_and_use,
    expire_user,
    expire_invite,
    cleanup,
    delete,
    bulk_create,
    no_partial_write,
    corrupt_rows,
    json_everywhere,
    config_file,
    output_failure_after_a_change,
    expire_during_use,
);

/// A database as Prosody creates it: its schema, rollback journal.
fn prosody_db() -> Db {
    let db = Db::sqlite();
    db.create_prosody_schema();
    db
}

#[test]
fn race_two_processes() {
    scenarios::race(&Db::sqlite(), 2, 10, None);
    scenarios::race(&Db::sqlite(), 2, 3, Some(150));
}

#[test]
fn race_eight_processes() {
    scenarios::race(&Db::sqlite(), 8, 5, None);
    scenarios::race(&Db::sqlite(), 8, 2, Some(50));
}

#[test]
fn race_on_a_prosody_database() {
    // Rollback journal instead of WAL: the same guarantee.
    scenarios::race(&prosody_db(), 8, 3, None);
    scenarios::race(&prosody_db(), 2, 2, Some(150));
}

fn schema(path: &std::path::Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn journal_mode(path: &std::path::Path) -> String {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

fn path(db: &Db) -> std::path::PathBuf {
    match &db.backend {
        common::Backend::Sqlite(p) => p.clone(),
        common::Backend::Postgres(_) => unreachable!(),
    }
}

/// A new database gets Prosody's table and index plus the token index, in
/// WAL mode; an existing (Prosody) database keeps its journal mode and gets
/// the token index at the first write, not at a read.
#[test]
fn schema_and_journal_mode() {
    let token_index = (
        "index".to_owned(),
        "xmpp_invites_token_index".to_owned(),
        r#"CREATE INDEX "xmpp_invites_token_index" ON "prosody" ("host", "key") WHERE "store" = 'invite_token'"#.to_owned(),
    );
    let tool = Db::sqlite();
    tool.json(&["create", "account", "example.com"]);
    let prosody = prosody_db();
    let mut expected = schema(&path(&prosody));
    assert!(!expected.contains(&token_index));
    expected.push(token_index.clone());
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(schema(&path(&tool)), expected);
    assert_eq!(journal_mode(&path(&tool)), "wal");

    // Prosody's database: found by token without the index, then indexed
    // by the first write.
    for row in common::prosody_rows() {
        let r = |k: &str| row[k].as_str().unwrap().to_owned();
        prosody.insert(&r("host"), &r("user"), &r("key"), &r("type"), &r("value"));
    }
    let key = common::prosody_rows()[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let host = common::prosody_rows()[0]["host"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = prosody.run(&["--json", "show", &host, &key]);
    assert!(!schema(&path(&prosody)).contains(&token_index));
    prosody.json(&["create", "account", "example.com"]);
    assert_eq!(journal_mode(&path(&prosody)), "delete");
    assert_eq!(schema(&path(&prosody)), expected);
    let after = prosody.run(&["--json", "show", &host, &key]);
    assert_eq!(before.stdout, after.stdout);
    assert_eq!(before.code, after.code);

    // Reads create nothing.
    let empty = Db::sqlite();
    empty.exec("CREATE TABLE other (x)");
    assert_eq!(empty.json(&["list", "example.com"]), serde_json::json!([]));
    assert_eq!(schema(&path(&empty)).len(), 1);
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A database the tool creates holds live tokens: it is readable by its
/// owner alone, whatever the umask lets through; an existing file (a
/// Prosody database) keeps the mode it has.
#[test]
fn new_database_is_private() {
    // Under umask 022, as a login shell has it, SQLite alone would make
    // the file 0644.
    let umask_022 = |db: &Db, args: &[&str]| {
        let out = std::process::Command::new("sh")
            .args(["-c", "umask 022; exec \"$0\" \"$@\"", common::BIN])
            .arg("--database")
            .arg(path(db))
            .args(args)
            .current_dir(db.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    let db = Db::sqlite();
    umask_022(&db, &["create", "account", "example.com"]);
    assert_eq!(mode(&path(&db)), 0o600);
    // And stays so as it is used (WAL files take the database's mode).
    umask_022(&db, &["create", "account", "example.com", "--count", "300"]);
    umask_022(&db, &["cleanup"]);
    assert_eq!(mode(&path(&db)), 0o600);

    let prosody = prosody_db();
    common::set_mode(&path(&prosody), 0o640);
    umask_022(&prosody, &["create", "account", "example.com"]);
    assert_eq!(mode(&path(&prosody)), 0o640);
}

/// `--database` names a file, whatever SQLite would make of the name:
/// `file:` is no URI and `:memory:` no in-memory database (either would
/// leave the private file unused, the tokens in a 0644 file or nowhere),
/// and a link to a missing file is refused rather than have SQLite create
/// its target with the umask's mode.
#[test]
fn database_names_are_files() {
    let db = Db::sqlite();
    let dir = db.dir.path();
    let run_in = |database: &str, args: &[&str]| {
        let out = std::process::Command::new("sh")
            .args(["-c", "umask 022; exec \"$0\" \"$@\"", common::BIN])
            .args(["--database", database, "--json"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        common::Run::from(out)
    };
    for name in ["file:inv.db", ":memory:", "file:x.db?mode=memory"] {
        let created = run_in(name, &["create", "account", "example.com"]);
        assert_eq!(created.code, 0, "{name}: {created:?}");
        let token = created.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        // A later process finds the invite in that file.
        let shown = run_in(name, &["show", "example.com", &token]);
        assert_eq!(shown.code, 0, "{name}: {shown:?}");
    }
    // No file SQLite would have made of those names instead.
    assert!(!dir.join("inv.db").exists() && !dir.join("x.db").exists());

    std::os::unix::fs::symlink("missing.sqlite3", dir.join("link.sqlite3")).unwrap();
    let run = run_in("link.sqlite3", &["create", "account", "example.com"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("symbolic link to a file that does not exist"),
        "{run:?}"
    );
    assert!(!dir.join("missing.sqlite3").exists());
    // A link to an existing database is followed.
    let target = Db::sqlite();
    target.ok(&["create", "account", "example.com"]);
    std::os::unix::fs::symlink(path(&target), dir.join("good.sqlite3")).unwrap();
    assert_eq!(
        run_in("good.sqlite3", &["create", "account", "example.com"]).code,
        0
    );
    assert_eq!(
        target
            .json(&["list", "example.com"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Processes that create invites in a new database at once all succeed:
/// putting the new file in WAL mode does not wait for a lock by itself
/// (SQLite answers "busy" at once), so the tool retries it.
#[test]
fn parallel_first_creates() {
    for round in 0..40 {
        let db = Db::sqlite();
        let children: Vec<_> = (0..4)
            .map(|_| {
                db.cmd()
                    .args(["create", "account", "example.com"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {out:?}");
        }
        assert_eq!(
            db.json(&["list", "example.com"]).as_array().unwrap().len(),
            4
        );
    }
}

/// Runs the tool as a child process, killed if it has not finished within
/// a minute or has written 64 MiB (a scan that never ends), which fails
/// the test.
fn run_bounded(db: &Db, args: &[&str]) -> common::Run {
    let out_path = db.dir.path().join("bounded.out");
    let err_path = db.dir.path().join("bounded.err");
    let mut child = db
        .cmd()
        .args(args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // A scan that loops also writes without end: stop it early then.
        let written = std::fs::metadata(&out_path).map_or(0, |m| m.len());
        if std::time::Instant::now() > limit || written > 64 << 20 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} did not finish within 60 s (or wrote {written} bytes): it was killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    common::Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    }
}

/// Rows another tool wrote with BLOB keys or hosts (SQLite sorts a BLOB
/// after every text): `list`, `cleanup` and `expire` walk past them, report
/// them as corrupt rows and exit 4, instead of reading the same page of
/// them forever.
#[test]
fn blob_rows_end_the_scan() {
    let db = Db::sqlite();
    let keep = db.json(&["create", "contact", "juliet@example.com"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = db.json(&["--now", "1000000000", "create", "account", "example.com"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        let conn = rusqlite::Connection::open(path(&db)).unwrap();
        let insert = r#"INSERT INTO "prosody" VALUES (?1, ?2, 'invite_token', ?3, 'json', '{}')"#;
        for i in 0..300 {
            let key = format!("blob{i:03}").into_bytes();
            conn.execute(insert, rusqlite::params!["example.com", "", key])
                .unwrap();
            let host = b"blob.example".to_vec();
            conn.execute(insert, rusqlite::params![host, "", format!("text{i:03}")])
                .unwrap();
        }
        // One whose bytes are not even UTF-8.
        conn.execute(
            insert,
            rusqlite::params!["example.com", "", vec![0xffu8, 0xfe]],
        )
        .unwrap();
    }

    let run = run_bounded(&db, &["--json", "list", "example.com"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.error_code(), "corrupt-row");
    let items = run.json();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 303);
    let bad: Vec<_> = items.iter().filter(|i| i.get("error").is_some()).collect();
    assert_eq!(bad.len(), 301);
    assert!(bad.iter().all(|i| i["error"]["code"] == "corrupt-row"));
    let first = bad.iter().find(|i| i["token"] == "blob000").unwrap();
    assert!(
        first["error"]["message"]
            .as_str()
            .unwrap()
            .contains("its key is stored as blob"),
        "{first}"
    );
    // The hint removes exactly that row.
    let hint = first["error"]["hint"].as_str().unwrap();
    let statement = hint.split("with: ").nth(1).unwrap();
    assert!(statement.contains("X'626C6F62303030'"), "{hint}");
    let human = run_bounded(&db, &["list", "example.com"]);
    assert_eq!(human.code, 4, "{human:?}");
    assert!(human.stderr.contains("301 stored row(s) on example.com"));

    let run = run_bounded(&db, &["--json", "expire", "juliet@example.com"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json()["expired"][0]["token"], keep.as_str());
    assert_eq!(run.json()["unreadable_rows"], 301);

    let run = run_bounded(&db, &["--json", "cleanup"]);
    assert_eq!(run.code, 4, "{run:?}");
    let report = run.json();
    assert_eq!(report["removed_records"], 1, "{report}");
    assert_eq!(report["removed_contact_entries"], 1, "{report}");
    assert_eq!(report["unreadable_rows"], 601, "{report}");
    let left: i64 = rusqlite::Connection::open(path(&db))
        .unwrap()
        .query_row(
            r#"SELECT count(*) FROM "prosody" WHERE "key" = ?1"#,
            [&old],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the expired invite is still there");
    let run = run_bounded(&db, &["--json", "cleanup", "example.com"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json()["unreadable_rows"], 301);

    rusqlite::Connection::open(path(&db))
        .unwrap()
        .execute_batch(statement)
        .unwrap();
    let after = run_bounded(&db, &["--json", "list", "example.com"]);
    assert_eq!(after.json().as_array().unwrap().len(), 300);
}

/// Missing, not a database, not Prosody's table: exit 3 and a hint.
#[test]
fn unusable_databases() {
    let db = Db::sqlite();
    let t = "AAAAAAAAAAAAAAAAAAAAAAAA";
    // Only `create` makes a new database: a mistyped path given to any
    // other command, reads and changes alike, is refused and left absent.
    for args in [
        vec!["list", "example.com"],
        vec!["show", "example.com", t],
        vec!["validate", "example.com", t],
        vec!["use", "example.com", t],
        vec!["delete", "example.com", t],
        vec!["expire", "juliet@example.com"],
        vec!["cleanup"],
        vec!["cleanup", "example.com"],
    ] {
        let run = db.fails(3, &args);
        assert_eq!(run.error_code(), "database-missing", "{args:?}");
        assert!(!path(&db).exists(), "{args:?} created the file");
    }

    std::fs::write(path(&db), "this is not a database, just text, long enough to be read as a header ........................................").unwrap();
    assert_eq!(
        db.fails(3, &["list", "example.com"]).error_code(),
        "not-a-database"
    );
    assert_eq!(
        db.fails(3, &["create", "account", "example.com"])
            .error_code(),
        "not-a-database"
    );

    let other = Db::sqlite();
    other.exec(r#"CREATE TABLE prosody (host TEXT, user TEXT, value TEXT)"#);
    let run = other.fails(3, &["create", "account", "example.com"]);
    assert_eq!(run.error_code(), "not-prosody-schema");
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap()
            .contains("store, key, type")
    );

    let nodir = Db::sqlite_at("/nonexistent/dir/x.sqlite3");
    let run = nodir.fails(3, &["create", "account", "example.com"]);
    assert_eq!(run.error_code(), "database-open");
    let human = nodir.run(&["create", "account", "example.com"]);
    assert!(
        human
            .stderr
            .contains("hint: check that the directory exists"),
        "{human:?}"
    );
}

/// Another process holding the lock: exit 3 after --lock-timeout, nothing
/// written; once released, it works.
#[test]
fn locked_database() {
    for db in [prosody_db(), Db::sqlite()] {
        db.json(&["create", "account", "example.com"]);
        let before = db.rows();
        let holder = rusqlite::Connection::open(path(&db)).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let started = std::time::Instant::now();
        let run = db.fails(
            3,
            &["--lock-timeout", "0.5", "create", "account", "example.com"],
        );
        assert!(started.elapsed() >= std::time::Duration::from_millis(500));
        assert_eq!(run.error_code(), "database-locked");
        assert!(
            run.error()["hint"]
                .as_str()
                .unwrap()
                .contains("--lock-timeout")
        );
        let t = before[0][3].clone();
        db.fails(3, &["--lock-timeout", "0.2", "use", "example.com", &t]);
        holder.execute_batch("ROLLBACK").unwrap();
        assert_eq!(db.rows(), before);
        db.json(&["use", "example.com", &t]);
    }
}

/// A database this user may read but not write: reads work, writes exit 3
/// with a hint, nothing changes. (Run as `nobody` when the tests run as
/// root, since root may write anything.)
#[test]
fn read_only_database() {
    let db = prosody_db();
    let t = db.json(&["create", "account", "example.com"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = db.rows();
    let root = running_as_root();
    common::set_mode(&path(&db), 0o444);
    if !root {
        common::set_mode(db.dir.path(), 0o555);
    }
    let run = |args: &[&str]| {
        let mut c = if root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "nobody", "--", common::BIN]);
            c
        } else {
            std::process::Command::new(common::BIN)
        };
        let out = c
            .args(["--json", "--database"])
            .arg(path(&db))
            .args(args)
            .current_dir("/")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["list", "example.com"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&t));
    let (code, _, err) = run(&["validate", "example.com", &t]);
    assert_eq!(code, Some(0), "{err}");
    for args in [
        vec!["create", "account", "example.com"],
        vec!["use", "example.com", t.as_str()],
        vec!["delete", "example.com", t.as_str()],
        vec!["cleanup"],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert!(err.contains("database-read-only"), "{args:?}: {err}");
    }
    common::set_mode(db.dir.path(), 0o755);
    common::set_mode(&path(&db), 0o644);
    assert_eq!(db.rows(), before);
}

fn running_as_root() -> bool {
    // The uid without libc: /proc/self/status says "Uid: real effective ...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Bad input: exit 1 and a message that says what to write.
#[test]
fn bad_input() {
    let db = Db::sqlite();
    let cases: &[(&[&str], &str)] = &[
        (&["list", "exa mple.com"], "invalid-host"),
        (&["list", "juliet@example.com"], "invalid-host"),
        (&["list", ""], "empty-host"),
        (&["create", "account", "exa mple.com"], "invalid-host"),
        (
            &["create", "account", "a b@example.com"],
            "invalid-username",
        ),
        (&["create", "contact", "example.com"], "missing-username"),
        (&["create", "reset", "example.com/res"], "jid-has-resource"),
        (
            &["create", "account", "example.com", "--expires-after", "1m"],
            "ambiguous-period",
        ),
        (
            &[
                "create",
                "account",
                "example.com",
                "--expires-after",
                "soon",
            ],
            "invalid-period",
        ),
        (
            &[
                "create",
                "account",
                "example.com",
                "--expires-after",
                "3 fortnights",
            ],
            "unknown-unit",
        ),
        (
            &["create", "account", "example.com", "--max-uses", "0"],
            "zero-uses",
        ),
        // The parser's own errors: JSON too, code usage.
        (
            &["create", "account", "example.com", "--count", "10001"],
            "usage",
        ),
        (
            &["create", "account", "example.com", "--count", "0"],
            "usage",
        ),
        (&["frobnicate"], "usage"),
        (&["create", "account"], "usage"),
        (&["list", "example.com", "--bogus"], "usage"),
        (&["--qr", "create", "account", "example.com"], "usage"),
        (&["--lock-timeout", "-1", "list", "example.com"], "usage"),
        (&["parse", "xmpp:example.com"], "not-an-invite"),
        (&["parse", "https://example.com/"], ""),
        (
            &["--config", "/nonexistent.toml", "list", "example.com"],
            "bad-config",
        ),
        // ejabberd's template syntax, which Prosody's leaves in the link.
        (
            &[
                "--invites-page",
                "https://{{ host }}/i/{{ invite.token }}",
                "create",
                "account",
                "example.com",
            ],
            "bad-config",
        ),
    ];
    for (args, code) in cases {
        let run = db.fails(1, args);
        if !code.is_empty() {
            assert_eq!(run.error_code(), *code, "{args:?}");
        }
        assert!(!run.error()["hint"].as_str().unwrap().is_empty());
    }
    let human = db.run(&["create", "account", "example.com", "--expires-after", "1m"]);
    assert_eq!(human.code, 1);
    assert!(
        human
            .stderr
            .contains("write \"1 min\" for minutes or \"1 mon\" for months"),
        "{human:?}"
    );
    // Usage errors from the parser: exit 1, not clap's 2 (2 means a bad token).
    for args in [
        vec!["frobnicate"],
        vec!["create", "account"],
        vec!["list", "example.com", "--bogus"],
        vec!["--json", "--qr", "create", "account", "example.com"],
        vec!["--lock-timeout", "-1", "list", "example.com"],
    ] {
        let run = db.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        if args.contains(&"--json") {
            assert_eq!(run.error_code(), "usage", "{args:?}");
        } else {
            assert!(run.stderr.starts_with("error: "), "{args:?}: {run:?}");
        }
    }
    assert!(!path(&db).exists(), "bad input created the database");
    let cfg = db.dir.path().join("bad.toml");
    std::fs::write(&cfg, "databse = \"x\"\n").unwrap();
    let run = db.fails(
        1,
        &["--config", cfg.to_str().unwrap(), "list", "example.com"],
    );
    assert!(
        run.error()["message"].as_str().unwrap().contains("databse"),
        "{run:?}"
    );
    // A negative number of seconds is refused, not read as "never".
    for (expiry, code) in [
        ("\"1m\"", "ambiguous-period"),
        ("-1", "invalid-period"),
        ("-1.5", "invalid-period"),
        ("nan", "invalid-period"),
        ("true", "bad-config"),
    ] {
        std::fs::write(&cfg, format!("invite_expiry = {expiry}\n")).unwrap();
        assert_eq!(
            db.fails(
                1,
                &["--config", cfg.to_str().unwrap(), "list", "example.com"]
            )
            .error_code(),
            code,
            "invite_expiry = {expiry}"
        );
    }
    let run = db.fails(
        1,
        &["--config", cfg.to_str().unwrap(), "list", "example.com"],
    );
    assert_eq!(
        run.error()["message"],
        "invite_expiry in the configuration file is a boolean, not a period"
    );
    // A fraction of a second is dropped, as the Lua module reads
    // Prosody's invite_expiry (86400 * 1.5 there is natural).
    std::fs::write(&cfg, "invite_expiry = 3960.0000000000005\n").unwrap();
    let made = Db::sqlite();
    let v = made.json(&[
        "--config",
        cfg.to_str().unwrap(),
        "--now",
        "1795856400",
        "create",
        "account",
        "example.com",
    ]);
    assert_eq!(v["expires"], 1_795_856_400 + 3960);
    // A validity too long to end in range: the hint names where it came
    // from.
    std::fs::write(&cfg, "invite_expiry = \"1000000000 y\"\n").unwrap();
    let c = cfg.to_str().unwrap();
    let run = db.fails(1, &["--config", c, "create", "account", "example.com"]);
    assert_eq!(run.error_code(), "period-overflow");
    let hint = run.error()["hint"].as_str().unwrap().to_owned();
    assert!(
        hint.contains("invite_expiry in the configuration file"),
        "{hint}"
    );
    let run = db.fails(
        1,
        &[
            "create",
            "contact",
            "a@example.com",
            "--expires-after",
            "1000000000 y",
        ],
    );
    let hint = run.error()["hint"].as_str().unwrap().to_owned();
    assert!(hint.starts_with("give a shorter --expires-after"), "{hint}");
    assert!(!path(&db).exists(), "bad input created the database");
    std::fs::write(
        &cfg,
        "invites_page = \"x\"\ninvites_page_supports = [\"everything\"]\n",
    )
    .unwrap();
    db.fails(
        1,
        &["--config", cfg.to_str().unwrap(), "list", "example.com"],
    );
}

/// --help documents the exit statuses; --help and --version exit 0.
#[test]
fn help_and_version() {
    let db = Db::sqlite();
    let help = db.ok(&["--help"]).stdout;
    for needle in [
        "Exit status:",
        "  2  the token",
        "  3  the store",
        "invite_token",
        "--database",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    assert!(db.ok(&["--version"]).stdout.starts_with("xmpp-invites "));
    assert!(
        db.ok(&["create", "account", "--help"])
            .stdout
            .contains("--expires-after")
    );
}

/// Progress goes to stderr only on a terminal: never in captured output.
#[test]
fn no_progress_when_not_a_terminal() {
    let db = Db::sqlite();
    let run = db.ok(&["create", "account", "example.com", "--count", "300"]);
    assert!(run.stderr.is_empty(), "{run:?}");
    let run = db.ok(&["cleanup"]);
    assert!(run.stderr.is_empty(), "{run:?}");
}

/// Local times as the C library's `date` prints them, for zones given by
/// name, by path, as a POSIX rule, empty, and from /etc/localtime.
#[test]
fn local_times_match_date() {
    let db = Db::sqlite();
    let now = "1795856400";
    let expires = 1_795_856_400 + 7 * 86_400;
    for tz in [
        Some("Europe/Berlin"),
        Some(":Europe/Berlin"),
        Some("/usr/share/zoneinfo/Asia/Tokyo"),
        Some("America/Argentina/Buenos_Aires"),
        Some("EST5EDT"),
        Some("UTC"),
        Some(""),
        None,
    ] {
        let mut cmd = db.cmd();
        cmd.args(["--now", now, "create", "account", "example.com"]);
        let mut date = std::process::Command::new("date");
        date.args(["-d", &format!("@{expires}"), "+%Y-%m-%d %H:%M:%S %Z (%:z)"]);
        match tz {
            Some(tz) => {
                cmd.env("TZ", tz);
                date.env("TZ", tz);
            }
            None => {
                cmd.env_remove("TZ");
                date.env_remove("TZ");
            }
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let want = String::from_utf8(date.output().unwrap().stdout).unwrap();
        let want = format!("Expires:  {} (local)", want.trim());
        assert!(text.contains(&want), "TZ={tz:?}: want {want:?} in\n{text}");
    }
}

/// One token in 64 starts with `-`: it is a token, not an option, in
/// every command that takes one (a random token would hit this only now
/// and then).
#[test]
fn tokens_may_start_with_a_hyphen() {
    let db = Db::sqlite();
    db.ok(&["create", "account", "example.com"]);
    let token = "-b9sT2vR7qLm4KpZ8wYd1eFg";
    for command in ["validate", "show", "use", "delete"] {
        let run = db.fails(2, &[command, "example.com", token]);
        assert_eq!(run.error_code(), "not-found", "{command}: {run:?}");
    }
}
