//! Creating invites, their records, and the storage changes to apply.

use std::ffi::{CStr, CString, c_char};

use xmpp_invites::{
    ContactRecord, Invite, InviteRecord, InviteType, LandingPage, NewInvite, Period, StorageChange,
};

use crate::error::{Fail, guard, guard_value, xi_result};
use crate::rng::with_rng;
use crate::strings::{
    arg_mut, arg_ref, arg_str, arg_str_list, borrow, free_box, opt_str, out_ptr, owned, to_cstring,
    write_out,
};
use crate::time::period;
use crate::token::token_format;

/// The kinds of invite.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_invite_type {
    /// Register an account (any username, or one bound username).
    Account = 0,
    /// Reset the password of an existing account.
    PasswordReset = 1,
    /// Become a contact of the inviter, no registration.
    ContactOnly = 2,
    /// Become a contact of the inviter, registering if needed (`ibr=y`).
    AccountAndContact = 3,
    /// Register an account that joins groups.
    Group = 4,
}

impl From<InviteType> for xi_invite_type {
    fn from(t: InviteType) -> Self {
        match t {
            InviteType::Account => Self::Account,
            InviteType::PasswordReset => Self::PasswordReset,
            InviteType::ContactOnly => Self::ContactOnly,
            InviteType::AccountAndContact => Self::AccountAndContact,
            InviteType::Group => Self::Group,
        }
    }
}

/// Checks an `xi_invite_type` number.
pub(crate) fn invite_type(t: u32) -> Result<InviteType, Fail> {
    Ok(match t {
        0 => InviteType::Account,
        1 => InviteType::PasswordReset,
        2 => InviteType::ContactOnly,
        3 => InviteType::AccountAndContact,
        4 => InviteType::Group,
        _ => {
            return Err(Fail::new(
                xi_result::InvalidEnum,
                format!("{t} is not an xi_invite_type"),
            ));
        }
    })
}

pub use builder::xi_new_invite;

mod builder {
    use std::sync::OnceLock;

    use xmpp_invites::NewInvite;

    use super::Spec;

    /// An invite to create (opaque). Made by `xi_new_invite_new`, configured
    /// with the `xi_new_invite_set_*`/`_add_*` functions, turned into invites
    /// by `xi_new_invite_create` (as often as wanted), freed by
    /// `xi_new_invite_free`. Several threads may create from one builder at
    /// once; a setter needs the builder to itself.
    pub struct xi_new_invite {
        spec: Spec,
        /// `spec` built, kept for every create until a setter changes
        /// `spec`: the strings are copied and the host prepared once, not
        /// per invite. Private to this module, so that every change goes
        /// through [`xi_new_invite::spec_mut`], which drops it.
        built: OnceLock<NewInvite>,
    }

    impl xi_new_invite {
        pub(super) fn new(spec: Spec) -> Self {
            Self {
                spec,
                built: OnceLock::new(),
            }
        }

        /// The settings, to change: the built invite is dropped.
        pub(super) fn spec_mut(&mut self) -> &mut Spec {
            self.built.take();
            &mut self.spec
        }

        /// The settings built into a `NewInvite`, once per change.
        pub(super) fn built(&self) -> &NewInvite {
            self.built.get_or_init(|| self.spec.build())
        }
    }
}

/// What the setters say of the invites a builder creates.
pub(crate) struct Spec {
    kind: InviteType,
    host: String,
    user: Option<String>,
    ttl: Option<Period>,
    roles: Vec<String>,
    groups: Vec<String>,
    source: Option<String>,
    note: Option<String>,
    max_uses: Option<u32>,
    reusable: Option<bool>,
    hashed: bool,
    legacy_roles: bool,
    format: Option<xmpp_invites::TokenFormat>,
    /// Compiled once, shared by every invite the builder creates.
    landing: Option<std::sync::Arc<LandingPage>>,
}

