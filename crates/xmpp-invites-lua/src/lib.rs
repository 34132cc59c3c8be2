//! `require "xmpp_invites"`: the xmpp-invites core as a Lua module, for
//! Prosody modules and plain Lua.
//!
//! Lua-shaped: records are plain tables in Prosody's record shape, times
//! are Unix seconds, the policy is an object with methods, a parsed URI is
//! a table. Expected failures return `nil, code, message` (the code is the
//! core's stable error name); wrong argument types raise a Lua error naming
//! the argument. Nothing reachable from Lua aborts the process. See
//! bindings/lua/README.md for every function with an example.

mod args;
mod fast;
mod objects;
mod record;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use invites::{
    BareJid, ChainLimit, InviteAction, InviteRecord, InviteType, InviteUri, IssuedInvite,
    LandingPage, NewInvite, Period, Quotas, Renderer, StorageChange, Token, TokenFormat,
};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};

use crate::args::{Args, fail, from_lua, reply, str_list};
use crate::objects::LuaPolicy;

type Ret = mlua::Result<MultiValue>;

/// A module function: its arguments in, Lua values out.
type Export = fn(&mut Args) -> Ret;

/// The module table.
///
/// `skip_memory_check`, except on LuaJIT: mlua cannot know whether the host
/// Lua has a memory limit, so by default it wraps every allocating Lua call
/// in a protected call; that doubled the cost of a create. Prosody and
/// plain Lua run with the system allocator and no limit, where an
/// allocation raises only when the process is out of memory or (on Lua 5.1
/// to 5.3) when a finaliser written in Lua raises during the collection
/// step it starts; the error then longjmps past the Rust frames, as
/// `fast`'s docs say. LuaJIT throws such an error as an exception instead,
/// which aborts the process when it reaches the panic guard of an mlua
/// callback, so the LuaJIT build keeps mlua's protected calls.
#[cfg_attr(
    not(feature = "luajit"),
    mlua::lua_module(name = "xmpp_invites", skip_memory_check)
)]
#[cfg_attr(feature = "luajit", mlua::lua_module(name = "xmpp_invites"))]
fn open(lua: &Lua) -> mlua::Result<Table> {
    // Debug builds only: a panic for tests/lua/test_unwind.lua, which checks
    // that the unwinder the module links (see build.rs) catches it and
    // `require` fails with a Lua error instead of aborting.
    #[cfg(debug_assertions)]
    if std::env::var_os("XMPP_INVITES_LUA_TEST_PANIC").is_some() {
        panic!("XMPP_INVITES_LUA_TEST_PANIC is set");
    }
    let m = lua.create_table()?;
    m.set("version", env!("CARGO_PKG_VERSION"))?;
    m.set("NEVER_EXPIRES", invites::NEVER_EXPIRES)?;
    let fns: &[(&'static str, Export)] = &[
        ("generate_token", generate_token),
        ("select_rng", select_rng),
        ("selected_rng", selected_rng),
        ("check_token", check_token),
        ("tokens_equal", tokens_equal),
        ("redact_token", redact_token),
        ("storage_key", storage_key),
        ("parse_period", parse_period),
        ("expiry", expiry),
        ("datetime", datetime),
        ("parse_datetime", parse_datetime),
        ("prep_username", prep_username),
        ("prep_host", prep_host),
        ("host_to_ascii", host_to_ascii),
        ("create", create),
        ("record_from_json", record_from_json),
        ("record_to_json", record_to_json),
        ("record_type", record_type),
        ("record_pending", record_pending),
        ("validate", validate),
        ("registration_gate", registration_gate),
        ("reserved_by", reserved_by),
        ("check_quota", check_quota),
        ("policy", policy),
        ("build_uri", build_uri),
        ("parse_uri", parse_uri),
        ("landing_link", landing_link),
        ("render_template", render_template),
        ("fragment_link", fragment_link),
        ("result_form", result_form),
        ("create_account_form", create_account_form),
        ("password_reset_form", password_reset_form),
        (
            "parse_create_account_submission",
            parse_create_account_submission,
        ),
        (
            "parse_password_reset_submission",
            parse_password_reset_submission,
        ),
    ];
    for &(name, f) in fns {
        let func =
            lua.create_function(move |lua, values: MultiValue| args::run(lua, name, values, f))?;
        m.set(name, func)?;
    }
    // create, validate, datetime, build_uri and landing_link: the raw C API
    // first, the functions above for everything unusual.
    fast::register(lua, &m)?;
    Ok(m)
}

fn now_or(t: Option<i64>) -> i64 {
    t.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    })
}

