//! The stored invite, in the shape of Prosody's `invite_token` map store.
//!
//! Host-level key (user = nil) `token` holds an [`InviteRecord`] for every
//! invite that allows registration; user-level key (user = inviter) `token`
//! holds the expiry number of every contact (`roster`) invite. The serde model
//! reads every variant stock Prosody 0.12 and 13 write (integers or floats,
//! `groups` as `{}` when empty, roles as an ordered list or the legacy set)
//! and keeps keys it does not know, so nothing is lost in a round trip.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jid::prep_username;
use crate::kind::InviteType;

/// The record's `type`: what the invite URI's query action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteAction {
    /// `register`: an account invite (any username, bound, reset or group).
    Register,
    /// `roster`: a contact invite, possibly allowing registration too.
    Roster,
}

impl InviteAction {
    /// The URI query type, `register` or `roster`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Roster => "roster",
        }
    }
}

/// Roles to grant the new account.
///
/// Prosody 13 writes an ordered list whose first entry is the primary role;
/// Prosody 0.12 and older tools write a set (`{"prosody:admin": true}`). Both
/// are read; each is written back in the form it was read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roles {
    /// The ordered list form; the first role is the primary one.
    Ordered(Vec<String>),
    /// The legacy set form; members in sorted order.
    LegacySet(Vec<String>),
}

impl Roles {
    /// The roles, in order (sorted for the legacy set).
    pub fn as_slice(&self) -> &[String] {
        match self {
            Self::Ordered(r) | Self::LegacySet(r) => r,
        }
    }

    /// The primary role: the first of an ordered list. A legacy set has no
    /// order; there `prosody:admin` wins if present, else the first in
    /// sorted order.
    pub fn primary(&self) -> Option<&str> {
        match self {
            Self::Ordered(r) => r.first().map(String::as_str),
            Self::LegacySet(r) => r
                .iter()
                .find(|r| *r == "prosody:admin")
                .or_else(|| r.first())
                .map(String::as_str),
        }
    }

    /// The roles with the primary one first (for the legacy set, the one
    /// [`Roles::primary`] picks), then the others in order.
    pub fn primary_first(&self) -> Vec<&str> {
        let primary = self.primary();
        primary
            .into_iter()
            .chain(
                self.as_slice()
                    .iter()
                    .map(String::as_str)
                    .filter(|r| Some(*r) != primary),
            )
            .collect()
    }

    /// Whether `role` is among them.
    pub fn contains(&self, role: &str) -> bool {
        self.as_slice().iter().any(|r| r == role)
    }
}

impl Serialize for Roles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Ordered(r) => r.serialize(s),
            Self::LegacySet(r) => {
                let mut map = s.serialize_map(Some(r.len()))?;
                for role in r {
                    map.serialize_entry(role, &true)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(de::Error::custom(format!(
                        "roles: expected a role name, found {other}"
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(Roles::Ordered),
            // An empty Lua table encodes as {}: the empty list.
            Value::Object(map) if map.is_empty() => Ok(Roles::Ordered(Vec::new())),
            Value::Object(map) => {
                let mut set = Vec::new();
                for (role, member) in map {
                    match member {
                        Value::Bool(true) => set.push(role),
                        Value::Bool(false) => {}
                        other => {
                            return Err(de::Error::custom(format!(
                                "roles: set member {role:?} must be true or false, found {other}"
                            )));
                        }
                    }
                }
                // A set with no true member is the empty list, the form an
                // empty table reads back as (found by fuzzing).
                if set.is_empty() {
                    Ok(Roles::Ordered(Vec::new()))
                } else {
                    Ok(Roles::LegacySet(set))
                }
            }
            other => Err(de::Error::custom(format!(
                "roles: expected a list or a set, found {other}"
            ))),
        }
    }
}

/// `additional_data`: what the new account gets and where the invite came
/// from. Unknown keys are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AdditionalData {
    /// Roles to grant the new account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Roles>,
    /// Groups (mod_groups_internal IDs) the new account joins. `Some(vec![])`
    /// keeps the empty list that `prosodyctl mod_invites generate` writes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_string_list"
    )]
    pub groups: Option<Vec<String>>,
    /// Who created the invite: a JID, or `api/token/ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A note for admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a password reset: the username whose password may be reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_reset: Option<String>,
    /// Keys this library does not interpret, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AdditionalData {
    /// The groups, or an empty slice.
    pub fn group_list(&self) -> &[String] {
        self.groups.as_deref().unwrap_or_default()
    }

    /// Whether nothing at all is set.
    pub fn is_empty(&self) -> bool {
        // Field by field (no default value built and dropped): on the hot
        // path of every create.
        let Self {
            roles,
            groups,
            source,
            note,
            allow_reset,
            extra,
        } = self;
        roles.is_none()
            && groups.is_none()
            && source.is_none()
            && note.is_none()
            && allow_reset.is_none()
            && extra.is_empty()
    }
}

