//! Ad-hoc command forms, as JSON for hosts to render as `jabber:x:data`.

use std::ffi::c_char;

use serde_json::{Value, json};
use xmpp_invites::{DataForm, invitation_result_form, parse_create_account_submission};

use crate::error::{guard, xi_result};
use crate::strings::{arg_str, arg_str_list, opt_str, out_ptr, owned, write_out};

fn form_json(form: &DataForm) -> Value {
    json!({
        "type": form.form_type,
        "title": form.title,
        "fields": form.fields.iter().map(|f| json!({
            "var": f.var,
            "type": f.field_type.as_str(),
            "label": f.label,
            "required": f.required,
            "value": f.value,
        })).collect::<Vec<_>>(),
    })
}

/// The XEP-0401 result form of an invite command as JSON
/// (`{"type":"result","title":…,"fields":[{"var","type","label","required","value"}]}`),
/// in this order: `FORM_TYPE`, `landing-url` unless NULL, `uri`, `expire`
/// (XEP-0082) unless `expires` is `XI_NEVER_EXPIRES`. Into `*out` (free with
/// `xi_string_free`).
///
/// # Safety
/// `uri` a string; `landing_url` NULL or a string; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_result_form_json(
    uri: *const c_char,
    landing_url: *const c_char,
    expires: i64,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (uri, landing) =
            unsafe { (arg_str(uri, "uri")?, opt_str(landing_url, "landing_url")?) };
        let form = invitation_result_form(uri, landing, Some(expires))?;
        let s = owned(&form_json(&form).to_string())?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// Reads a submitted XEP-0401 create-account form (`n` var/value pairs):
/// the nodeprepped username into `*out_username` (NULL when none was
/// given; free with `xi_string_free`) and `roster-subscription` into
/// `*out_roster_subscription`.
///
/// # Safety
/// `vars` and `values` NULL (with `n` 0) or `n` strings each; the
/// out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_create_account_submission(
    vars: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    username_required: bool,
    out_username: *mut *mut c_char,
    out_roster_subscription: *mut bool,
) -> xi_result {
    guard(|| {
        out_ptr(out_username, "out_username")?;
        out_ptr(out_roster_subscription, "out_roster_subscription")?;
        // SAFETY: as the caller promised.
        let (vars, values) = unsafe {
            (
                arg_str_list(vars, n, "vars")?,
                arg_str_list(values, n, "values")?,
            )
        };
        let pairs: Vec<(&str, &str)> = vars.into_iter().zip(values).collect();
        let req = parse_create_account_submission(&pairs, username_required)?;
        let username = req.username.as_deref().map(owned).transpose()?;
        // SAFETY: checked above.
        unsafe {
            write_out(out_username, username.unwrap_or(std::ptr::null_mut()));
            write_out(out_roster_subscription, req.roster_subscription);
        }
        Ok(())
    })
}
