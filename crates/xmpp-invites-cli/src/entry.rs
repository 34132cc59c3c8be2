//! Rows read back as invites: a host-level record, a user-level contact
//! entry, or a row that is neither (reported, never a panic).

use serde_json::{Value, json};
use xmpp_invites::{
    BareJid, ContactRecord, InviteAction, InviteRecord, InviteType, InviteUri, Token,
};

use crate::error::Error;
use crate::output::Times;
use crate::store::{Cell, Row};

/// One row, interpreted.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A host-level record (user `''`).
    Record { row: Row, record: Box<InviteRecord> },
    /// A user-level contact entry: the inviter's expiry number.
    Contact { row: Row, expires: i64 },
    /// A row that is not an invite as Prosody stores them.
    Corrupt { row: Row, error: Error },
}

impl Entry {
    pub(crate) fn read(row: Row) -> Self {
        if let Some(stored) = &row.stored {
            let error = not_text(&row, stored);
            return Self::Corrupt { row, error };
        }
        if row.is_host_level() {
            if row.kind != "json" {
                let error = corrupt(
                    &row,
                    format!("has type {:?} where a record is stored as json", row.kind),
                );
                return Self::Corrupt { row, error };
            }
            match InviteRecord::from_json(&row.value) {
                Ok(record) if record.token == row.key => Self::Record {
                    row,
                    record: Box::new(record),
                },
                Ok(record) => {
                    let error = corrupt(
                        &row,
                        format!(
                            "holds the record of another token ({})",
                            redact(&record.token)
                        ),
                    );
                    Self::Corrupt { row, error }
                }
                Err(e) => {
                    let error = corrupt(&row, e.to_string());
                    Self::Corrupt { row, error }
                }
            }
        } else {
            if row.kind != "number" && row.kind != "json" {
                let error = corrupt(
                    &row,
                    format!(
                        "has type {:?} where a contact invite's expiry is stored as number",
                        row.kind
                    ),
                );
                return Self::Corrupt { row, error };
            }
            match ContactRecord::from_json(&row.value) {
                Ok(c) => Self::Contact {
                    row,
                    expires: c.expires,
                },
                Err(e) => {
                    let error = corrupt(&row, e.to_string());
                    Self::Corrupt { row, error }
                }
            }
        }
    }

    pub(crate) fn row(&self) -> &Row {
        match self {
            Self::Record { row, .. } | Self::Contact { row, .. } | Self::Corrupt { row, .. } => row,
        }
    }

    /// Whether the entry is expired at `now` (never for a corrupt row).
    pub(crate) fn is_expired(&self, now: i64) -> bool {
        match self {
            Self::Record { record, .. } => record.is_expired(now),
            Self::Contact { expires, .. } => now > *expires,
            Self::Corrupt { .. } => false,
        }
    }
}

fn corrupt(row: &Row, why: String) -> Error {
    let level = if row.is_host_level() {
        "host-level row".to_owned()
    } else {
        format!("row of user {:?}", row.user)
    };
    Error::data(
        "corrupt-row",
        format!(
            "the {level} under key {:?} on {} is not an invite: {why}",
            redact(&row.key),
            row.host
        ),
        format!(
            "inspect it with `xmpp-invites show {} {}`, then fix it or remove it with `xmpp-invites delete {} {}`",
            row.host, row.key, row.host, row.key
        ),
    )
}

/// A row whose host, user or key is not stored as text (another tool wrote
/// it into an SQLite database): Prosody binds text and never finds it, and
/// `delete HOST KEY` cannot name it either, so the hint gives the
/// statement that removes exactly this row.
fn not_text(row: &Row, stored: &[Cell; 3]) -> Error {
    let columns = ["host", "user", "key"];
    let why: Vec<String> = columns
        .iter()
        .zip(stored.iter())
        .filter_map(|(name, cell)| match cell {
            Cell::Text(t) if std::str::from_utf8(t).is_ok() => None,
            Cell::Text(_) => Some(format!("its {name} is text that is not UTF-8")),
            other => Some(format!("its {name} is stored as {}", other.class())),
        })
        .collect();
    let condition: Vec<String> = columns
        .iter()
        .zip(stored.iter())
        .map(|(name, cell)| format!("\"{name}\" IS {}", cell.sql_literal()))
        .collect();
    Error::data(
        "corrupt-row",
        format!(
            "the row under key {:?} on {} is not an invite: {} (Prosody writes and looks up text only)",
            redact(&row.key),
            row.host,
            why.join(", ")
        ),
        format!(
            "remove it in sqlite3 with: DELETE FROM \"prosody\" WHERE \"store\" = 'invite_token' AND {};",
            condition.join(" AND ")
        ),
    )
}

