//! `list`, `show` and `parse`: reading, never writing.

use serde_json::{Value, json};
use xmpp_invites::{InviteAction, InviteRecord, InviteUri};

use super::{not_found_hint, spelling_hint, stored_under, unreadable};
use crate::args;
use crate::config::Settings;
use crate::entry::{
    Entry, contact_json, contact_uri, corrupt_json, record_json, record_uri, redact,
};
use crate::error::{Error, Result};
use crate::output::{Out, Times};
use crate::store::{self, Access};

pub(crate) fn not_found(host: &str, key: &str) -> Error {
    Error::token(
        "not-found",
        format!("no invite with token {} on {host}", redact(key)),
        format!(
            "check the host and the token: `xmpp-invites list {host}` shows the stored invites (a used invite is deleted)"
        ),
    )
}

/// Lists a host's invites a page at a time: records, then contact-only
/// invites (user-level entries without a record). Unreadable rows are
/// listed as such and make the exit status 4 at the end.
pub(crate) fn list(settings: &Settings, host: &str) -> Result<()> {
    let host = args::host(host)?;
    let mut store = store::open(&settings.database, Access::Read, settings.lock_timeout)?;
    let mut out = Out::new();
    let now = settings.now;
    let (mut printed, mut shown, mut expired, mut bad) = (0u64, 0u64, 0u64, 0u64);
    if settings.json {
        out.raw("[")?;
    }
    store::scan(store.as_mut(), Some(&host), |store, row| {
        let entry = Entry::read(row);
        let item = match &entry {
            Entry::Record { row, record } => Item::Record(&row.host, record),
            Entry::Contact { row, expires } => {
                // An account-and-contact invite has both; show it once.
                if store.has_record(&row.host, &row.key)? {
                    return Ok(());
                }
                Item::Contact(row, *expires)
            }
            Entry::Corrupt { row, error } => {
                bad += 1;
                Item::Corrupt(row, error)
            }
        };
        if entry.is_expired(now) {
            expired += 1;
        }
        if settings.json {
            out.raw(if printed == 0 { "\n" } else { ",\n" })?;
            out.raw(&serde_json::to_string(&item.json(now)).unwrap_or_default())?;
        } else {
            if printed == 0 {
                out.line(format!(
                    "{:<24}  {:<19}  {:<30}  {:<20}  NOTES",
                    "TOKEN", "TYPE", "JID", "EXPIRES (UTC)"
                ))?;
            }
            out.text(item.line(now))?;
        }
        printed += 1;
        if !matches!(item, Item::Corrupt(..)) {
            shown += 1;
        }
        Ok(())
    })?;
    if settings.json {
        out.raw(if printed == 0 { "]\n" } else { "\n]\n" })?;
    } else if printed == 0 {
        out.line(format!("No invites on {host}."))?;
        if let Some(other) = stored_under(store.as_mut(), &host)? {
            out.line(format!("Hint: {}.", spelling_hint(&host, &other)))?;
        }
    } else {
        out.line(format!(
            "{shown} invite(s) on {host}, {expired} expired{}.",
            if expired > 0 {
                " (`xmpp-invites cleanup` removes them)"
            } else {
                ""
            }
        ))?;
    }
    out.flush()?;
    unreadable(bad, Some(&host))
}

enum Item<'a> {
    Record(&'a str, &'a InviteRecord),
    Contact(&'a store::Row, i64),
    Corrupt(&'a store::Row, &'a Error),
}

