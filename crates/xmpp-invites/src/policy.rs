//! Who may create which invites: Prosody's `mod_invites_adhoc` rules, with a
//! reason for every decision.

use std::fmt;

use crate::jid::{BareJid, JidError, prep_host};
use crate::kind::InviteType;

/// The role that makes an account an admin in Prosody.
pub const ADMIN_ROLE: &str = "prosody:admin";

/// Invite permissions of one host.
///
/// ```
/// use xmpp_invites::{InviteType, Policy, Requester};
/// let policy = Policy::invites_adhoc("example.com");
/// let alice = Requester::parse("alice@example.com/phone").unwrap();
/// assert!(policy.decide(&alice, InviteType::ContactOnly).allowed);
/// let d = policy.decide(&alice, InviteType::Account);
/// assert!(!d.allowed);
/// assert_eq!(d.reason.to_string(), "only admins may create account invites");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The host whose users this policy serves.
    pub host: String,
    /// `allow_user_invites`: may non-admins create invites that register
    /// accounts (contact invites with `ibr=y`)?
    pub allow_user_invites: bool,
    /// `allow_contact_invites`: may non-admins create contact invites?
    pub allow_contact_invites: bool,
    /// `allow_user_invites_by_roles`: roles that may, whatever the default.
    /// Checked before the deny list, as Prosody does.
    pub allow_user_invites_by_roles: Vec<String>,
    /// `deny_user_invites_by_roles`: roles that may not.
    pub deny_user_invites_by_roles: Vec<String>,
}

impl Policy {
    /// `mod_invites_adhoc`'s defaults: `allow_user_invites = false`,
    /// `allow_contact_invites = true`, no role lists.
    pub fn invites_adhoc(host: &str) -> Self {
        Self {
            host: host.to_owned(),
            allow_user_invites: false,
            allow_contact_invites: true,
            allow_user_invites_by_roles: Vec::new(),
            deny_user_invites_by_roles: Vec::new(),
        }
    }

    /// `mod_easy_invite`'s defaults: `allow_user_invites = true`.
    pub fn easy_invite(host: &str) -> Self {
        Self {
            allow_user_invites: true,
            ..Self::invites_adhoc(host)
        }
    }

    fn is_local(&self, requester: &Requester) -> bool {
        requester.username.is_some()
            && (requester.host == self.host
                || prep_host(&self.host).is_ok_and(|h| h == requester.host))
    }

    /// Whether the requester may create invites that register accounts on
    /// this host (Prosody's `may_invite_new_users`): admins always; then
    /// the first allowed role; then the first denied role; then
    /// `allow_user_invites`. For a requester with the host's own answer
    /// ([`Requester::invite_permission`]) that answer stands in for both
    /// the admin check and `allow_user_invites`, after the role lists.
    pub fn may_invite_new_users(&self, requester: &Requester) -> Decision {
        if !self.is_local(requester) {
            return Decision::deny(Reason::OtherHost {
                host: self.host.clone(),
            });
        }
        if requester.invite_permission.is_none() && requester.is_admin() {
            return Decision::allow(Reason::Admin);
        }
        if let Some(role) = self
            .allow_user_invites_by_roles
            .iter()
            .find(|r| requester.has_role(r))
        {
            return Decision::allow(Reason::RoleAllowed(role.clone()));
        }
        if let Some(role) = self
            .deny_user_invites_by_roles
            .iter()
            .find(|r| requester.has_role(r))
        {
            return Decision::deny(Reason::RoleDenied(role.clone()));
        }
        match requester.invite_permission {
            Some(granted) => Decision {
                allowed: granted,
                reason: Reason::Permission(granted),
            },
            None => Decision {
                allowed: self.allow_user_invites,
                reason: Reason::AllowUserInvites(self.allow_user_invites),
            },
        }
    }

