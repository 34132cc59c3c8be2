//! The kinds of invite, and the names hosts and landing pages know them by.

use std::fmt;
use std::str::FromStr;

/// What an invite is for, without its data: the unit that permission policy,
/// landing pages and listings reason about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InviteType {
    /// Register an account, with any username or one bound username.
    Account,
    /// Reset the password of an existing account.
    PasswordReset,
    /// Become a contact of the inviter; no registration.
    ContactOnly,
    /// Become a contact of the inviter, registering an account if needed.
    AccountAndContact,
    /// Register an account that joins groups; reusable until expiry when
    /// created with a TTL.
    Group,
}

impl InviteType {
    /// Every type, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Account,
        Self::PasswordReset,
        Self::ContactOnly,
        Self::AccountAndContact,
        Self::Group,
    ];

    /// The landing-page type name (Prosody's `invites_page_supports`):
    /// `account`, `password-reset`, `contact-only` or `account-and-contact`.
    /// A group invite is an account invite to a landing page.
    pub fn page_type(self) -> &'static str {
        match self {
            Self::Account | Self::Group => "account",
            Self::PasswordReset => "password-reset",
            Self::ContactOnly => "contact-only",
            Self::AccountAndContact => "account-and-contact",
        }
    }

    /// A stable name for this type (`account`, `password-reset`,
    /// `contact-only`, `account-and-contact`, `group`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            other => other.page_type(),
        }
    }

    /// Whether an invite of this type lets its holder register an account.
    pub fn allows_registration(self) -> bool {
        !matches!(self, Self::ContactOnly)
    }
}

impl fmt::Display for InviteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invite type name that is not one of the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown invite type {0:?}: expected account, password-reset, contact-only, account-and-contact or group"
)]
pub struct UnknownInviteType(pub String);

impl FromStr for InviteType {
    type Err = UnknownInviteType;

    /// Parses the names of [`InviteType::as_str`]. `contact` is accepted
    /// for `contact-only`: Prosody's default `invites_page_supports` says
    /// `contact` where its code says `contact-only`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "account" => Self::Account,
            "password-reset" => Self::PasswordReset,
            "contact-only" | "contact" => Self::ContactOnly,
            "account-and-contact" => Self::AccountAndContact,
            "group" => Self::Group,
            _ => return Err(UnknownInviteType(s.to_owned())),
        })
    }
}

/// An invite to create, with the data its kind needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteKind {
    /// An account invite, for any username or bound to `username`.
    Account {
        /// The only username the invite registers, if bound.
        username: Option<String>,
    },
    /// A password reset for `username` (1 day by default).
    PasswordReset {
        /// The account whose password may be reset.
        username: String,
    },
    /// A contact invite from `inviter`; with `allow_registration` the invitee
    /// may also register here (`ibr=y`).
    Contact {
        /// The local user who invites.
        inviter: String,
        /// Whether the token also allows registering an account.
        allow_registration: bool,
    },
    /// An account invite that joins `groups`; reusable until expiry when a
    /// TTL is given, as Prosody's `create_group` does.
    Group {
        /// The group IDs.
        groups: Vec<String>,
    },
}

impl InviteKind {
    /// The type of this kind.
    pub fn invite_type(&self) -> InviteType {
        match self {
            Self::Account { .. } => InviteType::Account,
            Self::PasswordReset { .. } => InviteType::PasswordReset,
            Self::Contact {
                allow_registration: true,
                ..
            } => InviteType::AccountAndContact,
            Self::Contact { .. } => InviteType::ContactOnly,
            Self::Group { .. } => InviteType::Group,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in InviteType::ALL {
            assert_eq!(t.as_str().parse::<InviteType>().unwrap(), t);
        }
        assert_eq!(
            "contact".parse::<InviteType>().unwrap(),
            InviteType::ContactOnly
        );
        assert!("Account".parse::<InviteType>().is_err());
        assert_eq!(InviteType::Group.page_type(), "account");
    }
}
