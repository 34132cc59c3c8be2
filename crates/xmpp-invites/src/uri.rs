//! RFC 5122 `xmpp:` URIs: strict building and parsing of invite URIs.
//!
//! Building escapes the localpart with RFC 5122's `nodeallow` set and every
//! query value down to unreserved characters, writes non-ASCII as UTF-8
//! percent-encoding in uppercase hex, and writes the domain as IDNA A-labels.
//! Parsing splits first (fragment, query, pairs at the first `=`) and then
//! decodes each piece exactly once.

use std::fmt::Write as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::jid::{BareJid, JidError, host_to_ascii, prep_host, prep_username};
use crate::record::InviteAction;
use crate::token::{Token, TokenError};

/// Everything but RFC 3986 unreserved characters is escaped.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 5122 `nodeallow`: unreserved plus `! $ ( ) * + , ; =`.
const NODE: &AsciiSet = &UNRESERVED
    .remove(b'!')
    .remove(b'$')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=');

/// The longest URI this parser reads; longer input is refused unread.
pub const MAX_URI_LEN: usize = 8192;

/// Why a URI could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The text does not start with the `xmpp:` scheme.
    #[error("not an xmpp: URI")]
    NotXmpp,
    /// `xmpp://...`: the authority form names the account to act as and is
    /// never an invite.
    #[error("the xmpp:// authority form is not an invite URI")]
    AuthorityForm,
    /// A `%` not followed by two hex digits, or a character not allowed in
    /// that part of the URI.
    #[error("malformed {part} in URI: {detail}")]
    Malformed {
        /// Which part: `localpart`, `domain`, `resource`, `query type`, `key`
        /// or `value`.
        part: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The JID in the URI is not a valid bare JID.
    #[error("invalid JID in URI: {0}")]
    Jid(#[from] JidError),
    /// The URI has no query, or one whose type is neither `register` nor
    /// `roster`: not an invite (unknown query types are ignored, RFC 5122).
    #[error("not an invite URI: no register or roster query")]
    NotAnInvite,
    /// An invite URI without a `preauth` token.
    #[error("the invite URI has no preauth token")]
    MissingToken,
    /// The `preauth` token is malformed.
    #[error("the invite URI's preauth token is malformed: {0}")]
    BadToken(#[from] TokenError),
    /// A key appears twice in the query (`preauth=A;preauth=B`).
    #[error("the query key {0:?} appears more than once")]
    DuplicateKey(String),
    /// A `roster` invite URI must name the inviter (`user@host`).
    #[error("a roster invite URI must name the inviting user")]
    RosterWithoutUser,
    /// An invite URI names a resource.
    #[error("an invite URI names a bare JID, not a resource")]
    HasResource,
    /// The URI is longer than [`MAX_URI_LEN`].
    #[error("the URI is longer than {MAX_URI_LEN} bytes")]
    TooLong,
}

impl UriError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotXmpp => "not-xmpp",
            Self::AuthorityForm => "authority-form",
            Self::Malformed { .. } => "malformed-uri",
            Self::Jid(e) => e.code(),
            Self::NotAnInvite => "not-an-invite",
            Self::MissingToken => "missing-token",
            Self::BadToken(e) => e.code(),
            Self::DuplicateKey(_) => "duplicate-key",
            Self::RosterWithoutUser => "roster-without-user",
            Self::HasResource => "uri-has-resource",
            Self::TooLong => "uri-too-long",
        }
    }
}

/// The query of an `xmpp:` URI: its type and its key-value pairs, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriQuery {
    /// The query type, such as `register`, `roster` or `message`.
    pub action: String,
    /// The pairs in order; a key without `=` has an empty value.
    pub params: Vec<(String, String)>,
}

/// Any `xmpp:` URI, split and decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmppUri {
    /// The decoded localpart, if any (not normalised).
    pub node: Option<String>,
    /// The domain, normalised (nameprep; A-labels turned back to Unicode).
    pub domain: String,
    /// The decoded resource, if any.
    pub resource: Option<String>,
    /// The query, if any.
    pub query: Option<UriQuery>,
}

