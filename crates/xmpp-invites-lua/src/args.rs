//! Argument handling: wrong types raise a Lua error naming the argument;
//! expected failures (including invalid UTF-8) return `nil, code, message`.

use std::borrow::Cow;
use std::fmt::Display;

use mlua::{IntoLuaMulti, Lua, LuaSerdeExt, MultiValue, Table, Value};

/// A string argument that is not UTF-8: reported as `nil, "invalid-utf8"`,
/// not raised.
#[derive(Debug)]
pub(crate) struct InvalidUtf8(pub(crate) String);

impl Display for InvalidUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not UTF-8", self.0)
    }
}

impl std::error::Error for InvalidUtf8 {}

/// Calls `f` with the arguments; a string argument that is not UTF-8 turns
/// into `nil, "invalid-utf8", message` instead of an error.
pub(crate) fn run(
    lua: &Lua,
    func: &'static str,
    values: MultiValue,
    f: impl FnOnce(&mut Args) -> mlua::Result<MultiValue>,
) -> mlua::Result<MultiValue> {
    let mut args = Args::new(lua, func, values);
    match f(&mut args) {
        Err(e) => match e.downcast_ref::<InvalidUtf8>() {
            Some(bad) => fail(lua, "invalid-utf8", bad),
            None => Err(e),
        },
        ok => ok,
    }
}

/// `nil, code, message`.
pub(crate) fn fail(lua: &Lua, code: &str, message: impl Display) -> mlua::Result<MultiValue> {
    (Value::Nil, code, message.to_string()).into_lua_multi(lua)
}

/// Turns a core result into values or `nil, code, message`.
pub(crate) trait Coded {
    fn code(&self) -> &'static str;
}

macro_rules! coded {
    ($($t:ty),* $(,)?) => {$(
        impl Coded for $t {
            fn code(&self) -> &'static str { <$t>::code(self) }
        }
    )*};
}

coded!(
    invites::JidError,
    invites::UriError,
    invites::TokenError,
    invites::PeriodError,
    invites::DateTimeError,
    invites::ValidateError,
    invites::GateError,
    invites::CreateError,
    invites::QuotaError,
    invites::FormError,
    invites::TemplateError,
    invites::RecordError,
);

impl Coded for invites::UnknownInviteType {
    fn code(&self) -> &'static str {
        "unknown-invite-type"
    }
}

/// `Ok(v)` as Lua values, or `nil, code, message`.
pub(crate) fn reply<T: IntoLuaMulti, E: Coded + Display>(
    lua: &Lua,
    r: Result<T, E>,
) -> mlua::Result<MultiValue> {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => fail(lua, e.code(), &e),
    }
}

fn type_error(func: &str, arg: &str, want: &str, got: &Value) -> mlua::Error {
    mlua::Error::runtime(format!(
        "bad argument '{arg}' to '{func}' ({want} expected, got {})",
        got.type_name()
    ))
}

/// The arguments of one call, read by position (or by option name) with
/// the function's name for error messages.
pub(crate) struct Args<'a> {
    pub(crate) func: &'static str,
    values: Vec<Value>,
    lua: &'a Lua,
}

impl<'a> Args<'a> {
    pub(crate) fn new(lua: &'a Lua, func: &'static str, values: MultiValue) -> Self {
        Self {
            func,
            values: values.into_vec(),
            lua,
        }
    }

    fn at(&self, i: usize) -> Value {
        self.values.get(i).cloned().unwrap_or(Value::Nil)
    }

    pub(crate) fn str(&self, i: usize, name: &str) -> mlua::Result<String> {
        want_str(self.func, name, self.at(i))
    }

    pub(crate) fn opt_str(&self, i: usize, name: &str) -> mlua::Result<Option<String>> {
        opt(self.at(i))
            .map(|v| want_str(self.func, name, v))
            .transpose()
    }

    pub(crate) fn int(&self, i: usize, name: &str) -> mlua::Result<i64> {
        want_int(self.func, name, self.at(i))
    }

    pub(crate) fn opt_int(&self, i: usize, name: &str) -> mlua::Result<Option<i64>> {
        opt(self.at(i))
            .map(|v| want_int(self.func, name, v))
            .transpose()
    }

    pub(crate) fn opt_bool(&self, i: usize, name: &str) -> mlua::Result<Option<bool>> {
        opt(self.at(i))
            .map(|v| want_bool(self.func, name, v))
            .transpose()
    }

    pub(crate) fn table(&self, i: usize, name: &str) -> mlua::Result<Table> {
        match self.at(i) {
            Value::Table(t) => Ok(t),
            other => Err(type_error(self.func, name, "table", &other)),
        }
    }

    pub(crate) fn opt_table(&self, i: usize, name: &str) -> mlua::Result<Option<Table>> {
        match self.at(i) {
            Value::Nil => Ok(None),
            Value::Table(t) => Ok(Some(t)),
            other => Err(type_error(self.func, name, "table", &other)),
        }
    }

    pub(crate) fn value(&self, i: usize) -> Value {
        self.at(i)
    }

