//! `validate` (check) and `use` (spend), the way a server redeems a token.
//!
//! Which path applies follows from what is stored, as in Prosody: a
//! host-level record that allows registration is redeemed for a
//! registration (XEP-0445; a contact invite that allows registration also
//! names its inviter); otherwise the inviter's user-level entry is redeemed
//! for a subscription (XEP-0379).

use serde_json::{Value, json};
use xmpp_invites::{
    InviteAction, InviteRecord, Redemption, StorageChange, Stored, Token, ValidInvite,
    ValidateError, validate as core_validate,
};

use super::inspect::not_found;
use super::{apply, not_found_hint};
use crate::args;
use crate::config::Settings;
use crate::entry::{Entry, redact};
use crate::error::{Error, Result};
use crate::output::{Out, Times};
use crate::store::{self, Access, Row};

pub(crate) fn validate(settings: &Settings, host: &str, presented: &str) -> Result<()> {
    let host = args::host(host)?;
    let token = parse_token(presented)?;
    let mut store = store::open(&settings.database, Access::Read, settings.lock_timeout)?;
    let rows = store.entries(&host, token.as_str())?;
    let checked = check(&host, &token, rows, settings.now);
    let valid = not_found_hint(store.as_mut(), &host, token.as_str(), checked)?;
    report(settings, &host, &valid, None)
}

/// Validates and spends in one write transaction: of two processes racing
/// on a single-use token, the second waits for the first to commit and then
/// finds the token gone.
pub(crate) fn spend(settings: &Settings, host: &str, presented: &str) -> Result<()> {
    let host = args::host(host)?;
    let token = parse_token(presented)?;
    let mut store = store::open(&settings.database, Access::Modify, settings.lock_timeout)?;
    let mut spent = None;
    let written = store.write(&mut |tx| {
        let rows = tx.entries(&host, token.as_str())?;
        let valid = check(&host, &token, rows, settings.now)?;
        if let Some(pause) = settings.hold {
            std::thread::sleep(pause);
        }
        let changes = valid.use_changes();
        for change in &changes {
            apply(tx, &host, change)?;
        }
        spent = Some((valid, outcome(&changes)));
        Ok(())
    });
    not_found_hint(store.as_mut(), &host, token.as_str(), written)?;
    match spent {
        // A reusable invite is not changed by a use: nothing to report.
        Some((valid, Outcome::Kept)) => report(settings, &host, &valid, Some(Outcome::Kept)),
        Some((valid, outcome)) => crate::output::after_change(
            report(settings, &host, &valid, Some(outcome)),
            || format!("the invite {} on {host} was used", redact(token.as_str())),
            || format!("`xmpp-invites show {host} TOKEN` shows what is left of it"),
        ),
        None => Err(not_found(&host, token.as_str())),
    }
}

/// What using the invite did to it.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Deleted: it cannot be used again.
    Deleted,
    /// A `max_uses` invite with this many uses left.
    Counted { left: u32 },
    /// Reusable until it expires: unchanged.
    Kept,
}

fn outcome(changes: &[StorageChange]) -> Outcome {
    match changes.first() {
        None => Outcome::Kept,
        Some(StorageChange::PutRecord { record, .. }) => Outcome::Counted {
            left: record
                .max_uses
                .unwrap_or(0)
                .saturating_sub(record.uses.unwrap_or(0)),
        },
        Some(_) => Outcome::Deleted,
    }
}

fn parse_token(presented: &str) -> Result<Token> {
    Token::parse(presented).map_err(|e| {
        Error::token(
            e.code(),
            format!("not an invite token: {e}"),
            "the token is the part after preauth= in the invite URI; `xmpp-invites parse URI` shows it",
        )
    })
}

/// Validates `token` against the rows stored under it.
fn check(host: &str, token: &Token, rows: Vec<Row>, now: i64) -> Result<ValidInvite> {
    let mut record: Option<Box<InviteRecord>> = None;
    let mut contacts: Vec<(String, i64)> = Vec::new();
    let mut corrupt = None;
    for row in rows {
        match Entry::read(row) {
            Entry::Record { record: r, .. } => {
                record.get_or_insert(r);
            }
            Entry::Contact { row, expires } => contacts.push((row.user, expires)),
            Entry::Corrupt { row, error } => {
                // A server reading this row would fail too: say so rather
                // than call the token unknown.
                if row.is_host_level() || corrupt.is_none() {
                    corrupt = Some((row.is_host_level(), error));
                }
            }
        }
    }
    if let Some((true, error)) = corrupt {
        return Err(error);
    }
    let presented = token.as_str();
    let result = match &record {
        Some(r) if r.allow_registration || r.action == InviteAction::Register => core_validate(
            presented,
            Stored {
                record: Some(r),
                contact_expires: None,
            },
            Redemption::Registration,
            now,
        ),
        Some(r) => {
            // A contact-only record kept at host level: the inviter's own
            // entry decides when there is one.
            let inviter = r.jid_username().unwrap_or_default().to_owned();
            let contact_expires = contacts.iter().find(|(u, _)| *u == inviter).map(|c| c.1);
            core_validate(
                presented,
                Stored {
                    record: Some(r),
                    contact_expires,
                },
                Redemption::Subscription { inviter: &inviter },
                now,
            )
        }
        None => match (contacts.first(), corrupt) {
            (Some((user, expires)), _) => core_validate(
                presented,
                Stored {
                    record: None,
                    contact_expires: Some(*expires),
                },
                Redemption::Subscription { inviter: user },
                now,
            ),
            (None, Some((_, error))) => return Err(error),
            (None, None) => return Err(not_found(host, presented)),
        },
    };
    result.map_err(|e| validate_error(host, token, record.as_deref(), e))
}

