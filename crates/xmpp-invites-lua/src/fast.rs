//! `create`, `validate`, `datetime`, `check_token`, `redact_token`,
//! `build_uri` and `landing_link` on the raw Lua C API, and the validated
//! invite object `validate` shares with `registration_gate`.
//!
//! Through mlua's safe API a call cost 3 to 6 µs, nearly all of it in the
//! boundary (a protected push and pop per field, a reference per value).
//! Here the common case reads the option table and the record with one
//! `lua_next` walk each and builds its results with `lua_createtable` and
//! `lua_rawset`. Anything unusual (a wrong type, text that is not UTF-8, a
//! rarely used option, any failure but a core validation error) is handed
//! whole to the mlua implementation in `lib.rs` through [`slow`], which
//! therefore stays the one definition of every error and edge case.
//!
//! # Lua errors and panics
//!
//! The fast paths raise no Lua error of their own: they use only calls
//! that cannot raise except from an allocation (`lua_next`, `lua_rawget*`,
//! `lua_rawset*` and `lua_createtable` on tables, pushes,
//! `lua_newuserdata`), never a call that could run a metamethod. An
//! allocation raises when memory runs out, and on Lua 5.1 to 5.3 and
//! LuaJIT also when a finaliser written in Lua raises during the
//! collection step the allocation starts (Lua 5.4 makes that a warning).
//! The error reaches the caller either way:
//! - Lua 5.1 to 5.4 longjmp past the Rust frames, which leak what they own
//!   (the exposure of mlua's `skip_memory_check`, which these builds use);
//! - LuaJIT throws an exception that unwinds through the Rust frames,
//!   dropping what they own. A `catch_unwind` that such an exception
//!   reaches aborts the process, so on LuaJIT only the Rust-only parts of
//!   a fast path run under one ([`guarded`]; a panic there hands the call
//!   to the slow path), a panic anywhere else aborts ([`dispatch`]), and
//!   the mlua functions keep mlua's protected calls.
//!
//! Elsewhere a panic anywhere in a fast path is caught at the C boundary
//! and the call goes to the slow path. Errors are raised only by mlua
//! inside [`slow`] (`Lua::entrypoint`, the entry mlua's module macro uses),
//! from a frame that owns nothing, so a wrong argument gives the same error
//! object and traceback as before.
//!
//! The validated invite's metamethods and `use_changes` own nothing while
//! they call Lua but a reader of the invite ([`InUse`]): an error that
//! longjmps past it leaks that one invite, which is never dropped under a
//! reader (an unwinding error drops the reader and leaks nothing).

use std::ffi::c_void;
use std::os::raw::{c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use invites::{
    AdditionalData, BareJid, InviteAction, InviteRecord, InviteType, InviteWrite, LandingPage,
    NewInvite, Period, Redemption, Roles, ValidInvite,
};
use mlua::ffi::{self, lua_State};
use mlua::{AnyUserData, Function, IntoLuaMulti, Lua, MultiValue, Table, Value};

use crate::args;

/// Every call takes the mlua path when `XMPP_INVITES_LUA_SLOW_PATH` is set
/// at `require` time: the Lua suites run both ways and compare.
static SLOW_ONLY: AtomicBool = AtomicBool::new(false);

fn slow_only() -> bool {
    SLOW_ONLY.load(Ordering::Relaxed)
}

/// A call the fast path hands on raises an error instead when
/// `XMPP_INVITES_LUA_FAST_ONLY` is set at `require` time: the tests and
/// benchmarks that mean to time or exercise the fast path check with it
/// that they do.
static FAST_ONLY: AtomicBool = AtomicBool::new(false);

macro_rules! keys {
    ($($name:ident = $s:literal,)*) => {
        /// Strings the fast paths write, interned once in a table that is
        /// the first upvalue of `create` and `validate`.
        #[derive(Clone, Copy)]
        #[allow(clippy::enum_variant_names)]
        enum K { $($name,)* }
        const KEY_NAMES: &[&str] = &[$($s,)*];
    };
}

keys! {
    Token = "token",
    Uri = "uri",
    LandingPage = "landing_page",
    Expires = "expires",
    Type = "type",
    Inviter = "inviter",
    Record = "record",
    Changes = "changes",
    Op = "op",
    User = "user",
    Key = "key",
    Value = "value",
    Jid = "jid",
    AllowRegistration = "allow_registration",
    AdditionalData = "additional_data",
    CreatedAt = "created_at",
    Reusable = "reusable",
    MaxUses = "max_uses",
    Uses = "uses",
    Roles = "roles",
    Groups = "groups",
    Source = "source",
    Note = "note",
    AllowReset = "allow_reset",
    PutRecord = "put-record",
    PutContactExpiry = "put-contact-expiry",
    Register = "register",
    Roster = "roster",
    Account = "account",
    PasswordReset = "password-reset",
    ContactOnly = "contact-only",
    AccountAndContact = "account-and-contact",
    Group = "group",
}

/// Registry key of the validated invites' metatable.
static VALID_MT: u8 = 0;

fn valid_mt_key() -> *const c_void {
    std::ptr::addr_of!(VALID_MT).cast()
}

const MAGIC: u64 = 0x7869_5f76_616c_6964; // "xi_valid"

/// The memory of a validated invite userdata. `invite` is `None` only
/// after `__gc`.
///
/// `in_use` counts the readers ([`InUse`]) that hold a reference into
/// `invite` while they call Lua. A `__gc` call meanwhile (only the debug
/// library reaches `__gc` on a live invite, e.g. from a finaliser that one
/// of those calls runs) sets `doomed` instead of dropping the invite, and
/// the last reader drops it.
#[repr(C)]
struct Slot {
    magic: u64,
    in_use: usize,
    doomed: bool,
    invite: Option<ValidInvite>,
}

/// A reader of the invite in a [`Slot`], which keeps it from being
/// dropped. A Lua error that longjmps past a reader leaves the count up,
/// and the invite is leaked rather than dropped under another reader.
pub(crate) struct InUse(*mut Slot);

impl InUse {
    /// # Safety
    /// `p` is a slot whose userdata stays alive (reachable) while the
    /// reader lives.
    unsafe fn new(p: *mut Slot) -> Self {
        unsafe { (*p).in_use += 1 };
        InUse(p)
    }

    /// The invite, `None` when `__gc` ran before this reader came.
    pub(crate) fn invite(&self) -> Option<&ValidInvite> {
        unsafe { (*self.0).invite.as_ref() }
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        unsafe {
            let p = self.0;
            (*p).in_use -= 1;
            if (*p).in_use == 0 && (*p).doomed {
                drop((*p).invite.take());
            }
        }
    }
}

/// Replaces `create`, `validate`, `datetime`, `check_token`,
/// `redact_token`, `build_uri` and `landing_link` in the module table with
/// the C functions, and builds the validated invite's metatable.
pub(crate) fn register(lua: &Lua, module: &Table) -> mlua::Result<()> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    SLOW_ONLY.store(set("XMPP_INVITES_LUA_SLOW_PATH"), Ordering::Relaxed);
    FAST_ONLY.store(set("XMPP_INVITES_LUA_FAST_ONLY"), Ordering::Relaxed);
    let keys = lua.create_table_with_capacity(KEY_NAMES.len(), 0)?;
    for k in KEY_NAMES {
        keys.raw_push(*k)?;
    }
    // What mlua gave `LuaValidInvite`: its name, a hidden metatable, field
    // getters and the use_changes method behind `__index`. A module loaded
    // again (after `package.loaded.xmpp_invites = nil`) keeps the metatable
    // of the first load: invites validated before stay ours.
    let registered: Value = unsafe {
        lua.exec_raw((), |s| {
            ffi::lua_rawgetp(s, ffi::LUA_REGISTRYINDEX, valid_mt_key());
        })?
    };
    let mt = match registered {
        Value::Table(mt) => mt,
        _ => {
            let mt = lua.create_table()?;
            let use_changes = unsafe { lua.create_c_function(use_changes_c)? };
            mt.raw_set("__gc", unsafe { lua.create_c_function(valid_gc)? })?;
            mt.raw_set("__index", unsafe {
                closure(lua, valid_index, use_changes)?
            })?;
            mt.raw_set("__metatable", false)?;
            mt.raw_set("__name", "LuaValidInvite")?;
            unsafe {
                lua.exec_raw::<()>(mt.clone(), |s| {
                    ffi::lua_rawsetp(s, ffi::LUA_REGISTRYINDEX, valid_mt_key());
                })?;
            }
            mt
        }
    };
    module.set("fast_path", !slow_only())?;
    module.set("create", unsafe {
        closure(lua, create_c, (keys.clone(), mt.clone()))?
    })?;
    module.set("validate", unsafe { closure(lua, validate_c, (keys, mt))? })?;
    module.set("datetime", unsafe { lua.create_c_function(datetime_c)? })?;
    module.set("check_token", unsafe {
        lua.create_c_function(check_token_c)?
    })?;
    module.set("redact_token", unsafe {
        lua.create_c_function(redact_token_c)?
    })?;
    module.set("build_uri", unsafe { lua.create_c_function(build_uri_c)? })?;
    module.set("landing_link", unsafe {
        lua.create_c_function(landing_link_c)?
    })?;
    Ok(())
}

