//! Usernames and hosts as XMPP normalises them (RFC 6122 stringprep).

use std::fmt;

/// The longest localpart or domainpart XMPP allows, in bytes (RFC 6122).
const MAX_PART_BYTES: usize = 1023;

/// Why a username, host or JID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JidError {
    /// The username is empty.
    #[error("the username is empty")]
    EmptyUsername,
    /// The username fails nodeprep (it holds a space or one of `"&'/:<>@`, or
    /// another prohibited character).
    #[error("the username {0:?} is not a valid XMPP localpart")]
    InvalidUsername(String),
    /// The host is empty.
    #[error("the host is empty")]
    EmptyHost,
    /// The host fails nameprep or IDNA.
    #[error("the host {0:?} is not a valid XMPP domain")]
    InvalidHost(String),
    /// A part is longer than the 1023 bytes XMPP allows.
    #[error("a JID part is longer than 1023 bytes")]
    TooLong,
    /// The JID has a resource (`/...`) where a bare JID was expected.
    #[error("expected a bare JID without a resource, got {0:?}")]
    HasResource(String),
}

impl JidError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyUsername => "empty-username",
            Self::InvalidUsername(_) => "invalid-username",
            Self::EmptyHost => "empty-host",
            Self::InvalidHost(_) => "invalid-host",
            Self::TooLong => "jid-too-long",
            Self::HasResource(_) => "jid-has-resource",
        }
    }
}

/// Normalises a username with nodeprep, as a server does on registration:
/// `Romeo` becomes `romeo`.
///
/// ```
/// assert_eq!(xmpp_invites::prep_username("Romeo").unwrap(), "romeo");
/// assert!(xmpp_invites::prep_username("romeo@home").is_err());
/// ```
pub fn prep_username(username: &str) -> Result<String, JidError> {
    if username.is_empty() {
        return Err(JidError::EmptyUsername);
    }
    // Fast path: printable ASCII without capitals or the characters
    // nodeprep prohibits is its own nodeprep (nothing to map, fold or
    // normalise).
    if username.len() <= MAX_PART_BYTES
        && username
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase() && !b"\"&'/:<>@".contains(&b))
    {
        return Ok(username.to_owned());
    }
    let prepped = stringprep::nodeprep(username)
        .map_err(|_| JidError::InvalidUsername(username.to_owned()))?;
    if prepped.is_empty() {
        return Err(JidError::EmptyUsername);
    }
    if prepped.len() > MAX_PART_BYTES {
        return Err(JidError::TooLong);
    }
    Ok(prepped.into_owned())
}

/// Normalises a host with nameprep and checks that it converts to IDNA
/// A-labels. The result keeps Unicode (`münchen.example`), as Prosody's
/// configured hosts do; [`host_to_ascii`] gives the form for URIs. A host
/// given as A-labels keeps that form, and must decode to a host nameprep
/// accepts unchanged; a label given in Unicode must come back from its
/// A-label as written (not so `Ⴀ`, U+10A0, which IDNA maps to U+2D00).
/// IDNA's other full stops (U+3002, U+FF0E, U+FF61) separate labels as
/// `.` does, and are written as `.`.
///
/// ```
/// assert_eq!(xmpp_invites::prep_host("Example.COM").unwrap(), "example.com");
/// assert!(xmpp_invites::prep_host("exa mple.com").is_err());
/// ```
pub fn prep_host(host: &str) -> Result<String, JidError> {
    prep_host_checked(host).map(|(host, _)| host)
}

/// [`prep_host`], and whether the host is a plain ASCII one (checked once
/// for both).
fn prep_host_checked(host: &str) -> Result<(String, bool), JidError> {
    if host.is_empty() {
        return Err(JidError::EmptyHost);
    }
    if is_plain_ascii_host(host) {
        return Ok((host.to_owned(), true));
    }
    let prepped = stringprep::nameprep(host).map_err(|_| JidError::InvalidHost(host.to_owned()))?;
    // IDNA's other label separators are dots (RFC 3490 section 3.1, RFC
    // 6122 section 2.2). Nameprep has turned U+FF0E into '.', and U+FF61
    // and U+FE12 into U+3002, which it keeps: a host written with it would
    // otherwise keep a label that its A-labels split in two.
    let prepped = if prepped.contains('\u{3002}') {
        std::borrow::Cow::Owned(prepped.replace('\u{3002}', "."))
    } else {
        prepped
    };
    let prepped = prepped.strip_suffix('.').unwrap_or(&prepped);
    if prepped.is_empty() {
        return Err(JidError::EmptyHost);
    }
    if prepped.len() > MAX_PART_BYTES {
        return Err(JidError::TooLong);
    }
    let ascii = host_to_ascii_cow(prepped)?;
    check_round_trip(prepped, &ascii)?;
    // Nameprep may have made a plain host of it (`Example.COM`).
    Ok((prepped.to_owned(), is_plain_ascii_host(prepped)))
}

