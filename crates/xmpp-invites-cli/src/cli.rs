//! The command line: global options and commands (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::Error;

/// The most invites one `create account --count` makes: they are all
/// written in one transaction and printed after it commits.
pub(crate) const MAX_COUNT: u32 = 10_000;

const AFTER_HELP: &str = "\
Exit status:
  0  success
  1  usage or bad input (unknown option, bad host, period, URI or config file)
  2  the token does not lead to a usable invite (not found, malformed,
     expired, used up)
  3  the store cannot be used (missing, locked, read-only, not Prosody's
     schema, connection failed); nothing was written
  4  a stored row is not an invite record (list and cleanup go on and
     report it at the end)
  5  the change was made (invites created, a token used, rows deleted,
     expired or removed) but its report could not be written to stdout;
     do not run the command again

The store is Prosody's SQL storage (table \"prosody\", store \"invite_token\"):
point --database at the SQLite file or PostgreSQL database of a Prosody
using storage = \"sql\" to manage that server's invites.";

/// Create and manage XMPP invites (XEP-0401, XEP-0445, XEP-0379) in a
/// store shaped like Prosody's SQL storage.
#[derive(Debug, Parser)]
#[command(name = "xmpp-invites", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// SQLite file or postgres:// URL [default: ./invites.sqlite3]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub(crate) database: Option<String>,

    /// TOML file with database, invites_page, invites_page_supports,
    /// invite_expiry and role_format
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Machine-readable JSON on stdout (errors as JSON on stderr)
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Landing page template in Prosody's syntax, e.g.
    /// 'https://example.com/invite?{invite.token}'
    #[arg(long, global = true, value_name = "TEMPLATE")]
    pub(crate) invites_page: Option<String>,

    /// Also draw the landing link (or the URI) as a QR code
    #[arg(long, global = true, conflicts_with = "json")]
    pub(crate) qr: bool,

    /// How long to wait for a database lock held by another process
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 5.0,
        value_parser = parse_seconds
    )]
    pub(crate) lock_timeout: f64,

    /// Unix time to use as "now" (for tests)
    #[arg(long, global = true, hide = true, value_name = "UNIX")]
    pub(crate) now: Option<i64>,

    /// Sleep this long inside the `use` transaction, after validating and
    /// before writing (for tests of concurrent use)
    #[arg(long, global = true, hide = true, value_name = "MS")]
    pub(crate) hold_ms: Option<u64>,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create an invite and print its URI, landing link and expiry
    #[command(subcommand)]
    Create(Create),
    /// List the pending and expired invites of a host
    List {
        /// The host, as in Prosody's VirtualHost
        host: String,
    },
    /// Show everything stored for one invite
    Show {
        /// The host
        host: String,
        /// The token (the part after preauth= in the URI)
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Delete one invite (its host-level record and the inviter's entry)
    Delete {
        /// The host
        host: String,
        /// The token (it may start with "-")
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Expire a user's pending invites, or one invite, now (cleanup removes them)
    ///
    /// With USER@HOST: contact invites under the user's own key; records
    /// whose additional_data.source is the user's JID; account and
    /// password reset invites bound to the user's name. With HOST TOKEN:
    /// that invite's record and every user's entry for it. Their expiry
    /// is set to one second before now, so servers refuse them with
    /// token-expired, `list` still shows them, and `cleanup` removes them.
    Expire {
        /// USER@HOST, or HOST when a TOKEN follows
        target: String,
        /// The token of the one invite to expire (it may start with "-")
        #[arg(allow_hyphen_values = true)]
        token: Option<String>,
    },
    /// Remove expired invites (host-level records and users' entries)
    Cleanup {
        /// Only this host (default: every host in the store)
        host: Option<String>,
    },
    /// Check a token as a server would, without spending it
    Validate {
        /// The host
        host: String,
        /// The token (it may start with "-")
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Spend a token atomically, as a server does after a registration or
    /// subscription succeeded
    Use {
        /// The host
        host: String,
        /// The token (it may start with "-")
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Parse an invite URI (xmpp:...?register;preauth=... or ?roster;...)
    Parse {
        /// The URI
        uri: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum Create {
    /// An account invite, for any username (HOST) or one (USER@HOST)
    Account(CreateAccount),
    /// A contact invite from USER (XEP-0379), optionally allowing
    /// registration
    Contact(CreateContact),
    /// A password reset invite for an existing account (1 day by default)
    Reset(CreateReset),
}

#[derive(Debug, Args)]
pub(crate) struct CreateAccount {
    /// HOST, or USER@HOST to allow only that username
    #[arg(value_name = "[USER@]HOST")]
    pub(crate) target: String,
    /// Grant the new account the prosody:admin role
    #[arg(long)]
    pub(crate) admin: bool,
    /// Grant this role (repeatable; the first is the primary role)
    #[arg(long = "role", value_name = "ROLE")]
    pub(crate) roles: Vec<String>,
    /// Add the new account to this group (repeatable)
    #[arg(long = "group", value_name = "GROUP")]
    pub(crate) groups: Vec<String>,
    /// How to write roles: "set" for Prosody 0.12 ({"role":true}),
    /// "list" for Prosody 13 (["role"]) [default: set, or the config's
    /// role_format]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) role_format: Option<RoleFormat>,
    #[command(flatten)]
    pub(crate) common: CommonCreate,
    /// Let the invite register up to N accounts (an extension: stock
    /// Prosody treats such an invite as single-use)
    #[arg(long, value_name = "N")]
    pub(crate) max_uses: Option<u32>,
    /// Create N invites at once (at most 10000), in one transaction
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_COUNT)))]
    pub(crate) count: u32,
}

#[derive(Debug, Args)]
pub(crate) struct CreateContact {
    /// The inviting user, USER@HOST
    #[arg(value_name = "USER@HOST")]
    pub(crate) jid: String,
    /// Let the invitee also register an account on HOST
    #[arg(long)]
    pub(crate) allow_registration: bool,
    #[command(flatten)]
    pub(crate) common: CommonCreate,
}

#[derive(Debug, Args)]
pub(crate) struct CreateReset {
    /// The account whose password may be reset, USER@HOST
    #[arg(value_name = "USER@HOST")]
    pub(crate) jid: String,
    #[command(flatten)]
    pub(crate) common: CommonCreate,
}

#[derive(Debug, Args)]
pub(crate) struct CommonCreate {
    /// Validity: seconds, "N unit" (s, min, h, d, w, mon, y) or "never"
    /// [default: the config's invite_expiry, else 1 week; 1 day for a reset]
    #[arg(long, value_name = "PERIOD")]
    pub(crate) expires_after: Option<String>,
    /// A note for admins, stored in the record (a contact invite without
    /// --allow-registration has none: refused there)
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
}

/// How roles are written into `additional_data.roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RoleFormat {
    /// `{"prosody:admin": true}`: what Prosody 0.12 reads.
    Set,
    /// `["prosody:admin"]`: what Prosody 13 reads (first = primary).
    List,
}

/// A command-line error from the parser as this tool's error (code
/// `usage`, exit 1), for `--json`: clap's first paragraph is the message,
/// its tips and the usage line the hint.
pub(crate) fn usage_error(e: &clap::Error) -> Error {
    let text = e.render().to_string();
    let mut paragraphs = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty());
    let first = paragraphs.next().unwrap_or_default();
    let message = first
        .strip_prefix("error:")
        .unwrap_or(first)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut hint: Vec<String> = paragraphs
        .filter(|p| !p.starts_with("For more information"))
        .map(|p| {
            let p = p.strip_prefix("tip:").unwrap_or(p);
            p.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    hint.push("see xmpp-invites --help".to_owned());
    Error::input("usage", message, hint.join("; "))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// --count's limit is the one its help states.
    #[test]
    fn count_limit_matches_its_help() {
        let mut cmd = Cli::command();
        let account = cmd
            .find_subcommand_mut("create")
            .and_then(|c| c.find_subcommand_mut("account"))
            .unwrap();
        let help = account.render_long_help().to_string();
        assert!(help.contains(&format!("(at most {MAX_COUNT})")), "{help}");
        let parse = |n: u32| {
            Cli::try_parse_from(["xi", "create", "account", "x", "--count", &n.to_string()])
        };
        assert!(parse(MAX_COUNT).is_ok());
        let e = parse(MAX_COUNT + 1).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(parse(0).is_err());
    }

    #[test]
    fn usage_errors_as_ours() {
        let e = Cli::try_parse_from(["xi", "list", "example.com", "--bogus"]).unwrap_err();
        let ours = usage_error(&e);
        assert_eq!(ours.code, "usage");
        assert_eq!(ours.exit, crate::error::Exit::Input);
        assert_eq!(ours.message, "unexpected argument '--bogus' found");
        assert!(ours.hint.contains("Usage: xi list <HOST>"), "{}", ours.hint);
    }
}