/// A C closure over `upvalues`.
unsafe fn closure(
    lua: &Lua,
    f: ffi::lua_CFunction,
    upvalues: impl IntoLuaMulti,
) -> mlua::Result<Function> {
    let upvalues = upvalues.into_lua_multi(lua)?;
    let n = c_int::try_from(upvalues.len()).map_err(mlua::Error::external)?;
    unsafe { lua.exec_raw(upvalues, |s| ffi::lua_pushcclosure(s, f, n)) }
}

// --- the slow path ------------------------------------------------------------

/// Runs the mlua implementation `f` on the call's arguments (the stack
/// must hold exactly them) and returns its results. mlua raises its errors
/// from inside; this frame owns nothing.
unsafe fn slow(l: *mut lua_State, func: &'static str, f: crate::Export) -> c_int {
    let n = unsafe {
        Lua::entrypoint(l, move |lua, values: MultiValue| {
            // entrypoint returns one value: the results packed in a table.
            let out = args::run(lua, func, values, f)?;
            let packed = lua.create_table_with_capacity(out.len(), 1)?;
            packed.raw_set("n", out.len())?;
            for (i, v) in out.into_iter().enumerate() {
                packed.raw_set(i + 1, v)?;
            }
            Ok(packed)
        })
    };
    debug_assert_eq!(n, 1);
    unsafe {
        let t = ffi::lua_gettop(l);
        ffi::lua_pushstring(l, c"n".as_ptr());
        ffi::lua_rawget(l, t);
        let count = ffi::lua_tointeger(l, -1) as c_int;
        ffi::lua_pop(l, 1);
        for i in 1..=count {
            ffi::lua_rawgeti(l, t, i.into());
        }
        count
    }
}

/// The fast path `fast`; `None` (or a panic) hands the call to [`slow`].
///
/// On LuaJIT, Lua errors are exceptions that unwind through the Rust
/// frames (dropping what they own), and a `catch_unwind` they reach aborts
/// the process; so there only the Rust-only parts of a fast path run under
/// a `catch_unwind` ([`guarded`]), and a panic anywhere else aborts rather
/// than run into LuaJIT's frames. Elsewhere the whole fast path runs under
/// one as well.
unsafe fn dispatch(
    l: *mut lua_State,
    func: &'static str,
    fast: unsafe fn(*mut lua_State) -> Option<c_int>,
    f: crate::Export,
) -> c_int {
    let nargs = unsafe { ffi::lua_gettop(l) };
    if !slow_only() {
        #[cfg(feature = "luajit")]
        let done = {
            let _abort = AbortOnPanic;
            unsafe { fast(l) }
        };
        #[cfg(not(feature = "luajit"))]
        let done = catch_unwind(AssertUnwindSafe(|| unsafe { fast(l) }))
            .ok()
            .flatten();
        if let Some(n) = done {
            return n;
        }
        unsafe { ffi::lua_settop(l, nargs) };
        if FAST_ONLY.load(Ordering::Relaxed) {
            // This frame owns nothing that an error's longjmp or unwind
            // could leak or drop.
            unsafe {
                ffi::lua_settop(l, 0);
                let message = format!(
                    "XMPP_INVITES_LUA_FAST_ONLY: the fast path of '{func}' handed this call on"
                );
                ffi::lua_pushlstring(l, message.as_ptr().cast(), message.len());
                drop(message);
                ffi::lua_error(l)
            }
        }
    }
    unsafe { slow(l, func, f) }
}

/// Runs Rust that makes no Lua call that can raise (reading a string
/// already on the stack is one it may make) under a panic guard: a panic
/// gives `None`, and the call goes to the slow path.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

/// Aborts the process when a panic unwinds past it (a LuaJIT error
/// unwinding past it is no panic and goes on).
#[cfg(feature = "luajit")]
struct AbortOnPanic;

#[cfg(feature = "luajit")]
impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::process::abort();
        }
    }
}

unsafe extern "C-unwind" fn create_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "create", create_fast, crate::create) }
}

unsafe extern "C-unwind" fn validate_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "validate", validate_fast, crate::validate) }
}

unsafe extern "C-unwind" fn datetime_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "datetime", datetime_fast, crate::datetime) }
}

unsafe extern "C-unwind" fn check_token_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "check_token", check_token_fast, crate::check_token) }
}

unsafe extern "C-unwind" fn redact_token_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "redact_token", redact_token_fast, crate::redact_token) }
}

unsafe extern "C-unwind" fn build_uri_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "build_uri", build_uri_fast, crate::build_uri) }
}

unsafe extern "C-unwind" fn landing_link_c(l: *mut lua_State) -> c_int {
    unsafe { dispatch(l, "landing_link", landing_link_fast, crate::landing_link) }
}

