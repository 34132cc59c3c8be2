//! PostgreSQL through the synchronous `postgres` client, for deployments
//! that share one database between servers.
//!
//! Same table, same statements as SQLite. Transactions run at READ
//! COMMITTED; inside [`Store::write`] the rows of a token are read with
//! `SELECT ... FOR UPDATE`, so two processes spending one token queue on its
//! rows and the second finds them gone (or, for a `max_uses` invite, sees the count the first
//! one wrote, because writes update rows in place). `lock_timeout` bounds
//! the wait. Connections are plain TCP or a Unix socket: no TLS.

use std::collections::HashMap;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, NoTls, Statement};

use super::{Access, Position, Read, Row, Store, Tx, sql};
use crate::error::{Error, Result};

pub(crate) struct PgStore {
    client: Client,
    name: String,
    has_table: bool,
    prepared: Prepared,
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

fn pg(statement: &str) -> String {
    // The shared statements number their placeholders ?N; PostgreSQL says $N.
    statement.replace('?', "$")
}

impl PgStore {
    pub(crate) fn open(url: &str, access: Access, lock_timeout: Duration) -> Result<Self> {
        let mut config: Config = url.parse().map_err(|e| {
            Error::input(
                "bad-database-url",
                format!("--database: not a PostgreSQL URL: {e}"),
                "write postgres://USER:PASSWORD@HOST:PORT/DATABASE (or ?host=/path/to/socket/dir)",
            )
        })?;
        config.connect_timeout(Duration::from_secs(10));
        let name = describe(&config);
        let mut client = config.connect(NoTls).map_err(|e| pg_error(&name, e))?;
        let ms = lock_timeout.as_millis().max(1);
        let mut setup = format!("SET lock_timeout = {ms}; SET client_min_messages = warning;");
        if access == Access::Read {
            setup.push_str(" SET default_transaction_read_only = on;");
        }
        client
            .batch_execute(&setup)
            .map_err(|e| pg_error(&name, e))?;
        let mut store = Self {
            client,
            name,
            has_table: false,
            prepared: Prepared::default(),
        };
        store.has_table = store.table_exists()?;
        if store.has_table {
            store.check_columns()?;
            if access.writes() && !store.token_index_exists()? {
                store.add_token_index()?;
            }
        } else if access.writes() {
            store.create_table()?;
            store.has_table = true;
        }
        Ok(store)
    }

    fn fail(&self, e: postgres::Error) -> Error {
        pg_error(&self.name, e)
    }

    fn table_exists(&mut self) -> Result<bool> {
        // Resolved through search_path, as Prosody's unqualified statements are.
        self.client
            .query_one("SELECT to_regclass('\"prosody\"') IS NOT NULL", &[])
            .and_then(|r| r.try_get::<_, bool>(0))
            .map_err(|e| pg_error(&self.name, e))
    }

    fn token_index_exists(&mut self) -> Result<bool> {
        let name = format!("\"{}\"", sql::TOKEN_INDEX_NAME);
        self.client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
            .and_then(|r| r.try_get::<_, bool>(0))
            .map_err(|e| pg_error(&self.name, e))
    }

    /// Adds the token index to a table Prosody created. Only the table's
    /// owner may: a role that is not goes on without it (lookups by token
    /// then read all of the host's invite rows) and is told so once per
    /// write, on standard error.
    fn add_token_index(&mut self) -> Result<()> {
        match self.client.batch_execute(sql::CREATE_TOKEN_INDEX) {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                crate::output::note(
                    "no-token-index",
                    &format!(
                        "{} has no index by token and this role may not add one ({e}); finding a token reads all of the host's invites. As the table's owner run: {}",
                        self.name,
                        sql::CREATE_TOKEN_INDEX
                    ),
                );
                Ok(())
            }
            // Two processes adding it at once (IF NOT EXISTS is not atomic).
            Err(_) if self.token_index_exists().unwrap_or(false) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn check_columns(&mut self) -> Result<()> {
        let rows = self
            .client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass('\"prosody\"') AND attnum > 0 AND NOT attisdropped",
                &[],
            )
            .map_err(|e| pg_error(&self.name, e))?;
        let names: Vec<String> = rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
        super::check_columns(&self.name, &names)
    }