    pub(crate) fn lua(&self) -> &'a Lua {
        self.lua
    }

    /// An option table's fields, named `opts.<field>` in errors.
    pub(crate) fn opts(&self, table: &Table) -> Opts {
        self.nested(table, "opts".into())
    }

    /// A table inside the options, its fields named `<name>.<field>` in
    /// errors (`quotas.max_invites`, `history[2].type`).
    pub(crate) fn nested(&self, table: &Table, name: Cow<'static, str>) -> Opts {
        Opts {
            func: self.func,
            name,
            table: table.clone(),
        }
    }
}

fn opt(v: Value) -> Option<Value> {
    (!v.is_nil()).then_some(v)
}

pub(crate) fn want_str(func: &str, name: &str, v: Value) -> mlua::Result<String> {
    match v {
        Value::String(s) => s
            .to_str()
            .map(|s| s.to_owned())
            .map_err(|_| mlua::Error::external(InvalidUtf8(name.to_owned()))),
        // Lua turns numbers into strings wherever a string is expected.
        Value::Integer(i) => Ok(i.to_string()),
        other => Err(type_error(func, name, "string", &other)),
    }
}

pub(crate) fn want_int(func: &str, name: &str, v: Value) -> mlua::Result<i64> {
    match v {
        Value::Integer(i) => Ok(i),
        // Lua 5.1 and LuaJIT have only floats.
        Value::Number(n) if n.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&n) => {
            Ok(n as i64)
        }
        Value::Number(_) => Err(mlua::Error::runtime(format!(
            "bad argument '{name}' to '{func}' (integer expected, got a fraction or a number out of range)"
        ))),
        other => Err(type_error(func, name, "integer", &other)),
    }
}

pub(crate) fn want_bool(func: &str, name: &str, v: Value) -> mlua::Result<bool> {
    match v {
        Value::Boolean(b) => Ok(b),
        other => Err(type_error(func, name, "boolean", &other)),
    }
}

/// Fields of an option table.
pub(crate) struct Opts {
    func: &'static str,
    /// What errors call the table.
    name: Cow<'static, str>,
    table: Table,
}

impl Opts {
    /// What errors call the field `key`.
    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.name)
    }

    fn get(&self, key: &str) -> mlua::Result<Value> {
        self.table.raw_get(key)
    }

    pub(crate) fn str(&self, key: &str) -> mlua::Result<String> {
        want_str(self.func, &self.field(key), self.get(key)?)
    }

    pub(crate) fn opt_str(&self, key: &str) -> mlua::Result<Option<String>> {
        opt(self.get(key)?)
            .map(|v| want_str(self.func, &self.field(key), v))
            .transpose()
    }

    pub(crate) fn opt_int(&self, key: &str) -> mlua::Result<Option<i64>> {
        opt(self.get(key)?)
            .map(|v| want_int(self.func, &self.field(key), v))
            .transpose()
    }

    /// An expiry time read from storage: an integer as [`Opts::opt_int`]
    /// reads it, or `math.huge` (Prosody 13's "never") as
    /// [`crate::record::infinite_expiry`] maps it.
    pub(crate) fn opt_expiry(&self, key: &str) -> mlua::Result<Option<i64>> {
        match self.get(key)? {
            // A fraction of a second is dropped, as in a record's expires.
            Value::Number(n) => match crate::record::infinite_expiry(n)
                .or_else(|| invites::unix_seconds_from_f64(n))
            {
                Some(e) => Ok(Some(e)),
                None => want_int(self.func, &self.field(key), Value::Number(n)).map(Some),
            },
            v => opt(v)
                .map(|v| want_int(self.func, &self.field(key), v))
                .transpose(),
        }
    }

    pub(crate) fn opt_bool(&self, key: &str) -> mlua::Result<Option<bool>> {
        opt(self.get(key)?)
            .map(|v| want_bool(self.func, &self.field(key), v))
            .transpose()
    }

    pub(crate) fn value(&self, key: &str) -> mlua::Result<Value> {
        self.get(key)
    }

    /// A list of strings (`{"a", "b"}`), or the empty list for nil.
    pub(crate) fn str_list(&self, key: &str) -> mlua::Result<Vec<String>> {
        str_list(self.func, &self.field(key), self.get(key)?)
    }
}

/// A list of strings from a sequence table (nil is empty).
pub(crate) fn str_list(func: &str, name: &str, v: Value) -> mlua::Result<Vec<String>> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::Table(t) => t
            .sequence_values::<Value>()
            .enumerate()
            .map(|(i, v)| want_str(func, &format!("{name}[{}]", i + 1), v?))
            .collect(),
        other => Err(type_error(func, name, "table", &other)),
    }
}

/// Serialisation options: plain tables (no array metatables, which Prosody's
/// storage would not keep), nil rather than a null sentinel.
pub(crate) fn to_lua<T: serde::Serialize>(lua: &Lua, v: &T) -> mlua::Result<Value> {
    lua.to_value_with(
        v,
        mlua::serde::SerializeOptions::new()
            .set_array_metatable(false)
            .serialize_none_to_null(false)
            .serialize_unit_to_null(false),
    )
}

/// A Lua table as JSON: functions, userdata and cycles are refused.
pub(crate) fn from_lua(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    lua.from_value_with(v, mlua::serde::DeserializeOptions::new().sort_keys(true))
}