/// A prepared host must come back from its A-labels as itself, as the URI
/// parser and servers that compare hosts as Unicode read it there. IDNA's
/// tables are newer than nameprep's Unicode 3.2, so the two can disagree:
/// - an A-label can decode to a character nameprep does not know:
///   `xn--fjjjjjjjjjjjjjjjjjjjjjjjj-jjjj` holds U+0234, which IDNA allows
///   and nameprep refuses;
/// - IDNA can map a character that nameprep keeps: Unicode 3.2 has no
///   lowercase for the Georgian capital U+10A0, so nameprep leaves `Ⴀ` as
///   it is, while IDNA writes it as `xn--rkj`, which is U+2D00 (not in
///   Unicode 3.2, so no host nameprep accepts).
///
/// So the Unicode form of `ascii` must be prepared (nameprep leaves it as
/// it is), and each label `host` wrote in Unicode must be that form's label.
fn check_round_trip(host: &str, ascii: &str) -> Result<(), JidError> {
    let invalid = || JidError::InvalidHost(host.to_owned());
    let (unicode, result) = idna::domain_to_unicode(ascii);
    result.map_err(|_| invalid())?;
    match stringprep::nameprep(&unicode) {
        Ok(prepped) if prepped == unicode => {}
        _ => return Err(invalid()),
    }
    let (mut written, mut read) = (host.split('.'), unicode.split('.'));
    loop {
        match (written.next(), read.next()) {
            (None, None) => return Ok(()),
            (Some(w), Some(r)) if is_a_label(w) || w == r => {}
            _ => return Err(invalid()),
        }
    }
}

fn is_a_label(label: &str) -> bool {
    label
        .as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
}

/// The host as IDNA A-labels (`münchen.example` → `xn--mnchen-3ya.example`),
/// the only form RFC 5122 URIs should carry.
///
/// ```
/// assert_eq!(
///     xmpp_invites::host_to_ascii("münchen.example").unwrap(),
///     "xn--mnchen-3ya.example"
/// );
/// ```
pub fn host_to_ascii(host: &str) -> Result<String, JidError> {
    host_to_ascii_cow(host).map(std::borrow::Cow::into_owned)
}

/// [`host_to_ascii`], borrowing a host that is already plain ASCII.
pub(crate) fn host_to_ascii_cow(host: &str) -> Result<std::borrow::Cow<'_, str>, JidError> {
    if host.is_empty() {
        return Err(JidError::EmptyHost);
    }
    if is_plain_ascii_host(host) {
        return Ok(std::borrow::Cow::Borrowed(host));
    }
    let ascii =
        idna::domain_to_ascii_strict(host).map_err(|_| JidError::InvalidHost(host.to_owned()))?;
    if ascii.is_empty() || ascii.len() > MAX_PART_BYTES {
        return Err(JidError::InvalidHost(host.to_owned()));
    }
    Ok(std::borrow::Cow::Owned(ascii))
}

/// Whether `host` is already in the form nameprep and IDNA would give it:
/// lowercase LDH labels of 1 to 63 bytes, none starting or ending with a
/// hyphen, no A-label (`xn--`, which IDNA must check), not all-numeric at
/// the end. Such hosts skip the Unicode tables.
pub(crate) fn is_plain_ascii_host(host: &str) -> bool {
    let b = host.as_bytes();
    if b.is_empty() || b.len() > 253 {
        return false;
    }
    // One pass: track the current label's start, and whether it is all
    // digits (a numeric last label is no domain name for IDNA).
    let mut start = 0;
    let mut all_digits = true;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            if !plain_label(&b[start..i]) {
                return false;
            }
            start = i + 1;
            all_digits = true;
        } else if c.is_ascii_lowercase() || c == b'-' {
            all_digits = false;
        } else if !c.is_ascii_digit() {
            return false;
        }
    }
    plain_label(&b[start..]) && !all_digits
}