/// `"base64url"` (default) or `"alphanumeric"`, with a size (0/nil =
/// default).
fn token_format(func: &str, format: Option<&str>, size: Option<i64>) -> mlua::Result<TokenFormat> {
    let size = usize::try_from(size.unwrap_or(0)).map_err(|_| {
        mlua::Error::runtime(format!(
            "bad argument 'size' to '{func}' (must not be negative)"
        ))
    })?;
    Ok(match (format.unwrap_or("base64url"), size) {
        ("base64url", 0) => TokenFormat::PROSODY,
        ("base64url", bytes) => TokenFormat::Base64Url { bytes },
        ("alphanumeric", 0) => TokenFormat::ALPHANUMERIC,
        ("alphanumeric", chars) => TokenFormat::Alphanumeric { chars },
        (other, _) => {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'format' to '{func}' (\"base64url\" or \"alphanumeric\" expected, got {other:?})"
            )));
        }
    })
}

/// Whether tokens come from the opt-in fork-safe userspace generator
/// (`select_rng("fork-safe")`) instead of the OS. Process-wide, like the C
/// API's `xi_rng_select`: every Lua state in the process shares it.
static FORK_SAFE: AtomicBool = AtomicBool::new(false);

fn fork_safe() -> bool {
    FORK_SAFE.load(Ordering::Relaxed)
}

/// The calling thread's fork-safe generator; failing to map or seed it is
/// the core's rng-failure, as the OS's failing would be.
fn fork_safe_rng() -> Result<xmpp_invites_rng::ForkSafeRng, invites::TokenError> {
    xmpp_invites_rng::ForkSafeRng::new().map_err(|e| invites::TokenError::Rng(e.to_string()))
}

/// Creates with the selected generator.
pub(crate) fn create_invite(
    new: &NewInvite,
    now: i64,
) -> Result<invites::Invite, invites::CreateError> {
    if fork_safe() {
        new.create(&mut fork_safe_rng()?, now)
    } else {
        new.create(&mut xmpp_invites_rng::os::OsRng, now)
    }
}

/// `select_rng("os" | "fork-safe")` → true, or nil, "rng-unsupported",
/// message where the fork-safe generator cannot run, "rng-failure" where it
/// could but failed now (its page not mapped, no seed); the choice stays.
fn select_rng(a: &mut Args) -> Ret {
    let name = a.str(0, "name")?;
    let lua = a.lua();
    match name.as_str() {
        "os" => FORK_SAFE.store(false, Ordering::Relaxed),
        "fork-safe" => match xmpp_invites_rng::ForkSafeRng::new() {
            Ok(_) => FORK_SAFE.store(true, Ordering::Relaxed),
            Err(e) if e.is_unsupported() => {
                return fail(
                    lua,
                    "rng-unsupported",
                    format!("the fork-safe generator cannot run here: {e}"),
                );
            }
            Err(e) => {
                return fail(
                    lua,
                    "rng-failure",
                    format!("the fork-safe generator failed: {e}"),
                );
            }
        },
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'name' to 'select_rng' (\"os\" or \"fork-safe\" expected, got {other:?})"
            )));
        }
    }
    true.into_lua_multi(lua)
}

/// `selected_rng()` → `"fork-safe"`, or `"os"` and how the OS serves this
/// thread: `"vdso"` (the kernel's getrandom without a system call, Linux
/// 6.11+) or `"syscall"`.
fn selected_rng(a: &mut Args) -> Ret {
    if fork_safe() {
        return "fork-safe".into_lua_multi(a.lua());
    }
    let backend = match xmpp_invites_rng::os::backend() {
        xmpp_invites_rng::os::Backend::Vdso => "vdso",
        xmpp_invites_rng::os::Backend::Syscall => "syscall",
    };
    ("os", backend).into_lua_multi(a.lua())
}

fn generate_token(a: &mut Args) -> Ret {
    let format = a.opt_str(0, "format")?;
    let f = token_format(a.func, format.as_deref(), a.opt_int(1, "size")?)?;
    let token = if fork_safe() {
        fork_safe_rng().and_then(|mut rng| Token::generate(&mut rng, f))
    } else {
        Token::generate(&mut xmpp_invites_rng::os::OsRng, f)
    };
    reply(a.lua(), token.map(|t| t.to_string()))
}

fn check_token(a: &mut Args) -> Ret {
    reply(a.lua(), Token::parse(&a.str(0, "token")?).map(|_| true))
}

fn tokens_equal(a: &mut Args) -> Ret {
    let (x, y) = (a.str(0, "a")?, a.str(1, "b")?);
    Token::parse(&x)
        .is_ok_and(|t| t.ct_eq_str(&y))
        .into_lua_multi(a.lua())
}

