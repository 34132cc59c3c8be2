//! The registration gate: may this username be registered with this invite
//! (or without one)?

use crate::jid::{JidError, prep_username};
use crate::record::Roles;
use crate::validate::ValidInvite;

/// A registration attempt, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationAttempt<'a> {
    /// The requested username.
    pub username: &'a str,
    /// Whether an account with that username exists already.
    pub account_exists: bool,
    /// Whether another pending invite reserves that username (see
    /// [`crate::reserved_by`]).
    pub reserved: bool,
}

/// What the host does when the gate admits the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Register without an invite (the server is not invite-only).
    Open,
    /// Register a new account through the invite; afterwards apply
    /// [`ValidInvite::use_changes`], make the account a mutual contact of
    /// `inviter` (with a roster push to the inviter), grant `roles`, and add
    /// it to `groups`.
    NewAccount {
        /// The username, nodeprepped.
        username: String,
        /// The local user to become a mutual contact of.
        inviter: Option<String>,
        /// Roles to grant, primary first.
        roles: Option<Roles>,
        /// Groups to join.
        groups: Vec<String>,
    },
    /// Set a new password on the existing account; afterwards apply
    /// [`ValidInvite::use_changes`].
    PasswordReset {
        /// The username, nodeprepped.
        username: String,
    },
}

/// Why a registration was refused. The messages are the servers' texts
/// where they have one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// No invite, and registration is by invitation only.
    #[error("Registration on this server is through invitation only")]
    InviteOnly,
    /// The username is not a valid localpart.
    #[error("The requested username is invalid.")]
    InvalidUsername(JidError),
    /// The invite is bound to another username.
    #[error("The chosen username is not valid with this invitation")]
    UsernameMismatch {
        /// The username the invite is bound to.
        bound: String,
    },
    /// A reset invite used for another username.
    #[error("Incorrect username for password reset")]
    ResetUsernameMismatch,
    /// A reset invite used where no account exists: it resets passwords, it
    /// does not create accounts.
    #[error(
        "This invitation resets the password of an existing account and cannot create a new one"
    )]
    ResetWithoutAccount,
    /// The account exists already.
    #[error("The requested username already exists.")]
    AccountExists,
    /// Another pending invite reserves the username.
    #[error("Username is reserved")]
    Reserved,
    /// The invite was validated for a subscription, not registration.
    #[error("The invite token is invalid or expired")]
    NotForRegistration,
}

impl GateError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InviteOnly => "invite-only",
            Self::InvalidUsername(_) => "invalid-username",
            Self::UsernameMismatch { .. } => "username-mismatch",
            Self::ResetUsernameMismatch => "reset-username-mismatch",
            Self::ResetWithoutAccount => "reset-without-account",
            Self::AccountExists => "account-exists",
            Self::Reserved => "username-reserved",
            Self::NotForRegistration => "not-for-registration",
        }
    }
}

impl GateError {
    /// The XMPP error condition to answer with: `conflict` for an existing
    /// account, `not-allowed` for a reserved name, `not-acceptable` otherwise.
    pub fn condition(&self) -> &'static str {
        match self {
            Self::AccountExists => "conflict",
            Self::Reserved => "not-allowed",
            _ => "not-acceptable",
        }
    }
}

/// The gate, configured as `registration_invite_only` says.
///
/// ```
/// use xmpp_invites::{GateError, RegistrationAttempt, RegistrationGate};
/// let gate = RegistrationGate { invite_only: true };
/// let attempt = RegistrationAttempt { username: "romeo", account_exists: false, reserved: false };
/// assert_eq!(gate.check(None, attempt), Err(GateError::InviteOnly));
/// assert_eq!(
///     GateError::InviteOnly.to_string(),
///     "Registration on this server is through invitation only"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationGate {
    /// Refuse registration without a valid invite (Prosody's default: true).
    pub invite_only: bool,
}

impl Default for RegistrationGate {
    fn default() -> Self {
        Self { invite_only: true }
    }
}

