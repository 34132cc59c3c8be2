//! The statements both backends run, with `?N` placeholders (the PostgreSQL
//! backend turns them into `$N`). Identifiers are quoted as Prosody quotes
//! them: `user` and `key` are reserved words in PostgreSQL.

/// Prosody 0.12's `mod_storage_sql` `create_table()`, as `util.sql`
/// renders it for SQLite3 and PostgreSQL (`MEDIUMTEXT` becomes `TEXT`).
pub(crate) const CREATE_TABLE: &str = r#"CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" TEXT NOT NULL);"#;
pub(crate) const CREATE_INDEX: &str =
    r#"CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");"#;

/// This tool's one addition to Prosody's schema: a partial index on the
/// invite rows alone, by token. Prosody's own index starts (host, user), so
/// finding a token without knowing which user holds it (`validate`, `use`,
/// `show`, `delete`) would walk every row of the host; with this index the
/// lookup costs the same at 1k and at 1M invites. Being partial, it holds
/// only the `invite_token` store's rows and costs the other stores'
/// writes nothing. Prosody neither needs nor minds it.
pub(crate) const TOKEN_INDEX_NAME: &str = "xmpp_invites_token_index";
pub(crate) const CREATE_TOKEN_INDEX: &str = r#"CREATE INDEX IF NOT EXISTS "xmpp_invites_token_index" ON "prosody" ("host", "key") WHERE "store" = 'invite_token';"#;

/// The columns Prosody's code reads and writes.
pub(crate) const COLUMNS: [&str; 6] = ["host", "user", "store", "key", "type", "value"];

const SELECT: &str = r#"SELECT "host", "user", "key", "type", "value" FROM "prosody" "#;

// Pages follow the index (host, user, store, key). The store is fixed, so
// comparing and ordering by it too lets both databases walk the index.
// `filter` is how the store's equality test is written: SQLite needs it as
// `+"store"` (a plain filter), or its planner sorts the whole host's rows
// in a temporary B-tree on every page instead of walking the index.
pub(crate) fn page_host_first(filter: &str) -> String {
    format!(
        r#"{SELECT}WHERE "host" = ?1 AND {filter} = 'invite_token' ORDER BY "user", "store", "key" LIMIT ?2"#
    )
}

pub(crate) fn page_host_after(filter: &str) -> String {
    format!(
        r#"{SELECT}WHERE "host" = ?1 AND {filter} = 'invite_token' AND ("user", "store", "key") > (?2, 'invite_token', ?3) ORDER BY "user", "store", "key" LIMIT ?4"#
    )
}

pub(crate) fn page_all_first(filter: &str) -> String {
    format!(
        r#"{SELECT}WHERE {filter} = 'invite_token' ORDER BY "host", "user", "store", "key" LIMIT ?1"#
    )
}

pub(crate) fn page_all_after(filter: &str) -> String {
    format!(
        r#"{SELECT}WHERE {filter} = 'invite_token' AND ("host", "user", "store", "key") > (?1, ?2, 'invite_token', ?3) ORDER BY "host", "user", "store", "key" LIMIT ?4"#
    )
}

/// Prosody's `map_store:get_all(key)`: every user's row under one token,
/// through the token index. Unordered: an `ORDER BY "user"` would make
/// SQLite's planner prefer Prosody's index (already sorted by user) and
/// walk the host's rows; the few rows found are sorted by the caller.
pub(crate) fn entries() -> String {
    format!("{SELECT}{BY_TOKEN}")
}

/// One token's rows, whichever user holds them.
const BY_TOKEN: &str = r#"WHERE "host" = ?1 AND "store" = 'invite_token' AND "key" = ?2"#;

pub(crate) const HAS_RECORD: &str = r#"SELECT 1 FROM "prosody" WHERE "host" = ?1 AND "user" = '' AND "store" = 'invite_token' AND "key" = ?2 LIMIT 1"#;

pub(crate) const COUNT_HOST: &str =
    r#"SELECT count(*) FROM "prosody" WHERE "host" = ?1 AND "store" = 'invite_token'"#;
pub(crate) const COUNT_ALL: &str =
    r#"SELECT count(*) FROM "prosody" WHERE "store" = 'invite_token'"#;

// A write updates the row in place when there is exactly one, so that a
// PostgreSQL transaction waiting on its lock sees the new version; where
// there is none it inserts, and where a non-unique index let duplicates in
// it replaces them all, as Prosody's delete-then-insert does.
pub(crate) const UPDATE: &str = r#"UPDATE "prosody" SET "type" = ?1, "value" = ?2 WHERE "host" = ?3 AND "user" = ?4 AND "store" = 'invite_token' AND "key" = ?5"#;
pub(crate) const INSERT: &str = r#"INSERT INTO "prosody" ("host", "user", "store", "key", "type", "value") VALUES (?1, ?2, 'invite_token', ?3, ?4, ?5)"#;
pub(crate) const DELETE_ONE: &str = r#"DELETE FROM "prosody" WHERE "host" = ?1 AND "user" = ?2 AND "store" = 'invite_token' AND "key" = ?3"#;
pub(crate) const DELETE_KEY: &str =
    r#"DELETE FROM "prosody" WHERE "host" = ?1 AND "store" = 'invite_token' AND "key" = ?2"#;

/// SQLite's planner, without the statistics `ANALYZE` would write into
/// Prosody's database, prefers Prosody's index for a token lookup (it
/// covers the rowid and starts with the host), so where the token index
/// exists SQLite is told to use it.
pub(crate) fn entries_indexed() -> String {
    format!(r#"{SELECT}INDEXED BY "{TOKEN_INDEX_NAME}" {BY_TOKEN}"#)
}
pub(crate) const DELETE_KEY_INDEXED: &str = r#"DELETE FROM "prosody" INDEXED BY "xmpp_invites_token_index" WHERE "host" = ?1 AND "store" = 'invite_token' AND "key" = ?2"#;