/// `storage_key(token[, hashed])`: the key to look a presented token up
/// under (its hash for invites kept hashed at rest).
fn storage_key(a: &mut Args) -> Ret {
    let hashed = a.opt_bool(1, "hashed")?.unwrap_or(false);
    reply(a.lua(), invites::storage_key(&a.str(0, "token")?, hashed))
}

fn redact_token(a: &mut Args) -> Ret {
    reply(
        a.lua(),
        Token::parse(&a.str(0, "token")?).map(|t| t.redacted()),
    )
}

/// A period from a Lua value: seconds (a number: math.huge is never, as in
/// Prosody; fractions of a second are dropped, so that a configured
/// `3600 * 1.1` works; negative numbers and NaN are refused) or a string.
fn period_of(
    func: &str,
    name: &str,
    v: Value,
) -> mlua::Result<Result<Period, invites::PeriodError>> {
    Ok(match v {
        Value::Integer(i) => Period::from_seconds(i),
        Value::Number(n) => Period::from_seconds_f64(n),
        Value::String(_) => Period::parse(&args::want_str(func, name, v)?),
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument '{name}' to '{func}' (period expected: whole seconds or a string, got {})",
                other.type_name()
            )));
        }
    })
}

fn period_value(p: Period) -> Value {
    match p {
        Period::Seconds(s) => i64::try_from(s).map_or(Value::Number(s as f64), Value::Integer),
        Period::Never => Value::Number(f64::INFINITY),
    }
}

fn parse_period(a: &mut Args) -> Ret {
    let p = period_of(a.func, "period", a.value(0))?;
    reply(a.lua(), p.map(period_value))
}

fn expiry(a: &mut Args) -> Ret {
    let p = period_of(a.func, "period", a.value(0))?;
    let now = now_or(a.opt_int(1, "now")?);
    match p {
        Ok(p) => reply(a.lua(), p.expiry_from(now)),
        Err(e) => reply::<i64, _>(a.lua(), Err(e)),
    }
}

pub(crate) fn datetime(a: &mut Args) -> Ret {
    reply(a.lua(), invites::format_datetime(a.int(0, "time")?))
}

fn parse_datetime(a: &mut Args) -> Ret {
    reply(a.lua(), invites::parse_datetime(&a.str(0, "text")?))
}

fn prep_username(a: &mut Args) -> Ret {
    reply(a.lua(), invites::prep_username(&a.str(0, "username")?))
}

fn prep_host(a: &mut Args) -> Ret {
    reply(a.lua(), invites::prep_host(&a.str(0, "host")?))
}

fn host_to_ascii(a: &mut Args) -> Ret {
    reply(a.lua(), invites::host_to_ascii(&a.str(0, "host")?))
}

fn invite_type(func: &str, name: &str, s: &str) -> mlua::Result<InviteType> {
    s.parse().map_err(|e: invites::UnknownInviteType| {
        mlua::Error::runtime(format!("bad argument '{name}' to '{func}' ({e})"))
    })
}

/// A storage change as a table: `{op=, user=, key=, value=}`; apply it with
/// `store:set(change.user, change.key, change.value)` (value nil deletes).
pub(crate) fn change_table(lua: &Lua, c: &StorageChange) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let (op, value) = match c {
        StorageChange::PutRecord { record, .. } => {
            ("put-record", Value::Table(record::to_table(lua, record)?))
        }
        StorageChange::PutContactExpiry { expires, .. } => {
            ("put-contact-expiry", Value::Integer(*expires))
        }
        StorageChange::DeleteRecord { .. } => ("delete-record", Value::Nil),
        StorageChange::DeleteContactExpiry { .. } => ("delete-contact-expiry", Value::Nil),
    };
    t.set("op", op)?;
    t.set("user", c.user())?;
    t.set("key", c.token())?;
    t.set("value", value)?;
    Ok(t)
}

pub(crate) fn changes_table(lua: &Lua, changes: &[StorageChange]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for c in changes {
        t.raw_push(change_table(lua, c)?)?;
    }
    Ok(t)
}

fn landing_from(
    func: &str,
    template: String,
    supports: Value,
) -> mlua::Result<Result<LandingPage, invites::UnknownInviteType>> {
    let page = LandingPage::new(template);
    Ok(match supports {
        Value::Nil => Ok(page),
        v => page.with_supported_names(str_list(func, "supports", v)?),
    })
}

