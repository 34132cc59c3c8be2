//! Landing-page links: Prosody's `invites_page` template and type filter, and
//! the easy-xmpp-invitation fragment form.

use serde_json::{Value, json};

use crate::kind::{InviteType, UnknownInviteType};
use crate::record::InviteRecord;
use crate::template::{Braces, Renderer, TemplateError, strip_scheme, url_escape, url_escape_into};
use crate::uri::{InviteUri, UriError};

/// A configured landing page: the `invites_page` template and the
/// `invites_page_supports` set of invite types that get one.
///
/// ```
/// use xmpp_invites::{InviteRecord, LandingPage};
/// let page = LandingPage::new("https://example.com/invite?{invite.token}");
/// let record = InviteRecord::from_json(r#"{"type":"register","jid":"example.com",
///   "token":"Xb9sT2vR7qLm4KpZ8wYd1eFg","allow_registration":true,"uri":"xmpp:example.com?register;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg",
///   "created_at":0,"expires":604800}"#).unwrap();
/// assert_eq!(
///     page.link("example.com", &record).unwrap().as_deref(),
///     Some("https://example.com/invite?Xb9sT2vR7qLm4KpZ8wYd1eFg")
/// );
/// ```
#[derive(Debug, Clone)]
pub struct LandingPage {
    template: String,
    supports: Vec<&'static str>,
    renderer: Renderer,
    /// The template as text and plain blocks, when every block is a plain
    /// lookup of a record field (the common `...?{invite.token}`): then a
    /// link is built without turning the record into a value tree. Same
    /// output as the renderer, which handles every other template.
    compiled: Option<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field {
        field: Field,
        filters: Vec<fn(&str) -> String>,
        raw: bool,
        block: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Host,
    Token,
    Uri,
    Jid,
    Type,
    CreatedAt,
    Expires,
}

impl Field {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "host" => Self::Host,
            "invite.token" => Self::Token,
            "invite.uri" => Self::Uri,
            "invite.jid" => Self::Jid,
            "invite.type" => Self::Type,
            "invite.created_at" => Self::CreatedAt,
            "invite.expires" => Self::Expires,
            _ => return None,
        })
    }

    fn value<'a>(self, host: &'a str, r: &'a InviteRecord) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        Some(match self {
            Self::Host => Cow::Borrowed(host),
            Self::Token => Cow::Borrowed(&r.token),
            // An empty URI (a record kept hashed at rest) is not written,
            // so to the renderer the field is missing.
            Self::Uri if r.uri.is_empty() => return None,
            Self::Uri => Cow::Borrowed(&r.uri),
            Self::Jid => Cow::Borrowed(&r.jid),
            Self::Type => Cow::Borrowed(r.action.as_str()),
            Self::CreatedAt => Cow::Owned(r.created_at?.to_string()),
            Self::Expires => Cow::Owned(r.expires?.to_string()),
        })
    }
}