/// `build_uri(opts)` for string fields that make a valid JID and token;
/// anything else (including every failure) takes the slow path.
unsafe fn build_uri_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        if ffi::lua_type(l, 1) != ffi::LUA_TTABLE || ffi::lua_checkstack(l, 8) == 0 {
            return None;
        }
        // Slots 2 to 4: the localpart, host and token, kept on the stack
        // while their text is used.
        ffi::lua_settop(l, 4);
        let (mut action, mut local, mut host, mut token, mut ibr) =
            (None, false, false, false, false);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            let v = ffi::lua_gettop(l);
            let keep = |slot: c_int| {
                ffi::lua_pushvalue(l, v);
                ffi::lua_replace(l, slot);
                true
            };
            match key_bytes(l, -2) {
                Some(b"action") => match utf8(l, v) {
                    Some("register") => action = Some(InviteAction::Register),
                    Some("roster") => action = Some(InviteAction::Roster),
                    _ => return None,
                },
                Some(b"localpart") => utf8(l, v).map(|_| local = keep(2))?,
                Some(b"host") => utf8(l, v).map(|_| host = keep(3))?,
                Some(b"token") => utf8(l, v).map(|_| token = keep(4))?,
                Some(b"ibr") => bool_at(l, v).map(|b| ibr = b)?,
                // Other keys are no options.
                _ => (),
            }
            ffi::lua_pop(l, 1);
        }
        let local = if local { Some(utf8(l, 2)?) } else { None };
        let (host, token) = (host.then(|| utf8(l, 3))??, token.then(|| utf8(l, 4))??);
        let uri = guarded(|| {
            let jid = BareJid::new(local, host).ok()?;
            invites::build_uri(&jid, action?, token, ibr).ok()
        })?;
        push_str(l, &uri);
        Some(1)
    }
}

/// `landing_link(template, host, record[, supports])` for a record
/// `record` reads and a `supports` that is nil (the default types) or a
/// list of type names, as `invites_page_supports` gives it; anything else
/// takes the slow path. The compiled template is the one `create` keeps
/// while the template and the types stay the same.
unsafe fn landing_link_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        let supports = match (ffi::lua_gettop(l), ffi::lua_type(l, 4)) {
            (3, _) | (4, ffi::LUA_TNIL) => None,
            (4, ffi::LUA_TTABLE) => Some(supported_types(l, 4)?),
            _ => return None,
        };
        if ffi::lua_type(l, 3) != ffi::LUA_TTABLE || ffi::lua_checkstack(l, 8) == 0 {
            return None;
        }
        let (template, host) = (utf8(l, 1)?, utf8(l, 2)?);
        let record = record(l, 3)?;
        match guarded(|| landing_page(template, supports).link(host, &record).ok())? {
            Some(link) => push_str(l, &link),
            None => ffi::lua_pushboolean(l, 0),
        }
        Some(1)
    }
}

/// The types a list of `invites_page_supports` names gives, one bit per
/// [`InviteType::ALL`] entry; `None` (the slow path, which owns the
/// errors) when the list holds anything but known names.
unsafe fn supported_types(l: *mut lua_State, idx: c_int) -> Option<u8> {
    unsafe {
        let mut mask = 0u8;
        for i in 1.. {
            if ffi::lua_rawgeti(l, idx, i) == ffi::LUA_TNIL {
                ffi::lua_pop(l, 1);
                return Some(mask);
            }
            let t = utf8(l, -1).and_then(|s| s.parse::<InviteType>().ok());
            ffi::lua_pop(l, 1);
            mask |= type_bit(t?);
        }
        None
    }
}

fn type_bit(t: InviteType) -> u8 {
    let i = InviteType::ALL.iter().position(|&x| x == t).unwrap_or(0);
    1 << i
}

/// The one argument of `check_token` or `redact_token`, when it is a
/// token of the right shape; `None` (the slow path, which owns every
/// refusal and error) for anything else.
unsafe fn token_arg(l: *mut lua_State) -> Option<invites::Token> {
    unsafe {
        if ffi::lua_gettop(l) != 1 {
            return None;
        }
        let text = utf8(l, 1)?;
        guarded(|| invites::Token::parse(text).ok())
    }
}

/// `check_token(token)` for a token of the right shape.
unsafe fn check_token_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        token_arg(l)?;
        ffi::lua_pushboolean(l, 1);
        Some(1)
    }
}

/// `redact_token(token)` for a token of the right shape (the modules log
/// every invite they create with it).
unsafe fn redact_token_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        let redacted = token_arg(l)?.redacted();
        push_str(l, &redacted);
        Some(1)
    }
}

/// `datetime(t)` for one whole number in range; anything else (a wrong
/// type, a fraction, extra arguments, out of range) takes the slow path,
/// which owns every error.
unsafe fn datetime_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, 1) != ffi::LUA_TNUMBER {
            return None;
        }
        let Num::Int(t) = number(l, 1) else {
            return None;
        };
        let text = guarded(|| invites::format_datetime(t).ok())?;
        push_str(l, &text);
        Some(1)
    }
}

// --- reading ----------------------------------------------------------------

/// A number as mlua reads it: an integer (Lua 5.3+ integers; on 5.1 and
/// LuaJIT, floats that are exactly an i64) or a float.
enum Num {
    Int(i64),
    Float,
}

unsafe fn number(l: *mut lua_State, idx: c_int) -> Num {
    #[cfg(any(feature = "lua54", feature = "lua53"))]
    unsafe {
        if ffi::lua_isinteger(l, idx) != 0 {
            Num::Int(ffi::lua_tointeger(l, idx))
        } else {
            Num::Float
        }
    }
    #[cfg(not(any(feature = "lua54", feature = "lua53")))]
    {
        let n = unsafe { ffi::lua_tonumber(l, idx) };
        // i64::MAX as f64 is 2^63, the first value that does not fit.
        if n.fract() == 0.0
            && n >= i64::MIN as f64
            && n < i64::MAX as f64
            && n.to_bits() == (n as i64 as f64).to_bits()
        {
            Num::Int(n as i64)
        } else {
            Num::Float
        }
    }
}

/// The string at `idx` if it is one (numbers are not converted) and UTF-8.
///
/// The text lives as long as the Lua string: callers keep the string on
/// the stack or read it from a table that holds it and that nothing
/// changes while the text is used.
unsafe fn utf8<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a str> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0;
        let p = ffi::lua_tolstring(l, idx, &mut len);
        let bytes = std::slice::from_raw_parts(p.cast::<u8>(), len);
        // Nearly every string here is ASCII, which is_ascii checks a word
        // at a time (from_utf8 cost 3 to 4 instructions a byte).
        if bytes.is_ascii() {
            // SAFETY: ASCII is UTF-8.
            Some(std::str::from_utf8_unchecked(bytes))
        } else {
            std::str::from_utf8(bytes).ok()
        }
    }
}

/// The key at `idx` as bytes, if it is a string (never converted: this is
/// called on `lua_next` keys).
unsafe fn key_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0;
        let p = ffi::lua_tolstring(l, idx, &mut len);
        Some(std::slice::from_raw_parts(p.cast::<u8>(), len))
    }
}

unsafe fn int_at(l: *mut lua_State, idx: c_int) -> Option<i64> {
    unsafe {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TNUMBER => match number(l, idx) {
                Num::Int(i) => Some(i),
                Num::Float => None,
            },
            _ => None,
        }
    }
}

