//! Periods and XEP-0082 date-times.

use std::ffi::c_char;

use xmpp_invites::{Period, format_datetime, parse_datetime};

use crate::error::{guard, xi_result};
use crate::strings::{arg_str, out_ptr, owned, write_out};

/// The expiry written for invites that never expire
/// (9999-12-31T23:59:59Z).
pub const XI_NEVER_EXPIRES: i64 = 253_402_300_799;

// A literal, so that cbindgen can write it into the header.
const _: () = assert!(XI_NEVER_EXPIRES == xmpp_invites::NEVER_EXPIRES);

pub(crate) fn period(seconds: u64, never: bool) -> Period {
    if never {
        Period::Never
    } else {
        Period::Seconds(seconds)
    }
}

/// Parses a period (`3600`, `2 days`, `12h`, `1 mon`, `never`): the seconds
/// into `*out_seconds` and whether it is `never` into `*out_never` (then
/// seconds is 0). `1m` is `XI_RESULT_AMBIGUOUS_PERIOD`.
///
/// # Safety
/// `text` is a NUL-terminated string; the out-pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_period_parse(
    text: *const c_char,
    out_seconds: *mut u64,
    out_never: *mut bool,
) -> xi_result {
    guard(|| {
        out_ptr(out_seconds, "out_seconds")?;
        out_ptr(out_never, "out_never")?;
        // SAFETY: as the caller promised.
        let p = Period::parse(unsafe { arg_str(text, "text") }?)?;
        // SAFETY: checked above.
        unsafe {
            write_out(out_seconds, p.as_seconds().unwrap_or(0));
            write_out(out_never, p == Period::Never);
        }
        Ok(())
    })
}

/// The expiry of something created at `now` with a period: `now + seconds`,
/// or `XI_NEVER_EXPIRES` when `never`. Overflow is
/// `XI_RESULT_PERIOD_OVERFLOW`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_period_expiry(
    seconds: u64,
    never: bool,
    now: i64,
    out: *mut i64,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        let e = period(seconds, never).expiry_from(now)?;
        // SAFETY: checked above.
        unsafe { write_out(out, e) };
        Ok(())
    })
}

/// Formats `seconds` (Unix time) as an XEP-0082 UTC date-time
/// (`2026-11-28T09:00:00Z`) into `*out` (free with `xi_string_free`).
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_datetime_format(seconds: i64, out: *mut *mut c_char) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        let s = owned(&format_datetime(seconds)?)?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// Parses an XEP-0082 date-time into Unix seconds.
///
/// # Safety
/// `text` is a NUL-terminated string; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_datetime_parse(text: *const c_char, out: *mut i64) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let t = parse_datetime(unsafe { arg_str(text, "text") }?)?;
        // SAFETY: checked above.
        unsafe { write_out(out, t) };
        Ok(())
    })
}