impl Spec {
    fn build(&self) -> NewInvite {
        let user = self.user.as_deref().unwrap_or_default();
        let mut n = match self.kind {
            InviteType::Account => match &self.user {
                Some(u) => NewInvite::account_for(u, &self.host),
                None => NewInvite::account(&self.host),
            },
            InviteType::PasswordReset => NewInvite::password_reset(user, &self.host),
            InviteType::ContactOnly => NewInvite::contact(user, &self.host, false),
            InviteType::AccountAndContact => NewInvite::contact(user, &self.host, true),
            InviteType::Group => NewInvite::group(&self.host, self.groups.iter().cloned()),
        };
        if let Some(ttl) = self.ttl {
            n = n.ttl(ttl);
        }
        if !self.roles.is_empty() {
            n = if self.legacy_roles {
                n.legacy_roles(self.roles.iter().cloned())
            } else {
                n.roles(self.roles.iter().cloned())
            };
        }
        if let Some(r) = self.reusable {
            n = n.reusable(r);
        }
        n = n.hash_at_rest(self.hashed);
        if self.kind != InviteType::Group && !self.groups.is_empty() {
            n = n.groups(self.groups.iter().cloned());
        }
        if let Some(s) = &self.source {
            n = n.source(s);
        }
        if let Some(s) = &self.note {
            n = n.note(s);
        }
        if let Some(m) = self.max_uses {
            n = n.max_uses(m);
        }
        if let Some(f) = self.format {
            n = n.token_format(f);
        }
        if let Some(p) = &self.landing {
            n = n.landing_page(std::sync::Arc::clone(p));
        }
        n
    }
}

/// Starts an invite of `type` (an `xi_invite_type`) on `host`. `user` is
/// the bound username of an account invite (NULL for any username), the
/// account of a password reset, or the inviter of a contact invite; NULL
/// for a group invite. Host and user are checked by `xi_new_invite_create`.
///
/// # Safety
/// `host` is a NUL-terminated string; `user` is NULL or one; `out` is
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_new(
    r#type: u32,
    host: *const c_char,
    user: *const c_char,
    out: *mut *mut xi_new_invite,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        let kind = invite_type(r#type)?;
        // SAFETY: as the caller promised.
        let (host, user) = unsafe { (arg_str(host, "host")?, opt_str(user, "user")?) };
        if kind == InviteType::Group && user.is_some() {
            return Err(Fail::new(
                xi_result::InvalidArgument,
                "user must be NULL for a group invite",
            ));
        }
        let needs_user = matches!(
            kind,
            InviteType::PasswordReset | InviteType::ContactOnly | InviteType::AccountAndContact
        );
        if needs_user && user.is_none() {
            return Err(Fail::new(
                xi_result::NullArgument,
                format!("user is NULL: a {kind} invite needs one"),
            ));
        }
        let b = Box::new(xi_new_invite::new(Spec {
            kind,
            host: host.to_owned(),
            user: user.map(str::to_owned),
            ttl: None,
            roles: Vec::new(),
            groups: Vec::new(),
            source: None,
            note: None,
            max_uses: None,
            reusable: None,
            hashed: false,
            legacy_roles: false,
            format: None,
            landing: None,
        }));
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(b)) };
        Ok(())
    })
}

/// Frees an invite builder; NULL is fine.
///
/// # Safety
/// `b` is NULL or from `xi_new_invite_new`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_free(b: *mut xi_new_invite) {
    // SAFETY: as the caller promised.
    unsafe { free_box(b) }
}

/// Sets how long the invite is valid (default 7 days, 1 day for a reset);
/// `never` for no limit.
///
/// # Safety
/// `b` is a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_ttl(
    b: *mut xi_new_invite,
    seconds: u64,
    never: bool,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(b, "b") }?.spec_mut().ttl = Some(period(seconds, never));
        Ok(())
    })
}

/// Adds a role for the new account (the first added is the primary one).
///
/// # Safety
/// `b` is a live builder; `role` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_add_role(
    b: *mut xi_new_invite,
    role: *const c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (b, role) = unsafe { (arg_mut(b, "b")?, arg_str(role, "role")?) };
        b.spec_mut().roles.push(role.to_owned());
        Ok(())
    })
}