/// A token for messages: its first characters and length only.
pub(crate) fn redact(token: &str) -> String {
    match Token::parse(token) {
        Ok(t) => t.redacted(),
        Err(_) => {
            let head: String = token.chars().take(4).collect();
            format!("{head}…({})", token.len())
        }
    }
}

/// The URI of a contact-only invite, rebuilt from its user-level entry
/// (Prosody keeps no record for it).
pub(crate) fn contact_uri(host: &str, user: &str, token: &str) -> Option<String> {
    let jid = BareJid::new(Some(user), host).ok()?;
    let token = Token::parse(token).ok()?;
    InviteUri::new(jid, InviteAction::Roster, &token, false)
        .to_uri()
        .ok()
}

/// The record's URI as RFC 5122 has it: stock Prosody stored its own
/// unescaped, and this mends it for display (the row stays as it is).
/// `None` for a record kept hashed at rest, which holds no URI.
pub(crate) fn record_uri(record: &InviteRecord) -> Option<std::borrow::Cow<'_, str>> {
    if record.uri.is_empty() {
        return None;
    }
    record.invite_uri(&record.token)
}

/// The JSON description of a record, as `list`, `show` and `create` print
/// it. `record` is the stored record itself.
pub(crate) fn record_json(host: &str, record: &InviteRecord, now: i64) -> Value {
    let data = record.additional_data.as_ref();
    let expires = record.expires;
    json!({
        "token": record.token,
        "host": host,
        "type": record.invite_type().as_str(),
        "jid": record.jid,
        "uri": record_uri(record),
        "landing_page": record.landing_page,
        "inviter": (record.action == InviteAction::Roster).then(|| record.jid_username()).flatten(),
        "username": (record.action == InviteAction::Register).then(|| record.jid_username()).flatten(),
        "reset_username": record.reset_username(),
        "roles": data.and_then(|d| d.roles.as_ref()).map(|r| r.as_slice().to_vec()),
        "groups": data.map(|d| d.group_list().to_vec()).filter(|g| !g.is_empty()),
        "note": data.and_then(|d| d.note.clone()),
        "source": data.and_then(|d| d.source.clone()),
        "reusable": record.reusable.unwrap_or(false),
        "max_uses": record.max_uses,
        "uses": record.uses,
        "created_at": record.created_at,
        "created_at_utc": record.created_at.map(|t| Times::of(t).utc),
        "expires": expires,
        "expires_utc": expires.map(|t| Times::of(t).utc),
        "expired": record.is_expired(now),
        "record": record.to_value(),
    })
}

/// The JSON description of a contact-only invite (a user-level entry
/// without a host-level record): the keys of [`record_json`], those the
/// entry does not store `null`.
pub(crate) fn contact_json(row: &Row, expires: i64, now: i64) -> Value {
    json!({
        "token": row.key,
        "host": row.host,
        "type": InviteType::ContactOnly.as_str(),
        "jid": format!("{}@{}", row.user, row.host),
        "uri": contact_uri(&row.host, &row.user, &row.key),
        "landing_page": null,
        "inviter": row.user,
        "username": null,
        "reset_username": null,
        "roles": null,
        "groups": null,
        "note": null,
        "source": null,
        "reusable": false,
        "max_uses": null,
        "uses": null,
        "created_at": null,
        "created_at_utc": null,
        "expires": expires,
        "expires_utc": Times::of(expires).utc,
        "expired": now > expires,
        "record": null,
    })
}

/// The JSON description of a corrupt row.
pub(crate) fn corrupt_json(row: &Row, error: &Error) -> Value {
    json!({
        "token": row.key,
        "host": row.host,
        "user": row.user,
        "error": { "code": error.code, "message": error.message, "hint": error.hint },
        "stored": { "type": row.kind, "value": row.value },
    })
}