fn plain_label(label: &[u8]) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label[0] != b'-'
        && label[label.len() - 1] != b'-'
        && !(label.len() >= 4 && label[2] == b'-' && label[3] == b'-')
}

/// A normalised bare JID, `user@host` or `host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BareJid {
    local: Option<String>,
    domain: String,
    /// Whether `domain` is plain ASCII, its own A-label form.
    plain: bool,
}

impl BareJid {
    /// Builds a JID from an optional username and a host, normalising both.
    pub fn new(username: Option<&str>, host: &str) -> Result<Self, JidError> {
        let (domain, plain) = prep_host_checked(host)?;
        Ok(Self {
            local: username.map(prep_username).transpose()?,
            plain,
            domain,
        })
    }

    /// Parses `user@host` or `host`; a resource is refused.
    ///
    /// ```
    /// let jid = xmpp_invites::BareJid::parse("Juliet@Example.com").unwrap();
    /// assert_eq!(jid.to_string(), "juliet@example.com");
    /// assert_eq!(jid.username(), Some("juliet"));
    /// ```
    pub fn parse(jid: &str) -> Result<Self, JidError> {
        if jid.contains('/') {
            return Err(JidError::HasResource(jid.to_owned()));
        }
        match jid.rsplit_once('@') {
            Some((local, domain)) => Self::new(Some(local), domain),
            None => Self::new(None, jid),
        }
    }

    /// The normalised username, if any.
    pub fn username(&self) -> Option<&str> {
        self.local.as_deref()
    }

    /// The normalised host (Unicode form).
    pub fn host(&self) -> &str {
        &self.domain
    }

    /// The host as A-labels, borrowed when it is plain ASCII already.
    pub(crate) fn ascii_host(&self) -> Result<std::borrow::Cow<'_, str>, JidError> {
        if self.plain {
            Ok(std::borrow::Cow::Borrowed(&self.domain))
        } else {
            host_to_ascii_cow(&self.domain)
        }
    }

    /// The JID as text (what `to_string` gives, without the formatter).
    pub(crate) fn to_jid_string(&self) -> String {
        match &self.local {
            Some(local) => {
                let mut s = String::with_capacity(local.len() + 1 + self.domain.len());
                s.push_str(local);
                s.push('@');
                s.push_str(&self.domain);
                s
            }
            None => self.domain.clone(),
        }
    }
}

