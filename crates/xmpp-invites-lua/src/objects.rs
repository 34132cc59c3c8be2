//! The policy object (the validated invite is in fast.rs).

use invites::{InviteType, Policy, Requester};
use mlua::{
    IntoLua, IntoLuaMulti, Lua, MultiValue, UserData, UserDataFields, UserDataMethods, Value,
};

use crate::args::{Args, fail, run, str_list, want_bool};

/// A policy object: `decide(jid, type[, who])`, `contact_invite(jid[,
/// who])`, `may_invite_new_users(jid[, who])`; `who` is `{admin=,
/// roles={}}`.
pub(crate) struct LuaPolicy(pub(crate) Policy);

/// The requester from arguments `jid` (position `jid_at`) and `who`.
fn requester(
    a: &Args,
    jid_at: usize,
    who_at: usize,
) -> mlua::Result<Result<Requester, MultiValue>> {
    let jid = a.str(jid_at, "jid")?;
    let r = match Requester::parse(&jid) {
        Ok(r) => r,
        Err(e) => return Ok(Err(fail(a.lua(), e.code(), &e)?)),
    };
    let Some(who) = a.opt_table(who_at, "who")? else {
        return Ok(Ok(r));
    };
    let admin = match who.raw_get::<Value>("admin")? {
        Value::Nil => false,
        v => want_bool(a.func, "who.admin", v)?,
    };
    let roles = str_list(a.func, "who.roles", who.raw_get("roles")?)?;
    let r = r.admin(admin).with_roles(roles);
    Ok(Ok(match who.raw_get::<Value>("may_invite_users")? {
        Value::Nil => r,
        v => r.invite_permission(want_bool(a.func, "who.may_invite_users", v)?),
    }))
}

fn decision(lua: &Lua, first: impl IntoLua, reason: &invites::Reason) -> mlua::Result<MultiValue> {
    (first, reason.code(), reason.to_string()).into_lua_multi(lua)
}

impl UserData for LuaPolicy {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("host", |_, this| Ok(this.0.host.clone()));
        fields.add_field_method_get("allow_user_invites", |_, this| {
            Ok(this.0.allow_user_invites)
        });
        fields.add_field_method_get("allow_contact_invites", |_, this| {
            Ok(this.0.allow_contact_invites)
        });
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // → allowed, reason code, reason text
        methods.add_method("decide", |lua, this, values: MultiValue| {
            run(lua, "decide", values, |a| {
                let t = a.str(1, "type")?;
                let t: InviteType = t.parse().map_err(|e: invites::UnknownInviteType| {
                    mlua::Error::runtime(format!("bad argument 'type' to 'decide' ({e})"))
                })?;
                match requester(a, 0, 2)? {
                    Ok(r) => {
                        let d = this.0.decide(&r, t);
                        decision(lua, d.allowed, &d.reason)
                    }
                    Err(failed) => Ok(failed),
                }
            })
        });
        // → allowed, reason code, reason text
        methods.add_method("may_invite_new_users", |lua, this, values: MultiValue| {
            run(lua, "may_invite_new_users", values, |a| {
                match requester(a, 0, 1)? {
                    Ok(r) => {
                        let d = this.0.may_invite_new_users(&r);
                        decision(lua, d.allowed, &d.reason)
                    }
                    Err(failed) => Ok(failed),
                }
            })
        });
        // → the type created ("contact-only" or "account-and-contact") and
        // why; or false and why not.
        methods.add_method("contact_invite", |lua, this, values: MultiValue| {
            run(lua, "contact_invite", values, |a| {
                match requester(a, 0, 1)? {
                    Ok(r) => match this.0.contact_invite(&r) {
                        Ok(c) => decision(lua, c.invite_type.as_str(), &c.registration.reason),
                        Err(d) => decision(lua, false, &d.reason),
                    },
                    Err(failed) => Ok(failed),
                }
            })
        });
    }
}
