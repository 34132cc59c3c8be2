//! Test support: a throw-away database (SQLite file or PostgreSQL database)
//! and running the built `xmpp-invites` binary against it.
#![allow(dead_code, unreachable_pub)]

pub mod scenarios;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_xmpp-invites");

/// Prosody 0.12's `create_table()` as `util.sql` renders it for SQLite3 and
/// PostgreSQL, copied from /usr/lib/prosody/modules/mod_storage_sql.lua
/// and util/sql.lua (not from the tool, so that the test checks the tool).
pub const PROSODY_CREATE_TABLE: &str = r#"CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);"#;
pub const PROSODY_CREATE_INDEX: &str =
    r#"CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");"#;

pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

/// One test's database and working directory.
pub struct Db {
    pub backend: Backend,
    pub dir: TempDir,
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The `--json` error object on stderr.
    pub fn error(&self) -> Value {
        let v: Value = serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not a JSON error ({e}): {self:?}"));
        v["error"].clone()
    }

    pub fn error_code(&self) -> String {
        self.error()["code"].as_str().unwrap_or_default().to_owned()
    }
}

fn tempdir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("xi-cli-test")
        .tempdir()
        .unwrap();
    // Readable by others, for the tests that run the tool as `nobody`.
    set_mode(dir.path(), 0o755);
    dir
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The PostgreSQL server the test script started, as
/// `postgres://USER@HOST:PORT` (no database). `None` means skip; when the
/// script said PostgreSQL is expected (`XI_TEST_POSTGRES_REQUIRED=1`) a
/// missing URL fails the test instead.
pub fn postgres_base() -> Option<String> {
    match std::env::var("XI_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_owned()),
        _ => {
            assert!(
                std::env::var("XI_TEST_POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "XI_TEST_POSTGRES_REQUIRED=1 but XI_TEST_POSTGRES_URL is not set: the PostgreSQL tests cannot run"
            );
            eprintln!("skipped: XI_TEST_POSTGRES_URL is not set (run tests/cli/postgres.sh)");
            None
        }
    }
}

impl Db {
    /// A new SQLite file the tool will create.
    pub fn sqlite() -> Self {
        let dir = tempdir();
        let path = dir.path().join("invites.sqlite3");
        Self {
            backend: Backend::Sqlite(path),
            dir,
        }
    }

    /// An SQLite database at `path`.
    pub fn sqlite_at(path: &str) -> Self {
        Self {
            backend: Backend::Sqlite(PathBuf::from(path)),
            dir: tempdir(),
        }
    }

    /// A fresh PostgreSQL database named after the test, on the server the
    /// test script started. `None`: skip.
    pub fn postgres(test: &str) -> Option<Self> {
        let base = postgres_base()?;
        let name = format!("xi_{}", test.to_lowercase());
        let mut admin = postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls)
            .expect("connect to the test PostgreSQL server");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        Some(Self {
            backend: Backend::Postgres(format!("{base}/{name}")),
            dir: tempdir(),
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The `--database` argument.
    pub fn database(&self) -> String {
        match &self.backend {
            Backend::Sqlite(p) => p.display().to_string(),
            Backend::Postgres(url) => url.clone(),
        }
    }

    /// The binary, pointed at this database, in UTC, in the test directory.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--database")
            .arg(self.database())
            .env("TZ", "UTC")
            .current_dir(self.dir.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }

    /// Runs and expects success.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{args:?} failed: {run:?}");
        run
    }

    /// Runs with `--json`, expects success, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all).json()
    }

    /// Runs with `--json` and expects failure with `exit`; returns the run.
    pub fn fails(&self, exit: i32, args: &[&str]) -> Run {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        assert_eq!(run.code, exit, "{args:?}: expected exit {exit}: {run:?}");
        assert!(run.stdout.is_empty(), "output on failure: {run:?}");
        run
    }

    /// Runs SQL statements directly.
    pub fn exec(&self, sql: &str) {
        match &self.backend {
            Backend::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Backend::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }

    /// Creates Prosody's table the way Prosody does.
    pub fn create_prosody_schema(&self) {
        self.exec(&format!("{PROSODY_CREATE_TABLE}\n{PROSODY_CREATE_INDEX}"));
    }

    /// Inserts one row of store `invite_token` as Prosody would.
    pub fn insert(&self, host: &str, user: &str, key: &str, kind: &str, value: &str) {
        self.insert_row([host, user, "invite_token", key, kind, value]);
    }

    pub fn insert_row(&self, r: [&str; 6]) {
        const SQLITE: &str = r#"INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES (?,?,?,?,?,?)"#;
        match &self.backend {
            Backend::Sqlite(p) => {
                rusqlite::Connection::open(p)
                    .unwrap()
                    .execute(SQLITE, r)
                    .unwrap();
            }
            Backend::Postgres(url) => {
                postgres::Client::connect(url, postgres::NoTls)
                    .unwrap()
                    .execute(
                        r#"INSERT INTO "prosody" ("host","user","store","key","type","value") VALUES ($1,$2,$3,$4,$5,$6)"#,
                        &[&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]],
                    )
                    .unwrap();
            }
        }
    }

    /// Every row of the table, sorted.
    pub fn rows(&self) -> Vec<[String; 6]> {
        const SELECT: &str =
            r#"SELECT "host","user","store","key","type","value" FROM "prosody" ORDER BY 1,2,3,4"#;
        let mut rows: Vec<[String; 6]> = match &self.backend {
            Backend::Sqlite(p) => {
                let conn = rusqlite::Connection::open(p).unwrap();
                let mut stmt = conn.prepare(SELECT).unwrap();
                stmt.query_map([], |r| {
                    Ok(std::array::from_fn(|i| r.get::<_, String>(i).unwrap()))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
            Backend::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .unwrap()
                .query(SELECT, &[])
                .unwrap()
                .iter()
                .map(|r| std::array::from_fn(|i| r.get::<_, String>(i)))
                .collect(),
        };
        rows.sort();
        rows
    }

    /// The rows stored under one key.
    pub fn rows_of(&self, key: &str) -> Vec<[String; 6]> {
        self.rows().into_iter().filter(|r| r[3] == key).collect()
    }

    /// Makes every insert after the first `n` rows fail inside the database,
    /// to show that a failed command leaves nothing behind.
    pub fn fail_inserts_after(&self, n: usize) {
        match &self.backend {
            Backend::Sqlite(_) => self.exec(&format!(
                "CREATE TRIGGER fail_insert BEFORE INSERT ON prosody \
                 WHEN (SELECT count(*) FROM prosody) >= {n} \
                 BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;"
            )),
            Backend::Postgres(_) => self.exec(&format!(
                "CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN \
                 IF (SELECT count(*) FROM prosody) >= {n} THEN RAISE EXCEPTION 'simulated failure'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER fail_insert BEFORE INSERT ON prosody FOR EACH ROW EXECUTE FUNCTION fail_insert();"
            )),
        }
    }

    /// Makes every delete after the first fail inside the database.
    pub fn fail_deletes_after_one(&self) {
        match &self.backend {
            Backend::Sqlite(_) => self.exec(
                "CREATE TABLE deleted (n INTEGER); \
                 CREATE TRIGGER fail_delete BEFORE DELETE ON prosody BEGIN \
                 INSERT INTO deleted VALUES (1); \
                 SELECT RAISE(ABORT, 'simulated failure') WHERE (SELECT count(*) FROM deleted) > 1; END;",
            ),
            Backend::Postgres(_) => self.exec(
                "CREATE TABLE deleted (n INTEGER); \
                 CREATE FUNCTION fail_delete() RETURNS trigger AS $$ BEGIN \
                 INSERT INTO deleted VALUES (1); \
                 IF (SELECT count(*) FROM deleted) > 1 THEN RAISE EXCEPTION 'simulated failure'; END IF; \
                 RETURN OLD; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER fail_delete BEFORE DELETE ON prosody FOR EACH ROW EXECUTE FUNCTION fail_delete();",
            ),
        }
    }
}

/// The rows captured from a real Prosody 0.12.3 (tests/vectors).
pub fn prosody_rows() -> Vec<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/prosody_records.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["sql_rows"].as_array().unwrap().clone()
}