    /// Whether the requester may create an invite of type `t`: account,
    /// group and reset invites admins only (as Prosody, an admin of this
    /// host whose account is elsewhere, such as a global admin, too);
    /// contact invites, which make the requester's account here a contact,
    /// local users only: contact-only ones when `allow_contact_invites`,
    /// account-and-contact ones as [`Policy::may_invite_new_users`].
    pub fn decide(&self, requester: &Requester, t: InviteType) -> Decision {
        match t {
            InviteType::Account | InviteType::Group | InviteType::PasswordReset => {
                if requester.is_admin() {
                    Decision::allow(Reason::Admin)
                } else if !self.is_local(requester) {
                    Decision::deny(Reason::OtherHost {
                        host: self.host.clone(),
                    })
                } else {
                    Decision::deny(Reason::AdminOnly(t))
                }
            }
            _ if !self.is_local(requester) => Decision::deny(Reason::OtherHost {
                host: self.host.clone(),
            }),
            InviteType::ContactOnly if requester.is_admin() => Decision::allow(Reason::Admin),
            InviteType::ContactOnly => Decision {
                allowed: self.allow_contact_invites,
                reason: Reason::AllowContactInvites(self.allow_contact_invites),
            },
            InviteType::AccountAndContact => self.may_invite_new_users(requester),
        }
    }

    /// What the contact invite command creates for this requester: an
    /// account-and-contact invite (`ibr=y`) when they may invite new users,
    /// else contact-only; or the refusal when they may not create contact
    /// invites at all.
    pub fn contact_invite(&self, requester: &Requester) -> Result<ContactInvite, Decision> {
        let contact = self.decide(requester, InviteType::ContactOnly);
        if !contact.allowed {
            return Err(contact);
        }
        let registration = self.may_invite_new_users(requester);
        Ok(ContactInvite {
            invite_type: if registration.allowed {
                InviteType::AccountAndContact
            } else {
                InviteType::ContactOnly
            },
            registration,
        })
    }
}

/// What the contact invite command creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInvite {
    /// Contact-only, or account-and-contact (`ibr=y`).
    pub invite_type: InviteType,
    /// Why the invite does or does not allow registration.
    pub registration: Decision,
}

/// Who asks for an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    username: Option<String>,
    host: String,
    admin: bool,
    roles: Vec<String>,
    invite_permission: Option<bool>,
}

impl Requester {
    /// The requester by JID (a full JID's resource is dropped).
    pub fn parse(jid: &str) -> Result<Self, JidError> {
        let bare = jid.split_once('/').map_or(jid, |(bare, _)| bare);
        let jid = BareJid::parse(bare)?;
        Ok(Self {
            username: jid.username().map(str::to_owned),
            host: jid.host().to_owned(),
            admin: false,
            roles: Vec::new(),
            invite_permission: None,
        })
    }

    /// Marks the requester as an admin (Prosody's `is_admin`).
    pub fn admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// The requester's roles; `prosody:admin` makes an admin.
    pub fn with_roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The host's own answer to whether the requester may invite new
    /// users, where the host has a permission for it (Prosody 13's
    /// `invites_adhoc:invite-users`, which admins can grant and take away
    /// per role). [`Policy::may_invite_new_users`] then takes it in place
    /// of the admin check and `allow_user_invites` (which the host's
    /// default for the permission reflects); the role lists still come
    /// first.
    pub fn invite_permission(mut self, granted: bool) -> Self {
        self.invite_permission = Some(granted);
        self
    }

    /// The username, normalised.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The host, normalised.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether an admin (flag or `prosody:admin` role).
    pub fn is_admin(&self) -> bool {
        self.admin || self.has_role(ADMIN_ROLE)
    }

    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether it is allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    fn allow(reason: Reason) -> Self {
        Self {
            allowed: true,
            reason,
        }
    }