impl XmppUri {
    /// Splits and decodes an `xmpp:` URI (RFC 5122, path form only).
    ///
    /// ```
    /// let uri = xmpp_invites::XmppUri::parse("xmpp:a%3Fb@example.com?message;body=1%2B1").unwrap();
    /// assert_eq!(uri.node.as_deref(), Some("a?b"));
    /// assert_eq!(uri.query.unwrap().params, [("body".to_string(), "1+1".to_string())]);
    /// ```
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        let rest = match uri.get(..5) {
            Some(scheme) if scheme.eq_ignore_ascii_case("xmpp:") => &uri[5..],
            _ => return Err(UriError::NotXmpp),
        };
        if rest.starts_with("//") {
            return Err(UriError::AuthorityForm);
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let (jid, resource) = match path.split_once('/') {
            Some((jid, res)) => (jid, Some(res)),
            None => (path, None),
        };
        let (node, domain) = match jid.split_once('@') {
            Some((node, domain)) => (Some(node), domain),
            None => (None, jid),
        };
        let node = node.map(|n| decode(n, "localpart", NODE_RAW)).transpose()?;
        if node.as_deref() == Some("") {
            return Err(JidError::EmptyUsername.into());
        }
        let domain = decode(domain, "domain", DOMAIN_RAW)?;
        let domain = canonical_host(&domain)?;
        let resource = resource
            .map(|r| decode(r, "resource", RESOURCE_RAW))
            .transpose()?;
        let query = query.map(parse_query).transpose()?;
        Ok(Self {
            node,
            domain,
            resource,
            query,
        })
    }
}

/// Which ASCII characters may stand raw (undecoded) in each part on input;
/// non-ASCII is always allowed (IRIs).
type RawAllowed = fn(u8) -> bool;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

const NODE_RAW: RawAllowed = |b| unreserved(b) || b"!$()*+,;=".contains(&b);
const DOMAIN_RAW: RawAllowed = unreserved;
const RESOURCE_RAW: RawAllowed = |b| unreserved(b) || b"!$&'()*+,:;=/".contains(&b);
const KEY_RAW: RawAllowed = unreserved;
// Values are read leniently: sub-delimiters other than the `;` separator,
// and `: @ / ?`, are taken as themselves.
const VALUE_RAW: RawAllowed = |b| unreserved(b) || b"!$&'()*+,=:@/?".contains(&b);

fn decode(piece: &str, part: &'static str, raw_ok: RawAllowed) -> Result<String, UriError> {
    let bytes = piece.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).unwrap_or_default();
            if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(UriError::Malformed {
                    part,
                    detail: "'%' must be followed by two hex digits".into(),
                });
            }
            i += 3;
            continue;
        }
        if b.is_ascii() && !raw_ok(b) {
            return Err(UriError::Malformed {
                part,
                detail: format!("character {:?} must be percent-encoded", char::from(b)),
            });
        }
        i += 1;
    }
    percent_decode_str(piece)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| UriError::Malformed {
            part,
            detail: "percent-encoded bytes are not UTF-8".into(),
        })
}

fn canonical_host(domain: &str) -> Result<String, UriError> {
    let ascii = host_to_ascii(&prep_host(domain)?)?;
    let (unicode, result) = idna::domain_to_unicode(&ascii);
    result.map_err(|_| JidError::InvalidHost(domain.to_owned()))?;
    Ok(unicode)
}

fn parse_query(query: &str) -> Result<UriQuery, UriError> {
    let mut pieces = query.split(';');
    let action = decode(pieces.next().unwrap_or_default(), "query type", KEY_RAW)?;
    let params = pieces
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k, "key", KEY_RAW)?, decode(v, "value", VALUE_RAW)?))
        })
        .collect::<Result<_, UriError>>()?;
    Ok(UriQuery { action, params })
}

/// Appends `s` percent-encoded with `set`, copied as is when every byte is
/// one `raw_ok` lets stand (the common case). `raw_ok` must agree with
/// `set` on ASCII.
fn push_encoded(out: &mut String, s: &str, set: &'static AsciiSet, raw_ok: RawAllowed) {
    if s.bytes().all(|b| b.is_ascii() && raw_ok(b)) {
        out.push_str(s);
    } else {
        let _ = write!(out, "{}", utf8_percent_encode(s, set));
    }
}

