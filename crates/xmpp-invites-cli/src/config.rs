//! The optional TOML configuration file and how it combines with the
//! command line: an option given on the command line wins, then the file,
//! then the built-in default.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use xmpp_invites::{LandingPage, Period};

use crate::cli::{Global, RoleFormat};
use crate::error::{Error, Result};

/// The file's keys; anything else is refused so that typos show.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// SQLite path (relative to the file's directory) or postgres:// URL.
    database: Option<String>,
    /// Prosody's `invites_page`.
    invites_page: Option<String>,
    /// Prosody's `invites_page_supports`.
    invites_page_supports: Option<Vec<String>>,
    /// Prosody's `invite_expiry`: seconds, or a period such as "2 days".
    /// Read by hand (see [`expiry`]), so that a wrong type gets a message
    /// that says what to write.
    invite_expiry: Option<toml::Value>,
    /// How `create account` writes roles.
    role_format: Option<RoleFormat>,
}

/// `invite_expiry` as Prosody's Lua configuration gives it to
/// `xi.parse_period`, and read the same way: whole seconds; a fraction of
/// a second dropped (`86400 * 1.5` is natural in Prosody's config, and
/// `xi.parse_period(3600 * 1.1)` is 3960); `inf` for never (Lua's
/// `math.huge`); a negative number refused, never read as `never`; or a
/// period in words.
fn expiry(value: &toml::Value) -> Result<Period> {
    let period = match value {
        toml::Value::Integer(i) => Period::from_seconds(*i),
        toml::Value::Float(f) => Period::from_seconds_f64(*f),
        toml::Value::String(t) => Period::parse(t),
        other => {
            return Err(Error::input(
                "bad-config",
                format!(
                    "invite_expiry in the configuration file is a {}, not a period",
                    other.type_str()
                ),
                "write a number of seconds or a period in quotes, e.g. invite_expiry = 604800 or invite_expiry = \"1 week\"",
            ));
        }
    };
    period.map_err(|e| {
        Error::input(
            e.code(),
            format!("invite_expiry in the configuration file: {e}"),
            "fix invite_expiry, e.g. invite_expiry = \"1 week\" or 604800",
        )
    })
}

pub(crate) const DEFAULT_DATABASE: &str = "./invites.sqlite3";

/// Where the invites live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Database {
    pub(crate) fn parse(text: &str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Self::Postgres(text.to_owned())
        } else {
            Self::Sqlite(PathBuf::from(text))
        }
    }
}

/// Everything the commands need from options and configuration.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) database: Database,
    pub(crate) landing: Option<LandingPage>,
    pub(crate) default_ttl: Option<Period>,
    pub(crate) role_format: RoleFormat,
    pub(crate) json: bool,
    pub(crate) qr: bool,
    pub(crate) lock_timeout: std::time::Duration,
    pub(crate) now: i64,
    /// Test hook: a pause inside the `use` transaction.
    pub(crate) hold: Option<std::time::Duration>,
}

