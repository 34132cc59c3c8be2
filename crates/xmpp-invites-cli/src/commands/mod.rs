//! The commands.

mod create;
mod inspect;
mod maintain;
mod redeem;

use xmpp_invites::StorageChange;

use crate::args;
use crate::cli::Command;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::store::{Read, Tx};

pub(crate) fn run(settings: &Settings, command: &Command) -> Result<()> {
    match command {
        Command::Create(c) => create::run(settings, c),
        Command::List { host } => inspect::list(settings, host),
        Command::Show { host, token } => inspect::show(settings, host, token),
        Command::Parse { uri } => inspect::parse(settings, uri),
        Command::Validate { host, token } => redeem::validate(settings, host, token),
        Command::Use { host, token } => redeem::spend(settings, host, token),
        Command::Delete { host, token } => maintain::delete(settings, host, token),
        Command::Expire {
            target,
            token: None,
        } => maintain::expire(settings, target),
        Command::Expire {
            target,
            token: Some(token),
        } => maintain::expire_invite(settings, target, token),
        Command::Cleanup { host } => maintain::cleanup(settings, host.as_deref()),
    }
}

/// Applies one of the core's storage changes to Prosody's table.
fn apply(tx: &mut dyn Tx, host: &str, change: &StorageChange) -> Result<()> {
    let user = change.user().unwrap_or("");
    match change.sql_value() {
        Some((kind, value)) => tx.put(host, user, change.token(), kind, &value),
        None => tx.delete(host, Some(user), change.token()).map(drop),
    }
}

/// The error for rows that could not be read, after a command that goes on
/// past them (list, expire, cleanup) did its work.
fn unreadable(count: u64, host: Option<&str>) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let (where_, list) = match host {
        Some(h) => (format!(" on {h}"), format!("xmpp-invites list {h}")),
        None => (String::new(), "xmpp-invites list HOST".to_owned()),
    };
    Err(Error::data(
        "corrupt-row",
        format!("{count} stored row(s){where_} are not invites and were left as they are"),
        format!(
            "`{list}` shows them; inspect one with `xmpp-invites show HOST KEY` and remove it with `xmpp-invites delete HOST KEY`"
        ),
    ))
}

/// The other spelling of `host` (A-labels or Unicode) under which the
/// store holds invites, when it holds none under `host` itself. Prosody
/// keeps a host as its VirtualHost line writes it, so the two spellings
/// are two hosts to it and the tool looks only under the one given; this
/// is for saying so when that finds nothing. Only IDN hosts pay for it:
/// one-row reads.
fn stored_under<S: Read + ?Sized>(store: &mut S, host: &str) -> Result<Option<String>> {
    let others = args::other_spellings(host);
    if others.is_empty() || !store.page(Some(host), None, 1)?.is_empty() {
        return Ok(None);
    }
    for other in others {
        if !store.page(Some(&other), None, 1)?.is_empty() {
            return Ok(Some(other));
        }
    }
    Ok(None)
}

/// What to tell someone who gave `host` where the invites are under
/// `other`.
fn spelling_hint(host: &str, other: &str) -> String {
    format!(
        "the store has invites under {other}, not {host}: Prosody keeps a host as its VirtualHost line writes it (A-labels or Unicode), so give the host in that form"
    )
}

/// A token that was not found under `host`: when it is stored under
/// another spelling of the host, the hint says so.
fn not_found_hint<T, S: Read + ?Sized>(
    store: &mut S,
    host: &str,
    key: &str,
    result: Result<T>,
) -> Result<T> {
    match result {
        Err(mut e) if e.code == "not-found" => {
            for other in args::other_spellings(host) {
                if !store.entries(&other, key)?.is_empty() {
                    e.hint = format!(
                        "the token is stored under {other}, not {host}: Prosody keeps a host as its VirtualHost line writes it (A-labels or Unicode), so give the host in that form"
                    );
                    break;
                }
            }
            Err(e)
        }
        other => other,
    }
}
