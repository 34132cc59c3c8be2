//! SQLite through rusqlite (bundled SQLite, so no system library is needed).
//!
//! A database this tool creates is switched to WAL mode, so that readers
//! never wait for a writer. An existing database keeps its journal mode:
//! the mode is stored in the file, and a Prosody database is Prosody's to
//! configure. Every change runs in one `BEGIN IMMEDIATE` transaction, which
//! takes the write lock before reading, so two processes spending the same
//! token are serialised and the second one finds it gone.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior, params};

use super::{Access, Cell, Position, Read, Row, Store, Tx, sql};
use crate::error::{Error, Result};

pub(crate) struct SqliteStore {
    conn: Connection,
    name: String,
    /// False only when opened for reading and the table does not exist
    /// yet (a new Prosody database): the store is then empty.
    has_table: bool,
    /// Whether `sql::TOKEN_INDEX_NAME` exists: a write adds it to a table
    /// Prosody created; a read of such a table goes without it (slower).
    token_index: bool,
    lock_timeout: Duration,
}

impl SqliteStore {
    pub(crate) fn open(path: &Path, access: Access, lock_timeout: Duration) -> Result<Self> {
        let name = format!("the SQLite database {}", path.display());
        // Reads open read-write too (without creating the file), so that
        // the last connection to close checkpoints a WAL database and removes
        // its -wal and -shm files; a read-only connection would leave them.
        // Reads only ever run SELECT; a file this user may not write opens
        // read-only anyway.
        let flags = OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_READ_WRITE
            | match access {
                Access::Read | Access::Modify => OpenFlags::empty(),
                Access::Create => OpenFlags::SQLITE_OPEN_CREATE,
            };
        if access != Access::Create && !path.exists() {
            return Err(Error::store(
                "database-missing",
                format!("{name} does not exist"),
                "check --database (Prosody's is usually /var/lib/prosody/prosody.sqlite); creating an invite creates a new database",
            ));
        }
        if access == Access::Create {
            create_private(path, &name)?;
        }
        let fail = |e| sqlite_error(&name, lock_timeout, e);
        let conn = Connection::open_with_flags(as_file_name(path), flags).map_err(fail)?;
        conn.busy_timeout(lock_timeout).map_err(fail)?;
        let mut store = Self {
            conn,
            name: name.clone(),
            has_table: false,
            token_index: false,
            lock_timeout,
        };
        store.has_table = store.table_exists()?;
        // SQLite opens a file it may not write read-only without a word;
        // say so now rather than let a command that happens to change
        // nothing succeed.
        if access.writes() && store.conn.is_readonly(rusqlite::MAIN_DB).map_err(fail)? {
            return Err(sqlite_error(
                &name,
                lock_timeout,
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                    None,
                ),
            ));
        }
        if store.has_table {
            store.check_columns()?;
            store.token_index = store.token_index_exists()?;
            if !store.token_index && access.writes() {
                store.add_token_index()?;
            }
        } else if access.writes() {
            store.create_table()?;
            store.has_table = true;
            store.token_index = true;
        }
        Ok(store)
    }

    fn fail(&self, e: rusqlite::Error) -> Error {
        sqlite_error(&self.name, self.lock_timeout, e)
    }

    fn table_exists(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'prosody'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.fail(e))
    }

    fn token_index_exists(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [sql::TOKEN_INDEX_NAME],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.fail(e))
    }

    /// Adds the token index to a table Prosody created (once: reading the
    /// invite rows takes about a second per million).
    fn add_token_index(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sqlite_error(&self.name, self.lock_timeout, e))?;
        tx.execute_batch(sql::CREATE_TOKEN_INDEX)
            .and_then(|()| tx.commit())
            .map_err(|e| sqlite_error(&self.name, self.lock_timeout, e))?;
        self.token_index = true;
        Ok(())
    }

    /// Puts a new, empty database in WAL mode. The switch takes the file's
    /// exclusive lock without the busy handler: while another process that
    /// opened the new file at the same moment holds a lock, SQLite answers
    /// "busy" at once, so this retries until the lock timeout.
    fn wal(&self) -> Result<()> {
        let deadline = std::time::Instant::now() + self.lock_timeout;
        // The loop does the waiting: no busy handler inside it as well.
        self.conn
            .busy_timeout(Duration::ZERO)
            .map_err(|e| self.fail(e))?;
        let switched = self.switch_to_wal(deadline);
        self.conn
            .busy_timeout(self.lock_timeout)
            .map_err(|e| self.fail(e))?;
        switched
    }

    fn switch_to_wal(&self, deadline: std::time::Instant) -> Result<()> {
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            {
                Ok(_) => return Ok(()),
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    fn check_columns(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare(r#"PRAGMA table_info("prosody")"#)
            .map_err(|e| self.fail(e))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.fail(e))?;
        super::check_columns(&self.name, &names)
    }

    fn create_table(&mut self) -> Result<()> {
        // An empty file is one this tool is creating: WAL lets `list` read
        // while another process writes. The mode cannot change inside a
        // transaction, so it comes first.
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| self.fail(e))?;
        if pages == 0 {
            self.wal()?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sqlite_error(&self.name, self.lock_timeout, e))?;
        tx.execute_batch(&format!(
            "{}\n{}\n{}",
            sql::CREATE_TABLE,
            sql::CREATE_INDEX,
            sql::CREATE_TOKEN_INDEX
        ))
        .and_then(|()| tx.commit())
        .map_err(|e| sqlite_error(&self.name, self.lock_timeout, e))
    }
}

