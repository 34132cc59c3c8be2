//! The commands.

mod create;
mod inspect;
mod maintain;
mod redeem;

use xmpp_invites::StorageChange;

use crate::cli::Command;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::store::Tx;

pub(crate) fn run(settings: &Settings, command: &Command) -> Result<()> {
    match command {
        Command::Create(c) => create::run(settings, c),
        Command::List { host } => inspect::list(settings, host),
        Command::Show { host, token } => inspect::show(settings, host, token),
        Command::Parse { uri } => inspect::parse(settings, uri),
        Command::Validate { host, token } => redeem::validate(settings, host, token),
        Command::Use { host, token } => redeem::spend(settings, host, token),
        Command::Delete { host, token } => maintain::delete(settings, host, token),
        Command::Expire { jid } => maintain::expire(settings, jid),
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
