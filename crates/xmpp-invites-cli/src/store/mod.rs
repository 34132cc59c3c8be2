//! The store: Prosody's SQL storage table, store `invite_token`.
//!
//! Prosody's `mod_storage_sql` keeps every map store in one table,
//! `prosody(host, user, store, key, type, value)`, all `TEXT NOT NULL`, with
//! the index `prosody_index (host, user, store, key)` (not unique in Prosody
//! 0.12; Prosody 13 replaces it with the unique `prosody_unique_index`).
//! Invites are rows of store `invite_token`:
//!
//! - host-level (`user = ''`, Prosody's nil user): key = token, type `json`,
//!   value = the record;
//! - user-level (`user` = the inviter): key = token, type `number`, value =
//!   the expiry in Unix seconds, one per contact invite.
//!
//! The store name `invite_token` is written into the statements (sql.rs).
//! Both backends run the same logic through [`Store`] and [`Tx`]: reads
//! page through rows in index order (bounded memory whatever the store's
//! size), every change runs in one transaction, and writes replace a row
//! the way Prosody does so that either index works.

mod postgres;
mod sql;
mod sqlite;

use std::time::Duration;

use crate::config::Database;
use crate::error::{Error, Result};

/// Rows per page when scanning.
pub(crate) const PAGE: usize = 256;

/// One row of store `invite_token`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) host: String,
    /// `""` for host-level rows.
    pub(crate) user: String,
    pub(crate) key: String,
    /// Prosody's serialisation type: `json`, `number`, ...
    pub(crate) kind: String,
    pub(crate) value: String,
    /// (host, user, key) as stored, when one of them is not text: only
    /// SQLite can hold such a row, written by another tool than Prosody
    /// (whose lookups bind text and never find it). The texts above are
    /// then lossy; the row is reported as corrupt, and a scan resumes after
    /// it by these values.
    pub(crate) stored: Option<Box<[Cell; 3]>>,
}

/// A value as SQLite stores it. SQLite orders values by class first (NULL,
/// numbers, text, blobs), so a BLOB key sorts after every text key: a scan
/// must resume from it as a BLOB, not as its lossy text, or the next page
/// would start again at the first BLOB.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    /// The bytes, which need not be UTF-8.
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl Cell {
    /// The storage class, in SQLite's words (`typeof()`).
    pub(crate) fn class(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Integer(_) => "integer",
            Self::Real(_) => "real",
            Self::Text(_) => "text",
            Self::Blob(_) => "blob",
        }
    }

    /// The value as an SQL literal (a blob as `X'hex'`), for a statement
    /// that finds exactly this value.
    pub(crate) fn sql_literal(&self) -> String {
        match self {
            Self::Null => "NULL".into(),
            Self::Integer(i) => i.to_string(),
            Self::Real(f) => format!("{f:?}"),
            Self::Text(t) => match std::str::from_utf8(t) {
                Ok(t) => format!("'{}'", t.replace('\'', "''")),
                Err(_) => format!("CAST({} AS TEXT)", hex_literal(t)),
            },
            Self::Blob(b) => hex_literal(b),
        }
    }
}

/// One token's rows with the host-level row first: `sql::entries` leaves
/// the order to the caller (see there why), both backends sort here.
pub(crate) fn by_user(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| a.user.cmp(&b.user));
    rows
}

impl Row {
    pub(crate) fn is_host_level(&self) -> bool {
        self.user.is_empty()
    }

    /// Where a scan continues after this row.
    pub(crate) fn position(&self) -> Position {
        Position {
            host: self.host.clone(),
            user: self.user.clone(),
            key: self.key.clone(),
            stored: self.stored.clone(),
        }
    }
}

/// A position in (host, user, key) order, for keyset pagination.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Position {
    pub(crate) host: String,
    pub(crate) user: String,
    pub(crate) key: String,
    /// As stored, when not all text (see [`Row::stored`]): the page after
    /// it compares these, so that the position compares as rows sort.
    pub(crate) stored: Option<Box<[Cell; 3]>>,
}

/// What a command needs from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Only reads: a missing SQLite file is an error, a missing table an
    /// empty store, and nothing is created.
    Read,
    /// Changes invites that must already exist (`use`, `delete`,
    /// `expire`, `cleanup`): a missing SQLite file is an error as for
    /// [`Access::Read`], so that a mistyped path is not silently made a
    /// new, empty database; a missing table is created.
    Modify,
    /// Adds invites (`create`): the SQLite file and the table are created
    /// as Prosody creates them when missing.
    Create,
}

impl Access {
    /// Whether the command writes (and so takes write locks, adds the
    /// token index, refuses a read-only file).
    pub(crate) fn writes(self) -> bool {
        self != Self::Read
    }
}