/// An expiry time as `record.rs` reads it: whole seconds, or `math.huge`
/// (Prosody 13's "never") as [`crate::record::infinite_expiry`] maps it.
unsafe fn expiry_at(l: *mut lua_State, idx: c_int) -> Option<i64> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TNUMBER {
            return None;
        }
        match number(l, idx) {
            Num::Int(i) => Some(i),
            Num::Float => crate::record::infinite_expiry(ffi::lua_tonumber(l, idx)),
        }
    }
}

unsafe fn bool_at(l: *mut lua_State, idx: c_int) -> Option<bool> {
    unsafe { (ffi::lua_type(l, idx) == ffi::LUA_TBOOLEAN).then(|| ffi::lua_toboolean(l, idx) != 0) }
}

/// A list of strings from the sequence at `idx` (`rawgeti` from 1 to the
/// first nil), as `str_list` reads it; `None` for anything else.
unsafe fn str_list(l: *mut lua_State, idx: c_int) -> Option<Vec<String>> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return None;
        }
        let mut out = Vec::new();
        for i in 1.. {
            if ffi::lua_rawgeti(l, idx, i) == ffi::LUA_TNIL {
                ffi::lua_pop(l, 1);
                return Some(out);
            }
            let s = utf8(l, -1).map(str::to_owned);
            ffi::lua_pop(l, 1);
            out.push(s?);
        }
        None
    }
}

/// Names stored as a list (`names` in record.rs): integer keys from 1 in
/// any order, string values.
unsafe fn names(l: *mut lua_State, idx: c_int) -> Option<Vec<String>> {
    unsafe {
        let mut out = Vec::new();
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            let item = match (ffi::lua_type(l, -2), utf8(l, -1)) {
                (ffi::LUA_TNUMBER, Some(s)) => match number(l, -2) {
                    Num::Int(i) if i >= 1 => Some((i, s.to_owned())),
                    _ => None,
                },
                _ => None,
            };
            ffi::lua_pop(l, 1);
            match item {
                Some(x) => out.push(x),
                None => {
                    ffi::lua_pop(l, 1);
                    return None;
                }
            }
        }
        out.sort_by_key(|(i, _)| *i);
        Some(out.into_iter().map(|(_, s)| s).collect())
    }
}

/// Roles as `roles` in record.rs reads them: a list (or `{}`), else a set
/// of names to booleans.
unsafe fn roles(l: *mut lua_State, idx: c_int) -> Option<Roles> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return None;
        }
        ffi::lua_pushnil(l);
        let empty = ffi::lua_next(l, idx) == 0;
        if !empty {
            ffi::lua_pop(l, 2);
        }
        if ffi::lua_rawlen(l, idx) > 0 || empty {
            return names(l, idx).map(Roles::Ordered);
        }
        let set = role_members(l, idx, true)?;
        Some(if set.is_empty() {
            Roles::Ordered(Vec::new())
        } else {
            Roles::LegacySet(set)
        })
    }
}

/// How [`additional_data`] reads the lists: as a stored record holds
/// them (`record::from_table`), or as `create` takes them on the fast path.
#[derive(Clone, Copy, PartialEq)]
enum DataLists {
    /// `roles` as [`roles`] reads it, `groups` as [`names`].
    Record,
    /// The shapes the Prosody modules pass, no holes and nothing empty:
    /// `roles` a [`strict_list`] or a [`role_set`], `groups` a
    /// [`strict_list`]. Anything else the slow path reads through serde.
    Create,
}

/// `additional_data` with only the fields the core knows, its lists read
/// as `lists` says; `None` for unknown keys (they go through serde on the
/// slow path) or wrong types.
unsafe fn additional_data(
    l: *mut lua_State,
    idx: c_int,
    lists: DataLists,
) -> Option<AdditionalData> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return None;
        }
        let mut d = AdditionalData::default();
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            let v = ffi::lua_gettop(l);
            let ok = match (key_bytes(l, -2), lists) {
                (Some(b"roles"), DataLists::Record) => roles(l, v).map(|r| d.roles = Some(r)),
                (Some(b"roles"), DataLists::Create) => strict_list(l, v)
                    .map(Roles::Ordered)
                    .or_else(|| role_set(l, v).map(Roles::LegacySet))
                    .map(|r| d.roles = Some(r)),
                (Some(b"groups"), DataLists::Record) => (ffi::lua_type(l, v) == ffi::LUA_TTABLE)
                    .then(|| names(l, v))
                    .flatten()
                    .map(|g| d.groups = Some(g)),
                (Some(b"groups"), DataLists::Create) => {
                    strict_list(l, v).map(|g| d.groups = Some(g))
                }
                (Some(b"source"), _) => utf8(l, v).map(|s| d.source = Some(s.to_owned())),
                (Some(b"note"), _) => utf8(l, v).map(|s| d.note = Some(s.to_owned())),
                (Some(b"allow_reset"), _) => utf8(l, v).map(|s| d.allow_reset = Some(s.to_owned())),
                _ => None,
            };
            ffi::lua_pop(l, 1);
            if ok.is_none() {
                ffi::lua_pop(l, 1);
                return None;
            }
        }
        Some(d)
    }
}

/// A table that is a non-empty list of strings and nothing else: keys 1
/// to n, no holes, no other keys.
unsafe fn strict_list(l: *mut lua_State, idx: c_int) -> Option<Vec<String>> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return None;
        }
        let list = str_list(l, idx)?;
        let mut entries = 0;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            entries += 1;
            ffi::lua_pop(l, 1);
        }
        (!list.is_empty() && entries == list.len()).then_some(list)
    }
}

/// A non-empty role set `{[name] = true, ...}`, its members sorted, as the
/// core keeps a legacy set.
unsafe fn role_set(l: *mut lua_State, idx: c_int) -> Option<Vec<String>> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return None;
        }
        role_members(l, idx, false).filter(|set| !set.is_empty())
    }
}

/// The members of the role set (a table) at `idx`, sorted: names mapped to
/// `true`, and to `false` (left out) where `false_ok`; `None` for any
/// other entry.
unsafe fn role_members(l: *mut lua_State, idx: c_int, false_ok: bool) -> Option<Vec<String>> {
    unsafe {
        let mut set = Vec::new();
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            let member = match (key_bytes(l, -2), bool_at(l, -1)) {
                (Some(k), Some(b)) if b || false_ok => {
                    std::str::from_utf8(k).ok().map(|k| b.then(|| k.to_owned()))
                }
                _ => None,
            };
            ffi::lua_pop(l, 1);
            match member {
                Some(Some(k)) => set.push(k),
                Some(None) => {}
                None => {
                    ffi::lua_pop(l, 1);
                    return None;
                }
            }
        }
        set.sort();
        Some(set)
    }
}

