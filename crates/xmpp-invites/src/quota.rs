//! Quotas, as ejabberd has them and Prosody does not: a per-inviter cap, an
//! invite-tree cap, a limit on quick invite→register→invite chains, and
//! bound usernames held in reserve. Pure decisions over a history the host
//! supplies.

use std::collections::{HashMap, HashSet};

use crate::jid::{JidError, prep_username};
use crate::kind::InviteType;
use crate::record::InviteRecord;

/// One invite in the host's history (pending, used, or expired but not yet
/// cleaned up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvite {
    /// The inviting username on this host; `None` for invites the server or
    /// an admin API made.
    pub inviter: Option<String>,
    /// Its type.
    pub invite_type: InviteType,
    /// Unix seconds at creation.
    pub created_at: i64,
    /// Unix seconds of expiry.
    pub expires: i64,
    /// The username registered with it, once used for a registration.
    pub redeemed_by: Option<String>,
}

/// ejabberd's chain limit: an account invite is refused when the invite
/// `depth` generations up the requester's chain (1 = the invite the
/// requester registered with) was created less than `window` seconds ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLimit {
    /// How many generations up to look (ejabberd: 3).
    pub depth: u32,
    /// Seconds (ejabberd: 300).
    pub window: i64,
}

/// The limits, each optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quotas {
    /// Most account invites one user may have outstanding plus used
    /// (ejabberd's `max_invites`); admins are exempt, contact-only invites
    /// are not counted unless used to register.
    pub max_invites: Option<u32>,
    /// Most invites one invite tree may hold (ejabberd: 1000).
    pub max_tree_size: Option<u32>,
    /// The chain limit.
    pub chain: Option<ChainLimit>,
}

/// Why a quota refused an invite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    /// The per-user cap is reached.
    #[error("Maximum number of invites reached")]
    MaxInvites {
        /// The cap.
        limit: u32,
    },
    /// The invite tree is full.
    #[error("Maximum number of invites reached for this chain of invitations")]
    TreeFull {
        /// The cap.
        limit: u32,
    },
    /// Invites are spreading too quickly along this chain.
    #[error("Invitations are being passed on too quickly; try again in {retry_after} seconds")]
    ChainTooFast {
        /// Seconds until the invite may be created.
        retry_after: i64,
    },
    /// The requester is not a username (a JID, an empty string, a name
    /// nodeprep refuses): no limit could be checked against it, so nothing
    /// is allowed.
    #[error("the requester must be a username on this host (not a JID): {0}")]
    InvalidRequester(#[source] JidError),
}

impl QuotaError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MaxInvites { .. } => "max-invites",
            Self::TreeFull { .. } => "invite-tree-full",
            Self::ChainTooFast { .. } => "chain-too-fast",
            Self::InvalidRequester(_) => "invalid-username",
        }
    }
}

impl Quotas {
    /// ejabberd's limits with the given `max_invites`: a tree of at most
    /// 1000 invites, and no account invite when the invite three generations
    /// up is less than 5 minutes old.
    pub fn ejabberd(max_invites: Option<u32>) -> Self {
        Self {
            max_invites,
            max_tree_size: Some(1000),
            chain: Some(ChainLimit {
                depth: 3,
                window: 300,
            }),
        }
    }

    /// Whether `requester` (a username on this host; `is_admin` as the host
    /// knows) may create an invite of type `t` at `now`, given the host's
    /// `history`. A requester that is not a username (`alice@example.com`,
    /// `""`) is [`QuotaError::InvalidRequester`]: refused, not let through
    /// every limit.
    ///
    /// ```
    /// use xmpp_invites::{InviteType, IssuedInvite, Quotas, QuotaError};
    /// let quotas = Quotas { max_invites: Some(1), ..Quotas::default() };
    /// let history = [IssuedInvite {
    ///     inviter: Some("alice".into()), invite_type: InviteType::AccountAndContact,
    ///     created_at: 0, expires: 100, redeemed_by: None,
    /// }];
    /// let refused = quotas.check("alice", false, InviteType::AccountAndContact, &history, 50);
    /// assert_eq!(refused, Err(QuotaError::MaxInvites { limit: 1 }));
    /// // Once that invite expired unused it no longer counts.
    /// assert!(quotas.check("alice", false, InviteType::AccountAndContact, &history, 101).is_ok());
    /// ```
    pub fn check(
        &self,
        requester: &str,
        is_admin: bool,
        t: InviteType,
        history: &[IssuedInvite],
        now: i64,
    ) -> Result<(), QuotaError> {
        let requester = prep_username(requester).map_err(QuotaError::InvalidRequester)?;
        let history = History::new(history);
        let contact_only = t == InviteType::ContactOnly;
        if let Some(limit) = self.max_invites.filter(|_| !contact_only && !is_admin) {
            let used = history
                .by_inviter(&requester)
                .filter(|i| counts_against_cap(i, now))
                .count();
            if used >= limit as usize {
                return Err(QuotaError::MaxInvites { limit });
            }
        }
        let (root, chain) = history.ancestry(&requester);
        if let (Some(limit), false) = (self.chain, contact_only) {
            let depth = usize::try_from(limit.depth).unwrap_or(usize::MAX);
            if let Some(inv) = depth.checked_sub(1).and_then(|d| chain.get(d)) {
                let age = now.saturating_sub(inv.created_at);
                if age < limit.window {
                    return Err(QuotaError::ChainTooFast {
                        retry_after: limit.window.saturating_sub(age),
                    });
                }
            }
        }
        if let Some(limit) = self.max_tree_size {
            let size = if contact_only {
                history.by_inviter(&requester).count()
            } else {
                history.tree_size(&root)
            };
            if size >= limit as usize {
                return Err(QuotaError::TreeFull { limit });
            }
        }
        Ok(())
    }
}