/// `create{type=, host=, user=, ttl=, additional_data=, roles=, roles_form=, groups=, source=, note=, reusable=, hash_at_rest=,
/// max_uses=, token_format=, token_size=, landing_page=,
/// landing_page_supports=, now=}`.
fn create(a: &mut Args) -> Ret {
    let lua = a.lua();
    let t = a.table(0, "opts")?;
    let o = a.opts(&t);
    let kind = invite_type(a.func, "opts.type", &o.str("type")?)?;
    let host = o.str("host")?;
    let user = o.opt_str("user")?;
    let need_user = |what: &str| {
        user.clone().ok_or_else(|| {
            mlua::Error::runtime(format!(
                "bad argument 'opts.user' to 'create' (a {what} invite needs the user)"
            ))
        })
    };
    let mut new = match kind {
        InviteType::Account => match &user {
            Some(u) => NewInvite::account_for(u, &host),
            None => NewInvite::account(&host),
        },
        InviteType::PasswordReset => {
            NewInvite::password_reset(&need_user("password-reset")?, &host)
        }
        InviteType::ContactOnly => NewInvite::contact(&need_user("contact-only")?, &host, false),
        InviteType::AccountAndContact => {
            NewInvite::contact(&need_user("account-and-contact")?, &host, true)
        }
        InviteType::Group => NewInvite::group(&host, o.str_list("groups")?),
    };
    // The whole additional_data table first (unknown keys kept, roles in
    // the form given); the named options below override its fields.
    let data = o.value("additional_data")?;
    if !data.is_nil() {
        if !data.is_table() {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'opts.additional_data' to 'create' (table expected, got {})",
                data.type_name()
            )));
        }
        let parsed = from_lua(lua, data).and_then(|json| {
            serde_json::from_value::<invites::AdditionalData>(json).map_err(mlua::Error::external)
        });
        match parsed {
            Ok(d) => new = new.additional_data(d),
            Err(e) => return fail(lua, "invalid-record", format!("opts.additional_data: {e}")),
        }
    }
    if let Some(r) = o.opt_bool("reusable")? {
        new = new.reusable(r);
    }
    let hashed = o.opt_bool("hash_at_rest")?.unwrap_or(false);
    new = new.hash_at_rest(hashed);
    let ttl = o.value("ttl")?;
    if !ttl.is_nil() {
        match period_of(a.func, "opts.ttl", ttl)? {
            Ok(p) => new = new.ttl(p),
            Err(e) => return fail(lua, e.code(), &e),
        }
    }
    let roles = o.str_list("roles")?;
    if !roles.is_empty() {
        // Prosody 0.12 applies roles as a set; 13 as a list, primary first.
        new = match o.opt_str("roles_form")?.as_deref() {
            None | Some("list") => new.roles(roles),
            Some("set") => new.legacy_roles(roles),
            Some(other) => {
                return Err(mlua::Error::runtime(format!(
                    "bad argument 'opts.roles_form' to 'create' (\"list\" or \"set\" expected, got {other:?})"
                )));
            }
        };
    }
    if kind != InviteType::Group {
        let groups = o.str_list("groups")?;
        if !groups.is_empty() {
            new = new.groups(groups);
        }
    }
    if let Some(s) = o.opt_str("source")? {
        new = new.source(&s);
    }
    if let Some(s) = o.opt_str("note")? {
        new = new.note(&s);
    }
    if let Some(n) = o.opt_int("max_uses")? {
        let n = u32::try_from(n).map_err(|_| {
            mlua::Error::runtime(
                "bad argument 'opts.max_uses' to 'create' (0 to 4294967295 expected)",
            )
        })?;
        new = new.max_uses(n);
    }
    let format = o.opt_str("token_format")?;
    if format.is_some() || o.opt_int("token_size")?.is_some() {
        new = new.token_format(token_format(
            a.func,
            format.as_deref(),
            o.opt_int("token_size")?,
        )?);
    }
    if let Some(template) = o.opt_str("landing_page")? {
        match landing_from(a.func, template, o.value("landing_page_supports")?)? {
            Ok(p) => new = new.landing_page(p),
            Err(e) => return fail(lua, "unknown-invite-type", e),
        }
    }
    let now = now_or(o.opt_int("now")?);
    let invite = match create_invite(&new, now) {
        Ok(i) => i,
        Err(e) => return fail(lua, e.code(), &e),
    };
    // Sized for its eight fields; fast.rs builds the same table.
    let out = lua.create_table_with_capacity(0, 8)?;
    out.set("token", invite.token().as_str())?;
    out.set("uri", invite.uri())?;
    out.set("landing_page", invite.landing_page())?;
    out.set("expires", invite.expires())?;
    out.set("type", invite.invite_type().as_str())?;
    out.set("inviter", invite.inviter())?;
    // One record table, shared by `record` and the put-record change: what
    // an invite-created handler changes is what gets stored. (Kept hashed
    // at rest, the stored record is another, without the token.)
    let record = record::to_table(lua, invite.record())?;
    let stored_changes = invite.storage_changes();
    let changes = lua.create_table_with_capacity(stored_changes.len(), 0)?;
    for change in stored_changes {
        let t = lua.create_table_with_capacity(0, 4)?;
        match &change {
            StorageChange::PutRecord { record: stored, .. } => {
                t.raw_set("op", "put-record")?;
                if hashed {
                    t.raw_set("value", record::to_table(lua, stored)?)?;
                } else {
                    t.raw_set("value", record.clone())?;
                }
            }
            StorageChange::PutContactExpiry { user, expires, .. } => {
                t.raw_set("op", "put-contact-expiry")?;
                t.raw_set("user", user.as_str())?;
                t.raw_set("value", *expires)?;
            }
            StorageChange::DeleteRecord { .. } | StorageChange::DeleteContactExpiry { .. } => {
                continue;
            }
        }
        t.raw_set("key", change.token())?;
        changes.raw_push(t)?;
    }
    out.set("record", record)?;
    out.set("changes", changes)?;
    out.into_lua_multi(lua)
}

