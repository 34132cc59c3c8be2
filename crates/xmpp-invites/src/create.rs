//! Creating invites: token, record, URI, landing link and the writes to make.

use std::sync::Arc;

use rand_core::TryCryptoRng;

use crate::change::{InviteWrite, StorageChange};
use crate::datetime::EARLIEST;
use crate::jid::{BareJid, JidError};
use crate::kind::{InviteKind, InviteType};
use crate::landing::LandingPage;
use crate::period::{Period, PeriodError};
use crate::record::{AdditionalData, InviteAction, InviteRecord, Roles};
use crate::template::TemplateError;
use crate::token::{Token, TokenError, TokenFormat};
use crate::uri::{UriError, uri_capacity, write_token_uri};

/// Why an invite could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// The host, username or inviter is not valid.
    #[error(transparent)]
    Jid(#[from] JidError),
    /// The token could not be generated.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The expiry overflows.
    #[error(transparent)]
    Period(#[from] PeriodError),
    /// The URI could not be built.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The landing page template could not be rendered.
    #[error("landing page: {0}")]
    Template(#[from] TemplateError),
    /// `now` is not a time an XEP-0082 date-time can write (years 0000 to
    /// 9999), so neither would the invite's creation and expiry be; the
    /// last second, [`crate::NEVER_EXPIRES`], is "never" and not a time of
    /// creation either.
    #[error(
        "the time of creation {0} is not one to create an invite at: XEP-0082 writes the years 0000 to 9999, and their last second ({never}) means \"never\"",
        never = crate::period::NEVER_EXPIRES
    )]
    Time(i64),
    /// `max_uses` was 0.
    #[error("max_uses must be at least 1")]
    ZeroUses,
    /// The options do not fit the kind of invite.
    #[error("{0}")]
    Conflict(&'static str),
}

impl CreateError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Jid(e) => e.code(),
            Self::Token(e) => e.code(),
            Self::Period(e) => e.code(),
            Self::Uri(e) => e.code(),
            Self::Template(e) => e.code(),
            Self::Time(_) => "datetime-out-of-range",
            Self::ZeroUses => "zero-uses",
            Self::Conflict(_) => "conflicting-options",
        }
    }
}

/// An invite to create: kind, host and options. Errors surface in
/// [`NewInvite::create`].
///
/// ```
/// use xmpp_invites::{NewInvite, Period, StorageChange};
/// let invite = NewInvite::account("example.com")
///     .roles(["prosody:member"])
///     .ttl(Period::DAY)
///     .create_os(1_795_268_421)
///     .unwrap();
/// assert!(invite.uri().starts_with("xmpp:example.com?register;preauth="));
/// assert_eq!(invite.expires(), 1_795_268_421 + 86_400);
/// assert!(matches!(invite.storage_changes()[0], StorageChange::PutRecord { .. }));
/// ```
#[derive(Debug, Clone)]
pub struct NewInvite {
    host: String,
    /// The JID of the invite, normalised on first use (creating many
    /// invites from one NewInvite prepares it once).
    jid: std::sync::OnceLock<Result<BareJid, JidError>>,
    kind: InviteKind,
    ttl: Option<Period>,
    data: AdditionalData,
    max_uses: Option<u32>,
    reusable: Option<bool>,
    hashed: bool,
    format: TokenFormat,
    landing: Option<Arc<LandingPage>>,
}

impl NewInvite {
    fn new(host: &str, kind: InviteKind) -> Self {
        Self {
            host: host.to_owned(),
            jid: std::sync::OnceLock::new(),
            kind,
            ttl: None,
            data: AdditionalData::default(),
            max_uses: None,
            reusable: None,
            hashed: false,
            format: TokenFormat::default(),
            landing: None,
        }
    }

    /// An account invite for any username (`xmpp:host?register;preauth=T`).
    pub fn account(host: &str) -> Self {
        Self::new(host, InviteKind::Account { username: None })
    }