    fn create_table(&mut self) -> Result<()> {
        let statements = format!(
            "{}\n{}\n{}",
            sql::CREATE_TABLE,
            sql::CREATE_INDEX,
            sql::CREATE_TOKEN_INDEX
        );
        let created = self.client.transaction().and_then(|mut tx| {
            tx.batch_execute(&statements)?;
            tx.commit()
        });
        match created {
            Ok(()) => Ok(()),
            // Two processes creating the table at once: IF NOT EXISTS is not
            // atomic in PostgreSQL, and the loser sees a duplicate catalog
            // entry. The table is there either way.
            Err(e) if self.table_exists().unwrap_or(false) => {
                let _ = e;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

fn describe(config: &Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("the PostgreSQL database {db} on {host}:{port}")
}

fn pg_error(name: &str, e: postgres::Error) -> Error {
    let detail = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    };
    let Some(code) = e.code() else {
        return Error::store(
            "database-connect",
            format!("cannot use {name}: {detail}"),
            "check the URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), that the server runs and that pg_hba.conf admits this user; TLS is not supported, so use a Unix socket or a trusted network",
        );
    };
    if *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::QUERY_CANCELED
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
    {
        Error::store(
            "database-locked",
            format!("{name}: the invite rows are locked by another transaction: {detail}"),
            "try again in a moment, or wait longer with --lock-timeout SECONDS; nothing was written",
        )
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        Error::store(
            "database-read-only",
            format!("{name} is read-only: {detail}"),
            "connect to the primary server, not a read-only replica; nothing was written",
        )
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        Error::store(
            "database-permission",
            format!("{name}: permission denied: {detail}"),
            "connect as Prosody's database user, or GRANT SELECT, INSERT, UPDATE, DELETE ON prosody TO this user; nothing was written",
        )
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        Error::store(
            "database-missing",
            format!("{name} does not exist: {detail}"),
            "check the database name in the URL, or create it with: createdb NAME",
        )
    } else if *code == SqlState::INVALID_PASSWORD
        || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        Error::store(
            "database-connect",
            format!("cannot log in to {name}: {detail}"),
            "check the user and password in the URL and the server's pg_hba.conf",
        )
    } else {
        Error::store(
            "store-error",
            format!("{name} failed: {detail} (SQLSTATE {})", code.code()),
            "check the server's log; nothing was written",
        )
    }
}

fn row(r: &postgres::Row) -> std::result::Result<Row, postgres::Error> {
    Ok(Row {
        host: r.try_get(0)?,
        user: r.try_get(1)?,
        key: r.try_get(2)?,
        kind: r.try_get(3)?,
        value: r.try_get(4)?,
        // PostgreSQL's text columns hold only text.
        stored: None,
    })
}

type PgResult<T> = std::result::Result<T, postgres::Error>;

/// Statements prepared once per connection: parsing is most of the cost of
/// a statement on a local server, and cleanup runs many.
#[derive(Default)]
struct Prepared(HashMap<String, Statement>);

impl Prepared {
    fn get(&mut self, c: &mut impl GenericClient, statement: &str) -> PgResult<Statement> {
        let text = pg(statement);
        if let Some(s) = self.0.get(&text) {
            return Ok(s.clone());
        }
        let s = c.prepare(&text)?;
        self.0.insert(text, s.clone());
        Ok(s)
    }

    fn rows(
        &mut self,
        c: &mut impl GenericClient,
        statement: &str,
        params: &Params<'_>,
    ) -> PgResult<Vec<Row>> {
        let s = self.get(c, statement)?;
        c.query(&s, params)?.iter().map(row).collect()
    }

    fn execute(
        &mut self,
        c: &mut impl GenericClient,
        statement: &str,
        params: &Params<'_>,
    ) -> PgResult<u64> {
        let s = self.get(c, statement)?;
        c.execute(&s, params)
    }

    fn page(
        &mut self,
        c: &mut impl GenericClient,
        host: Option<&str>,
        after: Option<&Position>,
        limit: usize,
    ) -> PgResult<Vec<Row>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let store = r#""store""#;
        match (host, after) {
            (Some(h), None) => self.rows(c, &sql::page_host_first(store), &[&h, &limit]),
            (Some(h), Some(a)) => self.rows(
                c,
                &sql::page_host_after(store),
                &[&h, &a.user, &a.key, &limit],
            ),
            (None, None) => self.rows(c, &sql::page_all_first(store), &[&limit]),
            (None, Some(a)) => self.rows(
                c,
                &sql::page_all_after(store),
                &[&a.host, &a.user, &a.key, &limit],
            ),
        }
    }

    fn has_record(&mut self, c: &mut impl GenericClient, host: &str, key: &str) -> PgResult<bool> {
        let s = self.get(c, sql::HAS_RECORD)?;
        Ok(!c.query(&s, &[&host, &key])?.is_empty())
    }

    fn count(&mut self, c: &mut impl GenericClient, host: Option<&str>) -> PgResult<u64> {
        let r = match host {
            Some(h) => {
                let s = self.get(c, sql::COUNT_HOST)?;
                c.query_one(&s, &[&h])?
            }
            None => {
                let s = self.get(c, sql::COUNT_ALL)?;
                c.query_one(&s, &[])?
            }
        };
        Ok(u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0))
    }
}

impl Read for PgStore {
    fn page(
        &mut self,
        host: Option<&str>,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        if !self.has_table {
            return Ok(Vec::new());
        }
        self.prepared
            .page(&mut self.client, host, after, limit)
            .map_err(|e| pg_error(&self.name, e))
    }