/// A record from a Lua table (Prosody's shape) or nil.
pub(crate) fn record_of(
    lua: &Lua,
    func: &str,
    name: &str,
    v: Value,
) -> mlua::Result<Option<Result<InviteRecord, invites::RecordError>>> {
    match v {
        Value::Nil => Ok(None),
        Value::Table(t) => Ok(Some(record::from_table(lua, &t))),
        other => Err(mlua::Error::runtime(format!(
            "bad argument '{name}' to '{func}' (record table expected, got {})",
            other.type_name()
        ))),
    }
}

fn record_from_json(a: &mut Args) -> Ret {
    let lua = a.lua();
    match InviteRecord::from_json(&a.str(0, "json")?) {
        Ok(r) => record::to_table(lua, &r)?.into_lua_multi(lua),
        Err(e) => fail(lua, e.code(), &e),
    }
}

fn record_to_json(a: &mut Args) -> Ret {
    let lua = a.lua();
    match record_of(lua, a.func, "record", a.value(0))? {
        Some(r) => reply(lua, r.map(|r| r.to_json())),
        None => Err(mlua::Error::runtime(
            "bad argument 'record' to 'record_to_json' (record table expected, got nil)",
        )),
    }
}

fn record_type(a: &mut Args) -> Ret {
    let lua = a.lua();
    match record_of(lua, a.func, "record", a.value(0))? {
        Some(r) => reply(lua, r.map(|r| r.invite_type().as_str())),
        None => Err(mlua::Error::runtime(
            "bad argument 'record' to 'record_type' (record table expected, got nil)",
        )),
    }
}

/// `record_pending(record[, now])`: whether a stored record is a pending
/// account invite (what `validate` accepts for registration given its
/// token), also for records kept hashed at rest.
fn record_pending(a: &mut Args) -> Ret {
    let lua = a.lua();
    let now = now_or(a.opt_int(1, "now")?);
    match record_of(lua, a.func, "record", a.value(0))? {
        Some(r) => reply(lua, r.map(|r| r.is_pending_registration(now))),
        None => Err(mlua::Error::runtime(
            "bad argument 'record' to 'record_pending' (record table expected, got nil)",
        )),
    }
}

/// `validate{token=, record=, contact_expires=, inviter=, now=}`: inviter
/// given means a subscription to that local user (XEP-0379), else
/// registration (XEP-0445).
fn validate(a: &mut Args) -> Ret {
    let lua = a.lua();
    let t = a.table(0, "opts")?;
    let o = a.opts(&t);
    let token = o.opt_str("token")?.unwrap_or_default();
    let record = match record_of(lua, a.func, "opts.record", o.value("record")?)? {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => return fail(lua, e.code(), &e),
    };
    // The inviter's user-level entry: Prosody 13 stores math.huge there too.
    let contact_expires = o.opt_expiry("contact_expires")?;
    let inviter = o.opt_str("inviter")?;
    let redemption = match &inviter {
        Some(i) => invites::Redemption::Subscription { inviter: i },
        None => invites::Redemption::Registration,
    };
    let stored = invites::Stored {
        record: record.as_ref(),
        contact_expires,
    };
    match invites::validate(&token, stored, redemption, now_or(o.opt_int("now")?)) {
        Ok(v) => fast::valid_invite_value(lua, v)?.into_lua_multi(lua),
        Err(e) => fail(lua, e.code(), &e),
    }
}