/// A record table in Prosody's shape, read as `record::from_table` reads
/// it; `None` for anything it would refuse or read through serde.
unsafe fn record(l: *mut lua_State, idx: c_int) -> Option<InviteRecord> {
    let (mut action, mut jid, mut token) = (None, None, None);
    let mut r = crate::record::blank();
    unsafe {
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            let v = ffi::lua_gettop(l);
            let count = |n: i64| u32::try_from(n).ok();
            let ok = match key_bytes(l, -2) {
                Some(b"type") => match utf8(l, v) {
                    Some("register") => {
                        action = Some(InviteAction::Register);
                        Some(())
                    }
                    Some("roster") => {
                        action = Some(InviteAction::Roster);
                        Some(())
                    }
                    _ => None,
                },
                Some(b"jid") => utf8(l, v).map(|s| jid = Some(s.to_owned())),
                Some(b"token") => utf8(l, v).map(|s| token = Some(s.to_owned())),
                Some(b"allow_registration") => bool_at(l, v).map(|b| r.allow_registration = b),
                Some(b"additional_data") => {
                    additional_data(l, v, DataLists::Record).map(|d| r.additional_data = Some(d))
                }
                Some(b"uri") => utf8(l, v).map(|s| r.uri = s.to_owned()),
                Some(b"created_at") => int_at(l, v).map(|n| r.created_at = Some(n)),
                Some(b"expires") => expiry_at(l, v).map(|n| r.expires = Some(n)),
                Some(b"reusable") => bool_at(l, v).map(|b| r.reusable = Some(b)),
                Some(b"landing_page") => utf8(l, v).map(|s| r.landing_page = Some(s.to_owned())),
                Some(b"max_uses") => int_at(l, v).and_then(count).map(|n| r.max_uses = Some(n)),
                Some(b"uses") => int_at(l, v).and_then(count).map(|n| r.uses = Some(n)),
                _ => None,
            };
            ffi::lua_pop(l, 1);
            if ok.is_none() {
                ffi::lua_pop(l, 1);
                return None;
            }
        }
    }
    r.action = action?;
    r.jid = jid?;
    r.token = token?;
    Some(r)
}

// --- writing ----------------------------------------------------------------

/// Pushes the interned string `k` (the keys table is at `keys`). Only the
/// debug library can reach that table (`debug.getupvalue(xi.create, 1)`);
/// should an entry be no string any more, `k` is pushed anew, so that
/// `lua_rawset` never meets a nil or NaN key, which would raise past the
/// Rust frames. (A string put there keys the results by it, as the caller
/// asked; checking every entry's text would cost a tenth of a create.)
unsafe fn push_key(l: *mut lua_State, keys: c_int, k: K) {
    unsafe {
        if ffi::lua_rawgeti(l, keys, k as ffi::lua_Integer + 1) != ffi::LUA_TSTRING {
            ffi::lua_pop(l, 1);
            push_str(l, KEY_NAMES[k as usize]);
        }
    }
}

unsafe fn push_str(l: *mut lua_State, s: &str) {
    unsafe { ffi::lua_pushlstring(l, s.as_ptr().cast::<c_char>(), s.len()) };
}

/// `t[k] = <the value on top>` (the value is popped).
unsafe fn set(l: *mut lua_State, keys: c_int, t: c_int, k: K) {
    unsafe {
        push_key(l, keys, k);
        ffi::lua_insert(l, -2);
        ffi::lua_rawset(l, t);
    }
}

/// `t[k] = <the value in slot>`.
unsafe fn set_slot(l: *mut lua_State, keys: c_int, t: c_int, k: K, slot: c_int) {
    unsafe {
        push_key(l, keys, k);
        ffi::lua_pushvalue(l, slot);
        ffi::lua_rawset(l, t);
    }
}

unsafe fn set_str(l: *mut lua_State, keys: c_int, t: c_int, k: K, s: &str) {
    unsafe {
        push_key(l, keys, k);
        push_str(l, s);
        ffi::lua_rawset(l, t);
    }
}

unsafe fn set_opt_str(l: *mut lua_State, keys: c_int, t: c_int, k: K, s: Option<&str>) {
    unsafe {
        push_key(l, keys, k);
        match s {
            Some(s) => push_str(l, s),
            None => ffi::lua_pushnil(l),
        }
        ffi::lua_rawset(l, t);
    }
}

unsafe fn set_int(l: *mut lua_State, keys: c_int, t: c_int, k: K, n: i64) {
    unsafe {
        push_key(l, keys, k);
        ffi::lua_pushinteger(l, n);
        ffi::lua_rawset(l, t);
    }
}

unsafe fn set_bool(l: *mut lua_State, keys: c_int, t: c_int, k: K, b: bool) {
    unsafe {
        push_key(l, keys, k);
        ffi::lua_pushboolean(l, c_int::from(b));
        ffi::lua_rawset(l, t);
    }
}

/// A list of strings as mlua's serde writes a `Vec<String>`.
unsafe fn push_list(l: *mut lua_State, items: &[String]) {
    unsafe {
        ffi::lua_createtable(l, c_int::try_from(items.len()).unwrap_or(0), 0);
        for (i, s) in items.iter().enumerate() {
            push_str(l, s);
            ffi::lua_rawseti(l, -2, i as ffi::lua_Integer + 1);
        }
    }
}

/// `additional_data` as `to_lua` (mlua's serde) writes it: the same table
/// sizes and the same order of insertion. `false` when it holds unknown
/// keys, which only serde writes.
unsafe fn push_additional_data(l: *mut lua_State, keys: c_int, d: &AdditionalData) -> bool {
    if !d.extra.is_empty() {
        return false;
    }
    unsafe {
        // A struct with a flattened map: serialize_map(None).
        ffi::lua_createtable(l, 0, 0);
        let t = ffi::lua_gettop(l);
        match &d.roles {
            Some(Roles::Ordered(r)) => {
                push_list(l, r);
                set(l, keys, t, K::Roles);
            }
            Some(Roles::LegacySet(r)) => {
                ffi::lua_createtable(l, 0, c_int::try_from(r.len()).unwrap_or(0));
                for role in r {
                    push_str(l, role);
                    ffi::lua_pushboolean(l, 1);
                    ffi::lua_rawset(l, -3);
                }
                set(l, keys, t, K::Roles);
            }
            None => {}
        }
        if let Some(g) = &d.groups {
            push_list(l, g);
            set(l, keys, t, K::Groups);
        }
        for (k, v) in [
            (K::Source, &d.source),
            (K::Note, &d.note),
            (K::AllowReset, &d.allow_reset),
        ] {
            if let Some(s) = v {
                set_str(l, keys, t, k, s);
            }
        }
    }
    true
}

/// Stack slots holding the token, URI and landing link (or nil) already
/// pushed for the invite, which its record shares: one Lua string each.
#[derive(Clone, Copy)]
struct Shared {
    token: c_int,
    uri: c_int,
    landing: c_int,
}