    fn entries(&mut self, host: &str, key: &str) -> Result<Vec<Row>> {
        if !self.has_table {
            return Ok(Vec::new());
        }
        self.prepared
            .rows(&mut self.client, &sql::entries(), &[&host, &key])
            .map(super::by_user)
            .map_err(|e| pg_error(&self.name, e))
    }

    fn has_record(&mut self, host: &str, key: &str) -> Result<bool> {
        if !self.has_table {
            return Ok(false);
        }
        self.prepared
            .has_record(&mut self.client, host, key)
            .map_err(|e| pg_error(&self.name, e))
    }

    fn count(&mut self, host: Option<&str>) -> Result<u64> {
        if !self.has_table {
            return Ok(0);
        }
        self.prepared
            .count(&mut self.client, host)
            .map_err(|e| pg_error(&self.name, e))
    }
}

impl Store for PgStore {
    fn write(&mut self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let name = self.name.clone();
        let tx = self.client.transaction().map_err(|e| pg_error(&name, e))?;
        let mut handle = PgTx {
            tx,
            name: &name,
            prepared: &mut self.prepared,
        };
        // On error the transaction is dropped, which rolls it back.
        work(&mut handle)?;
        handle.tx.commit().map_err(|e| pg_error(&name, e))
    }
}

struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    name: &'a str,
    prepared: &'a mut Prepared,
}

impl Read for PgTx<'_> {
    // Pages are read without row locks: cleanup and expire only move
    // invites towards expiry, which no concurrent change undoes, and locking
    // every row of a large store would write to all of them.
    fn page(
        &mut self,
        host: Option<&str>,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        self.prepared
            .page(&mut self.tx, host, after, limit)
            .map_err(|e| pg_error(self.name, e))
    }

    // The rows of one token are locked: this is what makes `use` safe.
    fn entries(&mut self, host: &str, key: &str) -> Result<Vec<Row>> {
        let statement = format!("{} FOR UPDATE", sql::entries());
        self.prepared
            .rows(&mut self.tx, &statement, &[&host, &key])
            .map(super::by_user)
            .map_err(|e| pg_error(self.name, e))
    }

    fn has_record(&mut self, host: &str, key: &str) -> Result<bool> {
        self.prepared
            .has_record(&mut self.tx, host, key)
            .map_err(|e| pg_error(self.name, e))
    }

    fn count(&mut self, host: Option<&str>) -> Result<u64> {
        self.prepared
            .count(&mut self.tx, host)
            .map_err(|e| pg_error(self.name, e))
    }
}

impl Tx for PgTx<'_> {
    fn put(&mut self, host: &str, user: &str, key: &str, kind: &str, value: &str) -> Result<()> {
        let (tx, prepared) = (&mut self.tx, &mut *self.prepared);
        let mut run = || -> PgResult<()> {
            let n = prepared.execute(tx, sql::UPDATE, &[&kind, &value, &host, &user, &key])?;
            if n != 1 {
                if n > 1 {
                    prepared.execute(tx, sql::DELETE_ONE, &[&host, &user, &key])?;
                }
                prepared.execute(tx, sql::INSERT, &[&host, &user, &key, &kind, &value])?;
            }
            Ok(())
        };
        run().map_err(|e| pg_error(self.name, e))
    }

    fn delete(&mut self, host: &str, user: Option<&str>, key: &str) -> Result<u64> {
        match user {
            Some(u) => self
                .prepared
                .execute(&mut self.tx, sql::DELETE_ONE, &[&host, &u, &key]),
            None => self
                .prepared
                .execute(&mut self.tx, sql::DELETE_KEY, &[&host, &key]),
        }
        .map_err(|e| pg_error(self.name, e))
    }

    fn delete_rows(&mut self, rows: &[Position]) -> Result<u64> {
        // One statement for a whole page of rows.
        let hosts: Vec<&str> = rows.iter().map(|r| r.host.as_str()).collect();
        let users: Vec<&str> = rows.iter().map(|r| r.user.as_str()).collect();
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        self.prepared
            .execute(
                &mut self.tx,
                r#"DELETE FROM "prosody" AS p USING unnest(?1::text[], ?2::text[], ?3::text[]) AS d(h, u, k) WHERE p."host" = d.h AND p."user" = d.u AND p."store" = 'invite_token' AND p."key" = d.k"#,
                &[&hosts, &users, &keys],
            )
            .map_err(|e| pg_error(self.name, e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders() {
        assert_eq!(
            super::pg(super::sql::DELETE_KEY),
            r#"DELETE FROM "prosody" WHERE "host" = $1 AND "store" = 'invite_token' AND "key" = $2"#
        );
    }
}
