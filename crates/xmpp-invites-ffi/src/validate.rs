//! Validation, the registration gate, reserved usernames and quotas.

use std::ffi::{CString, c_char};

use xmpp_invites::{
    Admission, ChainLimit, IssuedInvite, Quotas, Redemption, RegistrationAttempt, RegistrationGate,
    Stored, ValidInvite, reserved_by, validate,
};

use crate::error::{Fail, guard, guard_value, xi_result};
use crate::invite::{invite_type, xi_changes, xi_invite_type, xi_record};
use crate::strings::{
    arg_ref, arg_slice, arg_str, borrow, free_box, opt_str, out_ptr, owned, to_cstring, write_out,
};

/// A validated invite (opaque): free with `xi_valid_invite_free`.
pub struct xi_valid_invite {
    valid: ValidInvite,
    inviter: Option<CString>,
    bound: Option<CString>,
    reset: Option<CString>,
    /// Written on the first `xi_valid_invite_uri`.
    uri: std::sync::OnceLock<Option<CString>>,
}

/// Validates a presented token against what the host found in storage
/// under it: `record` (the host-level record, or NULL) and
/// `contact_expires` (the inviter's user-level value, or NULL). With
/// `subscription_to` NULL the token is redeemed for registration
/// (XEP-0445); otherwise for a subscription to that local username
/// (XEP-0379). `now` is Unix seconds; `now > expires` is expired.
///
/// Where invites may be kept hashed at rest, pass the host-level record
/// for subscriptions too (every hashed invite has one): the use changes
/// take the storage key from it, and without it name the token itself,
/// which leaves a hashed invite in place.
///
/// Errors: `XI_RESULT_NO_TOKEN`, `XI_RESULT_TOKEN_BAD_LENGTH`,
/// `XI_RESULT_TOKEN_BAD_ALPHABET`, `XI_RESULT_TOKEN_INVALID`,
/// `XI_RESULT_TOKEN_EXPIRED`, `XI_RESULT_TOKEN_USED_UP`,
/// `XI_RESULT_WRONG_INVITER`, `XI_RESULT_NOT_FOR_REGISTRATION`.
///
/// # Safety
/// `presented` is a NUL-terminated string; `record` NULL or live;
/// `contact_expires` NULL or readable; `subscription_to` NULL or a string;
/// `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_validate(
    presented: *const c_char,
    record: *const xi_record,
    contact_expires: *const i64,
    subscription_to: *const c_char,
    now: i64,
    out: *mut *mut xi_valid_invite,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (presented, record, contact_expires, inviter) = unsafe {
            (
                arg_str(presented, "presented")?,
                record.as_ref().map(|r| &r.record),
                contact_expires.as_ref().copied(),
                opt_str(subscription_to, "subscription_to")?,
            )
        };
        let redemption = match inviter {
            Some(inviter) => Redemption::Subscription { inviter },
            None => Redemption::Registration,
        };
        let valid = validate(
            presented,
            Stored {
                record,
                contact_expires,
            },
            redemption,
            now,
        )?;
        let handle = Box::new(xi_valid_invite {
            inviter: valid.inviter().map(to_cstring).transpose()?,
            bound: valid.bound_username().map(to_cstring).transpose()?,
            reset: valid.reset_username().map(to_cstring).transpose()?,
            uri: std::sync::OnceLock::new(),
            valid,
        });
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees a validated invite; NULL is fine.
///
/// # Safety
/// `v` is NULL or from `xi_validate`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_free(v: *mut xi_valid_invite) {
    // SAFETY: as the caller promised.
    unsafe { free_box(v) }
}

/// The invite's type into `*out`.
///
/// # Safety
/// `v` is a live validated invite; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_get_type(
    v: *const xi_valid_invite,
    out: *mut xi_invite_type,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let t = unsafe { arg_ref(v, "invite") }?.valid.invite_type();
        // SAFETY: checked above.
        unsafe { write_out(out, t.into()) };
        Ok(())
    })
}

/// The local user to become a mutual contact of (borrowed), or NULL.
///
/// # Safety
/// `v` is NULL or a live validated invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_inviter(v: *const xi_valid_invite) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { v.as_ref() }.and_then(|v| v.inviter.as_ref()))
    })
}

/// The only username an account invite registers (borrowed), or NULL.
///
/// # Safety
/// `v` is NULL or a live validated invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_bound_username(
    v: *const xi_valid_invite,
) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { v.as_ref() }.and_then(|v| v.bound.as_ref()))
    })
}

