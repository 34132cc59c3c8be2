//! The scenarios on PostgreSQL. Needs a server: `tests/cli/postgres.sh`
//! starts a throw-away one and sets XI_TEST_POSTGRES_URL (and
//! XI_TEST_POSTGRES_REQUIRED=1, which turns a missing server into a
//! failure). They are #[ignore]d in a plain `cargo test`, where they would
//! have no server: the script runs them with --ignored.

mod common;

use common::{Db, scenarios};

macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        #[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
        fn $name() {
            if let Some(db) = Db::postgres(stringify!($name)) {
                scenarios::$name(&db);
            }
        }
    )*};
}

on_postgres!(
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

#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn race_two_processes() {
    if let Some(db) = Db::postgres("race_two") {
        scenarios::race(&db, 2, 10, None);
        scenarios::race(&db, 2, 3, Some(150));
    }
}

#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn race_eight_processes() {
    if let Some(db) = Db::postgres("race_eight") {
        scenarios::race(&db, 8, 5, None);
        scenarios::race(&db, 8, 2, Some(50));
    }
}

/// Columns (name, type, nullable) and indexes (name, definition).
type Schema = (Vec<(String, String, String)>, Vec<(String, String)>);

fn schema(url: &str) -> Schema {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let columns = c
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
             WHERE table_name = 'prosody' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let indexes = c
        .query(
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = 'prosody' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (columns, indexes)
}

/// The table the tool creates is the one Prosody creates, plus the partial
/// token index, which a write also adds to a table Prosody created.
#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn schema_is_prosodys() {
    let (Some(tool), Some(prosody)) = (Db::postgres("schema_tool"), Db::postgres("schema_prosody"))
    else {
        return;
    };
    tool.json(&["create", "account", "example.com"]);
    prosody.create_prosody_schema();
    let (t, p) = (schema(&tool.database()), schema(&prosody.database()));
    assert_eq!(t.0, p.0);
    assert_eq!(t.0.len(), 6);
    assert!(
        t.0.iter().all(|(_, ty, null)| ty == "text" && null == "NO"),
        "{t:?}"
    );
    assert_eq!(p.1.len(), 1);
    assert_eq!(p.1[0].0, "prosody_index");
    assert_eq!(t.1.len(), 2);
    assert_eq!(t.1[0], p.1[0]);
    assert_eq!(t.1[1].0, "xmpp_invites_token_index");
    assert!(
        t.1[1]
            .1
            .ends_with("USING btree (host, key) WHERE (store = 'invite_token'::text)"),
        "{t:?}"
    );
    // Reads leave Prosody's table as it is; a write adds the index.
    prosody.json(&["list", "example.com"]);
    assert_eq!(schema(&prosody.database()).1.len(), 1);
    prosody.json(&["create", "account", "example.com"]);
    assert_eq!(schema(&prosody.database()), t);

    // The lookups by token can use it (the planner would rightly scan a
    // table this small, so scans are priced out for the check).
    let mut c = postgres::Client::connect(&tool.database(), postgres::NoTls).unwrap();
    c.batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .unwrap();
    for statement in [
        r#"SELECT "user" FROM "prosody" WHERE "host" = $1 AND "store" = 'invite_token' AND "key" = $2"#,
        r#"DELETE FROM "prosody" WHERE "host" = $1 AND "store" = 'invite_token' AND "key" = $2"#,
    ] {
        let plan: Vec<String> = c
            .query(&format!("EXPLAIN {statement}"), &[&"example.com", &"k"])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("Index Scan using xmpp_invites_token_index"),
            "{statement}: {plan}"
        );
    }
}

/// A role that may write Prosody's table but does not own it cannot add the
/// index: the write goes ahead, and standard error says what to run.
#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn token_index_needs_the_owner() {
    let Some(db) = Db::postgres("token_index_owner") else {
        return;
    };
    db.create_prosody_schema();
    let url = db.database();
    let mut owner = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    owner
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE xi_writer LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON prosody TO xi_writer",
        )
        .unwrap();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, at) = rest.split_once('@').unwrap();
    let writer = Db {
        backend: common::Backend::Postgres(format!("{scheme}://xi_writer@{at}")),
        dir: tempfile::tempdir().unwrap(),
    };
    let run = writer.ok(&["--json", "create", "account", "example.com"]);
    let token = run.json()["token"].as_str().unwrap().to_owned();
    assert!(
        run.stderr.contains("xmpp_invites_token_index") && run.stderr.contains("owner"),
        "{run:?}"
    );
    assert_eq!(schema(&url).1.len(), 1);
    // Found by token all the same.
    assert_eq!(
        writer.json(&["validate", "example.com", &token])["valid"],
        true
    );
    writer.ok(&["use", "example.com", &token]);
    assert!(db.rows_of(&token).is_empty());
}

/// Reading never creates anything; a missing table is an empty store.
#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn reads_do_not_write() {
    let Some(db) = Db::postgres("reads_do_not_write") else {
        return;
    };
    assert_eq!(db.json(&["list", "example.com"]), serde_json::json!([]));
    db.fails(2, &["validate", "example.com", "AAAAAAAAAAAAAAAAAAAAAAAA"]);
    let (columns, _) = schema(&db.database());
    assert!(columns.is_empty(), "a read created the table");
}

/// Connection problems: exit 3 with a hint; a bad URL: exit 1.
#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn connection_errors() {
    let Some(base) = common::postgres_base() else {
        return;
    };
    let run = |database: &str, args: &[&str]| {
        let out = std::process::Command::new(common::BIN)
            .args(["--json", "--database", database])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run("postgres://nobody@127.0.0.1:1/x", &["list", "example.com"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("database-connect"), "{err}");
    let (code, err) = run(&format!("{base}/no_such_db"), &["list", "example.com"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("database-missing"), "{err}");
    let (code, err) = run("postgres://a@b:notaport/x", &["list", "example.com"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("bad-database-url"), "{err}");
}

/// A transaction holding the rows: `use` waits up to --lock-timeout, then
/// exits 3 without writing.
#[test]
#[ignore = "needs PostgreSQL: run tests/cli/postgres.sh"]
fn locked_rows() {
    let Some(db) = Db::postgres("locked_rows") else {
        return;
    };
    let t = db.json(&["create", "account", "example.com"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut holder = postgres::Client::connect(&db.database(), postgres::NoTls).unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.query(r#"SELECT * FROM prosody FOR UPDATE"#, &[])
        .unwrap();
    let run = db.fails(3, &["--lock-timeout", "0.3", "use", "example.com", &t]);
    assert_eq!(run.error_code(), "database-locked");
    tx.rollback().unwrap();
    db.json(&["use", "example.com", &t]);
}
