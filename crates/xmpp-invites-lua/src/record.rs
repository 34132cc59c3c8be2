//! Records as plain Lua tables in Prosody's shape, converted field by field
//! (no intermediate value tree): the hot path of create and validate.

use invites::{AdditionalData, InviteAction, InviteRecord, RecordError, Roles};
use mlua::{Lua, Table, Value};
use serde_json::Map;

use crate::args::{from_lua, to_lua};

fn invalid(msg: impl Into<String>) -> RecordError {
    RecordError::Invalid(msg.into())
}

fn string(v: Value, key: &str) -> Result<String, RecordError> {
    match v {
        Value::String(s) => s
            .to_str()
            .map(|s| s.to_owned())
            .map_err(|_| invalid(format!("{key} is not UTF-8"))),
        other => Err(invalid(format!(
            "{key}: expected a string, found {}",
            other.type_name()
        ))),
    }
}

fn int(v: Value, key: &str) -> Result<i64, RecordError> {
    match v {
        Value::Integer(i) => Ok(i),
        // i64::MAX as f64 rounds up to 2^63, the first value that does not fit.
        Value::Number(n) if n.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&n) => {
            Ok(n as i64)
        }
        other => Err(invalid(format!(
            "{key}: expected a whole number, found {other:?}"
        ))),
    }
}

/// The expiry of an invite that never expires as Prosody 13 stores it:
/// `os.time() + math.huge` when `invite_expiry` is "never" (its
/// `get_option_period` gives `math.huge`), in the host-level record and in
/// the inviter's user-level entry alike. Read as [`invites::NEVER_EXPIRES`],
/// the number this library writes for "never": written back, the record
/// stays a number that Prosody 0.12 and 13 both compare as far future, and
/// that JSON can hold (Prosody's JSON encoder writes `inf` bare, which no
/// JSON reader, Prosody's own included, reads back). Only `+inf`: `-inf`
/// and NaN stay invalid.
pub(crate) fn infinite_expiry(n: f64) -> Option<i64> {
    (n == f64::INFINITY).then_some(invites::NEVER_EXPIRES)
}

/// A stored time in seconds: an integer, or a float whose fraction is
/// dropped ([`invites::unix_seconds_from_f64`]: Prosody on Lua 5.3 and later
/// stores `os.time() + ttl` as a float when `invite_expiry` is fractional).
fn time(v: Value, key: &str) -> Result<i64, RecordError> {
    match v {
        Value::Integer(i) => Ok(i),
        Value::Number(n) => invites::unix_seconds_from_f64(n)
            .ok_or_else(|| invalid(format!("{key}: expected a time in seconds, found {n}"))),
        other => Err(invalid(format!(
            "{key}: expected a time in seconds, found {}",
            other.type_name()
        ))),
    }
}

/// An expiry time: a time in seconds, or `math.huge` for never.
fn expiry(v: Value, key: &str) -> Result<i64, RecordError> {
    match v {
        Value::Number(n) => infinite_expiry(n).map_or_else(|| time(v, key), Ok),
        other => time(other, key),
    }
}

fn count(v: Value, key: &str) -> Result<u32, RecordError> {
    int(v, key).and_then(|n| {
        u32::try_from(n).map_err(|_| invalid(format!("{key}: expected a count, found {n}")))
    })
}

fn boolean(v: Value, key: &str) -> Result<bool, RecordError> {
    match v {
        Value::Boolean(b) => Ok(b),
        other => Err(invalid(format!(
            "{key}: expected a boolean, found {}",
            other.type_name()
        ))),
    }
}

/// `allow_registration` as stock Prosody 13 may store it: a boolean, or a
/// string from its shell (see [`invites::allow_registration_from_text`]);
/// anything else is true, as in Lua.
fn allow_registration(v: &Value) -> bool {
    match v {
        Value::Boolean(b) => *b,
        Value::Nil => false,
        Value::String(s) => invites::allow_registration_from_text(&s.to_string_lossy()),
        _ => true,
    }
}

fn key_str(k: &Value) -> Option<String> {
    match k {
        Value::String(s) => s.to_str().ok().map(|s| s.to_owned()),
        _ => None,
    }
}

fn extra_value(lua: &Lua, v: Value, key: &str) -> Result<serde_json::Value, RecordError> {
    from_lua(lua, v).map_err(|e| invalid(format!("{key}: {e}")))
}

/// A list of names from a sequence (or `{}`), as Prosody stores them.
fn names(t: &Table, key: &str) -> Result<Vec<String>, RecordError> {
    let mut out = Vec::new();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| invalid(e.to_string()))?;
        match k {
            Value::Integer(i) if i >= 1 => out.push((i, string(v, key)?)),
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => {
                out.push((n as i64, string(v, key)?))
            }
            _ => return Err(invalid(format!("{key}: expected a list of names"))),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn roles(v: Value) -> Result<Roles, RecordError> {
    let Value::Table(t) = v else {
        return Err(invalid(format!(
            "roles: expected a list or a set, found {}",
            v.type_name()
        )));
    };
    if t.raw_len() > 0 || t.clone().pairs::<Value, Value>().next().is_none() {
        return names(&t, "roles").map(Roles::Ordered);
    }
    let mut set = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, member) = pair.map_err(|e| invalid(e.to_string()))?;
        let role = key_str(&k).ok_or_else(|| invalid("roles: set members must be names"))?;
        if boolean(member, "roles")? {
            set.push(role);
        }
    }
    set.sort();
    // As the core reads JSON: a set with no true member is the empty list.
    Ok(if set.is_empty() {
        Roles::Ordered(Vec::new())
    } else {
        Roles::LegacySet(set)
    })
}