/// The host-level record of an invite, as Prosody's `invite_token` store
/// keeps it under the token.
///
/// ```
/// use xmpp_invites::{InviteRecord, InviteAction};
/// let stored = r#"{"type":"register","jid":"example.com","token":"rOTQpK5Ayzgzmo0p-InC6j9q",
///   "allow_registration":true,"additional_data":{"groups":{}},
///   "uri":"xmpp:example.com?register;preauth=rOTQpK5Ayzgzmo0p-InC6j9q",
///   "created_at":1795268421,"expires":1795873221}"#;
/// let record = InviteRecord::from_json(stored).unwrap();
/// assert_eq!(record.action, InviteAction::Register);
/// assert_eq!(record.expires, Some(1795873221));
/// let again = InviteRecord::from_json(&record.to_json()).unwrap();
/// assert_eq!(again, record);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteRecord {
    /// `register` or `roster`.
    #[serde(rename = "type")]
    pub action: InviteAction,
    /// The JID in the URI: the host (any username), `user@host` (bound
    /// account or reset) or the inviter (contact).
    pub jid: String,
    /// The token, also the storage key; for invites kept hashed at rest, the
    /// token's [`crate::hashed_key`] instead.
    pub token: String,
    /// Whether the token lets its holder register an account. Written only
    /// when true (nil and false are the same to Lua). A stored value that
    /// is not a boolean is read as [`allow_registration_from_text`] says.
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "de_allow_registration"
    )]
    pub allow_registration: bool,
    /// Roles, groups, source, note, reset username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_data: Option<AdditionalData>,
    /// The invite URI (stock Prosody writes it unescaped; this library
    /// writes RFC 5122). Empty, and not written, in records kept hashed at
    /// rest: the URI holds the token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// Unix seconds at creation. This and `expires` are read as
    /// [`unix_seconds_from_f64`] reads a float: a fraction is dropped.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_lua_time"
    )]
    pub created_at: Option<i64>,
    /// Unix seconds after which the invite is expired; `None` never expires
    /// (read as [`crate::NEVER_EXPIRES`], 9999-12-31T23:59:59Z, the number
    /// written for "never").
    ///
    /// Prosody 13 stores `math.huge` for an invite that never expires
    /// (`invite_expiry = "never"`). The Lua bindings read it from a record
    /// table as [`crate::NEVER_EXPIRES`], the number this library writes for
    /// "never". JSON has no infinity: the bare `inf` Prosody's JSON encoder
    /// writes into an SQL row is not JSON, Prosody's own decoder refuses it
    /// too, and so does [`InviteRecord::from_json`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_lua_time"
    )]
    pub expires: Option<i64>,
    /// Whether using the invite leaves it in place (group invites with a
    /// TTL). Absent in records of other kinds, and kept absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reusable: Option<bool>,
    /// The landing page URL, when a template was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    /// This library's extension: how many registrations the invite allows.
    /// Stock Prosody ignores the key and treats the invite as single-use
    /// (or as unlimited when `reusable` is true).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_lua_u32"
    )]
    pub max_uses: Option<u32>,
    /// This library's extension: how many times a `max_uses` invite was used.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_lua_u32"
    )]
    pub uses: Option<u32>,
    /// Keys this library does not interpret, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a stored record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The text is not a record (bad JSON, missing or mistyped field).
    #[error("invalid invite record: {0}")]
    Invalid(String),
}

impl RecordError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid-record",
        }
    }
}