/// The record as `record::to_table` writes it (same size, same order);
/// `false`, with nothing pushed, when only that function can. With
/// `shared`, its token, URI and landing link are the strings in those
/// slots.
unsafe fn push_record(
    l: *mut lua_State,
    keys: c_int,
    r: &InviteRecord,
    shared: Option<Shared>,
) -> bool {
    if !r.extra.is_empty() {
        return false;
    }
    unsafe {
        ffi::lua_createtable(l, 0, 12);
        let t = ffi::lua_gettop(l);
        push_key(
            l,
            keys,
            match r.action {
                InviteAction::Register => K::Register,
                InviteAction::Roster => K::Roster,
            },
        );
        set(l, keys, t, K::Type);
        set_str(l, keys, t, K::Jid, &r.jid);
        match shared {
            Some(s) => set_slot(l, keys, t, K::Token, s.token),
            None => set_str(l, keys, t, K::Token, &r.token),
        }
        if r.allow_registration {
            set_bool(l, keys, t, K::AllowRegistration, true);
        }
        if let Some(d) = &r.additional_data {
            if !push_additional_data(l, keys, d) {
                ffi::lua_settop(l, t - 1);
                return false;
            }
            set(l, keys, t, K::AdditionalData);
        }
        if !r.uri.is_empty() {
            match shared {
                Some(s) => set_slot(l, keys, t, K::Uri, s.uri),
                None => set_str(l, keys, t, K::Uri, &r.uri),
            }
        }
        if let Some(v) = r.created_at {
            set_int(l, keys, t, K::CreatedAt, v);
        }
        if let Some(v) = r.expires {
            set_int(l, keys, t, K::Expires, v);
        }
        if let Some(v) = r.reusable {
            set_bool(l, keys, t, K::Reusable, v);
        }
        if let Some(v) = &r.landing_page {
            match shared {
                Some(s) => set_slot(l, keys, t, K::LandingPage, s.landing),
                None => set_str(l, keys, t, K::LandingPage, v),
            }
        }
        if let Some(v) = r.max_uses {
            set_int(l, keys, t, K::MaxUses, v.into());
        }
        if let Some(v) = r.uses {
            set_int(l, keys, t, K::Uses, v.into());
        }
    }
    true
}

fn type_key(t: InviteType) -> K {
    match t {
        InviteType::Account => K::Account,
        InviteType::PasswordReset => K::PasswordReset,
        InviteType::ContactOnly => K::ContactOnly,
        InviteType::AccountAndContact => K::AccountAndContact,
        InviteType::Group => K::Group,
    }
}

// --- create -----------------------------------------------------------------

thread_local! {
    /// The landing page last compiled on this thread, with the types it
    /// was given (`None`: the default ones): a module passes the same
    /// template to every `create` or `landing_link`.
    static LANDING: std::cell::RefCell<Option<(Arc<LandingPage>, Option<u8>)>> = const {
        std::cell::RefCell::new(None)
    };
}

/// The landing page for `template` and the supported types `supports`
/// ([`supported_types`]; `None`: the default ones), compiled once for as
/// long as both stay the same.
fn landing_page(template: &str, supports: Option<u8>) -> Arc<LandingPage> {
    LANDING.with_borrow_mut(|last| match last {
        Some((page, s)) if *s == supports && page.template() == template => Arc::clone(page),
        _ => {
            let mut page = LandingPage::new(template);
            if let Some(mask) = supports {
                page = page.with_supports(
                    InviteType::ALL
                        .into_iter()
                        .filter(|&t| mask & type_bit(t) != 0),
                );
            }
            Arc::clone(&last.insert((Arc::new(page), supports)).0)
        }
    })
}

/// Stack slots (after the option table at 1) that keep the option
/// strings read during the walk on the stack while their text is used.
const ANCHORS: c_int = 16;