/// Compiles a template whose blocks are all `{field}`, `{field!}` or
/// `{field|filter...}` (`!` last) over the fields above and the
/// `urlescape`/`noscheme` filters; None for anything else.
fn compile(template: &str) -> Option<Vec<Part>> {
    let bytes = template.as_bytes();
    let braces = Braces::new(template);
    let mut parts = Vec::new();
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        let Some(end) = braces.end(i) else {
            i += 1;
            continue;
        };
        parts.push(Part::Text(template[copied..i].to_owned()));
        let inner = &template[i + 1..end];
        let (inner, raw) = match inner.strip_suffix('!') {
            Some(rest) => (rest, true),
            None => (inner, false),
        };
        let mut names = inner.split('|');
        let field = Field::of(names.next()?)?;
        let filters = names
            .map(|f| match f {
                "urlescape" => Some(url_escape as fn(&str) -> String),
                "noscheme" => Some(strip_scheme as fn(&str) -> String),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        parts.push(Part::Field {
            field,
            filters,
            raw,
            block: template[i..=end].to_owned(),
        });
        i = end + 1;
        copied = i;
    }
    parts.push(Part::Text(template[copied..].to_owned()));
    Some(parts)
}

impl LandingPage {
    /// A landing page for account, contact-only and account-and-contact
    /// invites. Prosody's default set names `contact` where its code says
    /// `contact-only`, so contact-only invites there never get a page; here
    /// they do. Password resets get none unless asked for.
    pub fn new(template: impl Into<String>) -> Self {
        let template = template.into();
        Self {
            compiled: compile(&template),
            template,
            supports: vec!["account", "contact-only", "account-and-contact"],
            renderer: Renderer::url(),
        }
    }

    /// Replaces the supported types.
    pub fn with_supports(mut self, types: impl IntoIterator<Item = InviteType>) -> Self {
        self.supports = Vec::new();
        for t in types {
            if !self.supports.contains(&t.page_type()) {
                self.supports.push(t.page_type());
            }
        }
        self
    }

    /// Replaces the supported types from `invites_page_supports` names
    /// (`account`, `password-reset`, `contact-only` or its alias `contact`,
    /// `account-and-contact`).
    pub fn with_supported_names<S: AsRef<str>>(
        self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, UnknownInviteType> {
        let types = names
            .into_iter()
            .map(|n| n.as_ref().parse::<InviteType>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.with_supports(types))
    }

    /// The template.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Whether invites of type `t` get a landing page.
    pub fn supports(&self, t: InviteType) -> bool {
        self.supports.contains(&t.page_type())
    }

    /// The landing link for `record` on `host`, or `None` when its type is
    /// not supported. The template sees `host` and `invite` (the record
    /// without `landing_page`), as in Prosody.
    pub fn link(&self, host: &str, record: &InviteRecord) -> Result<Option<String>, TemplateError> {
        if !self.supports(record.invite_type()) {
            return Ok(None);
        }
        if let Some(parts) = &self.compiled {
            let mut out = String::with_capacity(self.template.len() + 64);
            for part in parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Field {
                        field,
                        filters,
                        raw,
                        block,
                    } => match field.value(host, record) {
                        // A missing value leaves the block as written, as Lua's gsub does.
                        None => out.push_str(block),
                        // The common `{invite.token}`: escaped straight into
                        // the link, nothing copied.
                        Some(v) if filters.is_empty() => {
                            if *raw {
                                out.push_str(&v);
                            } else {
                                url_escape_into(&mut out, &v);
                            }
                        }
                        Some(v) => {
                            let v = filters.iter().fold(v.into_owned(), |v, f| f(&v));
                            out.push_str(&if *raw { v } else { url_escape(&v) });
                        }
                    },
                }
                // The same bound as the renderer's.
                if out.len() > crate::template::MAX_RENDERED_LEN {
                    return Err(TemplateError::TooLarge);
                }
            }
            return Ok(Some(out));
        }
        let mut invite = record.to_value();
        if let Value::Object(map) = &mut invite {
            map.remove("landing_page");
        }
        let values = json!({ "host": host, "invite": invite });
        self.renderer.render(&self.template, &values).map(Some)
    }
}