/// Creates the database file, if it does not exist yet, readable and
/// writable by this user alone: it will hold live tokens, and SQLite would
/// create it with the umask's mode (0644 with the usual 022). SQLite gives
/// the -wal, -shm and -journal files it makes later the database file's
/// mode, so they are private too. An existing file keeps its mode: a
/// Prosody database is Prosody's to set up.
fn create_private(path: &Path, name: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        // A symbolic link to a file that does not exist is "already there"
        // to create_new, and SQLite would create its target with the
        // umask's mode.
        Err(e)
            if e.kind() == std::io::ErrorKind::AlreadyExists
                && path.symlink_metadata().is_ok_and(|m| m.is_symlink())
                && !path.exists() =>
        {
            Err(Error::store(
                "database-open",
                format!("{name} is a symbolic link to a file that does not exist"),
                "point --database at the file itself, or create the link's target first (chmod 600 it: it will hold live tokens)",
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::store(
            "database-open",
            format!("cannot create {name}: {e}"),
            "check that the directory exists and that this user may write to it",
        )),
    }
}

/// The path as SQLite must be given it to open that file: SQLite reads a
/// name that starts with `file:` as a URI (`file:x?mode=memory` is no file
/// at all) and `:memory:` as an in-memory database, which would leave the
/// file made private above unused and the invites elsewhere or nowhere. A
/// relative path is given as `./PATH`, which SQLite takes as a file name.
fn as_file_name(path: &Path) -> std::borrow::Cow<'_, Path> {
    if path.is_relative() {
        std::borrow::Cow::Owned(Path::new(".").join(path))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

fn sqlite_error(name: &str, lock_timeout: Duration, e: rusqlite::Error) -> Error {
    let detail = e.to_string();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::store(
            "database-locked",
            format!(
                "{name} is locked by another process (waited {:.1} s): {detail}",
                lock_timeout.as_secs_f64()
            ),
            "try again in a moment, or wait longer with --lock-timeout SECONDS; nothing was written",
        ),
        Some(ErrorCode::ReadOnly) => Error::store(
            "database-read-only",
            format!("{name} is read-only for this user: {detail}"),
            "run as the database's owner (e.g. sudo -u prosody xmpp-invites ...), or make the file and its directory writable (SQLite writes a journal next to it); nothing was written",
        ),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => Error::store(
            "database-open",
            format!("cannot open {name}: {detail}"),
            "check that the directory exists and that this user may read (and, to change invites, write) the file and its directory",
        ),
        Some(ErrorCode::NotADatabase) => Error::store(
            "not-a-database",
            format!("{name} is not an SQLite database: {detail}"),
            "check --database: it must name Prosody's SQLite file or a new file",
        ),
        Some(ErrorCode::DatabaseCorrupt) => Error::store(
            "database-corrupt",
            format!("{name} is damaged: {detail}"),
            "restore it from a backup, or check it with: sqlite3 FILE 'PRAGMA integrity_check'",
        ),
        Some(ErrorCode::DiskFull) => Error::store(
            "disk-full",
            format!("cannot write {name}: {detail}"),
            "free some disk space and try again; nothing was written",
        ),
        _ => Error::store(
            "store-error",
            format!("{name} failed: {detail}"),
            "check the database with: sqlite3 FILE 'PRAGMA integrity_check'; nothing was written",
        ),
    }
}

/// Reads any SQLite value as text: Prosody writes text, but a foreign tool
/// may not have, and such a row must show up as corrupt, not stop a scan.
fn text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Integer(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(t.to_vec()),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let (host, user, key) = (r.get_ref(0)?, r.get_ref(1)?, r.get_ref(2)?);
    // Where the row is: kept as stored when it is not all text, so that
    // the scan resumes after it as SQLite orders it.
    let all_text = [host, user, key]
        .iter()
        .all(|v| matches!(v, ValueRef::Text(t) if std::str::from_utf8(t).is_ok()));
    Ok(Row {
        host: text(host),
        user: text(user),
        key: text(key),
        kind: text(r.get_ref(3)?),
        value: text(r.get_ref(4)?),
        stored: (!all_text).then(|| Box::new([cell(host), cell(user), cell(key)])),
    })
}

impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Self::Null => ValueRef::Null,
            Self::Integer(i) => ValueRef::Integer(*i),
            Self::Real(f) => ValueRef::Real(*f),
            Self::Text(t) => ValueRef::Text(t),
            Self::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// See `sql::page_host_first`.
const STORE_FILTER: &str = r#"+"store""#;

/// The reads, on a connection or inside a transaction.
fn page(
    conn: &Connection,
    host: Option<&str>,
    after: Option<&Position>,
    limit: usize,
) -> rusqlite::Result<Vec<Row>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let collect = |mut stmt: rusqlite::CachedStatement<'_>, p: &[&dyn rusqlite::ToSql]| {
        stmt.query_map(p, row)?
            .collect::<rusqlite::Result<Vec<_>>>()
    };
    match (host, after) {
        (Some(h), None) => collect(
            conn.prepare_cached(&sql::page_host_first(STORE_FILTER))?,
            params![h, limit],
        ),
        (Some(h), Some(a)) => match &a.stored {
            Some(s) => collect(
                conn.prepare_cached(&sql::page_host_after(STORE_FILTER))?,
                params![h, s[1], s[2], limit],
            ),
            None => collect(
                conn.prepare_cached(&sql::page_host_after(STORE_FILTER))?,
                params![h, a.user, a.key, limit],
            ),
        },
        (None, None) => collect(
            conn.prepare_cached(&sql::page_all_first(STORE_FILTER))?,
            params![limit],
        ),
        (None, Some(a)) => match &a.stored {
            Some(s) => collect(
                conn.prepare_cached(&sql::page_all_after(STORE_FILTER))?,
                params![s[0], s[1], s[2], limit],
            ),
            None => collect(
                conn.prepare_cached(&sql::page_all_after(STORE_FILTER))?,
                params![a.host, a.user, a.key, limit],
            ),
        },
    }
}