/// `create(opts)` for options of the expected types; `None` for the rest.
unsafe fn create_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        // The keys table is the first upvalue, which only the debug library
        // could have replaced (`debug.setupvalue`): then the slow path.
        if ffi::lua_type(l, 1) != ffi::LUA_TTABLE
            || ffi::lua_type(l, ffi::lua_upvalueindex(1)) != ffi::LUA_TTABLE
            || ffi::lua_checkstack(l, ANCHORS + 24) == 0
        {
            return None;
        }
        ffi::lua_settop(l, 1 + ANCHORS);
        let mut next_anchor = 2;
        let mut anchor = |l: *mut lua_State| -> c_int {
            let slot = next_anchor;
            next_anchor += 1;
            ffi::lua_pushvalue(l, -1);
            ffi::lua_replace(l, slot);
            slot
        };
        let (mut kind, mut host, mut user, mut landing) = (None, None, None, None);
        let (mut source, mut note, mut roles_form) = (None, None, None);
        let (mut ttl, mut reusable, mut hashed, mut max_uses, mut now) =
            (None, None, None, None, None);
        let (mut roles, mut groups, mut data) = (None, None, None);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            let v = ffi::lua_gettop(l);
            let ok = match key_bytes(l, -2) {
                Some(b"type") => utf8(l, v)
                    .and_then(|s| s.parse::<InviteType>().ok())
                    .map(|t| kind = Some(t)),
                Some(b"host") => utf8(l, v).map(|_| host = Some(anchor(l))),
                Some(b"user") => utf8(l, v).map(|_| user = Some(anchor(l))),
                Some(b"landing_page") => utf8(l, v).map(|_| landing = Some(anchor(l))),
                Some(b"source") => utf8(l, v).map(|_| source = Some(anchor(l))),
                Some(b"note") => utf8(l, v).map(|_| note = Some(anchor(l))),
                Some(b"roles_form") => utf8(l, v).map(|_| roles_form = Some(anchor(l))),
                Some(b"ttl") => match ffi::lua_type(l, v) {
                    ffi::LUA_TNUMBER => match number(l, v) {
                        Num::Int(i) => Period::from_seconds(i).ok().map(|p| ttl = Some(p)),
                        Num::Float => None,
                    },
                    _ => utf8(l, v)
                        .and_then(|s| Period::parse(s).ok())
                        .map(|p| ttl = Some(p)),
                },
                Some(b"reusable") => bool_at(l, v).map(|b| reusable = Some(b)),
                Some(b"hash_at_rest") => bool_at(l, v).map(|b| hashed = Some(b)),
                Some(b"max_uses") => int_at(l, v)
                    .and_then(|n| u32::try_from(n).ok())
                    .map(|n| max_uses = Some(n)),
                Some(b"now") => int_at(l, v).map(|n| now = Some(n)),
                Some(b"roles") => str_list(l, v).map(|r| roles = Some(r)),
                Some(b"groups") => str_list(l, v).map(|g| groups = Some(g)),
                Some(b"additional_data") => {
                    additional_data(l, v, DataLists::Create).map(|d| data = Some(d))
                }
                // Rare options stay on the slow path.
                Some(b"token_format" | b"token_size" | b"landing_page_supports") => None,
                // Other keys are no options.
                _ => Some(()),
            };
            ffi::lua_pop(l, 1);
            ok?;
        }
        // The invite is built and made in Rust alone, under its own panic
        // guard (the reads above and the writes below are Lua's).
        let hashed = hashed.unwrap_or(false);
        let invite = guarded(|| {
            let text = |slot: Option<c_int>| slot.and_then(|s| utf8(l, s));
            let (host, user) = (text(host)?, text(user));
            let groups = groups.unwrap_or_default();
            let mut new = match kind? {
                InviteType::Account => match user {
                    Some(u) => NewInvite::account_for(u, host),
                    None => NewInvite::account(host),
                },
                InviteType::PasswordReset => NewInvite::password_reset(user?, host),
                InviteType::ContactOnly => NewInvite::contact(user?, host, false),
                InviteType::AccountAndContact => NewInvite::contact(user?, host, true),
                InviteType::Group => NewInvite::group(host, groups.clone()),
            };
            // The order of lib.rs's create.
            if let Some(d) = data {
                new = new.additional_data(d);
            }
            if let Some(r) = reusable {
                new = new.reusable(r);
            }
            new = new.hash_at_rest(hashed);
            if let Some(p) = ttl {
                new = new.ttl(p);
            }
            let roles = roles.unwrap_or_default();
            if !roles.is_empty() {
                new = match text(roles_form) {
                    None | Some("list") => new.roles(roles),
                    Some("set") => new.legacy_roles(roles),
                    Some(_) => return None,
                };
            }
            if kind != Some(InviteType::Group) && !groups.is_empty() {
                new = new.groups(groups);
            }
            if let Some(s) = text(source) {
                new = new.source(s);
            }
            if let Some(s) = text(note) {
                new = new.note(s);
            }
            if let Some(n) = max_uses {
                new = new.max_uses(n);
            }
            if let Some(t) = text(landing) {
                new = new.landing_page(landing_page(t, None));
            }
            crate::create_invite(&new, crate::now_or(now)).ok()
        })?;

        // The results, as lib.rs's create builds them. The token, URI and
        // landing link are pushed once, for the invite and its record.
        let keys = ffi::lua_upvalueindex(1);
        push_str(l, invite.token().as_str());
        let token = ffi::lua_gettop(l);
        push_str(l, invite.uri());
        match invite.landing_page() {
            Some(link) => push_str(l, link),
            None => ffi::lua_pushnil(l),
        }
        let shared = Shared {
            token,
            uri: token + 1,
            landing: token + 2,
        };
        // Sized for its eight fields (lib.rs's create does the same).
        ffi::lua_createtable(l, 0, 8);
        let out = ffi::lua_gettop(l);
        set_slot(l, keys, out, K::Token, shared.token);
        set_slot(l, keys, out, K::Uri, shared.uri);
        set_slot(l, keys, out, K::LandingPage, shared.landing);
        set_int(l, keys, out, K::Expires, invite.expires());
        push_key(l, keys, type_key(invite.invite_type()));
        set(l, keys, out, K::Type);
        set_opt_str(l, keys, out, K::Inviter, invite.inviter());
        if !push_record(l, keys, invite.record(), Some(shared)) {
            return None;
        }
        let record = ffi::lua_gettop(l);
        // Hashed at rest, what is stored is another record, under another key.
        let stored_key = if hashed {
            push_str(l, &invite.stored_record().token);
            ffi::lua_gettop(l)
        } else {
            shared.token
        };
        let count = invite.writes().count();
        ffi::lua_createtable(l, c_int::try_from(count).unwrap_or(0), 0);
        let changes = ffi::lua_gettop(l);
        let mut n = 0;
        for write in invite.writes() {
            ffi::lua_createtable(l, 0, 4);
            let t = ffi::lua_gettop(l);
            match write {
                InviteWrite::PutRecord { record: stored, .. } => {
                    push_key(l, keys, K::PutRecord);
                    set(l, keys, t, K::Op);
                    if hashed {
                        if !push_record(l, keys, stored, None) {
                            return None;
                        }
                    } else {
                        ffi::lua_pushvalue(l, record);
                    }
                    set(l, keys, t, K::Value);
                }
                InviteWrite::PutContactExpiry { user, expires, .. } => {
                    push_key(l, keys, K::PutContactExpiry);
                    set(l, keys, t, K::Op);
                    set_str(l, keys, t, K::User, user);
                    set_int(l, keys, t, K::Value, expires);
                }
            }
            set_slot(l, keys, t, K::Key, stored_key);
            n += 1;
            ffi::lua_rawseti(l, changes, n);
        }
        push_key(l, keys, K::Record);
        ffi::lua_pushvalue(l, record);
        ffi::lua_rawset(l, out);
        push_key(l, keys, K::Changes);
        ffi::lua_pushvalue(l, changes);
        ffi::lua_rawset(l, out);
        ffi::lua_pushvalue(l, out);
        Some(1)
    }
}

// --- validate ---------------------------------------------------------------

/// `validate(opts)` when every option has the expected type and the record
/// is one `record` reads; `None` for the rest.
unsafe fn validate_fast(l: *mut lua_State) -> Option<c_int> {
    unsafe {
        if ffi::lua_type(l, 1) != ffi::LUA_TTABLE || ffi::lua_checkstack(l, 24) == 0 {
            return None;
        }
        // Slots 2 to 4: the token, the record and the inviter, kept on the
        // stack while their contents are read.
        ffi::lua_settop(l, 4);
        let (mut token, mut rec, mut inviter) = (false, false, false);
        let (mut contact_expires, mut now) = (None, None);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            let v = ffi::lua_gettop(l);
            let keep = |slot: c_int| {
                ffi::lua_pushvalue(l, v);
                ffi::lua_replace(l, slot);
            };
            let ok = match key_bytes(l, -2) {
                Some(b"token") => utf8(l, v).map(|_| {
                    keep(2);
                    token = true;
                }),
                Some(b"record") => (ffi::lua_type(l, v) == ffi::LUA_TTABLE).then(|| {
                    keep(3);
                    rec = true;
                }),
                Some(b"inviter") => utf8(l, v).map(|_| {
                    keep(4);
                    inviter = true;
                }),
                Some(b"contact_expires") => expiry_at(l, v).map(|n| contact_expires = Some(n)),
                Some(b"now") => int_at(l, v).map(|n| now = Some(n)),
                _ => Some(()),
            };
            ffi::lua_pop(l, 1);
            ok?;
        }
        let record = if rec { Some(record(l, 3)?) } else { None };
        let token = if token { utf8(l, 2)? } else { "" };
        let inviter = if inviter { Some(utf8(l, 4)?) } else { None };
        let redemption = match inviter {
            Some(i) => Redemption::Subscription { inviter: i },
            None => Redemption::Registration,
        };
        // The record was read for this call alone: it moves into the
        // validated invite instead of being cloned.
        let outcome = guarded(|| {
            Some(invites::validate_owned(
                token,
                record,
                contact_expires,
                redemption,
                crate::now_or(now),
            ))
        })?;
        match outcome {
            Ok(v) => {
                push_valid_invite(l, v);
                Some(1)
            }
            Err(e) => {
                ffi::lua_pushnil(l);
                push_str(l, e.code());
                push_str(l, &e.to_string());
                Some(3)
            }
        }
    }
}

/// A validated invite as a userdata with the metatable from the registry.
pub(crate) unsafe fn push_valid_invite(l: *mut lua_State, v: ValidInvite) {
    unsafe {
        let p = ffi::lua_newuserdata(l, std::mem::size_of::<Slot>()).cast::<Slot>();
        p.write(Slot {
            magic: MAGIC,
            in_use: 0,
            doomed: false,
            invite: Some(v),
        });
        ffi::lua_rawgetp(l, ffi::LUA_REGISTRYINDEX, valid_mt_key());
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_setmetatable(l, -2);
        } else {
            // Only the debug library reaches the registry: an entry that is
            // no table gives a bare userdata, holding nothing (no `__gc`
            // would free it), that nothing takes for a validated invite.
            ffi::lua_pop(l, 1);
            (*p).invite = None;
        }
    }
}