/// Adds a group for the new account (a group invite needs at least one).
///
/// # Safety
/// `b` is a live builder; `group` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_add_group(
    b: *mut xi_new_invite,
    group: *const c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (b, group) = unsafe { (arg_mut(b, "b")?, arg_str(group, "group")?) };
        b.spec_mut().groups.push(group.to_owned());
        Ok(())
    })
}

/// Sets who creates the invite (a JID, or `api/token/ID`); NULL clears it.
///
/// # Safety
/// `b` is a live builder; `source` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_source(
    b: *mut xi_new_invite,
    source: *const c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (b, source) = unsafe { (arg_mut(b, "b")?, opt_str(source, "source")?) };
        b.spec_mut().source = source.map(str::to_owned);
        Ok(())
    })
}

/// Sets a note for admins; NULL clears it.
///
/// # Safety
/// `b` is a live builder; `note` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_note(
    b: *mut xi_new_invite,
    note: *const c_char,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let (b, note) = unsafe { (arg_mut(b, "b")?, opt_str(note, "note")?) };
        b.spec_mut().note = note.map(str::to_owned);
        Ok(())
    })
}

/// Lets the invite register up to `max_uses` accounts (0 is refused by
/// `xi_new_invite_create`).
///
/// # Safety
/// `b` is a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_max_uses(
    b: *mut xi_new_invite,
    max_uses: u32,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(b, "b") }?.spec_mut().max_uses = Some(max_uses);
        Ok(())
    })
}

/// Makes the invite stay after use until it expires (default: only a group
/// invite given a TTL is reusable).
///
/// # Safety
/// `b` is a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_reusable(
    b: *mut xi_new_invite,
    reusable: bool,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(b, "b") }?.spec_mut().reusable = Some(reusable);
        Ok(())
    })
}

/// Keeps only a hash of the token at rest: the storage changes then hold
/// `sha256:` + the token's hash as key and record token, and no URI or
/// landing link (stock Prosody cannot read such records). Look presented
/// tokens up with `xi_storage_key(token, true, ...)`.
///
/// # Safety
/// `b` is a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_hash_at_rest(
    b: *mut xi_new_invite,
    hashed: bool,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(b, "b") }?.spec_mut().hashed = hashed;
        Ok(())
    })
}

/// Writes the roles in the legacy set form (`{"prosody:admin": true}`,
/// what Prosody 0.12 applies) instead of the ordered list.
///
/// # Safety
/// `b` is a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_legacy_roles(
    b: *mut xi_new_invite,
    legacy: bool,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        unsafe { arg_mut(b, "b") }?.spec_mut().legacy_roles = legacy;
        Ok(())
    })
}

/// Sets the token format (`xi_token_format`, size 0 = its default).
///
/// # Safety
/// `b` is a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_token_format(
    b: *mut xi_new_invite,
    format: u32,
    size: usize,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let b = unsafe { arg_mut(b, "b") }?;
        let format = token_format(format, size)?;
        b.spec_mut().format = Some(format);
        Ok(())
    })
}

/// Builds a landing page from a template and the `invites_page_supports`
/// names: NULL (with 0) for the default (account, contact-only,
/// account-and-contact); an empty list (non-NULL, 0) for none.
///
/// # Safety
/// `template` is a NUL-terminated string; `supports` NULL or `n_supports`
/// strings.
pub(crate) unsafe fn landing_page(
    template: *const c_char,
    supports: *const *const c_char,
    n_supports: usize,
) -> Result<LandingPage, Fail> {
    // SAFETY: as the caller promised.
    let template = unsafe { arg_str(template, "template") }?;
    let page = LandingPage::new(template);
    if supports.is_null() && n_supports == 0 {
        return Ok(page);
    }
    // SAFETY: as the caller promised.
    let names = unsafe { arg_str_list(supports, n_supports, "supports") }?;
    Ok(page.with_supported_names(names)?)
}