    fn deny(reason: Reason) -> Self {
        Self {
            allowed: false,
            reason,
        }
    }
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The requester is not a user of this host.
    OtherHost {
        /// This host.
        host: String,
    },
    /// The requester is an admin.
    Admin,
    /// Only admins may create this type.
    AdminOnly(InviteType),
    /// A role in `allow_user_invites_by_roles`.
    RoleAllowed(String),
    /// A role in `deny_user_invites_by_roles`.
    RoleDenied(String),
    /// The `allow_user_invites` setting.
    AllowUserInvites(bool),
    /// The `allow_contact_invites` setting.
    AllowContactInvites(bool),
    /// The host's permission to invite new users
    /// ([`Requester::invite_permission`]).
    Permission(bool),
}

impl Reason {
    /// A stable machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OtherHost { .. } => "other-host",
            Self::Admin => "admin",
            Self::AdminOnly(_) => "admin-only",
            Self::RoleAllowed(_) => "role-allowed",
            Self::RoleDenied(_) => "role-denied",
            Self::AllowUserInvites(_) => "allow-user-invites",
            Self::AllowContactInvites(_) => "allow-contact-invites",
            Self::Permission(_) => "permission",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OtherHost { host } => {
                write!(f, "This command is only available to users of {host}")
            }
            Self::Admin => f.write_str("admins may always create invites"),
            Self::AdminOnly(t) => match t {
                InviteType::PasswordReset => {
                    f.write_str("only admins may create password reset invites")
                }
                InviteType::Group => f.write_str("only admins may create group invites"),
                _ => f.write_str("only admins may create account invites"),
            },
            Self::RoleAllowed(r) => write!(f, "role {r} is in allow_user_invites_by_roles"),
            Self::RoleDenied(r) => write!(f, "role {r} is in deny_user_invites_by_roles"),
            Self::AllowUserInvites(true) => f.write_str("allow_user_invites is enabled"),
            Self::AllowUserInvites(false) => f.write_str("allow_user_invites is disabled"),
            Self::AllowContactInvites(true) => f.write_str("allow_contact_invites is enabled"),
            Self::AllowContactInvites(false) => f.write_str("allow_contact_invites is disabled"),
            Self::Permission(true) => {
                f.write_str("the host grants the permission to invite new users")
            }
            Self::Permission(false) => {
                f.write_str("the host does not grant the permission to invite new users")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(jid: &str) -> Requester {
        Requester::parse(jid).unwrap()
    }

    #[test]
    fn adhoc_defaults() {
        let p = Policy::invites_adhoc("example.com");
        let alice = user("alice@example.com");
        let admin = user("admin@example.com").with_roles([ADMIN_ROLE]);
        assert_eq!(
            p.contact_invite(&alice).unwrap().invite_type,
            InviteType::ContactOnly
        );
        assert_eq!(
            p.contact_invite(&admin).unwrap().invite_type,
            InviteType::AccountAndContact
        );
        for t in [
            InviteType::Account,
            InviteType::Group,
            InviteType::PasswordReset,
        ] {
            assert!(!p.decide(&alice, t).allowed);
            assert!(p.decide(&admin, t).allowed);
        }
        let remote = p.decide(
            &user("eve@evil.example").admin(true),
            InviteType::ContactOnly,
        );
        assert_eq!(
            remote.reason.to_string(),
            "This command is only available to users of example.com"
        );
        assert!(
            !p.decide(&user("example.com"), InviteType::ContactOnly)
                .allowed
        );
        // An admin of this host homed elsewhere (a global admin) may create
        // invites that make no contact of them; nobody else from elsewhere.
        let global = user("root@other.example").admin(true);
        let stranger = user("eve@evil.example");
        for t in [
            InviteType::Account,
            InviteType::Group,
            InviteType::PasswordReset,
        ] {
            assert_eq!(p.decide(&global, t), Decision::allow(Reason::Admin));
            assert_eq!(p.decide(&stranger, t).reason.code(), "other-host");
        }
        for t in [InviteType::ContactOnly, InviteType::AccountAndContact] {
            assert_eq!(p.decide(&global, t).reason.code(), "other-host");
        }
        assert!(p.contact_invite(&global).is_err());
    }

    #[test]
    fn easy_invite_defaults() {
        let p = Policy::easy_invite("example.com");
        let c = p.contact_invite(&user("alice@example.com")).unwrap();
        assert_eq!(c.invite_type, InviteType::AccountAndContact);
        assert_eq!(c.registration.reason, Reason::AllowUserInvites(true));
    }

    #[test]
    fn roles_allow_before_deny() {
        let p = Policy {
            allow_user_invites_by_roles: vec!["trusted".into()],
            deny_user_invites_by_roles: vec!["trusted".into(), "guest".into()],
            allow_user_invites: true,
            ..Policy::invites_adhoc("example.com")
        };
        let trusted = user("a@example.com").with_roles(["trusted"]);
        assert_eq!(
            p.may_invite_new_users(&trusted).reason,
            Reason::RoleAllowed("trusted".into())
        );
        let guest = user("b@example.com").with_roles(["guest"]);
        let d = p.may_invite_new_users(&guest);
        assert!(!d.allowed);
        assert_eq!(d.reason.code(), "role-denied");
        assert_eq!(
            p.contact_invite(&guest).unwrap().invite_type,
            InviteType::ContactOnly
        );
    }

    #[test]
    fn contact_invites_can_be_admin_only() {
        let p = Policy {
            allow_contact_invites: false,
            ..Policy::invites_adhoc("example.com")
        };
        let refused = p.contact_invite(&user("alice@example.com")).unwrap_err();
        assert_eq!(refused.reason, Reason::AllowContactInvites(false));
        assert!(
            p.contact_invite(&user("root@example.com").admin(true))
                .is_ok()
        );
    }

    #[test]
    fn the_hosts_permission_stands_in_for_admin_and_allow_user_invites() {
        let p = Policy {
            allow_user_invites: true,
            allow_user_invites_by_roles: vec!["trusted".into()],
            deny_user_invites_by_roles: vec!["prosody:registered".into()],
            ..Policy::invites_adhoc("example.com")
        };
        // An admin without the permission (taken away by the host) may not.
        let admin = user("root@example.com")
            .with_roles([ADMIN_ROLE])
            .admin(true);
        let d = p.may_invite_new_users(&admin.invite_permission(false));
        assert_eq!((d.allowed, &d.reason), (false, &Reason::Permission(false)));
        assert_eq!(
            d.reason.to_string(),
            "the host does not grant the permission to invite new users"
        );
        // A user with it may, but not past the deny list...
        let member = user("alice@example.com").with_roles(["prosody:member"]);
        let d = p.may_invite_new_users(&member.clone().invite_permission(true));
        assert_eq!((d.allowed, d.reason.code()), (true, "permission"));
        let registered = user("bob@example.com").with_roles(["prosody:registered"]);
        let d = p.may_invite_new_users(&registered.invite_permission(true));
        assert_eq!(d.reason, Reason::RoleDenied("prosody:registered".into()));
        // ...and the allow list grants without it.
        let trusted = user("carol@example.com").with_roles(["trusted"]);
        assert!(
            p.may_invite_new_users(&trusted.invite_permission(false))
                .allowed
        );
        // allow_user_invites no longer decides for a user without it.
        let d = p.contact_invite(&member.invite_permission(false)).unwrap();
        assert_eq!(d.invite_type, InviteType::ContactOnly);
        assert_eq!(d.registration.reason, Reason::Permission(false));
    }

    #[test]
    fn host_is_compared_normalised() {
        let p = Policy::invites_adhoc("MÜNCHEN.example");
        assert!(
            p.decide(&user("a@münchen.example"), InviteType::ContactOnly)
                .allowed
        );
    }
}
