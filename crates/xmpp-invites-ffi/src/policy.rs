//! Permission policy.

use std::ffi::c_char;

use xmpp_invites::{Decision, Policy, Reason, Requester};

use crate::error::{Fail, guard, xi_result};
use crate::invite::{invite_type, xi_invite_type};
use crate::strings::{
    arg_mut, arg_ref, arg_str, arg_str_list, free_box, out_ptr, owned, write_out,
};

/// Which module's defaults a policy starts from.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_policy_preset {
    /// `mod_invites_adhoc`: `allow_user_invites` false,
    /// `allow_contact_invites` true.
    InvitesAdhoc = 0,
    /// `mod_easy_invite`: `allow_user_invites` true.
    EasyInvite = 1,
}

/// Why a decision came out as it did.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_reason {
    /// The requester is not a user of this host.
    OtherHost = 0,
    /// The requester is an admin.
    Admin = 1,
    /// Only admins may create this type.
    AdminOnly = 2,
    /// A role in `allow_user_invites_by_roles`.
    RoleAllowed = 3,
    /// A role in `deny_user_invites_by_roles`.
    RoleDenied = 4,
    /// The `allow_user_invites` setting.
    AllowUserInvites = 5,
    /// The `allow_contact_invites` setting.
    AllowContactInvites = 6,
    /// The host's own permission to invite new users, given in place of
    /// the admin flag and `allow_user_invites` (Prosody 13's
    /// `invites_adhoc:invite-users`): see `xi_policy_contact_invite_with_permission`.
    Permission = 7,
}

impl From<&Reason> for xi_reason {
    fn from(r: &Reason) -> Self {
        match r {
            Reason::OtherHost { .. } => Self::OtherHost,
            Reason::Admin => Self::Admin,
            Reason::AdminOnly(_) => Self::AdminOnly,
            Reason::RoleAllowed(_) => Self::RoleAllowed,
            Reason::RoleDenied(_) => Self::RoleDenied,
            Reason::AllowUserInvites(_) => Self::AllowUserInvites,
            Reason::AllowContactInvites(_) => Self::AllowContactInvites,
            Reason::Permission(_) => Self::Permission,
        }
    }
}

/// The invite permissions of one host (opaque): free with
/// `xi_policy_free`.
pub struct xi_policy {
    policy: Policy,
}

/// A policy for `host` from a preset (`xi_policy_preset`).
///
/// # Safety
/// `host` is a NUL-terminated string; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_new(
    preset: u32,
    host: *const c_char,
    out: *mut *mut xi_policy,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let host = unsafe { arg_str(host, "host") }?;
        xmpp_invites::prep_host(host)?;
        let policy = match preset {
            0 => Policy::invites_adhoc(host),
            1 => Policy::easy_invite(host),
            _ => {
                return Err(Fail::new(
                    xi_result::InvalidEnum,
                    format!("{preset} is not an xi_policy_preset"),
                ));
            }
        };
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(Box::new(xi_policy { policy }))) };
        Ok(())
    })
}

/// Frees a policy; NULL is fine.
///
/// # Safety
/// `p` is NULL or from `xi_policy_new`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_free(p: *mut xi_policy) {
    // SAFETY: as the caller promised.
    unsafe { free_box(p) }
}

/// Sets `allow_user_invites`.
///
/// # Safety
/// `p` is a live policy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_set_allow_user_invites(
    p: *mut xi_policy,
    allow: bool,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(p, "policy") }?.policy.allow_user_invites = allow;
        Ok(())
    })
}

/// Sets `allow_contact_invites`.
///
/// # Safety
/// `p` is a live policy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_set_allow_contact_invites(
    p: *mut xi_policy,
    allow: bool,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(p, "policy") }?
            .policy
            .allow_contact_invites = allow;
        Ok(())
    })
}

/// Adds a role to `allow_user_invites_by_roles`.
///
/// # Safety
/// `p` is a live policy; `role` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_add_allowed_role(
    p: *mut xi_policy,
    role: *const c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (p, role) = unsafe { (arg_mut(p, "policy")?, arg_str(role, "role")?) };
        p.policy.allow_user_invites_by_roles.push(role.to_owned());
        Ok(())
    })
}

/// Adds a role to `deny_user_invites_by_roles`.
///
/// # Safety
/// `p` is a live policy; `role` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_add_denied_role(
    p: *mut xi_policy,
    role: *const c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (p, role) = unsafe { (arg_mut(p, "policy")?, arg_str(role, "role")?) };
        p.policy.deny_user_invites_by_roles.push(role.to_owned());
        Ok(())
    })
}

/// A decision, as C sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xi_decision {
    /// Whether allowed.
    pub allowed: bool,
    /// Why.
    pub reason: xi_reason,
    /// For `xi_policy_contact_invite`: the type the command creates
    /// (contact-only or account-and-contact); otherwise the type asked for.
    pub r#type: xi_invite_type,
}

/// Reads a requester: JID (a resource is dropped), admin flag, roles.
///
/// # Safety
/// As the callers promise for their arguments.
unsafe fn requester(
    jid: *const c_char,
    is_admin: bool,
    roles: *const *const c_char,
    n: usize,
) -> Result<Requester, Fail> {
    // SAFETY: as the caller promised.
    let (jid, roles) = unsafe { (arg_str(jid, "requester")?, arg_str_list(roles, n, "roles")?) };
    Ok(Requester::parse(jid)?.admin(is_admin).with_roles(roles))
}