/// Renders a landing link into the record from `template` (Prosody's
/// `invites_page`) for the types named in `supports`: NULL (with 0) for the
/// default types; an empty list (non-NULL, 0) for none, as an empty
/// `invites_page_supports` in Prosody.
///
/// # Safety
/// `b` is a live builder; `template` a NUL-terminated string; `supports`
/// NULL or `n_supports` strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_set_landing_page(
    b: *mut xi_new_invite,
    template: *const c_char,
    supports: *const *const c_char,
    n_supports: usize,
) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let b = unsafe { arg_mut(b, "b") }?;
        // SAFETY: as the caller promised.
        let page = unsafe { landing_page(template, supports, n_supports) }?;
        b.spec_mut().landing = Some(page.into());
        Ok(())
    })
}

/// A created invite (opaque): free with `xi_invite_free`.
pub struct xi_invite {
    invite: Invite,
    token: CString,
    uri: CString,
    landing: Option<CString>,
}

/// Creates an invite at `now` (Unix seconds, from 0000-01-01T00:00:00Z up
/// to but not including `XI_NEVER_EXPIRES`, the times XEP-0082 can write;
/// others give `XI_RESULT_DATETIME_OUT_OF_RANGE`, and an expiry past
/// that range `XI_RESULT_PERIOD_OVERFLOW`). Its token's bytes come from
/// the generator `xi_rng_select` chose (the OS by default) when `random`
/// is NULL (and `random_len` 0), else from `random`, as
/// `xi_token_generate` takes them for the builder's token format and size
/// (18 bytes for the default base64url token); too few give
/// `XI_RESULT_RNG_FAILURE`.
///
/// # Safety
/// `b` is a live builder; `random` NULL or `random_len` bytes; `out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_new_invite_create(
    b: *const xi_new_invite,
    now: i64,
    random: *const u8,
    random_len: usize,
    out: *mut *mut xi_invite,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let new = unsafe { arg_ref(b, "b") }?.built();
        // SAFETY: as the caller promised.
        let invite = unsafe { with_rng(random, random_len, |rng| Ok(new.create(rng, now)?)) }?;
        let handle = Box::new(xi_invite {
            token: to_cstring(invite.token().as_str())?,
            uri: to_cstring(invite.uri())?,
            landing: invite.landing_page().map(to_cstring).transpose()?,
            invite,
        });
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees an invite; NULL is fine.
///
/// # Safety
/// `i` is NULL or from `xi_new_invite_create`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_free(i: *mut xi_invite) {
    // SAFETY: as the caller promised.
    unsafe { free_box(i) }
}

/// The invite's token (borrowed; NULL for a NULL invite).
///
/// # Safety
/// `i` is NULL or a live invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_token(i: *const xi_invite) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { i.as_ref() }.map(|i| &i.token))
    })
}

/// The invite URI (borrowed; NULL for a NULL invite).
///
/// # Safety
/// `i` is NULL or a live invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_uri(i: *const xi_invite) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { i.as_ref() }.map(|i| &i.uri))
    })
}

/// The landing link (borrowed), or NULL when none was rendered.
///
/// # Safety
/// `i` is NULL or a live invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_landing_page(i: *const xi_invite) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { i.as_ref() }.and_then(|i| i.landing.as_ref()))
    })
}

/// When the invite expires, Unix seconds (`XI_NEVER_EXPIRES` for never); 0
/// for a NULL invite.
///
/// # Safety
/// `i` is NULL or a live invite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_expires(i: *const xi_invite) -> i64 {
    // SAFETY: as the caller promised.
    guard_value(0, || {
        unsafe { i.as_ref() }.map_or(0, |i| i.invite.expires())
    })
}

/// The invite's type into `*out`.
///
/// # Safety
/// `i` is a live invite; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_get_type(
    i: *const xi_invite,
    out: *mut xi_invite_type,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let t = unsafe { arg_ref(i, "invite") }?.invite.invite_type();
        // SAFETY: checked above.
        unsafe { write_out(out, t.into()) };
        Ok(())
    })
}