impl InviteRecord {
    /// Reads a record from the JSON that Prosody's SQL storage keeps (type
    /// `json`).
    ///
    /// A key given twice counts with its last value, as in Prosody's
    /// `util.json` and in a Lua table (found by fuzzing: reading text
    /// directly refused what reading the same record as a table accepted).
    pub fn from_json(json: &str) -> Result<Self, RecordError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| RecordError::Invalid(e.to_string()))?;
        Self::from_value(value)
    }

    /// Reads a record from an already parsed JSON value (or anything that
    /// converts to one, such as a Lua table through the bindings).
    pub fn from_value(value: Value) -> Result<Self, RecordError> {
        serde_json::from_value(value).map_err(|e| RecordError::Invalid(e.to_string()))
    }

    /// The record as JSON, what Prosody's SQL storage writes.
    pub fn to_json(&self) -> String {
        // Serialising owned strings, numbers and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The record as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The invite URI for `token` (the token presented: a record kept
    /// hashed at rest holds only its hash) in RFC 5122's form, as this
    /// library writes it: the stored `uri` when it is exactly that,
    /// otherwise written anew from the JID (prepared as [`crate::BareJid`]
    /// prepares it), the action and the token.
    ///
    /// Stock Prosody stores the URI it concatenated without escaping, so a
    /// record it wrote for `a?b` or `jürgen` holds a URI that clients read
    /// as another JID; this gives the one they read right. When the JID
    /// makes no URI (a roster record without a username, a host that IDNA
    /// refuses) the stored `uri` is given as it is; `None` when there is
    /// none either, and for a token of the wrong shape (which would be
    /// written into the URI's query as it is).
    ///
    /// ```
    /// use xmpp_invites::InviteRecord;
    /// let r = InviteRecord::from_json(r#"{"type":"roster","jid":"jürgen@example.com",
    ///     "token":"Xb9sT2vR7qLm4KpZ8wYd1eFg","allow_registration":true,
    ///     "uri":"xmpp:jürgen@example.com?roster;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg;ibr=y",
    ///     "expires":100}"#).unwrap();
    /// assert_eq!(
    ///     r.invite_uri("Xb9sT2vR7qLm4KpZ8wYd1eFg").unwrap(),
    ///     "xmpp:j%C3%BCrgen@example.com?roster;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg;ibr=y"
    /// );
    /// ```
    pub fn invite_uri(&self, token: &str) -> Option<std::borrow::Cow<'_, str>> {
        crate::token::check_shape(token).ok()?;
        crate::uri::stored_uri(
            &self.uri,
            self.jid_username(),
            self.jid_host(),
            self.action,
            token,
            self.allow_registration,
        )
        .or_else(|| (!self.uri.is_empty()).then_some(std::borrow::Cow::Borrowed(self.uri.as_str())))
    }

    /// The username part of `jid`, if any.
    pub fn jid_username(&self) -> Option<&str> {
        self.jid.rsplit_once('@').map(|(user, _)| user)
    }

    /// The host part of `jid`.
    pub fn jid_host(&self) -> &str {
        self.jid
            .rsplit_once('@')
            .map_or(&self.jid, |(_, host)| host)
    }

    /// The reset username, if this is a password reset invite.
    pub fn reset_username(&self) -> Option<&str> {
        self.additional_data.as_ref()?.allow_reset.as_deref()
    }

    /// Which kind of invite this is.
    pub fn invite_type(&self) -> InviteType {
        match self.action {
            InviteAction::Roster if self.allow_registration => InviteType::AccountAndContact,
            InviteAction::Roster => InviteType::ContactOnly,
            InviteAction::Register if self.reset_username().is_some() => InviteType::PasswordReset,
            InviteAction::Register
                if self.jid_username().is_none()
                    && self.reusable.is_some()
                    && self
                        .additional_data
                        .as_ref()
                        .is_some_and(|d| !d.group_list().is_empty()) =>
            {
                InviteType::Group
            }
            InviteAction::Register => InviteType::Account,
        }
    }

    /// Whether `now` is past the expiry (`now > expires`; equal is valid).
    /// No expiry reads as [`crate::NEVER_EXPIRES`], as [`crate::validate`]
    /// reads it.
    pub fn is_expired(&self, now: i64) -> bool {
        now > self.expires.unwrap_or(crate::period::NEVER_EXPIRES)
    }

    /// Whether the username `name` is held by this invite: a pending account
    /// invite bound to it (not a reset, whose account exists already).
    pub fn reserves_username(&self, name: &str, now: i64) -> bool {
        if self.action != InviteAction::Register
            || self.reset_username().is_some()
            || self.is_expired(now)
        {
            return false;
        }
        match (self.jid_username(), prep_username(name)) {
            (Some(bound), Ok(name)) => prep_username(bound).is_ok_and(|b| b == name),
            _ => false,
        }
    }
}