/// The invite URI (borrowed, valid until the invite is freed) as RFC 5122
/// writes it, also where the stored record holds stock Prosody's
/// unescaped one (`xmpp:a?b@…` gives `xmpp:a%3Fb@…`; `xi_record_uri`
/// gives the stored text). NULL without a host-level record (a contact
/// invite validated by the inviter's entry alone: build its URI with
/// `xi_uri_build`), or when the record's JID makes none and none is stored.
///
/// # Safety
/// `v` is NULL or a live validated invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_uri(v: *const xi_valid_invite) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        let Some(v) = (unsafe { v.as_ref() }) else {
            return std::ptr::null();
        };
        borrow(
            v.uri
                .get_or_init(|| v.valid.uri().and_then(|u| to_cstring(&u).ok()))
                .as_ref(),
        )
    })
}

/// The username a reset invite resets (borrowed), or NULL.
///
/// # Safety
/// `v` is NULL or a live validated invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_reset_username(
    v: *const xi_valid_invite,
) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { v.as_ref() }.and_then(|v| v.reset.as_ref()))
    })
}

/// When the invite expires, Unix seconds; 0 for NULL.
///
/// # Safety
/// `v` is NULL or a live validated invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_expires(v: *const xi_valid_invite) -> i64 {
    // SAFETY: as the caller promised.
    guard_value(0, || unsafe { v.as_ref() }.map_or(0, |v| v.valid.expires()))
}

/// The storage changes that spend the invite, to apply once the
/// registration or subscription succeeded (atomically against the record
/// validated), into `*out` (free with `xi_changes_free`).
///
/// # Safety
/// `v` is a live validated invite; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_valid_invite_use_changes(
    v: *const xi_valid_invite,
    out: *mut *mut xi_changes,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let changes = xi_changes::new(&unsafe { arg_ref(v, "invite") }?.valid.use_changes())?;
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(Box::new(changes))) };
        Ok(())
    })
}

/// What the registration gate admitted.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_admission_kind {
    /// Register without an invite (the server is not invite-only).
    Open = 0,
    /// Create the account; then apply the use changes, make it a mutual
    /// contact of the inviter, grant the roles, add it to the groups.
    NewAccount = 1,
    /// Set a new password on the existing account; then apply the use
    /// changes.
    PasswordReset = 2,
}

/// The gate's admission (opaque): free with `xi_admission_free`.
pub struct xi_admission {
    kind: xi_admission_kind,
    username: Option<CString>,
    inviter: Option<CString>,
    roles: Vec<CString>,
    groups: Vec<CString>,
}

/// The account name a requested username stands for (nodeprep: `Romeo` is
/// `romeo`), into `*out` (free with `xi_string_free`), or
/// `XI_RESULT_INVALID_USERNAME`. Look accounts up under this name: the gate
/// and `xi_username_reserved` compare names so.
///
/// # Safety
/// `username` is a NUL-terminated string; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_prep_username(
    username: *const c_char,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let name = xmpp_invites::prep_username(unsafe { arg_str(username, "username") }?)
            // Empty, too long or prohibited alike, as the gate reports it.
            .map_err(|e| Fail::new(xi_result::InvalidUsername, e.to_string()))?;
        let s = owned(&name)?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// Decides a registration attempt: the invite validated on the session
