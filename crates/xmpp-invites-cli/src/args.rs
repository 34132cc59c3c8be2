//! Hosts, JIDs, periods and tokens from the command line, checked by the
//! core and turned into errors that say what to write instead.

use xmpp_invites::{BareJid, Period, host_to_ascii, prep_host};

use crate::error::{Error, Result};

/// A host as Prosody's configuration names it: nameprepped, and in the
/// form it is written. Prosody's `VirtualHost` only nameprep's its name,
/// so a host configured as `xn--mnchen-3ya.example` keeps its rows under
/// that A-label and one configured as `münchen.example` under the Unicode
/// form: to Prosody they are two hosts, and the store's `host` column
/// holds the name as configured.
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
    Ok(host)
}

/// The other IDNA spellings of a prepared host (all A-labels, all
/// Unicode), which Prosody takes for other hosts: where `list` and the
/// token commands look when nothing is stored under the spelling given,
/// to say so in the hint. Empty for a plain ASCII host.
pub(crate) fn other_spellings(host: &str) -> Vec<String> {
    let mut others = Vec::new();
    if host.is_ascii() && !host.split('.').any(|l| l.starts_with("xn--")) {
        return others;
    }
    if let Ok(ascii) = host_to_ascii(host) {
        others.push(ascii);
    }
    if let (unicode, Ok(())) = idna::domain_to_unicode(host) {
        if let Ok(unicode) = prep_host(&unicode) {
            others.push(unicode);
        }
    }
    others.retain(|o| o != host);
    others.dedup();
    others
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
    Ok((user, parsed.host().to_owned()))
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
    fn hosts_are_prepped_as_written() {
        assert_eq!(host("Example.COM").unwrap(), "example.com");
        // As Prosody's VirtualHost: nameprep only, the A-label stays one.
        assert_eq!(
            host("XN--MNCHEN-3ya.example").unwrap(),
            "xn--mnchen-3ya.example"
        );
        assert_eq!(host("München.example.").unwrap(), "münchen.example");
        assert_eq!(
            jid("Jürgen@xn--mnchen-3ya.example", false).unwrap(),
            (Some("jürgen".into()), "xn--mnchen-3ya.example".into())
        );
        assert_eq!(
            other_spellings("xn--mnchen-3ya.example"),
            ["münchen.example"]
        );
        assert_eq!(
            other_spellings("münchen.example"),
            ["xn--mnchen-3ya.example"]
        );
        assert!(other_spellings("example.com").is_empty());
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