/// The user-level record of a contact invite: the expiry number stored under
/// the inviter's username (Prosody SQL type `number`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRecord {
    /// Unix seconds after which the invite is expired.
    pub expires: i64,
}

impl ContactRecord {
    /// Reads the stored number (`"1795873222"`, or a float such as
    /// `"1795873222.0"` written by a Lua 5.1 host; a fraction of a second
    /// is dropped, as [`unix_seconds_from_f64`] says).
    ///
    /// ```
    /// let r = xmpp_invites::ContactRecord::from_json("1795873222").unwrap();
    /// assert_eq!(r.expires, 1795873222);
    /// ```
    pub fn from_json(text: &str) -> Result<Self, RecordError> {
        let value: Value =
            serde_json::from_str(text.trim()).map_err(|e| RecordError::Invalid(e.to_string()))?;
        lua_time(&value)
            .map(|expires| Self { expires })
            .ok_or_else(|| {
                RecordError::Invalid(format!("expected an expiry time in seconds, found {value}"))
            })
    }

    /// The stored number as text.
    pub fn to_json(self) -> String {
        self.expires.to_string()
    }
}

/// An integer from a JSON number that Lua may have written as a float.
fn lua_int(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // i64::MAX as f64 rounds up to 2^63, the first value that does not fit.
    (f.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&f)).then_some(f as i64)
}

/// How a stored `allow_registration` that is a string is read.
///
/// Prosody 13's shell command `invite create_contact JID
/// --allow-registration=VALUE` stores VALUE as it was typed, a string, and
/// stock Prosody then reads every string as true (Lua's truthiness), `no`
/// included. Here `no`, `false`, `0` and the empty string (in any case)
/// read as false, which is what the admin asked for; any other string as
/// true, as stock reads it. (Other values that are not booleans, numbers or
/// tables, are true as in Lua; nil is false.)
///
/// ```
/// use xmpp_invites::allow_registration_from_text;
/// assert!(allow_registration_from_text("yes"));
/// assert!(allow_registration_from_text("True"));
/// assert!(!allow_registration_from_text("no"));
/// assert!(!allow_registration_from_text("FALSE"));
/// ```
pub fn allow_registration_from_text(text: &str) -> bool {
    !["no", "false", "0", ""]
        .iter()
        .any(|no| text.trim().eq_ignore_ascii_case(no))
}

fn de_allow_registration<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Null => false,
        Value::String(s) => allow_registration_from_text(&s),
        // Numbers, lists and tables are true to Lua.
        _ => true,
    })
}

/// A stored time in Unix seconds that Lua wrote as a number: its whole
/// seconds (the floor), or `None` for NaN, an infinity or a number out of
/// range.
///
/// Prosody computes `expires = os.time() + ttl`, and on Lua 5.3 and later an
/// `invite_expiry` that is not a whole number of seconds (`1000/3`) makes
/// that a float such as `1795268754.3333`, which it stores as written and
/// compares as `os.time() > expires`. The clock gives whole seconds, so
/// `now > expires` holds exactly when `now > floor(expires)`: the floor
/// keeps every such invite valid until the same second as in Prosody.
///
/// ```
/// use xmpp_invites::unix_seconds_from_f64;
/// assert_eq!(unix_seconds_from_f64(1795268754.3333), Some(1795268754));
/// assert_eq!(unix_seconds_from_f64(-0.5), Some(-1));
/// assert_eq!(unix_seconds_from_f64(f64::NAN), None);
/// assert_eq!(unix_seconds_from_f64(1e300), None);
/// ```
pub fn unix_seconds_from_f64(n: f64) -> Option<i64> {
    let f = n.floor();
    // i64::MAX as f64 rounds up to 2^63, the first value that does not fit;
    // NaN and the infinities are outside the range.
    (i64::MIN as f64..i64::MAX as f64)
        .contains(&f)
        .then_some(f as i64)
}

