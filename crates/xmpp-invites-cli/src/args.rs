//! Hosts, JIDs, periods and tokens from the command line, checked by the
//! core and turned into errors that say what to write instead.

use xmpp_invites::{BareJid, Period, prep_host};

use crate::error::{Error, Result};

/// A host as Prosody's configuration names it: nameprepped, in Unicode
/// (`xn--mnchen-3ya.example` is taken as `münchen.example`), since the
/// store's `host` column holds the configured name.
pub(crate) fn host(text: &str) -> Result<String> {
    if text.contains('@') || text.contains('/') {
        return Err(Error::input(
            "invalid-host",
            format!("{text:?} is not a host"),
            "give the host alone, as in Prosody's VirtualHost line, e.g. example.com",
        ));
    }
    let host = prep_host(text).map_err(|e| {
        Error::input(
            e.code(),
            format!("{text:?} is not a valid host: {e}"),
            "give the host as in Prosody's VirtualHost line, e.g. example.com",
        )
    })?;
    Ok(unicode_host(&host))
}

fn unicode_host(host: &str) -> String {
    if !host.split('.').any(|label| label.starts_with("xn--")) {
        return host.to_owned();
    }
    match idna::domain_to_unicode(host) {
        (unicode, Ok(())) => unicode,
        _ => host.to_owned(),
    }
}

/// `USER@HOST` (or `HOST` when `user_optional`), normalised.
pub(crate) fn jid(text: &str, user_optional: bool) -> Result<(Option<String>, String)> {
    let want = if user_optional {
        "[USER@]HOST"
    } else {
        "USER@HOST"
    };
    let parsed = BareJid::parse(text).map_err(|e| {
        Error::input(
            e.code(),
            format!("{text:?} is not a valid {want}: {e}"),
            format!("write {want}, e.g. {}", example(user_optional)),
        )
    })?;
    let user = parsed.username().map(str::to_owned);
    if user.is_none() && !user_optional {
        return Err(Error::input(
            "missing-username",
            format!("{text:?} has no username"),
            format!("write USER@HOST, e.g. {}", example(false)),
        ));
    }
    Ok((user, unicode_host(parsed.host())))
}

fn example(user_optional: bool) -> &'static str {
    if user_optional {
        "example.com or juliet@example.com"
    } else {
        "juliet@example.com"
    }
}

/// A period for `--expires-after`.
pub(crate) fn period(text: &str) -> Result<Period> {
    Period::parse(text).map_err(|e| {
        Error::input(
            e.code(),
            format!("--expires-after: {e}"),
            "write a number of seconds, a number and a unit (\"12h\", \"2 days\", \"1 mon\"), or never",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_prepped_and_unicode() {
        assert_eq!(host("Example.COM").unwrap(), "example.com");
        assert_eq!(host("xn--mnchen-3ya.example").unwrap(), "münchen.example");
        assert_eq!(host("münchen.example.").unwrap(), "münchen.example");
        assert_eq!(host("a@b").unwrap_err().code, "invalid-host");
        assert_eq!(host("exa mple.com").unwrap_err().code, "invalid-host");
    }

    #[test]
    fn jids() {
        assert_eq!(
            jid("Romeo@Example.com", false).unwrap(),
            (Some("romeo".into()), "example.com".into())
        );
        assert_eq!(
            jid("example.com", true).unwrap(),
            (None, "example.com".into())
        );
        assert_eq!(
            jid("example.com", false).unwrap_err().code,
            "missing-username"
        );
        assert_eq!(period("1m").unwrap_err().code, "ambiguous-period");
    }
}