impl Item<'_> {
    fn json(&self, now: i64) -> Value {
        match self {
            Self::Record(host, record) => record_json(host, record, now),
            Self::Contact(row, expires) => contact_json(row, *expires, now),
            Self::Corrupt(row, error) => corrupt_json(row, error),
        }
    }

    fn line(&self, now: i64) -> String {
        let text = match self {
            Self::Record(_, record) => {
                let mut notes = Vec::new();
                if record.is_expired(now) {
                    notes.push("expired".to_owned());
                }
                if let Some(max) = record.max_uses {
                    notes.push(format!("{} of {max} uses", record.uses.unwrap_or(0)));
                } else if record.reusable == Some(true) {
                    notes.push("reusable".to_owned());
                }
                if let Some(d) = &record.additional_data {
                    if let Some(roles) = &d.roles {
                        notes.push(format!("roles: {}", roles.as_slice().join(" ")));
                    }
                    if !d.group_list().is_empty() {
                        notes.push(format!("groups: {}", d.group_list().join(" ")));
                    }
                    if let Some(note) = &d.note {
                        notes.push(format!("note: {note}"));
                    }
                }
                format!(
                    "{:<24}  {:<19}  {:<30}  {:<20}  {}",
                    record.token,
                    record.invite_type().as_str(),
                    record.jid,
                    record.expires.map_or("never".into(), |e| Times::of(e).utc),
                    notes.join("; ")
                )
            }
            Self::Contact(row, expires) => format!(
                "{:<24}  {:<19}  {:<30}  {:<20}  {}",
                row.key,
                "contact-only",
                format!("{}@{}", row.user, row.host),
                Times::of(*expires).utc,
                if now > *expires { "expired" } else { "" }
            ),
            Self::Corrupt(row, error) => {
                format!("{:<24}  {:<19}  {}", row.key, "UNREADABLE", error.message)
            }
        };
        text.trim_end().to_owned()
    }
}

/// Everything stored under one token.
pub(crate) fn show(settings: &Settings, host: &str, key: &str) -> Result<()> {
    let host = args::host(host)?;
    let mut store = store::open(&settings.database, Access::Read, settings.lock_timeout)?;
    let rows = store.entries(&host, key)?;
    if rows.is_empty() {
        return not_found_hint(store.as_mut(), &host, key, Err(not_found(&host, key)));
    }
    let now = settings.now;
    let entries: Vec<Entry> = rows.into_iter().map(Entry::read).collect();
    let record = entries.iter().find_map(|e| match e {
        Entry::Record { record, .. } => Some(record.as_ref()),
        _ => None,
    });
    let contacts: Vec<(&store::Row, i64)> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Contact { row, expires } => Some((row, *expires)),
            _ => None,
        })
        .collect();
    let corrupt: Vec<(&store::Row, &Error)> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Corrupt { row, error } => Some((row, error)),
            _ => None,
        })
        .collect();

    let mut out = Out::new();
    if settings.json {
        let mut value = match (record, contacts.first()) {
            (Some(r), _) => record_json(&host, r, now),
            (None, Some((row, expires))) => contact_json(row, *expires, now),
            (None, None) => json!({ "token": key, "host": host }),
        };
        if let Value::Object(map) = &mut value {
            map.insert(
                "contact_entries".into(),
                contacts
                    .iter()
                    .map(|(row, e)| {
                        json!({ "user": row.user, "expires": e, "expires_utc": Times::of(*e).utc })
                    })
                    .collect(),
            );
            map.insert(
                "unreadable_rows".into(),
                corrupt.iter().map(|(r, e)| corrupt_json(r, e)).collect(),
            );
        }
        out.json(&value)?;
    } else {
        out.text(format!("Invite {key} on {host}"))?;
        if let Some(r) = record {
            show_record(&mut out, r, now)?;
        } else if let Some((row, expires)) = contacts.first() {
            field(&mut out, "Type", "contact-only")?;
            field(&mut out, "Inviter", &format!("{}@{}", row.user, row.host))?;
            if let Some(uri) = contact_uri(&row.host, &row.user, &row.key) {
                field(&mut out, "URI", &uri)?;
            }
            field(&mut out, "Expires", &Times::of(*expires).both())?;
            field(
                &mut out,
                "Status",
                if now > *expires { "expired" } else { "valid" },
            )?;
        }
        for (row, expires) in &contacts {
            field(
                &mut out,
                "Stored for",
                &format!(
                    "user {} (contact entry, expires {})",
                    row.user,
                    Times::of(*expires).utc
                ),
            )?;
        }
        for (row, error) in &corrupt {
            field(&mut out, "Unreadable", &error.message)?;
            field(
                &mut out,
                "Stored",
                &format!(
                    "user {:?}, type {:?}, value {}",
                    row.user, row.kind, row.value
                ),
            )?;
        }
    }
    out.flush()?;
    match corrupt.first() {
        Some((_, error)) => Err((*error).clone()),
        None => Ok(()),
    }
}