/// `registration_gate{invite=, invite_only=, username=, account_exists=,
/// reserved=}` → `{kind=, username=, inviter=, roles=, groups=}`.
fn registration_gate(a: &mut Args) -> Ret {
    let lua = a.lua();
    let t = a.table(0, "opts")?;
    let o = a.opts(&t);
    let invite_value = o.value("invite")?;
    let not_ours = || {
        mlua::Error::runtime(
            "bad argument 'opts.invite' to 'registration_gate' (a validated invite from validate() expected)",
        )
    };
    // The reader keeps the invite from being dropped by a `__gc` called
    // while the Lua calls below run (see fast::Slot).
    let reader = match &invite_value {
        Value::Nil => None,
        Value::UserData(ud) => Some(fast::valid_invite(lua, ud)?.ok_or_else(not_ours)?),
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'opts.invite' to 'registration_gate' (a validated invite from validate() expected, got {})",
                other.type_name()
            )));
        }
    };
    let invite = match &reader {
        None => None,
        Some(r) => Some(r.invite().ok_or_else(not_ours)?),
    };
    let username = o.str("username")?;
    let attempt = invites::RegistrationAttempt {
        username: &username,
        account_exists: o.opt_bool("account_exists")?.unwrap_or(false),
        reserved: o.opt_bool("reserved")?.unwrap_or(false),
    };
    let gate = invites::RegistrationGate {
        invite_only: o.opt_bool("invite_only")?.unwrap_or(true),
    };
    let admission = match gate.check(invite, attempt) {
        Ok(adm) => adm,
        Err(e) => return fail(lua, e.code(), &e),
    };
    let out = lua.create_table()?;
    match admission {
        invites::Admission::Open => {
            out.set("kind", "open")?;
            out.set("username", invites::prep_username(&username).ok())?;
        }
        invites::Admission::PasswordReset { username } => {
            out.set("kind", "password-reset")?;
            out.set("username", username)?;
        }
        invites::Admission::NewAccount {
            username,
            inviter,
            roles,
            groups,
        } => {
            out.set("kind", "new-account")?;
            out.set("username", username)?;
            out.set("inviter", inviter)?;
            out.set(
                "roles",
                roles.map(|r| {
                    r.primary_first()
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                }),
            )?;
            out.set("groups", groups)?;
        }
    }
    out.into_lua_multi(lua)
}

/// `reserved_by(username, records, now, except_token)` → the reserving
/// record table, or false.
fn reserved_by(a: &mut Args) -> Ret {
    let lua = a.lua();
    let username = a.str(0, "username")?;
    let list = a.table(1, "records")?;
    let now = now_or(a.opt_int(2, "now")?);
    let except = a.opt_str(3, "except_token")?;
    let mut records = Vec::new();
    for (i, v) in list.sequence_values::<Value>().enumerate() {
        match record_of(lua, a.func, &format!("records[{}]", i + 1), v?)? {
            Some(Ok(r)) => records.push(r),
            Some(Err(e)) => return fail(lua, e.code(), &e),
            None => {}
        }
    }
    match invites::reserved_by(&username, &records, now, except.as_deref()) {
        Some(r) => record::to_table(lua, r)?.into_lua_multi(lua),
        None => false.into_lua_multi(lua),
    }
}

/// `check_quota{quotas=, requester=, is_admin=, type=, history=, now=}`.
fn check_quota(a: &mut Args) -> Ret {
    let lua = a.lua();
    let t = a.table(0, "opts")?;
    let o = a.opts(&t);
    let quotas = match o.value("quotas")? {
        Value::String(s) if s.to_str().is_ok_and(|s| s == "ejabberd") => Quotas::ejabberd(None),
        Value::Table(q) => {
            let q = a.nested(&q, "opts.quotas".into());
            let limit = |k: &str| -> mlua::Result<Option<u32>> {
                q.opt_int(k)?
                    .map(|n| u32::try_from(n).map_err(|_| mlua::Error::runtime(format!("bad argument 'opts.quotas.{k}' to 'check_quota' (0 to 4294967295 expected)"))))
                    .transpose()
            };
            let depth = limit("chain_depth")?;
            // Seconds; a negative window would turn the chain check off.
            let window = q
                .opt_int("chain_window")?
                .map(|w| {
                    if w < 0 {
                        Err(mlua::Error::runtime("bad argument 'opts.quotas.chain_window' to 'check_quota' (0 or more seconds expected)"))
                    } else {
                        Ok(w)
                    }
                })
                .transpose()?;
            Quotas {
                max_invites: limit("max_invites")?,
                max_tree_size: limit("max_tree_size")?,
                chain: depth.map(|depth| ChainLimit {
                    depth,
                    window: window.unwrap_or(300),
                }),
            }
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'opts.quotas' to 'check_quota' (table or \"ejabberd\" expected, got {})",
                other.type_name()
            )));
        }
    };
    let requester = o.str("requester")?;
    let what = invite_type(a.func, "opts.type", &o.str("type")?)?;
    let mut history = Vec::new();
    let entries = match o.value("history")? {
        Value::Nil => Vec::new(),
        Value::Table(h) => h
            .sequence_values::<Value>()
            .collect::<mlua::Result<Vec<_>>>()?,
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'opts.history' to 'check_quota' (table expected, got {})",
                other.type_name()
            )));
        }
    };
    {
        for (i, v) in entries.into_iter().enumerate() {
            let Value::Table(e) = v else {
                return Err(mlua::Error::runtime(format!(
                    "bad argument 'opts.history[{}]' to 'check_quota' (table expected, got {})",
                    i + 1,
                    v.type_name()
                )));
            };
            let e = a.nested(&e, format!("opts.history[{}]", i + 1).into());
            let name = |k: &str| format!("opts.history[{}].{k}", i + 1);
            history.push(IssuedInvite {
                inviter: e.opt_str("inviter")?,
                invite_type: invite_type(a.func, &name("type"), &e.str("type")?)?,
                created_at: e.opt_int("created_at")?.unwrap_or(0),
                expires: e.opt_int("expires")?.unwrap_or(invites::NEVER_EXPIRES),
                redeemed_by: e.opt_str("redeemed_by")?,
            });
        }
    }
    let admin = o.opt_bool("is_admin")?.unwrap_or(false);
    reply(
        lua,
        quotas
            .check(&requester, admin, what, &history, now_or(o.opt_int("now")?))
            .map(|()| true),
    )
}

