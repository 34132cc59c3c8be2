//! Validating a presented token against what the host found in storage, and
//! what using it changes (Prosody's `get` and `use`, sans I/O).

use crate::change::StorageChange;
use crate::jid::prep_username;
use crate::kind::InviteType;
use crate::record::{AdditionalData, InviteAction, InviteRecord};
use crate::token::{Token, TokenError};

/// What the token is being redeemed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption<'a> {
    /// Registering an account (XEP-0445 `<preauth/>`): the host-level
    /// record decides.
    Registration,
    /// A subscription to the local user `inviter` (XEP-0379): the inviter's
    /// user-level entry decides.
    Subscription {
        /// The username of the local user being subscribed to.
        inviter: &'a str,
    },
}

/// What the host found in its `invite_token` store under the presented token.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stored<'a> {
    /// The host-level record (user = nil), if any. Pass it for a
    /// subscription too when invites may be kept hashed at rest: every such
    /// invite has one, and [`ValidInvite::use_changes`] takes the storage
    /// key from it; without it the changes name the token itself, which
    /// leaves a hashed invite in place.
    pub record: Option<&'a InviteRecord>,
    /// For a subscription: the inviter's user-level expiry, if any.
    pub contact_expires: Option<i64>,
}

/// Why a presented token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    /// No token was presented.
    #[error("no-token: no invite token was presented")]
    NoToken,
    /// The token's length or alphabet is wrong; it was never looked up.
    /// (The token's own message already starts with `token-invalid: `.)
    #[error(transparent)]
    Malformed(TokenError),
    /// No invite has this token (or the record handed in is for another).
    #[error("token-invalid: no invite has this token")]
    Unknown,
    /// The invite expired at `expired_at`.
    #[error("token-expired: the invite expired at {expired_at} (Unix time)")]
    Expired {
        /// When it expired, Unix seconds.
        expired_at: i64,
    },
    /// A `max_uses` invite that has been used up.
    #[error("token-invalid: the invite has been used up")]
    UsedUp,
    /// The token is a contact invite of another user.
    #[error("token-invalid: the invite is not from this user")]
    WrongInviter,
    /// The invite does not allow registering an account.
    #[error("token-invalid: the invite does not allow registration")]
    NotForRegistration,
}

impl ValidateError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoToken => "no-token",
            Self::Malformed(e) => e.code(),
            Self::Unknown => "token-invalid",
            Self::Expired { .. } => "token-expired",
            Self::UsedUp => "token-used-up",
            Self::WrongInviter => "wrong-inviter",
            Self::NotForRegistration => "not-for-registration",
        }
    }
}

impl ValidateError {
    /// Prosody's error name: `no-token`, `token-invalid` or `token-expired`.
    pub fn condition(&self) -> &'static str {
        match self {
            Self::NoToken => "no-token",
            Self::Expired { .. } => "token-expired",
            _ => "token-invalid",
        }
    }
}

/// A validated invite, ready to be used once the registration or
/// subscription it allows has succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidInvite {
    token: Token,
    invite_type: InviteType,
    subscription: bool,
    inviter: Option<String>,
    record: Option<InviteRecord>,
    expires: i64,
}

impl ValidInvite {
    /// The token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The type of invite.
    pub fn invite_type(&self) -> InviteType {
        self.invite_type
    }

    /// Whether it was validated for a subscription rather than registration.
    pub fn is_for_subscription(&self) -> bool {
        self.subscription
    }

    /// The local user to become a mutual contact of: the inviter of a
    /// contact invite.
    pub fn inviter(&self) -> Option<&str> {
        self.inviter.as_deref()
    }

    /// The only username an account invite registers, if bound.
    pub fn bound_username(&self) -> Option<&str> {
        let record = self.record.as_ref()?;
        (record.action == InviteAction::Register).then(|| record.jid_username())?
    }

    /// The username whose password a reset invite resets.
    pub fn reset_username(&self) -> Option<&str> {
        self.record.as_ref()?.reset_username()
    }