impl RegistrationGate {
    /// Decides a registration attempt with the invite validated on the
    /// session, if any. Unlike stock Prosody, a bound username and a reset
    /// username are enforced, and a reset invite never creates an account.
    pub fn check(
        &self,
        invite: Option<&ValidInvite>,
        attempt: RegistrationAttempt<'_>,
    ) -> Result<Admission, GateError> {
        let username = prep_username(attempt.username).map_err(GateError::InvalidUsername)?;
        let Some(invite) = invite else {
            if self.invite_only {
                return Err(GateError::InviteOnly);
            }
            if attempt.account_exists {
                return Err(GateError::AccountExists);
            }
            if attempt.reserved {
                return Err(GateError::Reserved);
            }
            return Ok(Admission::Open);
        };
        if invite.is_for_subscription() {
            return Err(GateError::NotForRegistration);
        }
        let same = |name: &str| prep_username(name).is_ok_and(|n| n == username);
        if let Some(reset) = invite.reset_username() {
            if !same(reset) {
                return Err(GateError::ResetUsernameMismatch);
            }
            if !attempt.account_exists {
                return Err(GateError::ResetWithoutAccount);
            }
            return Ok(Admission::PasswordReset { username });
        }
        if let Some(bound) = invite.bound_username() {
            if !same(bound) {
                return Err(GateError::UsernameMismatch {
                    bound: bound.to_owned(),
                });
            }
        } else if attempt.reserved {
            return Err(GateError::Reserved);
        }
        if attempt.account_exists {
            return Err(GateError::AccountExists);
        }
        let data = invite.additional_data();
        Ok(Admission::NewAccount {
            username,
            inviter: invite.inviter().map(str::to_owned),
            roles: data.and_then(|d| d.roles.clone()),
            groups: data.map(|d| d.group_list().to_vec()).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::InviteRecord;
    use crate::validate::{Redemption, Stored, validate};

    const T: &str = "EcuaIHblxEcxf-A5duTy_3PC";

    fn valid(json: &str, redemption: Redemption<'_>) -> ValidInvite {
        let r = InviteRecord::from_json(json).unwrap();
        validate(
            T,
            Stored {
                record: Some(&r),
                contact_expires: Some(10),
            },
            redemption,
            0,
        )
        .unwrap()
    }

    fn attempt(username: &str, account_exists: bool) -> RegistrationAttempt<'_> {
        RegistrationAttempt {
            username,
            account_exists,
            reserved: false,
        }
    }

    #[test]
    fn without_invite() {
        let open = RegistrationGate { invite_only: false };
        assert_eq!(
            open.check(None, attempt("romeo", false)),
            Ok(Admission::Open)
        );
        assert_eq!(
            open.check(None, attempt("romeo", true)),
            Err(GateError::AccountExists)
        );
        assert_eq!(
            open.check(
                None,
                RegistrationAttempt {
                    reserved: true,
                    ..attempt("romeo", false)
                }
            ),
            Err(GateError::Reserved)
        );
        assert!(matches!(
            open.check(None, attempt("a b", false)),
            Err(GateError::InvalidUsername(_))
        ));
        assert_eq!(
            RegistrationGate::default().check(None, attempt("romeo", false)),
            Err(GateError::InviteOnly)
        );
    }

    #[test]
    fn bound_username_is_enforced() {
        let gate = RegistrationGate::default();
        let v = valid(
            &format!(
                r#"{{"type":"register","jid":"romeo@example.com","token":"{T}","allow_registration":true,"additional_data":{{"roles":["prosody:member"],"groups":["g"]}},"expires":1}}"#
            ),
            Redemption::Registration,
        );
        assert_eq!(
            gate.check(Some(&v), attempt("juliet", false)),
            Err(GateError::UsernameMismatch {
                bound: "romeo".into()
            })
        );
        // The reservation is this invite's own: no refusal.
        let admitted = gate
            .check(
                Some(&v),
                RegistrationAttempt {
                    reserved: true,
                    ..attempt("ROMEO", false)
                },
            )
            .unwrap();
        assert_eq!(
            admitted,
            Admission::NewAccount {
                username: "romeo".into(),
                inviter: None,
                roles: Some(Roles::Ordered(vec!["prosody:member".into()])),
                groups: vec!["g".into()],
            }
        );
        assert_eq!(
            gate.check(Some(&v), attempt("romeo", true)),
            Err(GateError::AccountExists)
        );
    }

    #[test]
    fn reset_invites() {
        let gate = RegistrationGate::default();
        let v = valid(
            &format!(
                r#"{{"type":"register","jid":"romeo@example.com","token":"{T}","allow_registration":true,"additional_data":{{"allow_reset":"romeo"}},"expires":1}}"#
            ),
            Redemption::Registration,
        );
        assert_eq!(
            gate.check(Some(&v), attempt("romeo", true)),
            Ok(Admission::PasswordReset {
                username: "romeo".into()
            })
        );
        assert_eq!(
            gate.check(Some(&v), attempt("romeo", false)),
            Err(GateError::ResetWithoutAccount)
        );
        assert_eq!(
            gate.check(Some(&v), attempt("juliet", true)),
            Err(GateError::ResetUsernameMismatch)
        );
        assert_eq!(
            GateError::ResetUsernameMismatch.to_string(),
            "Incorrect username for password reset"
        );
    }

    #[test]
    fn contact_invites() {
        let gate = RegistrationGate::default();
        let json = format!(
            r#"{{"type":"roster","jid":"juliet@example.com","token":"{T}","allow_registration":true,"expires":1}}"#
        );
        let v = valid(&json, Redemption::Registration);
        let Ok(Admission::NewAccount { inviter, .. }) =
            gate.check(Some(&v), attempt("romeo", false))
        else {
            panic!()
        };
        assert_eq!(inviter.as_deref(), Some("juliet"));
        assert_eq!(
            gate.check(
                Some(&v),
                RegistrationAttempt {
                    reserved: true,
                    ..attempt("romeo", false)
                }
            ),
            Err(GateError::Reserved)
        );
        let s = valid(&json, Redemption::Subscription { inviter: "juliet" });
        assert_eq!(
            gate.check(Some(&s), attempt("romeo", false)),
            Err(GateError::NotForRegistration)
        );
        assert_eq!(GateError::AccountExists.condition(), "conflict");
    }
}