/// `policy{preset=, host=, allow_user_invites=, allow_contact_invites=,
/// allow_user_invites_by_roles=, deny_user_invites_by_roles=}`.
fn policy(a: &mut Args) -> Ret {
    let lua = a.lua();
    let t = a.table(0, "opts")?;
    let o = a.opts(&t);
    let host = o.str("host")?;
    if let Err(e) = invites::prep_host(&host) {
        return fail(lua, e.code(), &e);
    }
    let mut p = match o.opt_str("preset")?.as_deref().unwrap_or("invites_adhoc") {
        "invites_adhoc" => invites::Policy::invites_adhoc(&host),
        "easy_invite" => invites::Policy::easy_invite(&host),
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument 'opts.preset' to 'policy' (\"invites_adhoc\" or \"easy_invite\" expected, got {other:?})"
            )));
        }
    };
    if let Some(b) = o.opt_bool("allow_user_invites")? {
        p.allow_user_invites = b;
    }
    if let Some(b) = o.opt_bool("allow_contact_invites")? {
        p.allow_contact_invites = b;
    }
    p.allow_user_invites_by_roles
        .extend(o.str_list("allow_user_invites_by_roles")?);
    p.deny_user_invites_by_roles
        .extend(o.str_list("deny_user_invites_by_roles")?);
    lua.create_userdata(LuaPolicy(p))?.into_lua_multi(lua)
}

fn action_of(func: &str, s: &str) -> mlua::Result<InviteAction> {
    match s {
        "register" => Ok(InviteAction::Register),
        "roster" => Ok(InviteAction::Roster),
        other => Err(mlua::Error::runtime(format!(
            "bad argument 'opts.action' to '{func}' (\"register\" or \"roster\" expected, got {other:?})"
        ))),
    }
}

/// `build_uri{localpart=, host=, action=, token=, ibr=}`.
fn build_uri(a: &mut Args) -> Ret {
    let lua = a.lua();
    let t = a.table(0, "opts")?;
    let o = a.opts(&t);
    let action = action_of(a.func, &o.str("action")?)?;
    let (local, host, token) = (o.opt_str("localpart")?, o.str("host")?, o.str("token")?);
    let ibr = o.opt_bool("ibr")?.unwrap_or(false);
    let jid = match BareJid::new(local.as_deref(), &host) {
        Ok(j) => j,
        Err(e) => return fail(lua, e.code(), &e),
    };
    let token = match Token::parse(&token) {
        Ok(t) => t,
        Err(e) => return fail(lua, e.code(), &e),
    };
    reply(lua, InviteUri::new(jid, action, &token, ibr).to_uri())
}

fn parse_uri(a: &mut Args) -> Ret {
    let lua = a.lua();
    match InviteUri::parse(&a.str(0, "uri")?) {
        Ok(u) => {
            let t = lua.create_table()?;
            t.set("localpart", u.jid.username())?;
            t.set("host", u.jid.host())?;
            t.set("action", u.action.as_str())?;
            t.set("token", u.token.as_str())?;
            t.set("ibr", u.ibr)?;
            t.into_lua_multi(lua)
        }
        Err(e) => fail(lua, e.code(), &e),
    }
}