/// The capacity that holds `xmpp:` and what [`write_uri`] reserves, so a
/// URI is written with one allocation.
pub(crate) const fn uri_capacity(token_len: usize, host_len: usize) -> usize {
    5 + 48 + token_len + host_len
}

/// The text of an invite URI from its parts, as
/// `InviteUri::new(jid, action, &Token::parse(token)?, ibr).to_uri()` makes
/// it, without copying the token into an [`InviteUri`] first.
///
/// ```
/// use xmpp_invites::{BareJid, InviteAction, build_uri};
/// let jid = BareJid::new(Some("juliet"), "example.com").unwrap();
/// assert_eq!(
///     build_uri(&jid, InviteAction::Roster, "Xb9sT2vR7qLm4KpZ8wYd1eFg", true).unwrap(),
///     "xmpp:juliet@example.com?roster;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg;ibr=y"
/// );
/// assert!(build_uri(&jid, InviteAction::Roster, "short", true).is_err());
/// ```
pub fn build_uri(
    jid: &BareJid,
    action: InviteAction,
    token: &str,
    ibr: bool,
) -> Result<String, UriError> {
    let mut out = String::with_capacity(uri_capacity(token.len(), jid.host().len()));
    out.push_str("xmpp:");
    write_invite_uri(&mut out, jid, action, token, ibr)?;
    Ok(out)
}

/// Writes an invite URI without its scheme from a normalised JID and the
/// token (checked here).
pub(crate) fn write_invite_uri(
    out: &mut String,
    jid: &BareJid,
    action: InviteAction,
    token: &str,
    ibr: bool,
) -> Result<(), UriError> {
    write_uri(out, jid, action, token, ibr, true)
}

/// [`write_invite_uri`] for a token this crate made or parsed, whose shape
/// needs no second check (the hot path of a create).
pub(crate) fn write_token_uri(
    out: &mut String,
    jid: &BareJid,
    action: InviteAction,
    token: &crate::Token,
    ibr: bool,
) -> Result<(), UriError> {
    write_uri(out, jid, action, token.as_str(), ibr, false)
}

fn write_uri(
    out: &mut String,
    jid: &BareJid,
    action: InviteAction,
    token: &str,
    ibr: bool,
    check_token: bool,
) -> Result<(), UriError> {
    let username = jid.username();
    if action == InviteAction::Roster && username.is_none() {
        return Err(UriError::RosterWithoutUser);
    }
    // A well-formed token is unreserved characters only: no escaping.
    if check_token {
        crate::token::check_shape(token)?;
    }
    let host = jid.ascii_host()?;
    write_parts(out, username, &host, action, token, ibr);
    Ok(())
}

/// Writes the URI without its scheme from its parts as they are: the
/// localpart escaped, the host already in A-labels, the token unchecked.
fn write_parts(
    out: &mut String,
    username: Option<&str>,
    ascii_host: &str,
    action: InviteAction,
    token: &str,
    ibr: bool,
) {
    out.reserve(48 + token.len() + ascii_host.len());
    if let Some(user) = username {
        push_encoded(out, user, NODE, NODE_RAW);
        out.push('@');
    }
    out.push_str(ascii_host);
    out.push('?');
    out.push_str(action.as_str());
    out.push_str(";preauth=");
    out.push_str(token);
    if ibr && action == InviteAction::Roster {
        out.push_str(";ibr=y");
    }
}