    /// Roles, groups and the rest of `additional_data`.
    pub fn additional_data(&self) -> Option<&AdditionalData> {
        self.record.as_ref()?.additional_data.as_ref()
    }

    /// The invite URI, as [`InviteRecord::invite_uri`] gives it for this
    /// token: RFC 5122's form even where the stored record holds stock
    /// Prosody's unescaped one. `None` without a host-level record (a
    /// contact invite validated by the inviter's entry alone: its URI is
    /// the inviter's, on a host the validation was not given), and when
    /// the record's JID makes no URI and none is stored.
    pub fn uri(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.record.as_ref()?.invite_uri(self.token.as_str())
    }

    /// The stored record, if there is a host-level one.
    pub fn record(&self) -> Option<&InviteRecord> {
        self.record.as_ref()
    }

    /// When it expires, Unix seconds.
    pub fn expires(&self) -> i64 {
        self.expires
    }

    /// Whether using it leaves it in place.
    pub fn is_reusable(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| r.reusable == Some(true) && r.max_uses.is_none())
    }

    /// The storage changes that spend the invite, to apply once the
    /// registration or subscription succeeded: none for a reusable invite,
    /// the record with its use counted for a `max_uses` invite that has uses
    /// left, otherwise deleting the record and the inviter's entry.
    ///
    /// Hosts that allow concurrent redemption must apply these atomically
    /// against the record they validated (a transaction, or a
    /// compare-and-set on the old record), or two redemptions may both win.
    pub fn use_changes(&self) -> Vec<StorageChange> {
        // The key the entries are stored under: the record's (the token, or
        // its hash for invites kept hashed at rest).
        let token = self
            .record
            .as_ref()
            .map_or_else(|| self.token.as_str().to_owned(), |r| r.token.clone());
        if let Some(record) = &self.record {
            if let Some(max) = record.max_uses {
                let used = record.uses.unwrap_or(0).saturating_add(1);
                if used < max {
                    let mut counted = record.clone();
                    counted.uses = Some(used);
                    return vec![StorageChange::PutRecord {
                        token,
                        record: Box::new(counted),
                    }];
                }
            } else if record.reusable == Some(true) {
                return Vec::new();
            }
        }
        let mut changes = Vec::with_capacity(2);
        if let Some(user) = &self.inviter {
            changes.push(StorageChange::DeleteContactExpiry {
                user: user.clone(),
                token: token.clone(),
            });
        }
        changes.push(StorageChange::DeleteRecord { token });
        changes
    }
}

/// Validates a presented token.
///
/// First the token's length and alphabet (so garbage is refused before any
/// lookup: call [`Token::parse`] yourself before the lookup and this check
/// costs nothing more). Then, for registration, the host-level record: its
/// token must match (compared in constant time), it must allow registration,
/// not be expired (`now > expires`; equal is valid) and not be used up. For
/// a subscription, the inviter's user-level expiry decides; where a host
/// only kept the host-level record of a contact invite, that record is used
/// if it names the same inviter (stock Prosody 0.12 fails there).
///
/// ```
/// use xmpp_invites::{validate, InviteRecord, Redemption, Stored, ValidateError};
/// let record = InviteRecord::from_json(r#"{"type":"roster","jid":"juliet@example.com",
///   "token":"EcuaIHblxEcxf-A5duTy_3PC","allow_registration":true,"uri":"",
///   "created_at":1795268422,"expires":1795873222}"#).unwrap();
/// let stored = Stored { record: Some(&record), contact_expires: None };
/// let valid = validate("EcuaIHblxEcxf-A5duTy_3PC", stored, Redemption::Registration, 1795873222).unwrap();
/// assert_eq!(valid.inviter(), Some("juliet"));
/// let late = validate("EcuaIHblxEcxf-A5duTy_3PC", stored, Redemption::Registration, 1795873223);
/// assert_eq!(late.unwrap_err().condition(), "token-expired");
/// ```
pub fn validate(
    presented: &str,
    stored: Stored<'_>,
    redemption: Redemption<'_>,
    now: i64,
) -> Result<ValidInvite, ValidateError> {
    let (checked, keep) = check(presented, stored, redemption, now)?;
    Ok(checked.into_valid(if keep { stored.record.cloned() } else { None }))
}