impl Settings {
    pub(crate) fn resolve(global: &Global, now: i64) -> Result<Self> {
        let (file, dir) = match &global.config {
            Some(path) => (load(path)?, path.parent().map(Path::to_path_buf)),
            None => (File::default(), None),
        };
        let database = match (&global.database, &file.database) {
            (Some(d), _) => Database::parse(d),
            (None, Some(d)) => match Database::parse(d) {
                // A relative path in the file is relative to the file.
                Database::Sqlite(p) if p.is_relative() => Database::Sqlite(
                    dir.filter(|d| !d.as_os_str().is_empty())
                        .map_or(p.clone(), |d| d.join(&p)),
                ),
                other => other,
            },
            (None, None) => Database::parse(DEFAULT_DATABASE),
        };
        let template = global.invites_page.clone().or(file.invites_page);
        let landing = match template {
            None => None,
            Some(t) => {
                if let Some(at) = t.find("{{") {
                    let block = t[at..]
                        .find("}}")
                        .map_or(&t[at..], |end| &t[at..at + end + 2]);
                    return Err(Error::input(
                        "bad-config",
                        format!(
                            "invites_page has the block {block:?}, which Prosody's template syntax never fills: the link would carry it as written"
                        ),
                        "write blocks with single braces, as Prosody does: {host}, {invite.token}, {invite.uri|noscheme} (ejabberd's {{ invite.token }} is {invite.token} here)",
                    ));
                }
                let page = LandingPage::new(t);
                Some(match &file.invites_page_supports {
                    None => page,
                    Some(names) => page.with_supported_names(names).map_err(|e| {
                        Error::input(
                            "bad-config",
                            format!("invites_page_supports: {e}"),
                            "use the names account, password-reset, contact-only and account-and-contact",
                        )
                    })?,
                })
            }
        };
        let default_ttl = file.invite_expiry.as_ref().map(expiry).transpose()?;
        Ok(Self {
            database,
            landing,
            default_ttl,
            role_format: file.role_format.unwrap_or(RoleFormat::Set),
            json: global.json,
            qr: global.qr,
            lock_timeout: std::time::Duration::from_secs_f64(global.lock_timeout),
            now: global.now.unwrap_or(now),
            hold: global.hold_ms.map(std::time::Duration::from_millis),
        })
    }
}

fn load(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            "bad-config",
            format!("cannot read the configuration file {}: {e}", path.display()),
            "check the path given to --config",
        )
    })?;
    toml::from_str(&text).map_err(|e| {
        Error::input(
            "bad-config",
            format!(
                "the configuration file {} is not valid: {}",
                path.display(),
                e.message()
            ),
            "the known keys are database, invites_page, invites_page_supports, invite_expiry and role_format (see the README)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_kinds() {
        assert_eq!(
            Database::parse("postgresql://u@h/db"),
            Database::Postgres("postgresql://u@h/db".into())
        );
        assert_eq!(
            Database::parse("prosody.sqlite"),
            Database::Sqlite("prosody.sqlite".into())
        );
    }

    fn expiry_of(text: &str) -> Result<Period> {
        let f: File = toml::from_str(&format!("invite_expiry = {text}")).unwrap();
        expiry(f.invite_expiry.as_ref().unwrap())
    }

    #[test]
    fn expiry_as_number_or_text() {
        let f: File = toml::from_str("invite_expiry = 3600\nrole_format = \"list\"").unwrap();
        assert_eq!(
            expiry(f.invite_expiry.as_ref().unwrap()).ok(),
            Some(Period::Seconds(3600))
        );
        assert_eq!(f.role_format, Some(RoleFormat::List));
        assert_eq!(expiry_of("\"2 days\"").ok(), Some(Period::Seconds(172_800)));
        // As the Lua module reads Prosody's invite_expiry: fractions of a
        // second dropped, inf for never, negatives and NaN refused.
        assert_eq!(
            expiry_of("3960.0000000000005").ok(),
            Some(Period::Seconds(3960))
        );
        assert_eq!(expiry_of("1.5").ok(), Some(Period::Seconds(1)));
        assert_eq!(expiry_of("129600.9").ok(), Some(Period::Seconds(129_600)));
        assert_eq!(expiry_of("inf").ok(), Some(Period::Never));
        assert_eq!(expiry_of("-1.5").unwrap_err().code, "invalid-period");
        assert_eq!(expiry_of("nan").unwrap_err().code, "invalid-period");
        assert_eq!(expiry_of("-inf").unwrap_err().code, "invalid-period");
        assert_eq!(expiry_of("1e30").unwrap_err().code, "period-overflow");
        let e = expiry_of("true").unwrap_err();
        assert_eq!(e.code, "bad-config");
        assert!(e.message.contains("is a boolean"), "{}", e.message);
    }
}