impl fmt::Display for BareJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.local {
            Some(local) => write!(f, "{local}@{}", self.domain),
            None => f.write_str(&self.domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_nodeprepped() {
        assert_eq!(prep_username("ROMEO").unwrap(), "romeo");
        assert_eq!(prep_username("jürgen").unwrap(), "jürgen");
        assert_eq!(prep_username("a?b").unwrap(), "a?b");
        assert_eq!(prep_username("100%").unwrap(), "100%");
        for bad in [
            "a b", "a@b", "a/b", "a:b", "a<b", "a>b", "a'b", "a\"b", "a&b",
        ] {
            assert_eq!(
                prep_username(bad),
                Err(JidError::InvalidUsername(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(prep_username(""), Err(JidError::EmptyUsername));
        assert_eq!(prep_username(&"a".repeat(1024)), Err(JidError::TooLong));
    }

    #[test]
    fn hosts_are_nameprepped_and_idna_checked() {
        assert_eq!(prep_host("MÜNCHEN.example").unwrap(), "münchen.example");
        assert_eq!(prep_host("example.com.").unwrap(), "example.com");
        assert_eq!(prep_host(""), Err(JidError::EmptyHost));
        assert!(prep_host("a..b").is_err());
        assert!(prep_host("under_score.example").is_err());
        assert_eq!(
            host_to_ascii("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn a_labels_must_decode_to_a_prepared_host() {
        // Kept as written, checked as Unicode.
        assert_eq!(
            prep_host("xn--mnchen-3ya.example").unwrap(),
            "xn--mnchen-3ya.example"
        );
        assert_eq!(
            prep_host("XN--Bcher-Kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        // U+0234: IDNA allows it, nameprep (Unicode 3.2) does not. Found by
        // the uri_roundtrip fuzz target (fuzz/regressions/uri_roundtrip/).
        let host = "xn--fjjjjjjjjjjjjjjjjjjjjjjjj-jjjj";
        assert!(prep_host("fjjjjjjjjjjjjȴjjjjjjjjjȴjjj").is_err());
        assert_eq!(prep_host(host), Err(JidError::InvalidHost(host.to_owned())));
        assert!(BareJid::new(None, host).is_err());
        // Not punycode at all.
        assert!(prep_host("xn--.example").is_err());
        // A label with a character across byte 4 is no A-label (and no
        // panic).
        assert_eq!(prep_host("abcç.example").unwrap(), "abcç.example");
        assert_eq!(prep_host("xn--bcher-kva.ñ").unwrap(), "xn--bcher-kva.ñ");
    }

    #[test]
    fn unicode_labels_must_come_back_from_their_a_labels() {
        // U+10A0: nameprep (Unicode 3.2) keeps it, IDNA writes it as
        // xn--rkj, which is U+2D00, a character nameprep does not know.
        // Found by tests/robustness.rs (creation_never_panics): the URI of
        // an invite for this host did not parse.
        assert_eq!(stringprep::nameprep("Ⴀ").unwrap(), "Ⴀ");
        assert_eq!(host_to_ascii("Ⴀ").unwrap(), "xn--rkj");
        for host in ["Ⴀ", "Ⴀ.example", "xn--bcher-kva.Ⴀ", "xn--rkj"] {
            assert_eq!(
                prep_host(host),
                Err(JidError::InvalidHost(host.to_owned())),
                "{host}"
            );
        }
        assert!(BareJid::new(Some("romeo"), "Ⴀ.example").is_err());
        // IDNA's other dots are dots.
        for host in [
            "例え。テスト",
            "例え｡テスト",
            "例え．テスト",
            "例え︒テスト",
            "例え。テスト。",
        ] {
            assert_eq!(prep_host(host).unwrap(), "例え.テスト", "{host}");
        }
        assert_eq!(prep_host("Example。COM").unwrap(), "example.com");
        assert_eq!(
            prep_host("xn--bcher-kva。example").unwrap(),
            "xn--bcher-kva.example"
        );
        // Hosts that come back as written still pass, mixed forms too.
        for host in ["bücher.example", "ñ.xn--bcher-kva.example", "例え.テスト"] {
            let ascii = host_to_ascii(host).unwrap();
            let (unicode, result) = idna::domain_to_unicode(&ascii);
            result.unwrap();
            assert_eq!(prep_host(host).unwrap(), host);
            assert_eq!(prep_host(&ascii).unwrap(), ascii);
            assert_eq!(prep_host(&unicode).unwrap(), unicode);
        }
    }

    #[test]
    fn ascii_fast_paths_agree_with_the_tables() {
        for user in [
            "romeo",
            "a?b",
            "100%",
            "x.y_z-1",
            "nasty!#$%()*+,;=[\\]^`{|}~",
            "Romeo",
            "ab\u{AD}c",
            "a\u{300}",
        ] {
            assert_eq!(
                prep_username(user).ok(),
                stringprep::nodeprep(user).ok().map(|c| c.into_owned()),
                "{user}"
            );
        }
        for host in [
            "example.com",
            "a-b.example",
            "xn--mnchen-3ya.example",
            "Example.com",
            "a--b.example",
            "-a.example",
            "a.b-",
            "1.2.3.4",
            "localhost",
            "a..b",
            "ex_ample.com",
        ] {
            let slow = stringprep::nameprep(host).ok().and_then(|p| {
                idna::domain_to_ascii_strict(&p)
                    .ok()
                    .map(|_| p.into_owned())
            });
            assert_eq!(prep_host(host).ok(), slow, "{host}");
        }
        assert_eq!(
            host_to_ascii("xn--mnchen-3ya.example").unwrap(),
            "xn--mnchen-3ya.example"
        );
    }

    #[test]
    fn bare_jids() {
        let jid = BareJid::parse("example.com").unwrap();
        assert_eq!(jid.username(), None);
        assert_eq!(
            BareJid::parse("a@b/c"),
            Err(JidError::HasResource("a@b/c".into()))
        );
        assert!(BareJid::parse("@example.com").is_err());
    }
}