/// [`validate`] for a record the caller owns and has no further use for
/// (one just read from storage): it moves into the [`ValidInvite`] instead
/// of being cloned. Same checks, same results.
///
/// ```
/// use xmpp_invites::{InviteRecord, Redemption, validate_owned};
/// let record = InviteRecord::from_json(r#"{"type":"register","jid":"example.com",
///     "token":"Xb9sT2vR7qLm4KpZ8wYd1eFg","allow_registration":true,
///     "uri":"xmpp:example.com?register;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg",
///     "created_at":1795268421,"expires":1795873221}"#).unwrap();
/// let valid = validate_owned("Xb9sT2vR7qLm4KpZ8wYd1eFg", Some(record), None,
///     Redemption::Registration, 1795268421).unwrap();
/// assert_eq!(valid.expires(), 1795873221);
/// ```
pub fn validate_owned(
    presented: &str,
    record: Option<InviteRecord>,
    contact_expires: Option<i64>,
    redemption: Redemption<'_>,
    now: i64,
) -> Result<ValidInvite, ValidateError> {
    let stored = Stored {
        record: record.as_ref(),
        contact_expires,
    };
    let (checked, keep) = check(presented, stored, redemption, now)?;
    Ok(checked.into_valid(if keep { record } else { None }))
}

/// A validation that passed, but for the record it keeps.
struct Checked {
    token: Token,
    invite_type: InviteType,
    subscription: bool,
    inviter: Option<String>,
    expires: i64,
}

impl Checked {
    fn into_valid(self, record: Option<InviteRecord>) -> ValidInvite {
        ValidInvite {
            token: self.token,
            invite_type: self.invite_type,
            subscription: self.subscription,
            inviter: self.inviter,
            record,
            expires: self.expires,
        }
    }
}

/// Every check of [`validate`]; true when the valid invite keeps the stored
/// record (false when it was absent, under another key, or not used).
fn check(
    presented: &str,
    stored: Stored<'_>,
    redemption: Redemption<'_>,
    now: i64,
) -> Result<(Checked, bool), ValidateError> {
    let token = Token::parse(presented).map_err(|e| match e {
        TokenError::Missing => ValidateError::NoToken,
        other => ValidateError::Malformed(other),
    })?;
    // A record handed in under another key is no record for this token.
    // Records kept hashed at rest hold the token's hash instead.
    let record = stored
        .record
        .filter(|r| crate::token::matches_stored(token.as_str(), &r.token));
    match redemption {
        Redemption::Registration => {
            let record = record.ok_or(ValidateError::Unknown)?;
            let expires = check_registration(record, now)?;
            let inviter = (record.action == InviteAction::Roster)
                .then(|| record.jid_username().map(str::to_owned))
                .flatten();
            Ok((
                Checked {
                    token,
                    invite_type: record.invite_type(),
                    subscription: false,
                    inviter,
                    expires,
                },
                true,
            ))
        }
        Redemption::Subscription { inviter } => {
            let inviter = prep_username(inviter).map_err(|_| ValidateError::Unknown)?;
            let record = match record {
                Some(r) if r.action == InviteAction::Roster => {
                    let of_inviter = r
                        .jid_username()
                        .and_then(|u| prep_username(u).ok())
                        .is_some_and(|u| u == inviter);
                    if !of_inviter {
                        return Err(ValidateError::WrongInviter);
                    }
                    Some(r)
                }
                // An account invite is no subscription invite.
                Some(_) if stored.contact_expires.is_none() => return Err(ValidateError::Unknown),
                _ => None,
            };
            let expires = match (stored.contact_expires, record) {
                (Some(e), _) => check_expiry(Some(e), now)?,
                (None, Some(r)) => check_expiry(r.expires, now)?,
                (None, None) => return Err(ValidateError::Unknown),
            };
            Ok((
                Checked {
                    token,
                    invite_type: record.map_or(InviteType::ContactOnly, InviteRecord::invite_type),
                    subscription: true,
                    inviter: Some(inviter),
                    expires,
                },
                record.is_some(),
            ))
        }
    }
}