/// An easy-xmpp-invitation link: `base` + `#` + the URI without `xmpp:`, its
/// JID parts percent-encoded.
///
/// ```
/// use xmpp_invites::{fragment_link, BareJid, InviteAction, InviteUri, Token};
/// let uri = InviteUri::new(BareJid::parse("a?b@example.com").unwrap(), InviteAction::Roster,
///     &Token::parse("Xb9sT2vR7qLm4KpZ8wYd1eFg").unwrap(), true);
/// assert_eq!(
///     fragment_link("https://invite.example/", &uri).unwrap(),
///     "https://invite.example/#a%3Fb@example.com?roster;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg;ibr=y"
/// );
/// ```
pub fn fragment_link(base: &str, uri: &InviteUri) -> Result<String, UriError> {
    let base = base.split_once('#').map_or(base, |(b, _)| b);
    Ok(format!("{base}#{}", uri.to_uri_without_scheme()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> InviteRecord {
        InviteRecord::from_json(json).unwrap()
    }

    #[test]
    fn type_filter() {
        let reset = record(
            r#"{"type":"register","jid":"romeo@example.com","token":"T","allow_registration":true,"additional_data":{"allow_reset":"romeo"},"uri":"u","expires":1}"#,
        );
        let contact = record(
            r#"{"type":"roster","jid":"romeo@example.com","token":"T","uri":"xmpp:romeo@example.com?roster;preauth=T","expires":1}"#,
        );
        let page =
            LandingPage::new("https://{host}/{invite.type}/{invite.token}?{invite.uri|noscheme!}");
        assert_eq!(page.link("example.com", &reset).unwrap(), None);
        assert_eq!(
            page.link("example.com", &contact).unwrap().as_deref(),
            Some("https://example.com/roster/T?romeo@example.com?roster;preauth=T")
        );
        let upstream_default = LandingPage::new("x")
            .with_supported_names(["account", "contact", "account-and-contact"])
            .unwrap();
        assert!(upstream_default.supports(InviteType::ContactOnly));
        assert!(upstream_default.supports(InviteType::Group));
        assert!(!upstream_default.supports(InviteType::PasswordReset));
        assert!(
            LandingPage::new("x")
                .with_supported_names(["acount"])
                .is_err()
        );
    }

    #[test]
    fn compiled_templates_render_as_the_renderer_does() {
        let mut r = record(
            r#"{"type":"roster","jid":"a?b@example.com","token":"T-_x","allow_registration":true,"uri":"xmpp:a%3Fb@example.com?roster;preauth=T-_x;ibr=y","created_at":5,"expires":7}"#,
        );
        for template in [
            "https://example.com/invite?{invite.token}",
            "https://{host}/i/#{invite.uri|noscheme!}",
            "{invite.uri|noscheme}{invite.uri}{invite.uri!}{invite.jid|urlescape}{invite.jid|urlescape!}",
            "{invite.type}/{invite.created_at}/{invite.expires}/{host!}",
            "{invite.token} } {invite.token",
            "no blocks at all",
        ] {
            let page = LandingPage::new(template);
            assert!(page.compiled.is_some(), "{template}");
            let slow = LandingPage {
                compiled: None,
                ..page.clone()
            };
            assert_eq!(
                page.link("münchen.example", &r).unwrap(),
                slow.link("münchen.example", &r).unwrap(),
                "{template}"
            );
        }
        let huge = "h".repeat(600_000);
        assert_eq!(
            LandingPage::new("{host}{host}").link(&huge, &r),
            Err(TemplateError::TooLarge)
        );
        // Fields a record lacks: an empty URI (kept hashed at rest) is
        // missing to the renderer too.
        r.uri = String::new();
        for template in [
            "https://x/#{invite.uri|noscheme!}",
            "{invite.uri}",
            "a{invite.uri!}b",
        ] {
            let page = LandingPage::new(template);
            assert!(page.compiled.is_some(), "{template}");
            let slow = LandingPage {
                compiled: None,
                ..page.clone()
            };
            assert_eq!(page.link("h", &r), slow.link("h", &r), "{template}");
        }
        r.created_at = None;
        let page = LandingPage::new("{invite.created_at}");
        assert_eq!(
            page.link("h", &r).unwrap().as_deref(),
            Some("{invite.created_at}")
        );
        for generic in [
            "{{invite.token}}",
            "{invite.note}",
            "{invite.token!|noscheme}",
            "{host?x}",
            "{invite.uri|lower}",
        ] {
            assert!(LandingPage::new(generic).compiled.is_none(), "{generic}");
        }
    }

    /// Scanning ahead from every unclosed `{` would take some 10^10 steps
    /// on each of these.
    #[test]
    fn unclosed_braces() {
        let r = record(
            r#"{"type":"register","jid":"example.com","token":"T","allow_registration":true,"uri":"u","expires":1}"#,
        );
        let page = LandingPage::new("{{invite.token}".repeat(50_000));
        assert!(page.compiled.is_some());
        let slow = LandingPage {
            compiled: None,
            ..page.clone()
        };
        // Compared with `==`: `assert_eq!` would print 100,000 bytes.
        let link = Some("{T".repeat(50_000));
        assert!(page.link("h", &r).unwrap() == link);
        assert!(slow.link("h", &r).unwrap() == link);
        let open = "{".repeat(200_000);
        assert!(LandingPage::new(&open).link("h", &r).unwrap() == Some(open));
    }

    #[test]
    fn landing_page_key_is_not_visible() {
        let mut r = record(
            r#"{"type":"register","jid":"example.com","token":"T","allow_registration":true,"uri":"u","expires":1}"#,
        );
        r.landing_page = Some("old".into());
        let page = LandingPage::new("{invite.landing_page?none}");
        assert_eq!(
            page.link("example.com", &r).unwrap().as_deref(),
            Some("none")
        );
    }
}
