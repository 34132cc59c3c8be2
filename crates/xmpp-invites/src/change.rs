//! What the host must write to or delete from its `invite_token` store.

use crate::record::{ContactRecord, InviteRecord};

/// One change to the host's `invite_token` map store. Host-level entries
/// (Prosody: user = nil, SQL `user = ''`) hold records; user-level entries
/// (user = the inviter) hold a contact invite's expiry number.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageChange {
    /// Store `record` under the host-level key `token`.
    PutRecord {
        /// The key.
        token: String,
        /// The record.
        record: Box<InviteRecord>,
    },
    /// Store `expires` under the user-level key (`user`, `token`).
    PutContactExpiry {
        /// The inviting user.
        user: String,
        /// The key.
        token: String,
        /// Unix seconds.
        expires: i64,
    },
    /// Delete the host-level key `token`.
    DeleteRecord {
        /// The key.
        token: String,
    },
    /// Delete the user-level key (`user`, `token`).
    DeleteContactExpiry {
        /// The inviting user.
        user: String,
        /// The key.
        token: String,
    },
}

/// A write that stores a created invite, borrowed from it: see
/// [`crate::Invite::writes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InviteWrite<'a> {
    /// Store `record` under the host-level key `token`.
    PutRecord {
        /// The key.
        token: &'a str,
        /// The record.
        record: &'a InviteRecord,
    },
    /// Store `expires` under the user-level key (`user`, `token`).
    PutContactExpiry {
        /// The inviting user.
        user: &'a str,
        /// The key.
        token: &'a str,
        /// Unix seconds.
        expires: i64,
    },
}

impl InviteWrite<'_> {
    /// The store's key: the token (or its hash, for invites hashed at rest).
    pub fn token(&self) -> &str {
        match self {
            Self::PutRecord { token, .. } | Self::PutContactExpiry { token, .. } => token,
        }
    }

    /// The owned [`StorageChange`].
    pub fn to_change(&self) -> StorageChange {
        match *self {
            Self::PutRecord { token, record } => StorageChange::PutRecord {
                token: token.to_owned(),
                record: Box::new(record.clone()),
            },
            Self::PutContactExpiry {
                user,
                token,
                expires,
            } => StorageChange::PutContactExpiry {
                user: user.to_owned(),
                token: token.to_owned(),
                expires,
            },
        }
    }
}

impl StorageChange {
    /// The store's user column: `None` for host-level entries.
    pub fn user(&self) -> Option<&str> {
        match self {
            Self::PutRecord { .. } | Self::DeleteRecord { .. } => None,
            Self::PutContactExpiry { user, .. } | Self::DeleteContactExpiry { user, .. } => {
                Some(user)
            }
        }
    }

    /// The store's key: the token.
    pub fn token(&self) -> &str {
        match self {
            Self::PutRecord { token, .. }
            | Self::PutContactExpiry { token, .. }
            | Self::DeleteRecord { token }
            | Self::DeleteContactExpiry { token, .. } => token,
        }
    }

    /// For a write, the value as Prosody's SQL storage keeps it: its `type`
    /// column (`json` or `number`) and its `value` text. `None` for deletes.
    pub fn sql_value(&self) -> Option<(&'static str, String)> {
        match self {
            Self::PutRecord { record, .. } => Some(("json", record.to_json())),
            Self::PutContactExpiry { expires, .. } => {
                Some(("number", ContactRecord { expires: *expires }.to_json()))
            }
            Self::DeleteRecord { .. } | Self::DeleteContactExpiry { .. } => None,
        }
    }
}