/// The checks of a registration that need no token: the record allows
/// registration, has not expired and is not used up. Its expiry if so.
fn check_registration(record: &InviteRecord, now: i64) -> Result<i64, ValidateError> {
    if !record.allow_registration {
        return Err(ValidateError::NotForRegistration);
    }
    let expires = check_expiry(record.expires, now)?;
    if let Some(max) = record.max_uses {
        if record.uses.unwrap_or(0) >= max {
            return Err(ValidateError::UsedUp);
        }
    }
    Ok(expires)
}

impl InviteRecord {
    /// Whether this stored record is a pending account invite: one that
    /// [`validate`] would accept for registration at `now` when its token
    /// is presented (it allows registration, has not expired and is not
    /// used up). Needs no token, so it also answers for records kept hashed
    /// at rest, whose token nobody has: what listing pending invites needs.
    ///
    /// ```
    /// use xmpp_invites::InviteRecord;
    /// let r = InviteRecord::from_json(r#"{"type":"register","jid":"example.com",
    ///   "token":"sha256:FGDT4MKuXueN7fIoimfvYwUFTH6GQCrNsGXcQliij0o",
    ///   "allow_registration":true,"expires":100}"#).unwrap();
    /// assert!(r.is_pending_registration(100));
    /// assert!(!r.is_pending_registration(101));
    /// ```
    pub fn is_pending_registration(&self, now: i64) -> bool {
        check_registration(self, now).is_ok()
    }
}