/// The rows of one token, host-level row first.
fn entries(conn: &Connection, indexed: bool, host: &str, key: &str) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = if indexed {
        conn.prepare_cached(&sql::entries_indexed())?
    } else {
        conn.prepare_cached(&sql::entries())?
    };
    stmt.query_map(params![host, key], row)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map(super::by_user)
}

fn has_record(conn: &Connection, host: &str, key: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(sql::HAS_RECORD)?;
    stmt.exists(params![host, key])
}

fn count(conn: &Connection, host: Option<&str>) -> rusqlite::Result<u64> {
    let n: i64 = match host {
        Some(h) => conn.query_row(sql::COUNT_HOST, params![h], |r| r.get(0))?,
        None => conn.query_row(sql::COUNT_ALL, [], |r| r.get(0))?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

impl Read for SqliteStore {
    fn page(
        &mut self,
        host: Option<&str>,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        if !self.has_table {
            return Ok(Vec::new());
        }
        page(&self.conn, host, after, limit).map_err(|e| self.fail(e))
    }

    fn entries(&mut self, host: &str, key: &str) -> Result<Vec<Row>> {
        if !self.has_table {
            return Ok(Vec::new());
        }
        entries(&self.conn, self.token_index, host, key).map_err(|e| self.fail(e))
    }

    fn has_record(&mut self, host: &str, key: &str) -> Result<bool> {
        if !self.has_table {
            return Ok(false);
        }
        has_record(&self.conn, host, key).map_err(|e| self.fail(e))
    }

    fn count(&mut self, host: Option<&str>) -> Result<u64> {
        if !self.has_table {
            return Ok(0);
        }
        count(&self.conn, host).map_err(|e| self.fail(e))
    }
}

impl Store for SqliteStore {
    fn write(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let name = self.name.clone();
        let timeout = self.lock_timeout;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sqlite_error(&name, timeout, e))?;
        let mut handle = SqliteTx {
            tx: &tx,
            name: &name,
            token_index: self.token_index,
            lock_timeout: timeout,
        };
        // On error the transaction is dropped, which rolls it back.
        work(&mut handle)?;
        tx.commit().map_err(|e| sqlite_error(&name, timeout, e))
    }
}

struct SqliteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    name: &'a str,
    token_index: bool,
    lock_timeout: Duration,
}