    /// An account invite that registers only `username`.
    pub fn account_for(username: &str, host: &str) -> Self {
        Self::new(
            host,
            InviteKind::Account {
                username: Some(username.to_owned()),
            },
        )
    }

    /// A password reset for `username`, valid 1 day unless a TTL is given.
    pub fn password_reset(username: &str, host: &str) -> Self {
        Self::new(
            host,
            InviteKind::PasswordReset {
                username: username.to_owned(),
            },
        )
    }

    /// A contact invite from `inviter`; with `allow_registration` the
    /// invitee may also register an account here (`ibr=y`).
    pub fn contact(inviter: &str, host: &str, allow_registration: bool) -> Self {
        Self::new(
            host,
            InviteKind::Contact {
                inviter: inviter.to_owned(),
                allow_registration,
            },
        )
    }

    /// An account invite that joins `groups`. As Prosody's `create_group`:
    /// reusable until expiry when a TTL is given, single-use otherwise.
    pub fn group<S: Into<String>>(host: &str, groups: impl IntoIterator<Item = S>) -> Self {
        Self::new(
            host,
            InviteKind::Group {
                groups: groups.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// An invite of `kind` on `host`.
    pub fn of_kind(host: &str, kind: InviteKind) -> Self {
        Self::new(host, kind)
    }

    /// How long the invite is valid: by default 7 days, 1 day for a reset.
    pub fn ttl(mut self, ttl: Period) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Roles for the new account, primary first (written as a list).
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.data.roles = Some(Roles::Ordered(roles.into_iter().map(Into::into).collect()));
        self
    }

    /// Roles for the new account in the legacy set form
    /// (`{"prosody:admin": true}`), the form Prosody 0.12 applies.
    pub fn legacy_roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        let mut set: Vec<String> = roles.into_iter().map(Into::into).collect();
        set.sort();
        set.dedup();
        self.data.roles = Some(Roles::LegacySet(set));
        self
    }

    /// Groups for the new account (added to a group invite's own).
    pub fn groups<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.data
            .groups
            .get_or_insert_with(Vec::new)
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Who creates the invite (a JID, or `api/token/ID`).
    pub fn source(mut self, source: &str) -> Self {
        self.data.source = Some(source.to_owned());
        self
    }

    /// A note for admins.
    pub fn note(mut self, note: &str) -> Self {
        self.data.note = Some(note.to_owned());
        self
    }

    /// Replaces all additional data (roles in the legacy set form, keys of
    /// other modules). A reset's `allow_reset` and a group's groups are
    /// still set from the kind.
    pub fn additional_data(mut self, data: AdditionalData) -> Self {
        self.data = data;
        self
    }

    /// Lets the invite register up to `n` accounts (this library's
    /// extension; stock Prosody treats such a record as single-use).
    pub fn max_uses(mut self, n: u32) -> Self {
        self.max_uses = Some(n);
        self
    }

    /// Whether using the invite leaves it in place until it expires (capped
    /// by [`NewInvite::max_uses`] if set). By default only a group invite
    /// given a TTL is reusable, as with Prosody's `create_group`; a
    /// password reset never is.
    pub fn reusable(mut self, reusable: bool) -> Self {
        self.reusable = Some(reusable);
        self
    }

    /// Keeps only a hash of the token at rest: the stored record holds the
    /// token's [`crate::hashed_key`] (also its storage key) and no URI or
    /// landing link, so a leaked store holds no usable invite. The trade-off:
    /// stock Prosody cannot read such records (it looks invites up by the
    /// token itself), and hosts must look tokens up with
    /// [`crate::storage_key`]. Contact invites kept hashed also get a
    /// host-level record (allowing no registration), which names the key:
    /// pass it to [`crate::validate`] for subscriptions too (see
    /// [`crate::Stored::record`]), or spending the invite deletes nothing.
    pub fn hash_at_rest(mut self, hashed: bool) -> Self {
        self.hashed = hashed;
        self
    }

    /// The token format (Prosody's 18-byte base64url by default).
    pub fn token_format(mut self, format: TokenFormat) -> Self {
        self.format = format;
        self
    }

    /// Renders a landing link into the record when the page supports the
    /// invite's type.
    /// The page may be shared (`Arc<LandingPage>`): its template is
    /// compiled once, when it is made, however many invites use it.
    pub fn landing_page(mut self, page: impl Into<Arc<LandingPage>>) -> Self {
        self.landing = Some(page.into());
        self
    }

    /// The type of invite this will create.
    pub fn invite_type(&self) -> InviteType {
        self.kind.invite_type()
    }

    /// The invite's JID, prepared once. The user part is the kind's (the
    /// builder's setters never change it).
    fn jid(&self, username: Option<&str>) -> Result<&BareJid, JidError> {
        self.jid
            .get_or_init(|| BareJid::new(username, &self.host))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Creates the invite at `now` with a token from `rng`.
    pub fn create<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        now: i64,
    ) -> Result<Invite, CreateError> {
        // Most invites carry no additional data: skip the clone and drop.
        let mut data = if self.data.is_empty() {
            AdditionalData::default()
        } else {
            self.data.clone()
        };
        let (action, jid, allow_registration, inviter) = match &self.kind {
            InviteKind::Account { username } => (
                InviteAction::Register,
                self.jid(username.as_deref())?,
                true,
                None,
            ),
            InviteKind::PasswordReset { username } => {
                if data.roles.is_some() || !data.group_list().is_empty() {
                    return Err(CreateError::Conflict(
                        "a password reset invite cannot carry roles or groups",
                    ));
                }
                if self.max_uses.is_some() || self.reusable == Some(true) {
                    return Err(CreateError::Conflict(
                        "a password reset invite is single-use",
                    ));
                }
                let jid = self.jid(Some(username))?;
                data.allow_reset = jid.username().map(str::to_owned);
                (InviteAction::Register, jid, true, None)
            }
            InviteKind::Contact {
                inviter,
                allow_registration,
            } => {
                if !allow_registration && (self.max_uses.is_some() || self.reusable.is_some()) {
                    return Err(CreateError::Conflict(
                        "max_uses and reusable need an invite that allows registration",
                    ));
                }
                let jid = self.jid(Some(inviter))?;
                let inviter = jid.username().map(str::to_owned);
                (InviteAction::Roster, jid, *allow_registration, inviter)
            }
            InviteKind::Group { groups } => {
                if groups.is_empty() {
                    return Err(CreateError::Conflict(
                        "a group invite needs at least one group",
                    ));
                }
                let mut all = groups.clone();
                all.extend(data.group_list().iter().cloned());
                data.groups = Some(all);
                (InviteAction::Register, self.jid(None)?, true, None)
            }
        };
        if self.max_uses == Some(0) {
            return Err(CreateError::ZeroUses);
        }
        if !(EARLIEST..crate::period::NEVER_EXPIRES).contains(&now) {
            return Err(CreateError::Time(now));
        }
        let ttl = self.ttl.unwrap_or(match self.kind {
            InviteKind::PasswordReset { .. } => Period::DAY,
            _ => Period::WEEK,
        });
        let expires = ttl.expiry_from(now)?;
        let token = Token::generate(rng, self.format)?;
        let mut uri = String::with_capacity(uri_capacity(token.as_str().len(), self.host.len()));
        uri.push_str("xmpp:");
        write_token_uri(&mut uri, jid, action, &token, allow_registration)?;
        let mut record = InviteRecord {
            action,
            jid: jid.to_jid_string(),
            token: token.as_str().to_owned(),
            allow_registration,
            additional_data: (!data.is_empty()).then_some(data),
            uri,
            created_at: Some(now),
            expires: Some(expires),
            reusable: self.reusable.or_else(|| {
                matches!(self.kind, InviteKind::Group { .. }).then_some(self.ttl.is_some())
            }),
            landing_page: None,
            max_uses: self.max_uses,
            uses: None,
            extra: Default::default(),
        };
        if let Some(page) = &self.landing {
            record.landing_page = page.link(jid.host(), &record)?;
        }
        let stored = self.hashed.then(|| InviteRecord {
            token: crate::token::hashed_key(token.as_str()),
            uri: String::new(),
            landing_page: None,
            ..record.clone()
        });
        Ok(Invite {
            record,
            stored,
            token,
            inviter,
        })
    }

    /// Creates the invite at `now` with a token from the OS CSPRNG.
    #[cfg(feature = "os-rng")]
    pub fn create_os(&self, now: i64) -> Result<Invite, CreateError> {
        self.create(&mut getrandom::SysRng, now)
    }
}

/// A created invite: its record and what to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    record: InviteRecord,
    /// What is stored, when it differs from `record` (hashed at rest).
    stored: Option<InviteRecord>,
    token: Token,
    inviter: Option<String>,
}