fn counts_against_cap(invite: &IssuedInvite, now: i64) -> bool {
    match invite.invite_type {
        InviteType::ContactOnly => invite.redeemed_by.is_some(),
        _ => invite.redeemed_by.is_some() || invite.expires >= now,
    }
}

/// The history indexed by inviter and by the account each invite created.
struct History<'a> {
    by_inviter: HashMap<String, Vec<&'a IssuedInvite>>,
    brought_in: HashMap<String, &'a IssuedInvite>,
}

impl<'a> History<'a> {
    fn new(all: &'a [IssuedInvite]) -> Self {
        let mut by_inviter: HashMap<String, Vec<&IssuedInvite>> = HashMap::new();
        let mut brought_in = HashMap::new();
        for invite in all {
            if let Some(user) = invite
                .inviter
                .as_deref()
                .and_then(|u| prep_username(u).ok())
            {
                by_inviter.entry(user).or_default().push(invite);
            }
            if let Some(user) = invite
                .redeemed_by
                .as_deref()
                .and_then(|u| prep_username(u).ok())
            {
                brought_in.entry(user).or_insert(invite);
            }
        }
        Self {
            by_inviter,
            brought_in,
        }
    }

    fn by_inviter(&self, user: &str) -> impl Iterator<Item = &'a IssuedInvite> + '_ {
        self.by_inviter.get(user).into_iter().flatten().copied()
    }

    /// The root of `user`'s invite tree and the chain of invites from
    /// `user` upwards (the invite that brought `user` in first).
    fn ancestry(&self, user: &str) -> (String, Vec<&'a IssuedInvite>) {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut current = user.to_owned();
        while seen.insert(current.clone()) {
            let Some(invite) = self.brought_in.get(&current) else {
                break;
            };
            chain.push(*invite);
            match invite
                .inviter
                .as_deref()
                .and_then(|u| prep_username(u).ok())
            {
                Some(parent) => current = parent,
                None => break,
            }
        }
        (current, chain)
    }

    /// Every invite in the tree below `root`: unused contact-only invites
    /// are not counted; the tree follows accounts registered here.
    fn tree_size(&self, root: &str) -> usize {
        let mut size = 0;
        let mut seen = HashSet::from([root.to_owned()]);
        let mut stack = vec![root.to_owned()];
        while let Some(user) = stack.pop() {
            for invite in self.by_inviter(&user) {
                if invite.invite_type == InviteType::ContactOnly && invite.redeemed_by.is_none() {
                    continue;
                }
                size += 1;
                if let Some(child) = invite
                    .redeemed_by
                    .as_deref()
                    .and_then(|u| prep_username(u).ok())
                {
                    if seen.insert(child.clone()) {
                        stack.push(child);
                    }
                }
            }
        }
        size
    }
}