/// (`invite`, NULL for none), `registration_invite_only`, the requested
/// username, whether that account exists (the account named by
/// `xi_prep_username(username)`, not by the raw request: `Romeo` asks for
/// `romeo`), and whether another pending invite reserves the name. On
/// refusal the result says why
/// (`XI_RESULT_INVITE_ONLY`, `XI_RESULT_USERNAME_MISMATCH`,
/// `XI_RESULT_RESET_USERNAME_MISMATCH`, `XI_RESULT_RESET_WITHOUT_ACCOUNT`,
/// `XI_RESULT_ACCOUNT_EXISTS`, `XI_RESULT_USERNAME_RESERVED`,
/// `XI_RESULT_INVALID_USERNAME`, `XI_RESULT_NOT_FOR_REGISTRATION`) and
/// `xi_last_error_message` gives the text for the user.
///
/// # Safety
/// `invite` NULL or live; `username` a NUL-terminated string; `out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_registration_gate(
    invite: *const xi_valid_invite,
    invite_only: bool,
    username: *const c_char,
    account_exists: bool,
    reserved: bool,
    out: *mut *mut xi_admission,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (invite, username) = unsafe {
            (
                invite.as_ref().map(|v| &v.valid),
                arg_str(username, "username")?,
            )
        };
        let admission = RegistrationGate { invite_only }.check(
            invite,
            RegistrationAttempt {
                username,
                account_exists,
                reserved,
            },
        )?;
        let list = |items: &[String]| {
            items
                .iter()
                .map(|s| to_cstring(s))
                .collect::<Result<Vec<_>, _>>()
        };
        let handle = match admission {
            Admission::Open => xi_admission {
                kind: xi_admission_kind::Open,
                username: Some(to_cstring(&xmpp_invites::prep_username(username)?)?),
                inviter: None,
                roles: Vec::new(),
                groups: Vec::new(),
            },
            Admission::PasswordReset { username } => xi_admission {
                kind: xi_admission_kind::PasswordReset,
                username: Some(to_cstring(&username)?),
                inviter: None,
                roles: Vec::new(),
                groups: Vec::new(),
            },
            Admission::NewAccount {
                username,
                inviter,
                roles,
                groups,
            } => xi_admission {
                kind: xi_admission_kind::NewAccount,
                username: Some(to_cstring(&username)?),
                inviter: inviter.as_deref().map(to_cstring).transpose()?,
                roles: roles
                    .as_ref()
                    .map_or(Vec::new(), |r| r.primary_first())
                    .into_iter()
                    .map(to_cstring)
                    .collect::<Result<_, _>>()?,
                groups: list(&groups)?,
            },
        };
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// What was admitted into `*out`.
///
/// # Safety
/// `a` is a live admission; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_get_kind(
    a: *const xi_admission,
    out: *mut xi_admission_kind,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let k = unsafe { arg_ref(a, "admission") }?.kind;
        // SAFETY: checked above.
        unsafe { write_out(out, k) };
        Ok(())
    })
}

/// The normalised username (borrowed; NULL for NULL).
///
/// # Safety
/// `a` is NULL or a live admission.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_username(a: *const xi_admission) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { a.as_ref() }.and_then(|a| a.username.as_ref()))
    })
}

/// The inviter to become a mutual contact of (borrowed), or NULL.
///
/// # Safety
/// `a` is NULL or a live admission.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_inviter(a: *const xi_admission) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { a.as_ref() }.and_then(|a| a.inviter.as_ref()))
    })
}

/// The number of roles to grant (0 when the invite names none); role 0 is
/// the primary one.
///
/// # Safety
/// `a` is NULL or a live admission.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_roles_len(a: *const xi_admission) -> usize {
    // SAFETY: as the caller promised.
    guard_value(0, || unsafe { a.as_ref() }.map_or(0, |a| a.roles.len()))
}

/// Role `index` (borrowed), or NULL past the end.
///
/// # Safety
/// `a` is NULL or a live admission.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_role(a: *const xi_admission, index: usize) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { a.as_ref() }.and_then(|a| a.roles.get(index)))
    })
}

/// The number of groups to join.
///
/// # Safety
/// `a` is NULL or a live admission.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_groups_len(a: *const xi_admission) -> usize {
    // SAFETY: as the caller promised.
    guard_value(0, || unsafe { a.as_ref() }.map_or(0, |a| a.groups.len()))
}

/// Group `index` (borrowed), or NULL past the end.
///
/// # Safety
/// `a` is NULL or a live admission.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_group(a: *const xi_admission, index: usize) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { a.as_ref() }.and_then(|a| a.groups.get(index)))
    })
}

/// Frees an admission; NULL is fine.
///
/// # Safety
/// `a` is NULL or from `xi_registration_gate`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_admission_free(a: *mut xi_admission) {
    // SAFETY: as the caller promised.
    unsafe { free_box(a) }
}