fn field(out: &mut Out, name: &str, value: &str) -> Result<()> {
    out.text(format!("  {:<12}{value}", format!("{name}:")))
}

fn show_record(out: &mut Out, r: &InviteRecord, now: i64) -> Result<()> {
    field(out, "Type", r.invite_type().as_str())?;
    field(out, "JID", &r.jid)?;
    if let Some(uri) = record_uri(r) {
        field(out, "URI", &uri)?;
    }
    if let Some(link) = &r.landing_page {
        field(out, "Link", link)?;
    }
    if r.action == InviteAction::Roster {
        if let Some(u) = r.jid_username() {
            field(out, "Inviter", u)?;
        }
    }
    if let Some(user) = r.reset_username() {
        field(out, "Resets", &format!("the password of {user}"))?;
    }
    if let Some(d) = &r.additional_data {
        if let Some(roles) = &d.roles {
            field(out, "Roles", &roles.as_slice().join(", "))?;
        }
        if !d.group_list().is_empty() {
            field(out, "Groups", &d.group_list().join(", "))?;
        }
        if let Some(note) = &d.note {
            field(out, "Note", note)?;
        }
        if let Some(source) = &d.source {
            field(out, "Created by", source)?;
        }
    }
    if let Some(max) = r.max_uses {
        field(out, "Uses", &format!("{} of {max}", r.uses.unwrap_or(0)))?;
    } else if r.reusable == Some(true) {
        field(out, "Uses", "reusable until it expires")?;
    }
    if let Some(created) = r.created_at {
        field(out, "Created", &Times::of(created).both())?;
    }
    field(
        out,
        "Expires",
        &r.expires.map_or("never".into(), |e| Times::of(e).both()),
    )?;
    let used_up = r.max_uses.is_some_and(|m| r.uses.unwrap_or(0) >= m);
    let status = if r.is_expired(now) {
        "expired"
    } else if used_up {
        "used up"
    } else if !r.allow_registration && r.action == InviteAction::Register {
        "does not allow registration"
    } else {
        "valid"
    };
    field(out, "Status", status)
}

/// Parses an invite URI.
pub(crate) fn parse(settings: &Settings, uri: &str) -> Result<()> {
    let parsed = InviteUri::parse(uri).map_err(|e| {
        Error::input(
            e.code(),
            format!("cannot read the invite URI: {e}"),
            "an invite URI looks like xmpp:example.com?register;preauth=TOKEN or xmpp:juliet@example.com?roster;preauth=TOKEN;ibr=y",
        )
    })?;
    let kind = match (parsed.action, parsed.ibr) {
        (InviteAction::Register, _) => "account",
        (InviteAction::Roster, true) => "account-and-contact",
        (InviteAction::Roster, false) => "contact-only",
    };
    let value = json!({
        "jid": parsed.jid.to_string(),
        "username": parsed.jid.username(),
        "host": parsed.jid.host(),
        "action": parsed.action.as_str(),
        "type": kind,
        "token": parsed.token,
        "ibr": parsed.ibr,
        "uri": parsed.to_uri().ok(),
    });
    let mut out = Out::new();
    if settings.json {
        out.json(&value)?;
    } else {
        field(&mut out, "Type", kind)?;
        field(&mut out, "JID", &parsed.jid.to_string())?;
        field(&mut out, "Host", parsed.jid.host())?;
        field(&mut out, "Token", &parsed.token)?;
        if let Ok(canonical) = parsed.to_uri() {
            if canonical != uri {
                field(&mut out, "As RFC 5122", &canonical)?;
            }
        }
    }
    out.flush()
}