/// `landing_link(template, host, record[, supports])` → the link, or
/// false when the record's type gets no landing page.
fn landing_link(a: &mut Args) -> Ret {
    let lua = a.lua();
    let (template, host) = (a.str(0, "template")?, a.str(1, "host")?);
    let record = match record_of(lua, a.func, "record", a.value(2))? {
        Some(Ok(r)) => r,
        Some(Err(e)) => return fail(lua, e.code(), &e),
        None => {
            return Err(mlua::Error::runtime(
                "bad argument 'record' to 'landing_link' (record table expected, got nil)",
            ));
        }
    };
    let page = match landing_from(a.func, template, a.value(3))? {
        Ok(p) => p,
        Err(e) => return fail(lua, "unknown-invite-type", e),
    };
    match page.link(&host, &record) {
        Ok(Some(link)) => link.into_lua_multi(lua),
        Ok(None) => false.into_lua_multi(lua),
        Err(e) => fail(lua, e.code(), &e),
    }
}

fn render_template(a: &mut Args) -> Ret {
    let lua = a.lua();
    let template = a.str(0, "template")?;
    let values = a.table(1, "values")?;
    let values = match from_lua(lua, Value::Table(values)) {
        Ok(v) => v,
        Err(e) => return fail(lua, "invalid-argument", e),
    };
    reply(lua, Renderer::url().render(&template, &values))
}

fn fragment_link(a: &mut Args) -> Ret {
    let lua = a.lua();
    let (base, uri) = (a.str(0, "base")?, a.str(1, "uri")?);
    match InviteUri::parse(&uri) {
        Ok(u) => reply(lua, invites::fragment_link(&base, &u)),
        Err(e) => fail(lua, e.code(), &e),
    }
}

fn form_table(lua: &Lua, form: &invites::DataForm) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("type", form.form_type)?;
    t.set("title", form.title)?;
    let fields = lua.create_table()?;
    for f in &form.fields {
        let ft = lua.create_table()?;
        ft.set("var", f.var)?;
        ft.set("type", f.field_type.as_str())?;
        ft.set("label", f.label)?;
        ft.set("required", f.required)?;
        ft.set("value", f.value.as_deref())?;
        fields.raw_push(ft)?;
    }
    t.set("fields", fields)?;
    Ok(t)
}

/// `result_form(uri, landing_url, expires)`.
fn result_form(a: &mut Args) -> Ret {
    let lua = a.lua();
    let uri = a.str(0, "uri")?;
    let landing = a.opt_str(1, "landing_url")?;
    let expires = a.opt_int(2, "expires")?;
    match invites::invitation_result_form(&uri, landing.as_deref(), expires) {
        Ok(f) => form_table(lua, &f)?.into_lua_multi(lua),
        Err(e) => fail(lua, e.code(), &e),
    }
}

fn create_account_form(a: &mut Args) -> Ret {
    let required = a.opt_bool(0, "username_required")?.unwrap_or(false);
    form_table(a.lua(), &invites::create_account_form(required))?.into_lua_multi(a.lua())
}

fn password_reset_form(a: &mut Args) -> Ret {
    form_table(a.lua(), &invites::password_reset_form())?.into_lua_multi(a.lua())
}

/// Submitted fields as `{var = value}` (a list value takes its first item).
fn submitted(a: &Args, t: &Table) -> mlua::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair?;
        let k = args::want_str(a.func, "fields key", k)?;
        let v = match v {
            Value::Boolean(b) => {
                if b {
                    "true".to_owned()
                } else {
                    "false".to_owned()
                }
            }
            Value::Table(list) => match list.raw_get::<Value>(1)? {
                Value::Nil => String::new(),
                first => args::want_str(a.func, &format!("fields.{k}[1]"), first)?,
            },
            other => args::want_str(a.func, &format!("fields.{k}"), other)?,
        };
        out.push((k, v));
    }
    Ok(out)
}

fn parse_create_account_submission(a: &mut Args) -> Ret {
    let lua = a.lua();
    let fields = a.table(0, "fields")?;
    let required = a.opt_bool(1, "username_required")?.unwrap_or(false);
    let pairs = submitted(a, &fields)?;
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match invites::parse_create_account_submission(&refs, required) {
        Ok(r) => {
            let t = lua.create_table()?;
            t.set("username", r.username)?;
            t.set("roster_subscription", r.roster_subscription)?;
            t.into_lua_multi(lua)
        }
        Err(e) => fail(lua, e.code(), &e),
    }
}

fn parse_password_reset_submission(a: &mut Args) -> Ret {
    let lua = a.lua();
    let fields = a.table(0, "fields")?;
    let pairs = submitted(a, &fields)?;
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    reply(
        lua,
        invites::parse_password_reset_submission(&refs).map(|j| j.to_string()),
    )
}
