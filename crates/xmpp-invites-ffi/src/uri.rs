//! URIs, landing links and templates.

use std::ffi::{CString, c_char};

use xmpp_invites::{BareJid, InviteAction, InviteUri, Renderer, Token, fragment_link};

use crate::error::{Fail, guard, guard_value, xi_result};
use crate::invite::{landing_page, xi_record};
use crate::strings::{
    arg_ref, arg_str, borrow, free_box, opt_str, out_ptr, owned, to_cstring, write_out,
};

/// An invite URI's query type.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_invite_action {
    /// `register`.
    Register = 0,
    /// `roster`.
    Roster = 1,
}

fn action(a: u32) -> Result<InviteAction, Fail> {
    match a {
        0 => Ok(InviteAction::Register),
        1 => Ok(InviteAction::Roster),
        _ => Err(Fail::new(
            xi_result::InvalidEnum,
            format!("{a} is not an xi_invite_action"),
        )),
    }
}

/// Builds an RFC 5122 invite URI into `*out` (free with `xi_string_free`):
/// `localpart` (NULL for none) escaped with the nodeallow set, `host` as
/// A-labels, `action` an `xi_invite_action`, `ibr` only on roster.
///
/// # Safety
/// `localpart` NULL or a string; `host` and `token` strings; `out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_uri_build(
    localpart: *const c_char,
    host: *const c_char,
    action_: u32,
    token: *const c_char,
    ibr: bool,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (local, host, token) = unsafe {
            (
                opt_str(localpart, "localpart")?,
                arg_str(host, "host")?,
                arg_str(token, "token")?,
            )
        };
        let a = action(action_)?;
        let jid = BareJid::new(local, host)?;
        let uri = InviteUri::new(jid, a, &Token::parse(token)?, ibr).to_uri()?;
        let s = owned(&uri)?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// A parsed invite URI (opaque): free with `xi_parsed_uri_free`.
pub struct xi_parsed_uri {
    uri: InviteUri,
    localpart: Option<CString>,
    host: CString,
    token: CString,
}

/// Parses an invite URI strictly (split first, decode once; the `xmpp://`
/// form, resources, duplicate keys and malformed tokens refused).
///
/// # Safety
/// `uri` is a string; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_uri_parse(
    uri: *const c_char,
    out: *mut *mut xi_parsed_uri,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let uri = InviteUri::parse(unsafe { arg_str(uri, "uri") }?)?;
        let handle = xi_parsed_uri {
            localpart: uri.jid.username().map(to_cstring).transpose()?,
            host: to_cstring(uri.jid.host())?,
            token: to_cstring(&uri.token)?,
            uri,
        };
        // SAFETY: checked above.
        unsafe { write_out(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// The decoded, normalised localpart (borrowed), or NULL.
///
/// # Safety
/// `u` is NULL or a live parsed URI.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_parsed_uri_localpart(u: *const xi_parsed_uri) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { u.as_ref() }.and_then(|u| u.localpart.as_ref()))
    })
}

/// The host in Unicode form (borrowed; NULL for NULL).
///
/// # Safety
/// `u` is NULL or a live parsed URI.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_parsed_uri_host(u: *const xi_parsed_uri) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { u.as_ref() }.map(|u| &u.host))
    })
}

/// The `preauth` token (borrowed; NULL for NULL).
///
/// # Safety
/// `u` is NULL or a live parsed URI.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_parsed_uri_token(u: *const xi_parsed_uri) -> *const c_char {
    // SAFETY: as the caller promised.
    guard_value(std::ptr::null(), || {
        borrow(unsafe { u.as_ref() }.map(|u| &u.token))
    })
}

/// The query type into `*out_action` and `ibr=y` into `*out_ibr`.
///
/// # Safety
/// `u` is a live parsed URI; the out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_parsed_uri_action(
    u: *const xi_parsed_uri,
    out_action: *mut xi_invite_action,
    out_ibr: *mut bool,
) -> xi_result {
    guard(|| {
        out_ptr(out_action, "out_action")?;
        out_ptr(out_ibr, "out_ibr")?;
        // SAFETY: as the caller promised.
        let u = unsafe { arg_ref(u, "uri") }?;
        let a = match u.uri.action {
            InviteAction::Register => xi_invite_action::Register,
            InviteAction::Roster => xi_invite_action::Roster,
        };
        // SAFETY: checked above.
        unsafe {
            write_out(out_action, a);
            write_out(out_ibr, u.uri.ibr);
        }
        Ok(())
    })
}

/// Frees a parsed URI; NULL is fine.
///
/// # Safety
/// `u` is NULL or from `xi_uri_parse`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_parsed_uri_free(u: *mut xi_parsed_uri) {
    // SAFETY: as the caller promised.
    unsafe { free_box(u) }
}

/// The landing link of a stored record on `host`: `template` is Prosody's
/// `invites_page`, `supports` the `invites_page_supports` names (NULL with
/// 0 for the default; an empty list, non-NULL with 0, for none). `*out`
/// receives the link (free with `xi_string_free`), or
/// NULL when the record's type has no landing page.
///
/// # Safety
/// `template` and `host` strings; `supports` NULL or `n_supports` strings;
/// `record` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_landing_link(
    template: *const c_char,
    supports: *const *const c_char,
    n_supports: usize,
    host: *const c_char,
    record: *const xi_record,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let page = unsafe { landing_page(template, supports, n_supports) }?;
        // SAFETY: as the caller promised.
        let (host, record) = unsafe { (arg_str(host, "host")?, arg_ref(record, "record")?) };
        let link = page
            .link(host, &record.record)?
            .map(|l| owned(&l))
            .transpose()?;
        // SAFETY: checked above.
        unsafe { write_out(out, link.unwrap_or(std::ptr::null_mut())) };
        Ok(())
    })
}

/// Renders a template in Prosody's language with URL escaping and the
/// `urlescape` and `noscheme` filters; `values_json` is a JSON object
/// (other JSON gives `XI_RESULT_INVALID_ARGUMENT`). Into `*out` (free with
/// `xi_string_free`).
///
/// # Safety
/// `template` and `values_json` strings; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_template_render(
    template: *const c_char,
    values_json: *const c_char,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (template, values) = unsafe {
            (
                arg_str(template, "template")?,
                arg_str(values_json, "values_json")?,
            )
        };
        let values: serde_json::Value = serde_json::from_str(values).map_err(|e| {
            Fail::new(
                xi_result::InvalidArgument,
                format!("values_json is not JSON: {e}"),
            )
        })?;
        if !values.is_object() {
            return Err(Fail::new(
                xi_result::InvalidArgument,
                "values_json is JSON but not an object",
            ));
        }
        let s = owned(&Renderer::url().render(template, &values)?)?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// An easy-xmpp-invitation link: `base` + `#` + the invite URI without
/// `xmpp:`, into `*out` (free with `xi_string_free`).
///
/// # Safety
/// `base` and `uri` strings; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_fragment_link(
    base: *const c_char,
    uri: *const c_char,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (base, uri) = unsafe { (arg_str(base, "base")?, arg_str(uri, "uri")?) };
        let s = owned(&fragment_link(base, &InviteUri::parse(uri)?)?)?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}
