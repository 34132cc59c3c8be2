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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) host: String,
    /// `""` for host-level rows.
    pub(crate) user: String,
    pub(crate) key: String,
    /// Prosody's serialisation type: `json`, `number`, ...
    pub(crate) kind: String,
    pub(crate) value: String,
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
        }
    }
}

/// A position in (host, user, key) order, for keyset pagination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) host: String,
    pub(crate) user: String,
    pub(crate) key: String,
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