impl Invite {
    /// The record (what Prosody's `create_*` functions return).
    pub fn record(&self) -> &InviteRecord {
        &self.record
    }

    /// The record, owned.
    pub fn into_record(self) -> InviteRecord {
        self.record
    }

    /// The token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The invite URI.
    pub fn uri(&self) -> &str {
        &self.record.uri
    }

    /// The landing link, if a page was configured for this type.
    pub fn landing_page(&self) -> Option<&str> {
        self.record.landing_page.as_deref()
    }

    /// Unix seconds after which the invite is expired
    /// ([`crate::NEVER_EXPIRES`] for never).
    pub fn expires(&self) -> i64 {
        self.record.expires.unwrap_or(crate::period::NEVER_EXPIRES)
    }

    /// The inviting user of a contact invite.
    pub fn inviter(&self) -> Option<&str> {
        self.inviter.as_deref()
    }

    /// The type of invite.
    pub fn invite_type(&self) -> InviteType {
        self.record.invite_type()
    }

    /// The XEP-0401 result form for this invite.
    pub fn result_form(&self) -> Result<crate::adhoc::DataForm, crate::datetime::DateTimeError> {
        crate::adhoc::invitation_result_form(self.uri(), self.landing_page(), Some(self.expires()))
    }

    /// The writes that store this invite, as Prosody does: the record at
    /// host level when it allows registration, the expiry at the inviter's
    /// user level for a contact invite.
    pub fn storage_changes(&self) -> Vec<StorageChange> {
        self.writes().map(|w| w.to_change()).collect()
    }