/// Writes the decision and, when `out_message` is not NULL, its
/// explanation (free with `xi_string_free`).
///
/// # Safety
/// `out` writable; `out_message` NULL or writable.
unsafe fn write_decision(
    d: &Decision,
    t: xi_invite_type,
    out: *mut xi_decision,
    out_message: *mut *mut c_char,
) -> Result<(), Fail> {
    let message = if out_message.is_null() {
        None
    } else {
        Some(owned(&d.reason.to_string())?)
    };
    // SAFETY: as the caller promised.
    unsafe {
        write_out(
            out,
            xi_decision {
                allowed: d.allowed,
                reason: (&d.reason).into(),
                r#type: t,
            },
        );
        if let Some(m) = message {
            write_out(out_message, m);
        }
    }
    Ok(())
}

/// May `requester_jid` (an admin if `is_admin`, with `n_roles` roles)
/// create an invite of `type`? The decision into `*out`, and its
/// explanation into `*out_message` unless that is NULL.
///
/// `is_admin` means an admin of the policy's host, wherever their account
/// is (as Prosody's `is_admin(jid, host)`, which counts global admins):
/// such an admin may create account, group and reset invites; contact
/// invites are for accounts on the host only (`XI_REASON_OTHER_HOST`).
///
/// # Safety
/// `p` is a live policy; `requester_jid` a string; `roles` NULL (with
/// `n_roles` 0) or `n_roles` strings; `out` writable; `out_message` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_decide(
    p: *const xi_policy,
    requester_jid: *const c_char,
    is_admin: bool,
    roles: *const *const c_char,
    n_roles: usize,
    r#type: u32,
    out: *mut xi_decision,
    out_message: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let p = unsafe { arg_ref(p, "policy") }?;
        let t = invite_type(r#type)?;
        // SAFETY: as the caller promised.
        let r = unsafe { requester(requester_jid, is_admin, roles, n_roles) }?;
        let d = p.policy.decide(&r, t);
        // SAFETY: as the caller promised.
        unsafe { write_decision(&d, t.into(), out, out_message) }
    })
}

/// What the contact invite command does for this requester: `allowed`
/// false with the refusal's reason, or allowed with `type` contact-only or
/// account-and-contact and the reason registration is or is not included.
///
/// # Safety
/// As `xi_policy_decide`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_contact_invite(
    p: *const xi_policy,
    requester_jid: *const c_char,
    is_admin: bool,
    roles: *const *const c_char,
    n_roles: usize,
    out: *mut xi_decision,
    out_message: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe {
            contact_invite(
                p,
                requester_jid,
                is_admin,
                roles,
                n_roles,
                None,
                out,
                out_message,
            )
        }
    })
}

/// As `xi_policy_contact_invite`, for a host with its own permission to
/// invite new users (as Prosody 13's `invites_adhoc:invite-users`, which
/// admins grant and take away per role): `may_invite_users` is the host's
/// answer for this requester, and stands in for `is_admin` and
/// `allow_user_invites` in whether the invite allows registration
/// (`XI_REASON_PERMISSION`); the role lists still come first. `is_admin`
/// still lets an admin create contact invites when
/// `allow_contact_invites` is off.
///
/// # Safety
/// As `xi_policy_decide`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_policy_contact_invite_with_permission(
    p: *const xi_policy,
    requester_jid: *const c_char,
    is_admin: bool,
    roles: *const *const c_char,
    n_roles: usize,
    may_invite_users: bool,
    out: *mut xi_decision,
    out_message: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe {
            contact_invite(
                p,
                requester_jid,
                is_admin,
                roles,
                n_roles,
                Some(may_invite_users),
                out,
                out_message,
            )
        }
    })
}

/// The two contact invite calls.
///
/// # Safety
/// As `xi_policy_decide`.
#[allow(clippy::too_many_arguments)]
unsafe fn contact_invite(
    p: *const xi_policy,
    requester_jid: *const c_char,
    is_admin: bool,
    roles: *const *const c_char,
    n_roles: usize,
    permission: Option<bool>,
    out: *mut xi_decision,
    out_message: *mut *mut c_char,
) -> Result<(), Fail> {
    out_ptr(out, "out")?;
    // SAFETY: as the caller promised.
    let p = unsafe { arg_ref(p, "policy") }?;
    // SAFETY: as the caller promised.
    let mut r = unsafe { requester(requester_jid, is_admin, roles, n_roles) }?;
    if let Some(granted) = permission {
        r = r.invite_permission(granted);
    }
    match p.policy.contact_invite(&r) {
        Ok(c) => {
            let d = Decision {
                allowed: true,
                reason: c.registration.reason,
            };
            // SAFETY: as the caller promised.
            unsafe { write_decision(&d, c.invite_type.into(), out, out_message) }
        }
        // SAFETY: as the caller promised.
        Err(d) => unsafe { write_decision(&d, xi_invite_type::ContactOnly, out, out_message) },
    }
}