/// A validated invite as a Lua value, for the slow path (called inside an
/// mlua callback, where mlua's current state is the caller's thread).
pub(crate) fn valid_invite_value(lua: &Lua, v: ValidInvite) -> mlua::Result<Value> {
    unsafe { lua.exec_raw((), |s| push_valid_invite(s, v)) }
}

/// The validated invite at `idx`, if it is one of ours.
unsafe fn slot_at(l: *mut lua_State, idx: c_int) -> Option<*mut Slot> {
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TUSERDATA
            || ffi::lua_rawlen(l, idx) != std::mem::size_of::<Slot>()
            || ffi::lua_getmetatable(l, idx) == 0
        {
            return None;
        }
        ffi::lua_rawgetp(l, ffi::LUA_REGISTRYINDEX, valid_mt_key());
        let ours = ffi::lua_rawequal(l, -1, -2) != 0;
        ffi::lua_pop(l, 2);
        let p = ffi::lua_touserdata(l, idx).cast::<Slot>();
        (ours && (*p).magic == MAGIC).then_some(p)
    }
}

/// A reader of the validated invite in `ud` (for `registration_gate`), or
/// `None` when `ud` is another userdata. `ud` must outlive the reader.
pub(crate) fn valid_invite(lua: &Lua, ud: &AnyUserData) -> mlua::Result<Option<InUse>> {
    let ours: bool = unsafe {
        lua.exec_raw(ud.clone(), |s| {
            let ours = slot_at(s, -1).is_some();
            ffi::lua_pushboolean(s, c_int::from(ours));
            ffi::lua_replace(s, -2);
        })?
    };
    if !ours {
        return Ok(None);
    }
    // The userdata stays alive while `ud` refers to it.
    let p = ud.to_pointer().cast::<Slot>().cast_mut();
    Ok(Some(unsafe { InUse::new(p) }))
}

unsafe extern "C-unwind" fn valid_gc(l: *mut lua_State) -> c_int {
    unsafe {
        if let Some(p) = slot_at(l, 1) {
            if (*p).in_use > 0 {
                (*p).doomed = true;
            } else {
                // Nothing in a ValidInvite panics on drop.
                let _ = catch_unwind(AssertUnwindSafe(|| drop((*p).invite.take())));
            }
        }
    }
    0
}

/// `__index(invite, key)`: the fields mlua's getters gave, `use_changes`
/// (the first upvalue), nil for any other key.
unsafe extern "C-unwind" fn valid_index(l: *mut lua_State) -> c_int {
    unsafe {
        let Some(p) = slot_at(l, 1) else {
            return 0;
        };
        // Pushing a string or building a table may run a finaliser.
        let reader = InUse::new(p);
        let Some(v) = reader.invite() else {
            return 0;
        };
        let opt = |s: Option<&str>| match s {
            Some(s) => push_str(l, s),
            None => ffi::lua_pushnil(l),
        };
        match key_bytes(l, 2) {
            Some(b"token") => push_str(l, v.token().as_str()),
            Some(b"type") => push_str(l, v.invite_type().as_str()),
            Some(b"inviter") => opt(v.inviter()),
            Some(b"uri") => opt(v.uri().as_deref()),
            Some(b"bound_username") => opt(v.bound_username()),
            Some(b"reset_username") => opt(v.reset_username()),
            Some(b"expires") => ffi::lua_pushinteger(l, v.expires()),
            Some(b"reusable") => ffi::lua_pushboolean(l, c_int::from(v.is_reusable())),
            Some(b"for_subscription") => {
                ffi::lua_pushboolean(l, c_int::from(v.is_for_subscription()))
            }
            Some(b"use_changes") => ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1)),
            // The reader moves into the closure, which mlua drops before
            // its error path takes the invite (argument 1) off the stack.
            Some(b"additional_data") => {
                return Lua::entrypoint(l, move |lua, _: MultiValue| {
                    match reader.invite().and_then(ValidInvite::additional_data) {
                        Some(d) => args::to_lua(lua, d),
                        None => Ok(Value::Nil),
                    }
                });
            }
            Some(b"record") => {
                return Lua::entrypoint(l, move |lua, _: MultiValue| {
                    match reader.invite().and_then(ValidInvite::record) {
                        Some(r) => crate::record::to_table(lua, r).map(Value::Table),
                        None => Ok(Value::Nil),
                    }
                });
            }
            _ => return 0,
        }
        1
    }
}

/// `invite:use_changes()`, with mlua's errors for a wrong `self`.
unsafe extern "C-unwind" fn use_changes_c(l: *mut lua_State) -> c_int {
    unsafe {
        let nargs = ffi::lua_gettop(l);
        let found = if nargs == 0 {
            Err("missing argument")
        } else {
            match slot_at(l, 1).map(|p| InUse::new(p)) {
                Some(reader) if reader.invite().is_some() => Ok(reader),
                _ if ffi::lua_type(l, 1) == ffi::LUA_TUSERDATA => Err(""),
                _ => {
                    let name = ffi::lua_typename(l, ffi::lua_type(l, 1));
                    Err(std::ffi::CStr::from_ptr(name).to_str().unwrap_or("value"))
                }
            }
        };
        // Whatever the outcome, the invite (argument 1) stays on the stack
        // while the closure reads it.
        Lua::entrypoint(l, move |lua, _: MultiValue| -> mlua::Result<Table> {
            match found {
                Ok(reader) => match reader.invite() {
                    Some(v) => crate::changes_table(lua, &v.use_changes()),
                    None => Err(bad_self("")),
                },
                Err(from) => Err(bad_self(from)),
            }
        })
    }
}

/// mlua's error for a method called on something else than its object.
fn bad_self(from: &str) -> mlua::Error {
    let cause = match from {
        "" => mlua::Error::UserDataTypeMismatch,
        "missing argument" => mlua::Error::FromLuaConversionError {
            from: "missing argument",
            to: "userdata".to_owned(),
            message: None,
        },
        _ => mlua::Error::FromLuaConversionError {
            from: static_type_name(from),
            to: "userdata".to_owned(),
            message: Some("expected userdata of type 'LuaValidInvite'".to_owned()),
        },
    };
    // mlua's error type holds its cause in an Arc.
    #[allow(clippy::arc_with_non_send_sync)]
    mlua::Error::BadArgument {
        to: Some("LuaValidInvite.use_changes".to_owned()),
        pos: 1,
        name: Some("self".to_owned()),
        cause: std::sync::Arc::new(cause),
    }
}

fn static_type_name(name: &str) -> &'static str {
    match name {
        "nil" => "nil",
        "boolean" => "boolean",
        "number" => "number",
        "string" => "string",
        "table" => "table",
        "function" => "function",
        "thread" => "thread",
        "lightuserdata" | "userdata" => "userdata",
        _ => "value",
    }
}