/// Reads of store `invite_token`, the same inside and outside a write
/// transaction.
pub(crate) trait Read {
    /// Up to `limit` rows after `after` in (host, user, key) order, of one
    /// host or of all.
    fn page(
        &mut self,
        host: Option<&str>,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Vec<Row>>;

    /// Every row stored under `key` on `host`, host-level first (Prosody's
    /// `get_all`). Inside a write transaction, the rows are locked until it
    /// ends.
    fn entries(&mut self, host: &str, key: &str) -> Result<Vec<Row>>;

    /// Whether a host-level row exists under `key`.
    fn has_record(&mut self, host: &str, key: &str) -> Result<bool>;

    /// How many rows there are, of one host or of all.
    fn count(&mut self, host: Option<&str>) -> Result<u64>;
}

/// Changes, only inside [`Store::write`].
pub(crate) trait Tx: Read {
    /// Stores `value` under (host, user, key), replacing what was there.
    fn put(&mut self, host: &str, user: &str, key: &str, kind: &str, value: &str) -> Result<()>;

    /// Deletes the row (host, user, key), or with `user = None` every row
    /// under `key` on `host`. Returns how many rows went.
    fn delete(&mut self, host: &str, user: Option<&str>, key: &str) -> Result<u64>;

    /// Deletes these rows (a page of them).
    fn delete_rows(&mut self, rows: &[Position]) -> Result<u64> {
        let mut n = 0;
        for r in rows {
            n += self.delete(&r.host, Some(&r.user), &r.key)?;
        }
        Ok(n)
    }
}

/// A database holding Prosody's table.
pub(crate) trait Store: Read {
    /// Runs `work` in one transaction that holds the write lock (SQLite
    /// `BEGIN IMMEDIATE`; PostgreSQL with the rows it reads locked). Any
    /// error rolls everything back.
    fn write(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
}

/// Opens the database for `access`.
pub(crate) fn open(
    db: &Database,
    access: Access,
    lock_timeout: Duration,
) -> Result<Box<dyn Store>> {
    Ok(match db {
        Database::Sqlite(path) => Box::new(sqlite::SqliteStore::open(path, access, lock_timeout)?),
        Database::Postgres(url) => Box::new(postgres::PgStore::open(url, access, lock_timeout)?),
    })
}

/// Refuses a table named `prosody` that lacks Prosody's columns.
fn check_columns(name: &str, found: &[String]) -> Result<()> {
    let missing: Vec<&str> = sql::COLUMNS
        .iter()
        .copied()
        .filter(|c| !found.iter().any(|f| f == c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::store(
        "not-prosody-schema",
        format!(
            "{name} has a table \"prosody\" without the column(s) {} of Prosody's SQL storage",
            missing.join(", ")
        ),
        "point --database at the database of a Prosody with storage = \"sql\", or at a new file",
    ))
}

/// Visits every row of one host or of all, a page at a time. `visit` may
/// change rows already visited (a scan inside [`Store::write`]).
pub(crate) fn scan<S: Read + ?Sized>(
    store: &mut S,
    host: Option<&str>,
    mut visit: impl FnMut(&mut S, Row) -> Result<()>,
) -> Result<()> {
    let mut after: Option<Position> = None;
    loop {
        let rows = store.page(host, after.as_ref(), PAGE)?;
        let full = rows.len() == PAGE;
        // Each page starts past the previous one; a row at the previous
        // position coming back means the database orders values in a way
        // the position does not capture, and the scan would never end.
        if let Some(prev) = &after {
            if let Some(row) = rows.iter().find(|r| r.position() == *prev) {
                return Err(stuck(&row.host, &row.key));
            }
        }
        if let Some(last) = rows.last() {
            after = Some(last.position());
        }
        for row in rows {
            visit(store, row)?;
        }
        if !full {
            return Ok(());
        }
    }
}

fn hex_literal(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    format!("X'{hex}'")
}

fn stuck(host: &str, key: &str) -> Error {
    Error::store(
        "scan-stuck",
        format!(
            "reading the invites a page at a time came back to the row under key {:?} on {host}: the store orders its rows in a way this tool cannot follow",
            crate::entry::redact(key)
        ),
        "check the table for rows Prosody did not write (sqlite3 FILE 'SELECT typeof(host), typeof(user), typeof(key), count(*) FROM prosody GROUP BY 1, 2, 3'); nothing was written",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose pages ignore the position: the same page every time.
    struct SamePage;

    impl Read for SamePage {
        fn page(
            &mut self,
            _: Option<&str>,
            _: Option<&Position>,
            limit: usize,
        ) -> Result<Vec<Row>> {
            Ok((0..limit)
                .map(|i| Row {
                    host: "example.com".into(),
                    user: String::new(),
                    key: format!("k{i:03}"),
                    kind: "json".into(),
                    value: "{}".into(),
                    stored: None,
                })
                .collect())
        }
        fn entries(&mut self, _: &str, _: &str) -> Result<Vec<Row>> {
            Ok(Vec::new())
        }
        fn has_record(&mut self, _: &str, _: &str) -> Result<bool> {
            Ok(false)
        }
        fn count(&mut self, _: Option<&str>) -> Result<u64> {
            Ok(0)
        }
    }

    /// A scan that is handed back a row it already passed stops with an
    /// error instead of visiting the same page forever.
    #[test]
    fn a_scan_that_does_not_advance_stops() {
        let mut visited = 0;
        let e = scan(&mut SamePage, None, |_, _| {
            visited += 1;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.code, "scan-stuck");
        assert_eq!(visited, PAGE);
    }
}