/// The invite's record as JSON, as stored (what Prosody's SQL storage
/// keeps), into `*out` (free with `xi_string_free`). Hashed at rest, that
/// is the hashed record: `sha256:` key as token, no URI or landing link.
///
/// # Safety
/// `i` is a live invite; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_record_json(
    i: *const xi_invite,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let invite = &unsafe { arg_ref(i, "invite") }?.invite;
        let s = owned(&invite.stored_record().to_json())?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// The writes that store the invite, into `*out` (free with
/// `xi_changes_free`).
///
/// # Safety
/// `i` is a live invite; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_invite_storage_changes(
    i: *const xi_invite,
    out: *mut *mut xi_changes,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let changes = xi_changes::new(&unsafe { arg_ref(i, "invite") }?.invite.storage_changes())?;
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(Box::new(changes))) };
        Ok(())
    })
}

/// What a storage change does. Host-level entries have user NULL (Prosody:
/// user nil, SQL `user = ''`); user-level entries are the inviter's.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_change_op {
    /// Store `value` (JSON, `sql_type` "json") under host-level `token`.
    PutRecord = 0,
    /// Store `value` (a number, `sql_type` "number") under (`user`,
    /// `token`).
    PutContactExpiry = 1,
    /// Delete host-level `token`.
    DeleteRecord = 2,
    /// Delete (`user`, `token`).
    DeleteContactExpiry = 3,
}

/// One storage change; the strings are borrowed from the `xi_changes` list.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct xi_change {
    /// What to do.
    pub op: xi_change_op,
    /// The user column: NULL for host-level entries.
    pub user: *const c_char,
    /// The key: the token.
    pub token: *const c_char,
    /// `"json"` or `"number"` for writes, NULL for deletes.
    pub sql_type: *const c_char,
    /// The value text for writes, NULL for deletes.
    pub value: *const c_char,
}

struct OwnedChange {
    op: xi_change_op,
    user: Option<CString>,
    token: CString,
    sql_type: Option<&'static CStr>,
    value: Option<CString>,
}

/// A list of storage changes (opaque): free with `xi_changes_free`.
pub struct xi_changes {
    items: Vec<OwnedChange>,
}

impl xi_changes {
    pub(crate) fn new(changes: &[StorageChange]) -> Result<Self, Fail> {
        let items = changes
            .iter()
            .map(|c| {
                let op = match c {
                    StorageChange::PutRecord { .. } => xi_change_op::PutRecord,
                    StorageChange::PutContactExpiry { .. } => xi_change_op::PutContactExpiry,
                    StorageChange::DeleteRecord { .. } => xi_change_op::DeleteRecord,
                    StorageChange::DeleteContactExpiry { .. } => xi_change_op::DeleteContactExpiry,
                };
                let (sql_type, value) = match c.sql_value() {
                    Some(("json", v)) => (Some(c"json"), Some(to_cstring(&v)?)),
                    Some((_, v)) => (Some(c"number"), Some(to_cstring(&v)?)),
                    None => (None, None),
                };
                Ok(OwnedChange {
                    op,
                    user: c.user().map(to_cstring).transpose()?,
                    token: to_cstring(c.token())?,
                    sql_type,
                    value,
                })
            })
            .collect::<Result<_, Fail>>()?;
        Ok(Self { items })
    }
}

/// The number of changes (0 for NULL).
///
/// # Safety
/// `list` is NULL or a live list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_changes_len(list: *const xi_changes) -> usize {
    // SAFETY: as the caller promised.
    guard_value(0, || unsafe { list.as_ref() }.map_or(0, |l| l.items.len()))
}

/// Change `index` into `*out`; `XI_RESULT_INVALID_ARGUMENT` past the end.
///
/// # Safety
/// `list` is a live list; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_changes_get(
    list: *const xi_changes,
    index: usize,
    out: *mut xi_change,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let list = unsafe { arg_ref(list, "list") }?;
        let c = list.items.get(index).ok_or_else(|| {
            Fail::new(
                xi_result::InvalidArgument,
                format!("index {index} is past the {} changes", list.items.len()),
            )
        })?;
        let change = xi_change {
            op: c.op,
            user: borrow(c.user.as_ref()),
            token: c.token.as_ptr(),
            sql_type: c.sql_type.map_or(std::ptr::null(), CStr::as_ptr),
            value: borrow(c.value.as_ref()),
        };
        // SAFETY: checked above.
        unsafe { write_out(out, change) };
        Ok(())
    })
}