impl SqliteTx<'_> {
    fn fail(&self, e: rusqlite::Error) -> Error {
        sqlite_error(self.name, self.lock_timeout, e)
    }
}

impl Read for SqliteTx<'_> {
    fn page(
        &mut self,
        host: Option<&str>,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        page(self.tx, host, after, limit).map_err(|e| self.fail(e))
    }

    fn entries(&mut self, host: &str, key: &str) -> Result<Vec<Row>> {
        entries(self.tx, self.token_index, host, key).map_err(|e| self.fail(e))
    }

    fn has_record(&mut self, host: &str, key: &str) -> Result<bool> {
        has_record(self.tx, host, key).map_err(|e| self.fail(e))
    }

    fn count(&mut self, host: Option<&str>) -> Result<u64> {
        count(self.tx, host).map_err(|e| self.fail(e))
    }
}

impl Tx for SqliteTx<'_> {
    fn put(&mut self, host: &str, user: &str, key: &str, kind: &str, value: &str) -> Result<()> {
        let run = || -> rusqlite::Result<()> {
            let n = self
                .tx
                .prepare_cached(sql::UPDATE)?
                .execute(params![kind, value, host, user, key])?;
            if n != 1 {
                if n > 1 {
                    self.tx
                        .prepare_cached(sql::DELETE_ONE)?
                        .execute(params![host, user, key])?;
                }
                self.tx
                    .prepare_cached(sql::INSERT)?
                    .execute(params![host, user, key, kind, value])?;
            }
            Ok(())
        };
        run().map_err(|e| self.fail(e))
    }

    fn delete(&mut self, host: &str, user: Option<&str>, key: &str) -> Result<u64> {
        let n = match user {
            Some(u) => self
                .tx
                .prepare_cached(sql::DELETE_ONE)
                .and_then(|mut s| s.execute(params![host, u, key])),
            None => self
                .tx
                .prepare_cached(if self.token_index {
                    sql::DELETE_KEY_INDEXED
                } else {
                    sql::DELETE_KEY
                })
                .and_then(|mut s| s.execute(params![host, key])),
        }
        .map_err(|e| self.fail(e))?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, statement: &str) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
            .unwrap();
        let details: Vec<String> = stmt
            .query_map(params!["example.com", "k"], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        details.join("; ")
    }

    /// A lookup by token searches the token index on both columns, where
    /// Prosody's index alone would only narrow it to the host.
    #[test]
    fn token_lookups_search_the_token_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = SqliteStore::open(&path, Access::Create, Duration::from_secs(1)).unwrap();
        assert!(store.token_index);
        let wanted = "USING INDEX xmpp_invites_token_index (host=? AND key=?)";
        for statement in [sql::entries_indexed().as_str(), sql::DELETE_KEY_INDEXED] {
            let p = plan(&store.conn, statement);
            assert!(p.contains(wanted), "{statement}: {p}");
        }

        // Prosody's own database, opened to read: no index, same answers.
        let prosody = dir.path().join("prosody.sqlite3");
        Connection::open(&prosody)
            .unwrap()
            .execute_batch(&format!("{}\n{}", sql::CREATE_TABLE, sql::CREATE_INDEX))
            .unwrap();
        let read = SqliteStore::open(&prosody, Access::Read, Duration::from_secs(1)).unwrap();
        assert!(!read.token_index);
        drop(read);
        let write = SqliteStore::open(&prosody, Access::Modify, Duration::from_secs(1)).unwrap();
        assert!(write.token_index);
    }
}