fn additional_data(lua: &Lua, v: Value) -> Result<AdditionalData, RecordError> {
    let Value::Table(t) = v else {
        return Err(invalid(format!(
            "additional_data: expected a table, found {}",
            v.type_name()
        )));
    };
    let mut d = AdditionalData::default();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| invalid(e.to_string()))?;
        let key = key_str(&k).ok_or_else(|| invalid("additional_data: keys must be names"))?;
        match key.as_str() {
            "roles" => d.roles = Some(roles(v)?),
            "groups" => match v {
                Value::Table(g) => d.groups = Some(names(&g, "groups")?),
                other => {
                    return Err(invalid(format!(
                        "groups: expected a list, found {}",
                        other.type_name()
                    )));
                }
            },
            "source" => d.source = Some(string(v, "source")?),
            "note" => d.note = Some(string(v, "note")?),
            "allow_reset" => d.allow_reset = Some(string(v, "allow_reset")?),
            _ => {
                let value = extra_value(lua, v, &key)?;
                d.extra.insert(key, value);
            }
        }
    }
    Ok(d)
}

/// A record with nothing read yet, which both readers of record tables
/// (this one and the fast path's) fill field by field.
pub(crate) fn blank() -> InviteRecord {
    InviteRecord {
        action: InviteAction::Register,
        jid: String::new(),
        token: String::new(),
        allow_registration: false,
        additional_data: None,
        uri: String::new(),
        created_at: None,
        expires: None,
        reusable: None,
        landing_page: None,
        max_uses: None,
        uses: None,
        extra: Map::new(),
    }
}

/// A record from a Lua table in Prosody's shape.
pub(crate) fn from_table(lua: &Lua, t: &Table) -> Result<InviteRecord, RecordError> {
    let (mut action, mut jid, mut token) = (None, None, None);
    let mut r = blank();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| invalid(e.to_string()))?;
        let key = key_str(&k).ok_or_else(|| invalid("record keys must be names"))?;
        match key.as_str() {
            "type" => {
                action = Some(match string(v, "type")?.as_str() {
                    "register" => InviteAction::Register,
                    "roster" => InviteAction::Roster,
                    other => return Err(invalid(format!("type: unknown invite type {other:?}"))),
                })
            }
            "jid" => jid = Some(string(v, "jid")?),
            "token" => token = Some(string(v, "token")?),
            "allow_registration" => r.allow_registration = allow_registration(&v),
            "additional_data" => r.additional_data = Some(additional_data(lua, v)?),
            "uri" => r.uri = string(v, "uri")?,
            "created_at" => r.created_at = Some(time(v, "created_at")?),
            "expires" => r.expires = Some(expiry(v, "expires")?),
            "reusable" => r.reusable = Some(boolean(v, "reusable")?),
            "landing_page" => r.landing_page = Some(string(v, "landing_page")?),
            "max_uses" => r.max_uses = Some(count(v, "max_uses")?),
            "uses" => r.uses = Some(count(v, "uses")?),
            _ => {
                let value = extra_value(lua, v, &key)?;
                r.extra.insert(key, value);
            }
        }
    }
    r.action = action.ok_or_else(|| invalid("missing field `type`"))?;
    r.jid = jid.ok_or_else(|| invalid("missing field `jid`"))?;
    r.token = token.ok_or_else(|| invalid("missing field `token`"))?;
    Ok(r)
}

/// The record as a plain Lua table in Prosody's shape.
pub(crate) fn to_table(lua: &Lua, r: &InviteRecord) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 12)?;
    t.raw_set("type", r.action.as_str())?;
    t.raw_set("jid", r.jid.as_str())?;
    t.raw_set("token", r.token.as_str())?;
    if r.allow_registration {
        t.raw_set("allow_registration", true)?;
    }
    if let Some(d) = &r.additional_data {
        t.raw_set("additional_data", to_lua(lua, d)?)?;
    }
    // Records kept hashed at rest have no URI (it holds the token).
    if !r.uri.is_empty() {
        t.raw_set("uri", r.uri.as_str())?;
    }
    if let Some(v) = r.created_at {
        t.raw_set("created_at", v)?;
    }
    if let Some(v) = r.expires {
        t.raw_set("expires", v)?;
    }
    if let Some(v) = r.reusable {
        t.raw_set("reusable", v)?;
    }
    if let Some(v) = &r.landing_page {
        t.raw_set("landing_page", v.as_str())?;
    }
    if let Some(v) = r.max_uses {
        t.raw_set("max_uses", v)?;
    }
    if let Some(v) = r.uses {
        t.raw_set("uses", v)?;
    }
    for (k, v) in &r.extra {
        t.raw_set(k.as_str(), to_lua(lua, v)?)?;
    }
    Ok(t)
}
