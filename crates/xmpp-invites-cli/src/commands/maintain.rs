//! `delete`, `expire` (a user's invites or one) and `cleanup`: each one
//! transaction.

use serde_json::json;
use xmpp_invites::{BareJid, ContactRecord, InviteRecord};

use super::{inspect::not_found, not_found_hint, spelling_hint, stored_under, unreadable};
use crate::args;
use crate::config::Settings;
use crate::entry::Entry;
use crate::entry::redact;
use crate::error::Result;
use crate::output::{Out, after_change, progress};
use crate::store::{self, Access, Position, Row};

/// Deletes every row stored under the token (the record and the inviter's
/// entry), as Prosody's `delete_all`. Any key is accepted, so that a
/// corrupt row can be removed too.
pub(crate) fn delete(settings: &Settings, host: &str, key: &str) -> Result<()> {
    let host = args::host(host)?;
    let mut store = store::open(&settings.database, Access::Modify, settings.lock_timeout)?;
    let mut removed = 0;
    let written = store.write(&mut |tx| {
        removed = tx.delete(&host, None, key)?;
        if removed == 0 {
            return Err(not_found(&host, key));
        }
        Ok(())
    });
    not_found_hint(store.as_mut(), &host, key, written)?;
    let report = || {
        let mut out = Out::new();
        if settings.json {
            out.json(&json!({ "deleted": key, "host": host, "rows": removed }))?;
        } else {
            out.text(format!(
                "Deleted invite {key} on {host} ({removed} row(s))."
            ))?;
        }
        out.flush()
    };
    after_change(
        report(),
        || format!("the invite {} on {host} was deleted", redact(key)),
        || "it is gone".to_owned(),
    )
}

/// Whether `record` is one of `user`'s: created by them (a contact invite
/// names them as its JID; other records may name them as `source`, which
/// Prosody's ad-hoc commands set to the full JID, resource included), or
/// an account or password reset invite bound to their name.
fn belongs_to(record: &InviteRecord, user: &BareJid) -> bool {
    let is = |jid: &str| {
        let bare = jid.split_once('/').map_or(jid, |(bare, _)| bare);
        BareJid::parse(bare).is_ok_and(|j| j == *user)
    };
    is(&record.jid)
        || record
            .additional_data
            .as_ref()
            .and_then(|d| d.source.as_deref())
            .is_some_and(is)
}