/// Frees a change list; NULL is fine.
///
/// # Safety
/// `list` is NULL or a list from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_changes_free(list: *mut xi_changes) {
    // SAFETY: as the caller promised.
    unsafe { free_box(list) }
}

/// A stored host-level record (opaque), read from Prosody's JSON: free
/// with `xi_record_free`.
pub struct xi_record {
    pub(crate) record: InviteRecord,
    token: CString,
    jid: CString,
    uri: CString,
}

impl xi_record {
    pub(crate) fn new(record: InviteRecord) -> Result<Self, Fail> {
        Ok(Self {
            token: to_cstring(&record.token)?,
            jid: to_cstring(&record.jid)?,
            uri: to_cstring(&record.uri)?,
            record,
        })
    }
}

/// Reads a record from the JSON Prosody's SQL storage keeps (`type` json).
///
/// # Safety
/// `json` is a NUL-terminated string; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_from_json(
    json: *const c_char,
    out: *mut *mut xi_record,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let record = InviteRecord::from_json(unsafe { arg_str(json, "json") }?)?;
        let handle = Box::new(xi_record::new(record)?);
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// The record as JSON into `*out` (free with `xi_string_free`).
///
/// # Safety
/// `r` is a live record; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_to_json(
    r: *const xi_record,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let s = owned(&unsafe { arg_ref(r, "record") }?.record.to_json())?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// The record's token (borrowed; NULL for NULL).
///
/// # Safety
/// `r` is NULL or a live record.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_token(r: *const xi_record) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { r.as_ref() }.map(|r| &r.token))
    })
}

/// The record's JID (borrowed; NULL for NULL).
///
/// # Safety
/// `r` is NULL or a live record.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_jid(r: *const xi_record) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { r.as_ref() }.map(|r| &r.jid))
    })
}

/// The record's URI as stored (borrowed; NULL for NULL): stock Prosody's
/// is unescaped, which `xi_valid_invite_uri` mends.
///
/// # Safety
/// `r` is NULL or a live record.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_uri(r: *const xi_record) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { r.as_ref() }.map(|r| &r.uri))
    })
}

/// The record's expiry into `*out` (`XI_NEVER_EXPIRES` when it has none).
///
/// # Safety
/// `r` is a live record; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_expires(r: *const xi_record, out: *mut i64) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let e = unsafe { arg_ref(r, "record") }?
            .record
            .expires
            .unwrap_or(xmpp_invites::NEVER_EXPIRES);
        // SAFETY: checked above.
        unsafe { write_out(out, e) };
        Ok(())
    })
}

/// The record's invite type into `*out`.
///
/// # Safety
/// `r` is a live record; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_get_type(
    r: *const xi_record,
    out: *mut xi_invite_type,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let t = unsafe { arg_ref(r, "record") }?.record.invite_type();
        // SAFETY: checked above.
        unsafe { write_out(out, t.into()) };
        Ok(())
    })
}

/// Frees a record; NULL is fine.
///
/// # Safety
/// `r` is NULL or from `xi_record_from_json`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_record_free(r: *mut xi_record) {
    // SAFETY: as the caller promised.
    unsafe { free_box(r) }
}

/// Reads a contact invite's user-level value (Prosody SQL type `number`)
/// into `*out`.
///
/// # Safety
/// `value` is a NUL-terminated string; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_contact_expiry_parse(value: *const c_char, out: *mut i64) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let r = ContactRecord::from_json(unsafe { arg_str(value, "value") }?)?;
        // SAFETY: checked above.
        unsafe { write_out(out, r.expires) };
        Ok(())
    })
}