/// Whether a pending invite among `records` (other than `except_token`,
/// NULL for none) reserves `username` at `now`, into `*out`.
///
/// # Safety
/// `username` is a string; `records` NULL (with `n_records` 0) or
/// `n_records` live records (none NULL); `except_token` NULL or a string;
/// `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_username_reserved(
    username: *const c_char,
    records: *const *const xi_record,
    n_records: usize,
    now: i64,
    except_token: *const c_char,
    out: *mut bool,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (username, except) = unsafe {
            (
                arg_str(username, "username")?,
                opt_str(except_token, "except_token")?,
            )
        };
        // SAFETY: as the caller promised.
        let handles = unsafe { arg_slice(records, n_records, "records") }?;
        let records = handles
            .iter()
            .enumerate()
            // SAFETY: as the caller promised.
            .map(|(i, r)| unsafe { arg_ref(*r, &format!("records[{i}]")) }.map(|r| &r.record))
            .collect::<Result<Vec<_>, _>>()?;
        let reserved = reserved_by(username, records, now, except).is_some();
        // SAFETY: checked above.
        unsafe { write_out(out, reserved) };
        Ok(())
    })
}

/// Quota settings; a zero limit means "no limit" for that quota.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xi_quotas {
    /// ejabberd's `max_invites`: account invites one user may have
    /// outstanding plus used (admins exempt); 0 = unlimited.
    pub max_invites: u32,
    /// Most invites in one invite tree (ejabberd: 1000); 0 = unlimited.
    pub max_tree_size: u32,
    /// Chain limit: generations up to look (ejabberd: 3); 0 = off.
    pub chain_depth: u32,
    /// Chain limit: seconds (ejabberd: 300); negative is
    /// `XI_RESULT_INVALID_ARGUMENT` while `chain_depth` is on.
    pub chain_window: i64,
}

/// One invite of the host's history, for `xi_quota_check`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xi_issued_invite {
    /// The inviting username on this host; NULL for server/admin-made.
    pub inviter: *const c_char,
    /// Its `xi_invite_type`.
    pub r#type: u32,
    /// Unix seconds at creation.
    pub created_at: i64,
    /// Unix seconds of expiry.
    pub expires: i64,
    /// The username registered with it, or NULL while unused.
    pub redeemed_by: *const c_char,
}

/// Whether `requester` (a username on this host, not a JID) may create an
/// invite of `type` at `now` under `quotas`, given `n_history` past
/// invites: `XI_RESULT_OK`, `XI_RESULT_MAX_INVITES`,
/// `XI_RESULT_INVITE_TREE_FULL` or `XI_RESULT_CHAIN_TOO_FAST` (the message
/// says when to try again); `XI_RESULT_INVALID_USERNAME` for a requester
/// that is not a username (`alice@example.com`, ""), whatever the limits;
/// `XI_RESULT_INVALID_ARGUMENT`, before anything else is looked at, for a
/// negative `chain_window` while `chain_depth` is on.
///
/// # Safety
/// `quotas` readable; `requester` a string; `history` NULL (with
/// `n_history` 0) or `n_history` readable entries whose strings are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_quota_check(
    quotas: *const xi_quotas,
    requester: *const c_char,
    requester_is_admin: bool,
    r#type: u32,
    history: *const xi_issued_invite,
    n_history: usize,
    now: i64,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (q, requester) =
            unsafe { (arg_ref(quotas, "quotas")?, arg_str(requester, "requester")?) };
        let t = invite_type(r#type)?;
        // SAFETY: as the caller promised.
        let entries = unsafe { arg_slice(history, n_history, "history") }?;
        let history = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                // SAFETY: as the caller promised.
                let (inviter, redeemed) = unsafe {
                    (
                        opt_str(e.inviter, &format!("history[{i}].inviter"))?,
                        opt_str(e.redeemed_by, &format!("history[{i}].redeemed_by"))?,
                    )
                };
                Ok(IssuedInvite {
                    inviter: inviter.map(str::to_owned),
                    invite_type: invite_type(e.r#type)?,
                    created_at: e.created_at,
                    expires: e.expires,
                    redeemed_by: redeemed.map(str::to_owned),
                })
            })
            .collect::<Result<Vec<_>, Fail>>()?;
        // A negative window would turn the chain check off unasked.
        if q.chain_depth > 0 && q.chain_window < 0 {
            return Err(Fail::new(
                xi_result::InvalidArgument,
                format!(
                    "quotas.chain_window is {}: 0 or more seconds expected",
                    q.chain_window
                ),
            ));
        }
        let quotas = Quotas {
            max_invites: (q.max_invites > 0).then_some(q.max_invites),
            max_tree_size: (q.max_tree_size > 0).then_some(q.max_tree_size),
            chain: (q.chain_depth > 0).then_some(ChainLimit {
                depth: q.chain_depth,
                window: q.chain_window,
            }),
        };
        quotas.check(requester, requester_is_admin, t, &history, now)?;
        Ok(())
    })
}