/// The invite URI of a stored record's parts, as this crate writes it for
/// the JID they make (nodeprep, nameprep, the host as A-labels): `stored`
/// when it is that already (the common case, compared without writing
/// anything), otherwise written anew. `username` and `host` are the
/// record's JID as stored; parts that make no JID are escaped as they
/// are. The token is the one presented, which a record kept hashed at
/// rest does not hold. `None` when the parts make no URI: a roster action
/// without a username, a host that IDNA refuses (the token's shape is the
/// caller's to check).
pub(crate) fn stored_uri<'a>(
    stored: &'a str,
    username: Option<&str>,
    host: &str,
    action: InviteAction,
    token: &str,
    ibr: bool,
) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    if action == InviteAction::Roster && username.is_none() {
        return None;
    }
    let ibr = ibr && action == InviteAction::Roster;
    // Parts that preparation leaves as they are and that need no escaping:
    // the URI is their concatenation, compared piece by piece.
    let plain_user = username.is_none_or(|u| {
        u.bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase() && NODE_RAW(b))
    });
    if plain_user && crate::jid::is_plain_ascii_host(host) {
        let tail = stored
            .strip_prefix("xmpp:")
            .and_then(|r| match username {
                Some(u) => r.strip_prefix(u)?.strip_prefix('@'),
                None => Some(r),
            })
            .and_then(|r| r.strip_prefix(host)?.strip_prefix('?'))
            .and_then(|r| r.strip_prefix(action.as_str())?.strip_prefix(";preauth="))
            .and_then(|r| r.strip_prefix(token));
        if tail == Some(if ibr { ";ibr=y" } else { "" }) {
            return Some(Cow::Borrowed(stored));
        }
    }
    let mut out = String::with_capacity(uri_capacity(token.len(), host.len()));
    out.push_str("xmpp:");
    match BareJid::new(username, host) {
        Ok(jid) => write_uri(&mut out, &jid, action, token, ibr, false).ok()?,
        Err(_) => {
            let ascii_host = crate::jid::host_to_ascii_cow(host).ok()?;
            write_parts(&mut out, username, &ascii_host, action, token, ibr);
        }
    }
    Some(if out == stored {
        Cow::Borrowed(stored)
    } else {
        Cow::Owned(out)
    })
}

/// An invite URI: `xmpp:[user@]host?register;preauth=T` or
/// `xmpp:user@host?roster;preauth=T[;ibr=y]`.
///
/// ```
/// use xmpp_invites::{BareJid, InviteAction, InviteUri, Token};
/// let token = Token::parse("Xb9sT2vR7qLm4KpZ8wYd1eFg").unwrap();
/// let jid = BareJid::new(Some("jürgen"), "münchen.example").unwrap();
/// let uri = InviteUri::new(jid, InviteAction::Register, &token, false);
/// let text = uri.to_uri().unwrap();
/// assert_eq!(
///     text,
///     "xmpp:j%C3%BCrgen@xn--mnchen-3ya.example?register;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg"
/// );
/// assert_eq!(InviteUri::parse(&text).unwrap(), uri);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteUri {
    /// The host (any-username account invite), the bound account, or the
    /// inviter (roster).
    pub jid: BareJid,
    /// `register` or `roster`.
    pub action: InviteAction,
    /// The `preauth` token.
    pub token: String,
    /// `ibr=y`: the roster invite also allows registration.
    pub ibr: bool,
}

impl InviteUri {
    /// An invite URI; `ibr` counts only for `roster`.
    pub fn new(jid: BareJid, action: InviteAction, token: &Token, ibr: bool) -> Self {
        Self {
            jid,
            action,
            token: token.as_str().to_owned(),
            ibr: ibr && action == InviteAction::Roster,
        }
    }

    /// The URI text, strictly per RFC 5122.
    pub fn to_uri(&self) -> Result<String, UriError> {
        let mut out = String::with_capacity(uri_capacity(self.token.len(), self.jid.host().len()));
        out.push_str("xmpp:");
        self.write_without_scheme(&mut out)?;
        Ok(out)
    }

    /// The URI without `xmpp:`, as easy-xmpp-invitation pages read it after
    /// a `#`.
    pub fn to_uri_without_scheme(&self) -> Result<String, UriError> {
        let mut out = String::new();
        self.write_without_scheme(&mut out)?;
        Ok(out)
    }

    fn write_without_scheme(&self, out: &mut String) -> Result<(), UriError> {
        write_invite_uri(out, &self.jid, self.action, &self.token, self.ibr)
    }