fn check_expiry(expires: Option<i64>, now: i64) -> Result<i64, ValidateError> {
    let expires = expires.unwrap_or(crate::period::NEVER_EXPIRES);
    if now > expires {
        Err(ValidateError::Expired {
            expired_at: expires,
        })
    } else {
        Ok(expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "EcuaIHblxEcxf-A5duTy_3PC";

    fn rec(json: &str) -> InviteRecord {
        InviteRecord::from_json(json).unwrap()
    }

    fn account() -> InviteRecord {
        rec(&format!(
            r#"{{"type":"register","jid":"example.com","token":"{T}","allow_registration":true,"uri":"","expires":100}}"#
        ))
    }

    fn contact() -> InviteRecord {
        rec(&format!(
            r#"{{"type":"roster","jid":"juliet@example.com","token":"{T}","allow_registration":true,"uri":"","expires":100}}"#
        ))
    }

    /// validate_owned answers exactly as validate, over records of each
    /// kind, present or not, other tokens, both redemptions and times
    /// either side of the expiry.
    #[test]
    fn owned_and_borrowed_agree() {
        let mut records = vec![None, Some(account()), Some(contact())];
        let mut used = account();
        used.max_uses = Some(1);
        used.uses = Some(1);
        records.push(Some(used));
        let mut other = account();
        other.token = "AAAAAAAAAAAAAAAAAAAAAAAA".into();
        records.push(Some(other));
        let mut no_reg = contact();
        no_reg.allow_registration = false;
        records.push(Some(no_reg));
        let mut cases = 0;
        for record in &records {
            for token in [T, "", "short", "AAAAAAAAAAAAAAAAAAAAAAAA"] {
                for contact_expires in [None, Some(50), Some(150)] {
                    for inviter in [None, Some("juliet"), Some("romeo"), Some("a b")] {
                        for now in [0, 100, 101, 149, 151] {
                            let redemption = match inviter {
                                Some(i) => Redemption::Subscription { inviter: i },
                                None => Redemption::Registration,
                            };
                            let stored = Stored {
                                record: record.as_ref(),
                                contact_expires,
                            };
                            let borrowed = validate(token, stored, redemption, now);
                            let owned = validate_owned(
                                token,
                                record.clone(),
                                contact_expires,
                                redemption,
                                now,
                            );
                            assert_eq!(owned, borrowed, "{token} {record:?} {inviter:?} {now}");
                            cases += usize::from(borrowed.is_ok());
                        }
                    }
                }
            }
        }
        assert!(cases > 20, "{cases}");
    }

    /// A record is a pending registration exactly when its token validates
    /// it for registration, and so when it is kept hashed at rest.
    #[test]
    fn pending_registration_agrees_with_validate() {
        let mut used = account();
        used.max_uses = Some(2);
        used.uses = Some(2);
        let mut one_left = used.clone();
        one_left.uses = Some(1);
        let mut no_reg = contact();
        no_reg.allow_registration = false;
        let mut never = account();
        never.expires = None;
        let mut pending = 0;
        for plain in [account(), contact(), used, one_left, no_reg, never] {
            let mut hashed = plain.clone();
            hashed.token = crate::token::hashed_key(T);
            for record in [plain, hashed] {
                for now in [i64::MIN, 0, 100, 101, i64::MAX] {
                    let valid = validate(
                        T,
                        Stored {
                            record: Some(&record),
                            contact_expires: None,
                        },
                        Redemption::Registration,
                        now,
                    );
                    assert_eq!(
                        record.is_pending_registration(now),
                        valid.is_ok(),
                        "{record:?} {now}"
                    );
                    pending += usize::from(valid.is_ok());
                }
            }
        }
        assert_eq!(pending, 2 * (3 + 3 + 3 + 4), "{pending}");
    }

    fn reg(r: Option<&InviteRecord>, now: i64) -> Result<ValidInvite, ValidateError> {
        validate(
            T,
            Stored {
                record: r,
                contact_expires: None,
            },
            Redemption::Registration,
            now,
        )
    }

    #[test]
    fn registration() {
        let a = account();
        let v = reg(Some(&a), 100).unwrap();
        assert_eq!(v.inviter(), None);
        assert_eq!(
            v.use_changes(),
            [StorageChange::DeleteRecord { token: T.into() }]
        );
        assert_eq!(
            reg(Some(&a), 101).unwrap_err(),
            ValidateError::Expired { expired_at: 100 }
        );
        assert_eq!(reg(None, 0).unwrap_err(), ValidateError::Unknown);
        assert_eq!(
            validate("", Stored::default(), Redemption::Registration, 0).unwrap_err(),
            ValidateError::NoToken
        );
        let malformed = validate("x", Stored::default(), Redemption::Registration, 0).unwrap_err();
        assert!(matches!(malformed, ValidateError::Malformed(_)));
        assert_eq!(
            malformed.to_string(),
            "token-invalid: a token has 16 to 128 characters, this one has 1"
        );
        let other = validate(
            "AAAAAAAAAAAAAAAAAAAAAAAA",
            Stored {
                record: Some(&a),
                contact_expires: None,
            },
            Redemption::Registration,
            0,
        );
        assert_eq!(other.unwrap_err(), ValidateError::Unknown);
        let mut closed = contact();
        closed.allow_registration = false;
        assert_eq!(
            reg(Some(&closed), 0).unwrap_err(),
            ValidateError::NotForRegistration
        );
    }

    #[test]
    fn contact_registration_removes_both_entries() {
        let c = contact();
        let v = reg(Some(&c), 0).unwrap();
        assert_eq!(v.inviter(), Some("juliet"));
        assert_eq!(
            v.use_changes(),
            [
                StorageChange::DeleteContactExpiry {
                    user: "juliet".into(),
                    token: T.into()
                },
                StorageChange::DeleteRecord { token: T.into() }
            ]
        );
    }

    #[test]
    fn subscription() {
        let sub = |r: Option<&InviteRecord>, e: Option<i64>, who: &str, now| {
            validate(
                T,
                Stored {
                    record: r,
                    contact_expires: e,
                },
                Redemption::Subscription { inviter: who },
                now,
            )
        };
        // Contact-only: only the user-level entry exists.
        let v = sub(None, Some(50), "juliet", 50).unwrap();
        assert_eq!(v.invite_type(), InviteType::ContactOnly);
        assert!(v.is_for_subscription());
        assert_eq!(
            sub(None, Some(50), "juliet", 51).unwrap_err(),
            ValidateError::Expired { expired_at: 50 }
        );
        assert_eq!(
            sub(None, None, "juliet", 0).unwrap_err(),
            ValidateError::Unknown
        );
        // Only the host-level record: accepted for the right inviter.
        let c = contact();
        assert!(sub(Some(&c), None, "Juliet", 0).is_ok());
        assert_eq!(
            sub(Some(&c), None, "romeo", 0).unwrap_err(),
            ValidateError::WrongInviter
        );
        // An account invite is not a subscription invite.
        assert_eq!(
            sub(Some(&account()), None, "juliet", 0).unwrap_err(),
            ValidateError::Unknown
        );
        assert_eq!(
            sub(None, Some(50), "bad name", 0).unwrap_err(),
            ValidateError::Unknown
        );
    }

    #[test]
    fn tokens_are_compared_in_constant_time() {
        use crate::token::tests::ct_calls;
        let a = account();
        // Right token, wrong token, hashed record: every comparison of a
        // presented token with a stored one goes through subtle.
        assert_eq!(ct_calls(|| assert!(reg(Some(&a), 0).is_ok())), 1);
        let other = |r: &InviteRecord| {
            validate(
                "AAAAAAAAAAAAAAAAAAAAAAAA",
                Stored {
                    record: Some(r),
                    contact_expires: None,
                },
                Redemption::Registration,
                0,
            )
        };
        assert_eq!(ct_calls(|| assert!(other(&a).is_err())), 1);
        let mut hashed = a.clone();
        hashed.token = crate::token::hashed_key(T);
        assert_eq!(ct_calls(|| assert!(reg(Some(&hashed), 0).is_ok())), 1);
        assert_eq!(
            ct_calls(|| assert!(crate::reserved_by("x", [&a], 0, Some(T)).is_none())),
            1
        );
    }

    #[test]
    fn clock_faults_have_defined_answers() {
        let mut a = account();
        // A clock before created_at (or an invite created with a clock in
        // the future): valid until it expires, no panic.
        a.created_at = Some(i64::MAX);
        assert!(reg(Some(&a), 0).is_ok());
        assert!(reg(Some(&a), i64::MIN).is_ok());
        // Expiry at the ends of the range.
        a.expires = Some(i64::MIN);
        assert_eq!(reg(Some(&a), i64::MIN).unwrap().expires(), i64::MIN);
        assert_eq!(
            reg(Some(&a), i64::MIN + 1).unwrap_err(),
            ValidateError::Expired {
                expired_at: i64::MIN
            }
        );
        a.expires = Some(i64::MAX);
        assert!(reg(Some(&a), i64::MAX).is_ok());
        // No expiry at all reads as never: NEVER_EXPIRES, here and in
        // is_expired alike.
        a.expires = None;
        assert!(a.is_expired(i64::MAX - 1) && !a.is_expired(crate::NEVER_EXPIRES));
        assert_eq!(
            reg(Some(&a), i64::MAX - 1).unwrap_err(),
            ValidateError::Expired {
                expired_at: crate::NEVER_EXPIRES
            }
        );
        assert!(reg(Some(&a), crate::NEVER_EXPIRES).is_ok());
    }

    #[test]
    fn reusable_and_max_uses() {
        let mut g = account();
        g.reusable = Some(true);
        assert!(reg(Some(&g), 0).unwrap().use_changes().is_empty());
        let mut m = account();
        m.max_uses = Some(2);
        let first = reg(Some(&m), 0).unwrap().use_changes();
        let [StorageChange::PutRecord { record, .. }] = &first[..] else {
            panic!("{first:?}")
        };
        assert_eq!(record.uses, Some(1));
        let second = reg(Some(record), 0).unwrap().use_changes();
        assert_eq!(second, [StorageChange::DeleteRecord { token: T.into() }]);
        let mut spent = m.clone();
        spent.uses = Some(2);
        assert_eq!(reg(Some(&spent), 0).unwrap_err(), ValidateError::UsedUp);
        // max_uses caps a reusable group invite too.
        m.reusable = Some(true);
        assert_eq!(reg(Some(&m), 0).unwrap().use_changes().len(), 1);
    }
}