    /// The same writes as [`Invite::storage_changes`], borrowed from the
    /// invite instead of copied out of it.
    pub fn writes(&self) -> impl Iterator<Item = InviteWrite<'_>> {
        let stored = self.stored_record();
        // Hashed at rest, every invite has a host-level record naming its key.
        let record = (stored.allow_registration || self.stored.is_some()).then_some(
            InviteWrite::PutRecord {
                token: &stored.token,
                record: stored,
            },
        );
        let expiry = self
            .inviter
            .as_deref()
            .map(|user| InviteWrite::PutContactExpiry {
                user,
                token: &stored.token,
                expires: self.expires(),
            });
        record.into_iter().chain(expiry)
    }

    /// The record as stored: [`Invite::record`], or its hashed form for an
    /// invite kept hashed at rest.
    pub fn stored_record(&self) -> &InviteRecord {
        self.stored.as_ref().unwrap_or(&self.record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::CountingRng;

    const NOW: i64 = 1_795_268_421;

    fn make(n: NewInvite) -> Result<Invite, CreateError> {
        n.create(&mut CountingRng(0), NOW)
    }

    #[test]
    fn each_kind_matches_prosody_shapes() {
        let t = "AAECAwQFBgcICQoLDA0ODxAR";
        let a = make(NewInvite::account("example.com")).unwrap();
        assert_eq!(a.uri(), format!("xmpp:example.com?register;preauth={t}"));
        assert_eq!(a.record().additional_data, None);
        assert_eq!(a.record().reusable, None);
        assert_eq!(a.expires(), NOW + 604_800);
        assert_eq!(a.invite_type(), InviteType::Account);

        let b = make(NewInvite::account_for("Romeo", "example.com")).unwrap();
        assert_eq!(b.record().jid, "romeo@example.com");

        let r = make(NewInvite::password_reset("romeo", "example.com")).unwrap();
        assert_eq!(r.expires(), NOW + 86_400);
        assert_eq!(r.record().reset_username(), Some("romeo"));
        assert_eq!(r.invite_type(), InviteType::PasswordReset);

        let c = make(NewInvite::contact("juliet", "example.com", false)).unwrap();
        assert_eq!(
            c.uri(),
            format!("xmpp:juliet@example.com?roster;preauth={t}")
        );
        assert_eq!(
            c.storage_changes(),
            [StorageChange::PutContactExpiry {
                user: "juliet".into(),
                token: t.into(),
                expires: NOW + 604_800
            }]
        );

        let ac = make(NewInvite::contact("juliet", "example.com", true)).unwrap();
        assert!(ac.uri().ends_with(";ibr=y"));
        assert_eq!(ac.storage_changes().len(), 2);
        assert_eq!(ac.invite_type(), InviteType::AccountAndContact);

        let legacy =
            make(NewInvite::account("example.com").legacy_roles(["b", "prosody:admin", "b"]))
                .unwrap();
        let roles = legacy
            .record()
            .additional_data
            .as_ref()
            .unwrap()
            .roles
            .clone()
            .unwrap();
        assert_eq!(
            roles,
            Roles::LegacySet(vec!["b".into(), "prosody:admin".into()])
        );
        assert!(
            legacy
                .record()
                .to_json()
                .contains(r#""roles":{"b":true,"prosody:admin":true}"#)
        );

        let g = make(NewInvite::group("example.com", ["g1"]).ttl(Period::DAY)).unwrap();
        assert_eq!(g.record().reusable, Some(true));
        assert_eq!(g.invite_type(), InviteType::Group);
        let g1 = make(NewInvite::group("example.com", ["g1"]).groups(["g2"])).unwrap();
        assert_eq!(g1.record().reusable, Some(false));
        let g2 = make(
            NewInvite::group("example.com", ["g1"])
                .ttl(Period::DAY)
                .reusable(false),
        )
        .unwrap();
        assert_eq!(g2.record().reusable, Some(false));
        let a2 = make(NewInvite::account("example.com").reusable(true)).unwrap();
        assert_eq!(a2.record().reusable, Some(true));
        assert_eq!(
            g1.record().additional_data.as_ref().unwrap().group_list(),
            ["g1", "g2"]
        );
    }

    #[test]
    fn refusals() {
        for single in [
            NewInvite::password_reset("r", "example.com").reusable(true),
            NewInvite::contact("r", "example.com", false).reusable(true),
            NewInvite::contact("r", "example.com", false).max_uses(2),
        ] {
            assert!(matches!(make(single), Err(CreateError::Conflict(_))));
        }
        assert!(matches!(
            make(NewInvite::account("")),
            Err(CreateError::Jid(JidError::EmptyHost))
        ));
        assert!(matches!(
            make(NewInvite::account_for("a b", "example.com")),
            Err(CreateError::Jid(_))
        ));
        assert!(matches!(
            make(NewInvite::password_reset("r", "example.com").roles(["x"])),
            Err(CreateError::Conflict(_))
        ));
        assert!(matches!(
            make(NewInvite::password_reset("r", "example.com").max_uses(2)),
            Err(CreateError::Conflict(_))
        ));
        assert!(matches!(
            make(NewInvite::contact("r", "example.com", false).max_uses(2)),
            Err(CreateError::Conflict(_))
        ));
        assert!(matches!(
            make(NewInvite::group("example.com", Vec::<String>::new())),
            Err(CreateError::Conflict(_))
        ));
        assert_eq!(
            make(NewInvite::account("example.com").max_uses(0)).unwrap_err(),
            CreateError::ZeroUses
        );
        // A time of creation XEP-0082 cannot write: refused as such, not as
        // a period that overflows.
        let never = crate::period::NEVER_EXPIRES;
        for now in [i64::MIN, EARLIEST - 1, never, never + 1, i64::MAX] {
            let err = NewInvite::account("example.com")
                .ttl(Period::Seconds(0))
                .create(&mut CountingRng(0), now)
                .unwrap_err();
            assert_eq!(err, CreateError::Time(now));
            assert_eq!(err.code(), "datetime-out-of-range");
        }
        for now in [EARLIEST, -1, 0, never - 1] {
            let invite = NewInvite::account("example.com")
                .ttl(Period::Seconds(0))
                .create(&mut CountingRng(0), now)
                .unwrap();
            assert_eq!(invite.record().created_at, Some(now));
            assert!(crate::format_datetime(invite.expires()).is_ok());
        }
        assert!(matches!(
            NewInvite::account("example.com").create(&mut CountingRng(0), never - 5),
            Err(CreateError::Period(_))
        ));
        assert!(matches!(
            make(
                NewInvite::account("example.com").token_format(TokenFormat::Base64Url { bytes: 4 })
            ),
            Err(CreateError::Token(_))
        ));
    }

    #[test]
    fn hashed_at_rest() {
        use crate::validate::{Redemption, Stored, validate};
        let page = LandingPage::new("https://{host}/i/{invite.token}");
        for new in [
            NewInvite::account("example.com"),
            NewInvite::contact("juliet", "example.com", true),
            NewInvite::contact("juliet", "example.com", false),
        ] {
            let invite = make(new.hash_at_rest(true).landing_page(page.clone())).unwrap();
            let token = invite.token().as_str().to_owned();
            let changes = invite.storage_changes();
            // Nothing stored holds the token.
            for c in &changes {
                assert!(!format!("{c:?}").contains(&token), "{c:?}");
                assert_eq!(c.token(), crate::token::hashed_key(&token));
            }
            let StorageChange::PutRecord { record, .. } = &changes[0] else {
                panic!()
            };
            assert!(record.uri.is_empty() && record.landing_page.is_none());
            assert!(!record.to_json().contains("\"uri\""));
            // What is shown still has them.
            assert!(invite.uri().contains(&token));
            // The stored record validates for the token, not for its hash.
            let redemption = match invite.inviter() {
                Some(inviter) => Redemption::Subscription { inviter },
                None => Redemption::Registration,
            };
            let stored = Stored {
                record: Some(record),
                contact_expires: None,
            };
            let valid = validate(&token, stored, redemption, NOW).unwrap();
            assert!(
                valid
                    .use_changes()
                    .iter()
                    .all(|c| c.token() == crate::token::hashed_key(&token))
            );
            assert!(
                validate(
                    record.token.trim_start_matches("sha256:"),
                    stored,
                    redemption,
                    NOW
                )
                .is_err()
            );
        }
    }

    #[test]
    fn never_expires_is_a_number() {
        let n = make(NewInvite::account("example.com").ttl(Period::Never)).unwrap();
        assert_eq!(n.record().expires, Some(crate::period::NEVER_EXPIRES));
        assert!(!n.record().is_expired(NOW + 100 * 31_556_952));
        assert!(n.record().is_expired(crate::period::NEVER_EXPIRES + 1));
    }

    #[test]
    fn landing_link_goes_into_the_record() {
        let page = LandingPage::new("https://{host}/i/{invite.token}");
        let a = make(NewInvite::account("münchen.example").landing_page(page.clone())).unwrap();
        assert_eq!(
            a.landing_page(),
            Some("https://m%c3%bcnchen.example/i/AAECAwQFBgcICQoLDA0ODxAR")
        );
        let r = make(NewInvite::password_reset("romeo", "example.com").landing_page(page)).unwrap();
        assert_eq!(r.landing_page(), None);
    }
}