    /// Parses an invite URI strictly: the `xmpp://` form, a resource, a
    /// missing or malformed token and a repeated `preauth` or `ibr` are
    /// refused; other keys (repeated or empty ones too) are ignored; `ibr`
    /// counts only as exactly `y` on `roster`.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        let parsed = XmppUri::parse(uri)?;
        if parsed.resource.is_some() {
            return Err(UriError::HasResource);
        }
        let query = parsed.query.ok_or(UriError::NotAnInvite)?;
        let action = match query.action.as_str() {
            "register" => InviteAction::Register,
            "roster" => InviteAction::Roster,
            // RFC 5122: an unknown query type means the query is ignored,
            // which leaves no invite.
            _ => return Err(UriError::NotAnInvite),
        };
        let mut token = None;
        let mut ibr = None;
        for (key, value) in &query.params {
            // Which of two values counts is what a repeat of these would
            // leave open; a repeat of a key we ignore changes nothing.
            let repeated = |seen: bool| {
                if seen {
                    Err(UriError::DuplicateKey(key.clone()))
                } else {
                    Ok(())
                }
            };
            match key.as_str() {
                "preauth" => {
                    repeated(token.is_some())?;
                    token = Some(Token::parse(value)?);
                }
                "ibr" => {
                    repeated(ibr.is_some())?;
                    ibr = Some(value == "y");
                }
                _ => {}
            }
        }
        let token = token.ok_or(UriError::MissingToken)?;
        let node = parsed.node.as_deref().map(prep_username).transpose()?;
        let jid = BareJid::new(node.as_deref(), &parsed.domain)?;
        if action == InviteAction::Roster && jid.username().is_none() {
            return Err(UriError::RosterWithoutUser);
        }
        Ok(Self::new(jid, action, &token, ibr.unwrap_or(false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: &str = "Xb9sT2vR7qLm4KpZ8wYd1eFg";

    fn uri(user: Option<&str>, host: &str, action: InviteAction, ibr: bool) -> String {
        let jid = BareJid::new(user, host).unwrap();
        InviteUri::new(jid, action, &Token::parse(T).unwrap(), ibr)
            .to_uri()
            .unwrap()
    }

    proptest! {
        #[test]
        fn build_uri_is_invite_uri_made_and_written(
            user in proptest::option::of("[a-zA-Z0-9?#%@ü&;=]{0,12}"),
            host in "[a-z0-9.ü-]{1,20}",
            token in "[A-Za-z0-9_+=-]{0,40}",
            roster: bool,
            ibr: bool,
        ) {
            let action = if roster { InviteAction::Roster } else { InviteAction::Register };
            if let Ok(jid) = BareJid::new(user.as_deref(), &host) {
                let direct = build_uri(&jid, action, &token, ibr).ok();
                let made = Token::parse(&token)
                    .ok()
                    .and_then(|t| InviteUri::new(jid.clone(), action, &t, ibr).to_uri().ok());
                prop_assert_eq!(direct, made);
            }
        }
    }

    #[test]
    fn escapes_localparts() {
        let r = InviteAction::Register;
        assert_eq!(
            uri(Some("a?b"), "example.com", r, false),
            format!("xmpp:a%3Fb@example.com?register;preauth={T}")
        );
        assert_eq!(
            uri(Some("a#b"), "example.com", r, false),
            format!("xmpp:a%23b@example.com?register;preauth={T}")
        );
        assert_eq!(
            uri(Some("100%"), "example.com", r, false),
            format!("xmpp:100%25@example.com?register;preauth={T}")
        );
        assert_eq!(
            uri(Some("a;b"), "example.com", r, false),
            format!("xmpp:a;b@example.com?register;preauth={T}")
        );
        assert_eq!(
            uri(Some("john\\20doe"), "example.com", r, false),
            format!("xmpp:john%5C20doe@example.com?register;preauth={T}")
        );
        assert_eq!(
            uri(None, "example.com", r, true),
            format!("xmpp:example.com?register;preauth={T}")
        );
        assert_eq!(
            uri(Some("romeo"), "example.com", InviteAction::Roster, true),
            format!("xmpp:romeo@example.com?roster;preauth={T};ibr=y")
        );
    }

    #[test]
    fn raw_predicates_agree_with_the_escape_sets() {
        for b in 0u8..128 {
            let c = [b];
            let text = std::str::from_utf8(&c).unwrap();
            let escaped = utf8_percent_encode(text, NODE).to_string() != text;
            assert_eq!(NODE_RAW(b), !escaped, "{b}");
        }
    }

    #[test]
    fn parse_is_strict() {
        assert_eq!(
            InviteUri::parse("xmpp://romeo@example.com?register;preauth=x"),
            Err(UriError::AuthorityForm)
        );
        assert_eq!(
            InviteUri::parse("http://example.com"),
            Err(UriError::NotXmpp)
        );
        assert_eq!(
            InviteUri::parse("xmpp:example.com"),
            Err(UriError::NotAnInvite)
        );
        assert_eq!(
            InviteUri::parse(&format!("xmpp:example.com?join;preauth={T}")),
            Err(UriError::NotAnInvite)
        );
        assert_eq!(
            InviteUri::parse("xmpp:example.com?register"),
            Err(UriError::MissingToken)
        );
        assert_eq!(
            InviteUri::parse(&format!(
                "xmpp:example.com?register;preauth={T};preauth={T}"
            )),
            Err(UriError::DuplicateKey("preauth".into()))
        );
        assert_eq!(
            InviteUri::parse(&format!(
                "xmpp:a@example.com?roster;preauth={T};ibr=y;ibr=n"
            )),
            Err(UriError::DuplicateKey("ibr".into()))
        );
        // Keys we ignore may repeat, or be empty, as clients write them.
        for tail in [";;", ";x=1;x=2", ";", ";=;="] {
            let parsed = InviteUri::parse(&format!(
                "xmpp:a@example.com?roster;preauth={T};ibr=y{tail}"
            ));
            assert_eq!(
                parsed.map(|u| (u.ibr, u.token.as_str().to_owned())),
                Ok((true, T.to_owned())),
                "{tail}"
            );
        }
        assert_eq!(
            InviteUri::parse(&format!("xmpp:example.com?roster;preauth={T}")),
            Err(UriError::RosterWithoutUser)
        );
        assert_eq!(
            InviteUri::parse(&format!("xmpp:a@example.com/res?register;preauth={T}")),
            Err(UriError::HasResource)
        );
        assert!(matches!(
            InviteUri::parse("xmpp:a%2@example.com?register;preauth=x"),
            Err(UriError::Malformed {
                part: "localpart",
                ..
            })
        ));
        assert!(matches!(
            InviteUri::parse("xmpp:a%FF@example.com?register"),
            Err(UriError::Malformed { .. })
        ));
        assert!(matches!(
            InviteUri::parse("xmpp:a?b@example.com?register;preauth=x"),
            Err(UriError::Malformed { .. })
        ));
        assert!(matches!(
            InviteUri::parse("xmpp:example.com?register;preauth=a+b"),
            Err(UriError::BadToken(_))
        ));
        assert_eq!(
            InviteUri::parse(&"x".repeat(MAX_URI_LEN + 1)),
            Err(UriError::TooLong)
        );
    }

    #[test]
    fn ibr_only_as_y_on_roster() {
        let p = |q: &str| {
            InviteUri::parse(&format!("xmpp:romeo@example.com?{q}"))
                .unwrap()
                .ibr
        };
        assert!(p(&format!("roster;preauth={T};ibr=y")));
        assert!(!p(&format!("roster;preauth={T};ibr=Y")));
        assert!(!p(&format!("roster;preauth={T};ibr=yes")));
        assert!(!p(&format!("roster;preauth={T};ibr")));
        assert!(!p(&format!("register;preauth={T};ibr=y")));
        // Unknown keys and fragments are ignored; keys decode once.
        assert!(p(&format!("roster;x=%25;preauth={T};%69br=y#frag")));
    }

    #[test]
    fn decodes_once() {
        let u = XmppUri::parse("xmpp:a%2525b@example.com?message;body=%2541").unwrap();
        assert_eq!(u.node.as_deref(), Some("a%25b"));
        assert_eq!(u.query.unwrap().params[0].1, "%41");
    }

    fn node_strategy() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-z0-9!$()*+,;=#?%\\[\\]^`{|}~._\\\\äöü€𝄞-]{1,24}")
            .unwrap()
            .prop_filter_map("nodeprep", |s| prep_username(&s).ok())
    }

    proptest! {
        #[test]
        fn round_trip(
            node in proptest::option::of(node_strategy()),
            host in prop_oneof![
                Just("example.com".to_string()),
                Just("münchen.example".to_string()),
                Just("xn--bcher-kva.example".to_string()),
                "[a-z]{1,10}\\.[a-z]{2,5}",
            ],
            roster in any::<bool>(),
            ibr in any::<bool>(),
            token in "[A-Za-z0-9_-]{16,64}",
        ) {
            let action = if roster && node.is_some() { InviteAction::Roster } else { InviteAction::Register };
            let jid = BareJid::new(node.as_deref(), &host).unwrap();
            let uri = InviteUri::new(jid, action, &Token::parse(&token).unwrap(), ibr);
            let text = uri.to_uri().unwrap();
            prop_assert!(text.is_ascii());
            let back = InviteUri::parse(&text).unwrap();
            prop_assert_eq!(back.jid.host(), canonical_host(uri.jid.host()).unwrap());
            prop_assert_eq!(back.jid.username(), uri.jid.username());
            prop_assert_eq!(back.action, uri.action);
            prop_assert_eq!(back.ibr, uri.ibr);
            prop_assert_eq!(&back.token, &uri.token);
            // Building the parsed URI again gives the same text.
            prop_assert_eq!(back.to_uri().unwrap(), text);
        }

        #[test]
        fn parse_never_panics(s in "xmpp:\\PC{0,64}") {
            let _ = InviteUri::parse(&s);
        }
    }

    /// A record as stock Prosody stores it: the URI concatenated unescaped.
    fn stock_record(
        user: Option<&str>,
        host: &str,
        roster: bool,
        ibr: bool,
        uri: Option<&str>,
    ) -> crate::InviteRecord {
        let jid = user.map_or(host.to_owned(), |u| format!("{u}@{host}"));
        let action = if roster { "roster" } else { "register" };
        let ibr_param = if roster && ibr { ";ibr=y" } else { "" };
        let stock = format!("xmpp:{jid}?{action};preauth={T}{ibr_param}");
        crate::InviteRecord::from_value(serde_json::json!({
            "type": action, "jid": jid, "token": T, "allow_registration": ibr || !roster,
            "uri": uri.unwrap_or(&stock), "created_at": 1, "expires": 2,
        }))
        .unwrap()
    }

    proptest! {
        /// Whatever stock stored, the record's URI parses back to its own
        /// JID, action and token; and it is stock's text, borrowed, exactly
        /// when that text is already RFC 5122's.
        #[test]
        fn stored_uri_reads_back_as_the_record(
            node in proptest::option::of(node_strategy()),
            host in prop_oneof![
                Just("example.com".to_string()),
                Just("münchen.example".to_string()),
                Just("Example.COM".to_string()),
                Just("xn--mnchen-3ya.example".to_string()),
                "[a-z]{1,10}\\.[a-z]{2,5}",
            ],
            roster: bool,
            ibr: bool,
        ) {
            prop_assume!(node.is_some() || !roster);
            let r = stock_record(node.as_deref(), &host, roster, ibr, None);
            let got = r.invite_uri(T).unwrap();
            let parsed = InviteUri::parse(&got).unwrap();
            prop_assert_eq!(parsed.jid.username(), node.as_deref());
            // (An A-label host parses back as its U-label.)
            prop_assert_eq!(
                host_to_ascii(parsed.jid.host()).unwrap(),
                host_to_ascii(&prep_host(&host).unwrap()).unwrap()
            );
            prop_assert_eq!(parsed.action, r.action);
            prop_assert_eq!(&parsed.token, T);
            prop_assert_eq!(parsed.ibr, roster && ibr);
            let jid = BareJid::new(node.as_deref(), &host).unwrap();
            prop_assert_eq!(&*got, build_uri(&jid, r.action, T, ibr).unwrap());
            prop_assert_eq!(
                matches!(got, std::borrow::Cow::Borrowed(_)),
                got == r.uri,
                "borrowed exactly when stock's text is RFC 5122's"
            );
        }
    }

    #[test]
    fn stored_uri_of_stock_records() {
        let fixed = |user: Option<&str>, host: &str, roster: bool, ibr: bool| {
            let r = stock_record(user, host, roster, ibr, None);
            r.invite_uri(T).unwrap().into_owned()
        };
        assert_eq!(
            fixed(Some("a?b"), "example.com", false, false),
            format!("xmpp:a%3Fb@example.com?register;preauth={T}")
        );
        assert_eq!(
            fixed(Some("100%"), "example.com", true, true),
            format!("xmpp:100%25@example.com?roster;preauth={T};ibr=y")
        );
        assert_eq!(
            fixed(Some("jürgen"), "example.com", true, false),
            format!("xmpp:j%C3%BCrgen@example.com?roster;preauth={T}")
        );
        assert_eq!(
            fixed(None, "münchen.example", false, false),
            format!("xmpp:xn--mnchen-3ya.example?register;preauth={T}")
        );
        // The JID as preparation gives it, as build_uri writes it.
        assert_eq!(
            fixed(Some("Juliet"), "Example.COM", true, true),
            format!("xmpp:juliet@example.com?roster;preauth={T};ibr=y")
        );
        let prepped = BareJid::new(None, "straße.example").unwrap();
        assert_eq!(
            fixed(None, "straße.example", false, false),
            build_uri(&prepped, InviteAction::Register, T, false).unwrap()
        );
        // Parts that make no JID are escaped as they are.
        assert_eq!(
            fixed(Some("a b"), "example.com", false, false),
            format!("xmpp:a%20b@example.com?register;preauth={T}")
        );
        // Already RFC 5122's: borrowed, not written again.
        let r = stock_record(Some("juliet"), "example.com", true, true, None);
        assert!(matches!(r.invite_uri(T), Some(std::borrow::Cow::Borrowed(u)) if u == r.uri));
        // A stored URI that differs anywhere (a lost ibr, a percent-encoded
        // byte that needs none, another token) gives way to the record's.
        for stored in [
            format!("xmpp:juliet@example.com?roster;preauth={T}"),
            format!("xmpp:juli%65t@example.com?roster;preauth={T};ibr=y"),
            "xmpp:juliet@example.com?roster;preauth=AAAAAAAAAAAAAAAAAAAAAAAA;ibr=y".to_owned(),
            String::new(),
        ] {
            let r = stock_record(Some("juliet"), "example.com", true, true, Some(&stored));
            assert_eq!(
                r.invite_uri(T).unwrap(),
                format!("xmpp:juliet@example.com?roster;preauth={T};ibr=y"),
                "{stored}"
            );
        }
        // No URI for a token of the wrong shape, stored or written.
        let r = stock_record(Some("juliet"), "example.com", false, false, None);
        for bad in [
            "",
            "short",
            "Xb9sT2vR7qLm4KpZ8wYd1eF;",
            "Xb9sT2vR7qLm4KpZ8wYd1e&x=y",
        ] {
            assert_eq!(r.invite_uri(bad), None, "{bad}");
        }
        // No URI from the JID: the stored one as it is, or none.
        let r = stock_record(None, "example.com", true, false, Some("xmpp:x"));
        assert_eq!(r.invite_uri(T).unwrap(), "xmpp:x");
        let r = stock_record(None, "example.com", true, false, Some(""));
        assert_eq!(r.invite_uri(T), None);
        let r = stock_record(Some("a"), "exa mple.com", false, false, Some(""));
        assert_eq!(r.invite_uri(T), None);
    }

    /// Every record this crate creates holds the URI it gives back,
    /// borrowed.
    #[test]
    fn created_records_keep_their_uri() {
        use crate::NewInvite;
        for new in [
            NewInvite::account("example.com"),
            NewInvite::account("münchen.example"),
            NewInvite::account_for("a?b", "example.com"),
            NewInvite::password_reset("jürgen", "example.com"),
            NewInvite::contact("100%", "example.com", true),
            NewInvite::contact("juliet", "example.com", false),
            NewInvite::group("example.com", ["g"]),
        ] {
            let invite = new.create_os(1_000).unwrap();
            let r = invite.record();
            let got = r.invite_uri(invite.token().as_str());
            assert!(
                matches!(got, Some(std::borrow::Cow::Borrowed(u)) if u == invite.uri()),
                "{}",
                invite.uri()
            );
        }
    }
}