/// A stored time from a JSON number: an integer, or a float read as
/// [`unix_seconds_from_f64`] reads it.
fn lua_time(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    match n.as_i64() {
        Some(i) => Some(i),
        None => unix_seconds_from_f64(n.as_f64()?),
    }
}

fn de_lua_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => lua_time(&v)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a time in seconds, found {v}"))),
    }
}

fn de_lua_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => lua_int(&v)
            .and_then(|i| u32::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a count, found {v}"))),
    }
}

fn de_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(de::Error::custom(format!("expected a name, found {other}"))),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        // An empty Lua table encodes as {}.
        Some(Value::Object(m)) if m.is_empty() => Ok(Some(Vec::new())),
        // A Lua array with holes as Prosody's util.json writes it: the
        // sequence part under "__array", the other integer keys as pairs
        // under "__hash" ({[1]="a", [3]="c"} is
        // {"__array":["a"],"__hash":[3,"c"]}).
        Some(Value::Object(m)) if m.contains_key("__array") || m.contains_key("__hash") => {
            let bad = || de::Error::custom("expected a list of names");
            let mut indexed = BTreeMap::new();
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("__array", Value::Array(items)) => {
                        for (i, item) in (1u64..).zip(items) {
                            let Value::String(s) = item else {
                                return Err(bad());
                            };
                            indexed.insert(i, s);
                        }
                    }
                    ("__hash", Value::Array(pairs)) if pairs.len() % 2 == 0 => {
                        let mut pairs = pairs.into_iter();
                        while let (Some(k), Some(v)) = (pairs.next(), pairs.next()) {
                            let (Some(i), Value::String(s)) = (lua_int(&k), v) else {
                                return Err(bad());
                            };
                            let i = u64::try_from(i).ok().filter(|i| *i >= 1).ok_or_else(bad)?;
                            indexed.insert(i, s);
                        }
                    }
                    _ => return Err(bad()),
                }
            }
            Ok(Some(indexed.into_values().collect()))
        }
        // A list that went through a JSON encoder that writes string keys:
        // {"1": "a", "2": "b"}.
        Some(Value::Object(m)) => {
            let mut indexed = BTreeMap::new();
            for (k, v) in m {
                let (Ok(i), Value::String(s)) = (k.parse::<u64>(), v) else {
                    return Err(de::Error::custom("expected a list of names"));
                };
                indexed.insert(i, s);
            }
            Ok(Some(indexed.into_values().collect()))
        }
        Some(other) => Err(de::Error::custom(format!("expected a list, found {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_empty` looks at every field: each one set alone makes it false.
    #[test]
    fn additional_data_is_empty_sees_every_field() {
        assert!(AdditionalData::default().is_empty());
        let set: [fn(&mut AdditionalData); 6] = [
            |d| d.roles = Some(Roles::Ordered(Vec::new())),
            |d| d.groups = Some(Vec::new()),
            |d| d.source = Some(String::new()),
            |d| d.note = Some(String::new()),
            |d| d.allow_reset = Some(String::new()),
            |d| {
                d.extra.insert("x".into(), Value::Null);
            },
        ];
        for f in set {
            let mut d = AdditionalData::default();
            f(&mut d);
            assert!(!d.is_empty(), "{d:?}");
            assert_ne!(d, AdditionalData::default());
        }
    }

    #[test]
    fn reads_floats_and_drops_fractions_of_times() {
        let r = InviteRecord::from_json(
            r#"{"type":"roster","jid":"a@b","token":"t","uri":"","created_at":1.0e9,"expires":1000000000.0}"#,
        )
        .unwrap();
        assert_eq!(r.created_at, Some(1_000_000_000));
        // What Prosody 0.12 on Lua 5.4 writes with invite_expiry = 1000/3
        // (its own util.json): the invite stays valid to the same second.
        let r = InviteRecord::from_json(
            r#"{"type":"register","jid":"example.com","token":"t","uri":"","created_at":1795268421,"expires":1795268754.3333,"allow_registration":true}"#,
        )
        .unwrap();
        assert_eq!(r.expires, Some(1_795_268_754));
        assert_eq!(
            ContactRecord::from_json("1795268754.3333").unwrap().expires,
            1_795_268_754
        );
        assert_eq!(
            InviteRecord::from_json(r#"{"type":"roster","jid":"a@b","token":"t","expires":-1.5}"#)
                .unwrap()
                .expires,
            Some(-2)
        );
        for bad in ["1e300", "-1e300", "9223372036854775807.0"] {
            let json = format!(r#"{{"type":"roster","jid":"a@b","token":"t","expires":{bad}}}"#);
            assert!(InviteRecord::from_json(&json).is_err(), "{json}");
            assert!(ContactRecord::from_json(bad).is_err(), "{bad}");
        }
        // Counts stay whole.
        assert!(
            InviteRecord::from_json(r#"{"type":"register","jid":"a","token":"t","max_uses":2.5}"#)
                .is_err()
        );
    }

    #[test]
    fn unknown_type_and_missing_fields_are_errors() {
        for bad in [
            r#"{"type":"admin","jid":"a","token":"t"}"#,
            r#"{"jid":"a","token":"t"}"#,
            r#"{"type":"register","token":"t"}"#,
            r#"{"type":"register","jid":"a","token":"t","additional_data":{"roles":5}}"#,
            r#"{"type":"register","jid":"a","token":"t","additional_data":{"groups":"x"}}"#,
            r#"{"type":"register","jid":"a","token":"t","max_uses":-1}"#,
            "[]",
            "",
            "nul",
        ] {
            assert!(InviteRecord::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_both_forms() {
        let set: Roles =
            serde_json::from_str(r#"{"b":true,"prosody:admin":true,"c":false}"#).unwrap();
        assert_eq!(
            set,
            Roles::LegacySet(vec!["b".into(), "prosody:admin".into()])
        );
        assert_eq!(set.primary(), Some("prosody:admin"));
        assert_eq!(set.primary_first(), ["prosody:admin", "b"]);
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"{"b":true,"prosody:admin":true}"#
        );
        let list: Roles = serde_json::from_str(r#"["prosody:member","x"]"#).unwrap();
        assert_eq!(list.primary(), Some("prosody:member"));
        assert!(list.contains("x"));
    }

    #[test]
    fn groups_with_holes_as_prosody_writes_them() {
        // util.json's encoding of {[1]="a", [3]="c", [10]="d"}.
        let d: AdditionalData =
            serde_json::from_str(r#"{"groups":{"__hash":[10,"d",3,"c"],"__array":["a"]}}"#)
                .unwrap();
        assert_eq!(d.group_list(), ["a", "c", "d"]);
        let d: AdditionalData = serde_json::from_str(r#"{"groups":{"__hash":[2.0,"b"]}}"#).unwrap();
        assert_eq!(d.group_list(), ["b"]);
        for bad in [
            r#"{"groups":{"__hash":[3]}}"#,
            r#"{"groups":{"__hash":["x","c"]}}"#,
            r#"{"groups":{"__hash":[0,"c"]}}"#,
            r#"{"groups":{"__hash":[3,5]}}"#,
            r#"{"groups":{"__array":[1]}}"#,
            r#"{"groups":{"__array":["a"],"x":"b"}}"#,
        ] {
            assert!(
                serde_json::from_str::<AdditionalData>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn groups_with_string_keys_keep_order() {
        let d: AdditionalData =
            serde_json::from_str(r#"{"groups":{"2":"b","1":"a","10":"c"}}"#).unwrap();
        assert_eq!(d.group_list(), ["a", "b", "c"]);
    }

    #[test]
    fn unknown_keys_survive() {
        let json = r#"{"type":"register","jid":"example.com","token":"t","uri":"u","created_at":1,"expires":2,"custom":{"x":[1]},"additional_data":{"lang":"de"}}"#;
        let r = InviteRecord::from_json(json).unwrap();
        let a: Value = serde_json::from_str(json).unwrap();
        assert_eq!(r.to_value(), a);
    }

    #[test]
    fn fuzz_regressions() {
        // A repeated key: the last one counts, whichever way the record is read.
        let dup = r#"{"type":"register","jid":"example.com","token":"AAAAAAAAAAAAAAAAAAAAAAAA","token":"BBBBBBBBBBBBBBBBBBBBBBBB"}"#;
        let r = InviteRecord::from_json(dup).unwrap();
        assert_eq!(r.token, "BBBBBBBBBBBBBBBBBBBBBBBB");
        assert_eq!(
            InviteRecord::from_value(serde_json::from_str(dup).unwrap()).unwrap(),
            r
        );
        // A roles set of false members is the empty list, which round-trips.
        let none = r#"{"type":"register","jid":"example.com","token":"t","additional_data":{"roles":{"prosody:admin":false}}}"#;
        let r = InviteRecord::from_json(none).unwrap();
        assert_eq!(
            r.additional_data.as_ref().unwrap().roles,
            Some(Roles::Ordered(vec![]))
        );
        assert_eq!(InviteRecord::from_json(&r.to_json()).unwrap(), r);
        // A float in an unknown key survives a round trip exactly.
        let float =
            r#"{"type":"register","jid":"example.com","token":"t","x":7.343562278240095e211}"#;
        let r = InviteRecord::from_json(float).unwrap();
        assert_eq!(InviteRecord::from_json(&r.to_json()).unwrap(), r);
    }

    /// JSON has no infinity: Prosody 13's never-expiring records reach the
    /// core as `math.huge` only through the Lua bindings. The bare `inf` its
    /// JSON encoder writes (and the "number" row `inf`) stay refused, as
    /// Prosody's own SQL storage refuses them; `null`, which other encoders
    /// (dkjson) write for infinity, reads as "never expires".
    #[test]
    fn json_has_no_infinity() {
        let rec = |expires: &str| {
            InviteRecord::from_json(&format!(
                r#"{{"type":"register","jid":"example.com","token":"t","expires":{expires}}}"#
            ))
        };
        for bad in ["inf", "-inf", "nan", "-nan", "Infinity", "1e999"] {
            assert_eq!(
                rec(bad).map_err(|e| e.code()),
                Err("invalid-record"),
                "{bad}"
            );
            assert!(ContactRecord::from_json(bad).is_err(), "{bad}");
        }
        let never = rec("null").unwrap();
        assert_eq!(never.expires, None);
        assert!(!never.is_expired(crate::NEVER_EXPIRES));
    }

    #[test]
    fn allow_registration_as_stock_13_stores_it() {
        // prosodyctl shell invite create_contact JID --allow-registration=VALUE
        // stores VALUE as a string.
        let read = |v: &str| {
            InviteRecord::from_json(&format!(
                r#"{{"type":"roster","jid":"a@b","token":"t","allow_registration":{v}}}"#
            ))
            .unwrap()
            .allow_registration
        };
        for yes in [
            "true",
            r#""yes""#,
            r#""Yes""#,
            r#""true""#,
            r#""1""#,
            r#""x""#,
            "0",
            "[]",
        ] {
            assert!(read(yes), "{yes}");
        }
        for no in [
            "false",
            "null",
            r#""no""#,
            r#""NO""#,
            r#""false""#,
            r#""0""#,
            r#""""#,
        ] {
            assert!(!read(no), "{no}");
        }
    }

    #[test]
    fn contact_records() {
        assert_eq!(ContactRecord::from_json(" 17 ").unwrap().expires, 17);
        assert_eq!(ContactRecord::from_json("17.0").unwrap().expires, 17);
        assert!(ContactRecord::from_json("\"17\"").is_err());
        assert_eq!(ContactRecord::from_json("17.5").unwrap().expires, 17);
    }

    #[test]
    fn reservation() {
        let r = InviteRecord::from_json(
            r#"{"type":"register","jid":"romeo@example.com","token":"t","allow_registration":true,"expires":100}"#,
        )
        .unwrap();
        assert!(r.reserves_username("Romeo", 100));
        assert!(!r.reserves_username("romeo", 101));
        assert!(!r.reserves_username("juliet", 0));
        assert!(!r.reserves_username("bad name", 0));
    }
}