/// The pending invite, other than `except_token`, that reserves `username`:
/// an unexpired, unused account invite bound to it. `except_token` is the
/// presented token, and also excepts the record kept hashed at rest under
/// its hash. Plain registration of
/// that name is refused until the invite expires or is used (XEP-0401 asks
/// servers to reserve it; ejabberd does).
///
/// ```
/// use xmpp_invites::{reserved_by, InviteRecord};
/// let r = InviteRecord::from_json(r#"{"type":"register","jid":"romeo@example.com",
///   "token":"Xb9sT2vR7qLm4KpZ8wYd1eFg","allow_registration":true,"expires":100}"#).unwrap();
/// assert!(reserved_by("Romeo", [&r], 100, None).is_some());
/// assert!(reserved_by("romeo", [&r], 101, None).is_none());
/// assert!(reserved_by("romeo", [&r], 0, Some("Xb9sT2vR7qLm4KpZ8wYd1eFg")).is_none());
/// ```
pub fn reserved_by<'a>(
    username: &str,
    records: impl IntoIterator<Item = &'a InviteRecord>,
    now: i64,
    except_token: Option<&str>,
) -> Option<&'a InviteRecord> {
    records.into_iter().find(|r| {
        except_token.is_none_or(|t| !crate::token::matches_stored(t, &r.token))
            && r.reserves_username(username, now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(
        inviter: Option<&str>,
        t: InviteType,
        created_at: i64,
        redeemed_by: Option<&str>,
    ) -> IssuedInvite {
        IssuedInvite {
            inviter: inviter.map(Into::into),
            invite_type: t,
            created_at,
            expires: created_at + 1000,
            redeemed_by: redeemed_by.map(Into::into),
        }
    }

    const ACC: InviteType = InviteType::AccountAndContact;

    #[test]
    fn cap_counts_pending_and_used() {
        let q = Quotas {
            max_invites: Some(2),
            ..Quotas::default()
        };
        let h = [
            inv(Some("alice"), ACC, 0, Some("bob")),
            inv(Some("alice"), ACC, 0, None),
            inv(Some("alice"), InviteType::ContactOnly, 0, None),
        ];
        assert_eq!(
            q.check("alice", false, ACC, &h, 10),
            Err(QuotaError::MaxInvites { limit: 2 })
        );
        assert!(
            q.check("Alice", true, ACC, &h, 10).is_ok(),
            "admins are exempt"
        );
        assert!(
            q.check("alice", false, InviteType::ContactOnly, &h, 10)
                .is_ok()
        );
        // After expiry the unused one stops counting; the used one stays.
        assert!(q.check("alice", false, ACC, &h, 1001).is_ok());
        assert!(q.check("bob", false, ACC, &h, 10).is_ok());
        // Not a username: refused, not let past every limit.
        for bad in ["alice@example.com", "", "a b", "alice/phone"] {
            let e = q.check(bad, false, ACC, &h, 10).unwrap_err();
            assert!(
                matches!(e, QuotaError::InvalidRequester(_)),
                "{bad:?}: {e:?}"
            );
            assert_eq!(e.code(), "invalid-username");
            assert!(
                Quotas::default().check(bad, true, ACC, &[], 10).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn chain_limit() {
        let q = Quotas {
            chain: Some(ChainLimit {
                depth: 3,
                window: 300,
            }),
            ..Quotas::default()
        };
        // a3 -> a2 -> a1 -> a0, all within a minute.
        let h = [
            inv(Some("a3"), ACC, 1000, Some("a2")),
            inv(Some("a2"), ACC, 1020, Some("a1")),
            inv(Some("a1"), ACC, 1040, Some("a0")),
        ];
        assert_eq!(
            q.check("a0", false, ACC, &h, 1100),
            Err(QuotaError::ChainTooFast { retry_after: 200 })
        );
        assert!(q.check("a0", false, ACC, &h, 1300).is_ok());
        assert!(
            q.check("a0", false, InviteType::ContactOnly, &h, 1100)
                .is_ok()
        );
        assert!(
            q.check("a1", false, ACC, &h, 1100).is_ok(),
            "only two generations above a1"
        );
    }

    #[test]
    fn tree_cap_and_cycles() {
        let q = Quotas {
            max_tree_size: Some(3),
            ..Quotas::default()
        };
        let h = [
            inv(None, ACC, 0, Some("root")),
            inv(Some("root"), ACC, 0, Some("a")),
            inv(Some("a"), ACC, 0, Some("b")),
            inv(Some("b"), ACC, 0, None),
            inv(Some("b"), InviteType::ContactOnly, 0, None),
        ];
        assert_eq!(
            q.check("b", false, ACC, &h, 0),
            Err(QuotaError::TreeFull { limit: 3 })
        );
        assert!(q.check("stranger", false, ACC, &h, 0).is_ok());
        // A corrupt history with a cycle terminates.
        let cyc = [
            inv(Some("x"), ACC, 0, Some("y")),
            inv(Some("y"), ACC, 0, Some("x")),
        ];
        assert!(
            Quotas::ejabberd(Some(10))
                .check("x", false, ACC, &cyc, 10_000)
                .is_ok()
        );
        assert!(
            Quotas::ejabberd(Some(10))
                .check("not valid", false, ACC, &cyc, 0)
                .is_err()
        );
    }

    /// The invite being used does not reserve its own name, whether its
    /// record holds the token or, kept hashed at rest, its hash.
    #[test]
    fn reserved_except_the_presented_token() {
        const T: &str = "Xb9sT2vR7qLm4KpZ8wYd1eFg";
        let plain = crate::InviteRecord::from_json(&format!(
            r#"{{"type":"register","jid":"romeo@example.com","token":"{T}","allow_registration":true,"expires":100}}"#
        ))
        .unwrap();
        let mut hashed = plain.clone();
        hashed.token = crate::token::hashed_key(T);
        for r in [&plain, &hashed] {
            assert!(reserved_by("romeo", [r], 0, None).is_some());
            assert!(reserved_by("romeo", [r], 0, Some(T)).is_none(), "{r:?}");
            let other = Some("AAAAAAAAAAAAAAAAAAAAAAAA");
            assert!(reserved_by("romeo", [r], 0, other).is_some(), "{r:?}");
        }
        // The hash itself is no token: it excepts nothing.
        assert!(reserved_by("romeo", [&hashed], 0, Some(&hashed.token)).is_some());
    }
}