/// Expires all of a user's pending invites: sets their expiry to one second
/// before now, so that servers refuse them (`token-expired`) and `cleanup`
/// removes them. Already expired invites and other users' are left alone.
pub(crate) fn expire(settings: &Settings, jid: &str) -> Result<()> {
    let (user, host) = args::jid(jid, false)?;
    let username = user.unwrap_or_default();
    let target = BareJid::new(Some(&username), &host).map_err(|e| {
        crate::error::Error::input(
            e.code(),
            format!("{jid:?} is not a valid USER@HOST: {e}"),
            "write USER@HOST, e.g. juliet@example.com",
        )
    })?;
    let now = settings.now;
    let past = now.saturating_sub(1);
    let mut store = store::open(&settings.database, Access::Modify, settings.lock_timeout)?;
    let mut expired: Vec<(String, &'static str)> = Vec::new();
    let mut bad = 0u64;
    store.write(&mut |tx| {
        expired.clear();
        bad = 0;
        let mut keys = Vec::new();
        let pending_of_target = |entry: &Entry| match entry {
            Entry::Record { record, .. } => !record.is_expired(now) && belongs_to(record, &target),
            Entry::Contact { row, expires } => now <= *expires && row.user == username,
            Entry::Corrupt { .. } => false,
        };
        store::scan(tx, Some(&host), |tx, row| {
            let seen = Entry::read(row);
            if let Entry::Corrupt { .. } = seen {
                bad += 1;
                return Ok(());
            }
            if !pending_of_target(&seen) {
                return Ok(());
            }
            // Rewritten as it is now, read again with its rows locked: on
            // PostgreSQL the scan's pages hold no locks, and a `use` may
            // have spent the invite since (its record written back would
            // bring a spent invite back, as an expired one).
            let (user, key) = (&seen.row().user, &seen.row().key);
            let Some(now_row) = tx
                .entries(&host, key)?
                .into_iter()
                .find(|r| r.user == *user)
            else {
                return Ok(());
            };
            let current = Entry::read(now_row);
            if !pending_of_target(&current) {
                return Ok(());
            }
            match current {
                Entry::Record { row, mut record } => {
                    record.expires = Some(past);
                    tx.put(&row.host, "", &row.key, "json", &record.to_json())?;
                    expired.push((row.key.clone(), record.invite_type().as_str()));
                    keys.push(row.key);
                }
                Entry::Contact { row, .. } => {
                    expire_contact(tx, &row, past)?;
                    expired.push((row.key, "contact entry"));
                }
                Entry::Corrupt { .. } => {}
            }
            Ok(())
        })?;
        // The entries other users hold for the records expired above (a
        // contact invite of theirs whose record names this user as source).
        for key in keys {
            for row in tx.entries(&host, &key)? {
                if let Entry::Contact { row, expires } = Entry::read(row) {
                    if now <= expires && row.user != username {
                        expire_contact(tx, &row, past)?;
                    }
                }
            }
        }
        Ok(())
    })?;
    let mut report = || -> Result<()> {
        let mut out = Out::new();
        if settings.json {
            out.json(&json!({
            "jid": target.to_string(),
            "expired": expired.iter().map(|(k, t)| json!({ "token": k, "type": t })).collect::<Vec<_>>(),
            "expires": past,
            "unreadable_rows": bad,
        }))?;
        } else if expired.is_empty() {
            out.line(format!("{target} has no pending invites."))?;
            if let Some(other) = stored_under(store.as_mut(), &host)? {
                out.line(format!("Hint: {}.", spelling_hint(&host, &other)))?;
            }
        } else {
            out.line(format!(
                "Expired {} pending invite entr{} of {target}:",
                expired.len(),
                if expired.len() == 1 { "y" } else { "ies" }
            ))?;
            for (key, kind) in &expired {
                out.text(format!("  {key}  {kind}"))?;
            }
            out.line("`xmpp-invites cleanup` removes them.")?;
        }
        out.flush()
    };
    let report = report();
    if !expired.is_empty() {
        after_change(
            report,
            || {
                format!(
                    "{} pending invite entries of {target} were expired",
                    expired.len()
                )
            },
            || format!("`xmpp-invites list {host}` shows them"),
        )?;
    } else {
        report?;
    }
    unreadable(bad, Some(&host))
}

/// Expires one pending invite: its host-level record and every user's
/// entry for it, as `expire` does for a user's. An invite that is unknown,
/// or expired already, is not found.
pub(crate) fn expire_invite(settings: &Settings, host: &str, key: &str) -> Result<()> {
    let host = args::host(host)?;
    let now = settings.now;
    let past = now.saturating_sub(1);
    let mut store = store::open(&settings.database, Access::Modify, settings.lock_timeout)?;
    // (whose entry: "" for the host-level record, what it was)
    let mut expired: Vec<(String, &'static str)> = Vec::new();
    let mut bad = 0u64;
    let written = store.write(&mut |tx| {
        expired.clear();
        bad = 0;
        for row in tx.entries(&host, key)? {
            match Entry::read(row) {
                Entry::Corrupt { .. } => bad += 1,
                Entry::Record { row, mut record } if !record.is_expired(now) => {
                    record.expires = Some(past);
                    tx.put(&row.host, "", &row.key, "json", &record.to_json())?;
                    expired.push((String::new(), record.invite_type().as_str()));
                }
                Entry::Contact { row, expires } if now <= expires => {
                    expire_contact(tx, &row, past)?;
                    expired.push((row.user, "contact entry"));
                }
                _ => {}
            }
        }
        if expired.is_empty() && bad == 0 {
            let mut e = not_found(&host, key);
            e.message = format!("no pending invite with token {} on {host}", redact(key));
            return Err(e);
        }
        Ok(())
    });
    not_found_hint(store.as_mut(), &host, key, written)?;
    if expired.is_empty() {
        // Only unreadable rows under the token: nothing was changed.
        return unreadable(bad, Some(&host));
    }
    let report = || {
        let mut out = Out::new();
        if settings.json {
            out.json(&json!({
                "host": host,
                "token": key,
                "expired": expired.iter().map(|(user, kind)| json!({
                    "user": (!user.is_empty()).then_some(user),
                    "type": kind,
                })).collect::<Vec<_>>(),
                "expires": past,
                "unreadable_rows": bad,
            }))?;
        } else {
            out.line(format!("Expired invite {key} on {host}:"))?;
            for (user, kind) in &expired {
                if user.is_empty() {
                    out.text(format!("  {kind}"))?;
                } else {
                    out.text(format!("  {kind} of {user}"))?;
                }
            }
            out.line("`xmpp-invites cleanup` removes it.")?;
        }
        out.flush()
    };
    after_change(
        report(),
        || format!("the invite {} on {host} was expired", redact(key)),
        || format!("`xmpp-invites list {host}` shows it"),
    )?;
    unreadable(bad, Some(&host))
}

fn expire_contact(tx: &mut dyn store::Tx, row: &Row, past: i64) -> Result<()> {
    let value = ContactRecord { expires: past }.to_json();
    tx.put(&row.host, &row.user, &row.key, &row.kind, &value)
}

/// Removes expired records and contact entries, of one host or all, in one
/// transaction. Unreadable rows stay and make the exit status 4.
pub(crate) fn cleanup(settings: &Settings, host: Option<&str>) -> Result<()> {
    let host = host.map(args::host).transpose()?;
    let host = host.as_deref();
    let now = settings.now;
    let mut store = store::open(&settings.database, Access::Modify, settings.lock_timeout)?;
    let (mut records, mut contacts, mut bad) = (0u64, 0u64, 0u64);
    let mut bar = indicatif::ProgressBar::hidden();
    store.write(&mut |tx| {
        (records, contacts, bad) = (0, 0, 0);
        bar = progress(tx.count(host)?, "Scanning invites");
        // Deleted a page at a time, behind the scan's position.
        let mut batch: Vec<Position> = Vec::with_capacity(store::PAGE);
        store::scan(tx, host, |tx, row| {
            bar.inc(1);
            let entry = Entry::read(row);
            if let Entry::Corrupt { .. } = entry {
                bad += 1;
            } else if entry.is_expired(now) {
                let row = entry.row();
                batch.push(row.position());
                if row.is_host_level() {
                    records += 1;
                } else {
                    contacts += 1;
                }
                if batch.len() >= store::PAGE {
                    tx.delete_rows(&batch)?;
                    batch.clear();
                }
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            tx.delete_rows(&batch)?;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let report = || {
        let mut out = Out::new();
        if settings.json {
            out.json(&json!({
                "host": host,
                "removed_records": records,
                "removed_contact_entries": contacts,
                "unreadable_rows": bad,
            }))?;
        } else {
            out.line(format!(
                "Removed {records} expired record(s) and {contacts} expired contact entr{} {}.",
                if contacts == 1 { "y" } else { "ies" },
                host.map_or("on every host".to_owned(), |h| format!("on {h}"))
            ))?;
        }
        out.flush()
    };
    if records + contacts > 0 {
        after_change(
            report(),
            || {
                format!(
                    "{records} expired record(s) and {contacts} expired contact entries were removed"
                )
            },
            || "they are gone".to_owned(),
        )?;
    } else {
        report()?;
    }
    unreadable(bad, host)
}