fn validate_error(
    host: &str,
    token: &Token,
    record: Option<&InviteRecord>,
    e: ValidateError,
) -> Error {
    let t = redact(token.as_str());
    let renew = "create a new invite (xmpp-invites create ...); `xmpp-invites cleanup` removes expired ones";
    match e {
        ValidateError::Expired { expired_at } => Error::token(
            e.code(),
            format!(
                "token-expired: the invite {t} on {host} expired at {}",
                Times::of(expired_at).both()
            ),
            renew,
        ),
        ValidateError::UsedUp => Error::token(
            e.code(),
            format!(
                "token-invalid: the invite {t} on {host} has been used up ({} of {} uses)",
                record.and_then(|r| r.uses).unwrap_or(0),
                record.and_then(|r| r.max_uses).unwrap_or(0)
            ),
            renew,
        ),
        ValidateError::Unknown => not_found(host, token.as_str()),
        other => Error::token(
            other.code(),
            format!("the invite {t} on {host} cannot be used: {other}"),
            format!("`xmpp-invites show {host} TOKEN` shows what is stored"),
        ),
    }
}

fn report(
    settings: &Settings,
    host: &str,
    valid: &ValidInvite,
    used: Option<Outcome>,
) -> Result<()> {
    let data = valid.additional_data();
    let roles = data
        .and_then(|d| d.roles.as_ref())
        .map(|r| r.as_slice().to_vec());
    let groups = data
        .map(|d| d.group_list().to_vec())
        .filter(|g| !g.is_empty());
    let times = Times::of(valid.expires());
    let mut value = json!({
        "valid": true,
        "token": valid.token().as_str(),
        "host": host,
        "type": valid.invite_type().as_str(),
        "redemption": if valid.is_for_subscription() { "subscription" } else { "registration" },
        "inviter": valid.inviter(),
        "username": valid.bound_username(),
        "reset_username": valid.reset_username(),
        "roles": roles,
        "groups": groups,
        "reusable": valid.is_reusable(),
        "expires": valid.expires(),
        "expires_utc": times.utc,
    });
    if let (Some(outcome), Value::Object(map)) = (used, &mut value) {
        map.insert("used".into(), json!(true));
        let (name, left) = match outcome {
            Outcome::Deleted => ("deleted", Some(0)),
            Outcome::Counted { left } => ("counted", Some(left)),
            Outcome::Kept => ("kept", None),
        };
        map.insert("outcome".into(), json!(name));
        map.insert("uses_left".into(), json!(left));
    }
    let mut out = Out::new();
    if settings.json {
        out.json(&value)?;
        return out.flush();
    }
    let what = match (
        valid.invite_type().as_str(),
        valid.inviter(),
        valid.bound_username(),
        valid.reset_username(),
    ) {
        (_, _, _, Some(user)) => format!("password reset invite for {user}@{host}"),
        (t, Some(inviter), _, _) => format!("{t} invite from {inviter}@{host}"),
        (t, None, Some(user), _) => format!("{t} invite for {user}@{host}"),
        (t, None, None, None) => format!("{t} invite for any username on {host}"),
    };
    let verb = if used.is_some() { "Used" } else { "Valid" };
    out.text(format!(
        "{verb}: {what}, for {}.",
        if valid.is_for_subscription() {
            "a subscription"
        } else {
            "registration"
        }
    ))?;
    if let Some(roles) = &roles {
        out.text(format!("  Roles:    {}", roles.join(", ")))?;
    }
    if let Some(groups) = &groups {
        out.text(format!("  Groups:   {}", groups.join(", ")))?;
    }
    out.line(format!("  Expires:  {}", times.both()))?;
    match used {
        None => {}
        Some(Outcome::Deleted) => out.line("  The invite is spent and has been deleted.")?,
        Some(Outcome::Counted { left }) => out.line(format!("  {left} use(s) left."))?,
        Some(Outcome::Kept) => out.line("  The invite is reusable and stays until it expires.")?,
    }
    out.flush()
}
