//! The C ABI (xmpp_invites_ffi's `extern "C"` functions, called through
//! the rlib exactly as C calls them) on fuzzed arguments: NULLs, non-UTF-8
//! strings, out-of-range enum integers and NULL out-pointers chosen by the
//! input. Checked: no crash (a caught panic counts as one), no leak
//! (LeakSanitizer; everything handed out is freed), every result is a
//! named `xi_result`, the last-error message is empty after success and
//! set after failure, out-parameters are written only on success, strings
//! handed out are UTF-8, and a few round trips hold across the boundary
//! (built URIs parse, formatted date-times parse back, a record's JSON
//! reads back, a created invite validates).
//!
//! Input: a 72-byte control block (see `Ctl`), then NUL-separated fields
//! (see the `F_*` constants); `seed.py` writes seeds of this layout.
#![no_main]

use std::ffi::{CStr, CString, c_char};
use std::fmt::Debug;
use std::ptr::{NonNull, null, null_mut};

use libfuzzer_sys::fuzz_target;
use xmpp_invites_ffi::*;
use xmpp_invites_fuzz::{Ctrl, Fields};

const F_URI: usize = 0;
const F_LOCALPART: usize = 1;
const F_HOST: usize = 2;
const F_TOKEN: usize = 3;
const F_PERIOD: usize = 4;
const F_RECORD: usize = 5;
const F_PRESENTED: usize = 6;
const F_SUBSCRIPTION_TO: usize = 7;
const F_USERNAME: usize = 8;
const F_TEMPLATE: usize = 9;
const F_VALUES: usize = 10;
const F_DATETIME: usize = 11;
const F_BASE: usize = 12;
const F_USER: usize = 13;
const F_ROLE: usize = 14;
const F_RANDOM: usize = 15;
const F_SUPPORTS: usize = 16;

/// The control block.
struct Ctl {
    /// Bit `i`: field `i` is passed as NULL.
    null_fields: u32,
    /// Bit `j`: out-pointer `j` (see the `O_*` constants) is NULL.
    null_outs: u32,
    now: i64,
    contact_expires: i64,
    unix: i64,
    period_now: i64,
    period_seconds: u64,
    action: u32,
    invite_type: u32,
    token_format: u32,
    token_size: u32,
    flags: u8,
    flags2: u8,
    max_uses: u8,
    result_code: u32,
    index: u8,
}

const O_URI_PARSE: u32 = 0;
const O_URI_BUILD: u32 = 1;
const O_PERIOD_SECONDS: u32 = 2;
const O_PERIOD_NEVER: u32 = 3;
const O_RECORD: u32 = 4;
const O_VALIDATE: u32 = 5;
const O_GATE: u32 = 6;
const O_USE_CHANGES: u32 = 7;
const O_TEMPLATE: u32 = 8;
const O_DATETIME_PARSE: u32 = 9;
const O_DATETIME_FORMAT: u32 = 10;
const O_TOKEN_EQUAL: u32 = 11;
const O_TOKEN_REDACT: u32 = 12;
const O_CONTACT_EXPIRY: u32 = 13;
const O_FRAGMENT: u32 = 14;
const O_NEW_INVITE: u32 = 15;
const O_CREATE: u32 = 16;
const O_RECORD_JSON: u32 = 17;
const O_URI_ACTION: u32 = 18;
const O_CHANGES_GET: u32 = 19;
const O_PERIOD_EXPIRY: u32 = 20;
const O_GET_TYPE: u32 = 21;
const O_ADMISSION_KIND: u32 = 22;
const O_RECORD_EXPIRES: u32 = 23;
const O_TOKEN_GENERATE: u32 = 24;
const O_LANDING: u32 = 25;
const O_RESERVED: u32 = 26;

struct Harness<'a> {
    ctl: Ctl,
    fields: Fields<'a>,
    strings: Vec<Option<CString>>,
}

fn last_error() -> String {
    // SAFETY: the library returns a valid C string.
    let msg = unsafe { CStr::from_ptr(xi_last_error_message()) };
    msg.to_str()
        .expect("the last error message is UTF-8")
        .to_owned()
}

/// Every result is a named one, never a caught panic, and the last-error
/// message follows it.
fn check(what: &str, r: xi_result) -> xi_result {
    let msg = last_error();
    assert_ne!(
        r,
        xi_result::Panic,
        "{what}: a panic was caught at the C boundary: {msg}"
    );
    // SAFETY: xi_result_name returns a static C string.
    let name = unsafe { CStr::from_ptr(xi_result_name(r as u32)) };
    assert_ne!(name.to_bytes(), b"unknown", "{what}: {r:?} has no name");
    if r == xi_result::Ok {
        assert!(msg.is_empty(), "{what}: succeeded with the message {msg:?}");
    } else {
        assert!(!msg.is_empty(), "{what}: {r:?} without a message");
    }
    r
}

/// Reads a borrowed or owned C string handed out by the library.
fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL strings from the library are NUL-terminated.
    let s = unsafe { CStr::from_ptr(p) };
    Some(s.to_str().expect("strings handed out are UTF-8").to_owned())
}

/// Takes an owned `char *` and frees it.
fn take(p: *mut c_char) -> String {
    let s = text(p).expect("an owned string");
    // SAFETY: from the library, freed once.
    unsafe { xi_string_free(p) };
    s
}

/// The first second XEP-0082 writes (0000-01-01T00:00:00Z).
const EARLIEST: i64 = -62_167_219_200;

/// A time of creation from the fuzzed `now`. Most i64 are outside the years
/// an invite can be created in (`XI_RESULT_DATETIME_OUT_OF_RANGE`): odd
/// ones stay as they are, to keep that refusal covered, even ones are
/// folded into the range so that creates get past it. Times in range are
/// kept. (Validation and the other calls take `now` as it came.)
fn creation_time(raw: i64) -> i64 {
    if (EARLIEST..XI_NEVER_EXPIRES).contains(&raw) || raw & 1 == 1 {
        raw
    } else {
        EARLIEST + raw.rem_euclid(XI_NEVER_EXPIRES - EARLIEST)
    }
}

impl<'a> Harness<'a> {
    fn new(data: &'a [u8]) -> Self {
        let (mut c, rest) = Ctrl::split(data, 72);
        let ctl = Ctl {
            null_fields: c.u32(),
            null_outs: c.u32(),
            now: c.i64(),
            contact_expires: c.i64(),
            unix: c.i64(),
            period_now: c.i64(),
            period_seconds: c.u64(),
            action: c.u32(),
            invite_type: c.u32(),
            token_format: c.u32(),
            token_size: c.u32(),
            flags: c.u8(),
            flags2: c.u8(),
            max_uses: c.u8(),
            result_code: c.u32(),
            index: c.u8(),
        };
        let fields = Fields::new(rest);
        let strings = (0..32)
            .map(|i| {
                if ctl.null_fields & (1 << i) != 0 {
                    None
                } else {
                    // Fields never hold a NUL: they were split at them.
                    Some(CString::new(fields.bytes(i).unwrap_or_default()).unwrap())
                }
            })
            .collect();
        Harness {
            ctl,
            fields,
            strings,
        }
    }

    /// Field `i` as a C string argument, NULL when the input says so.
    fn arg(&self, i: usize) -> *const c_char {
        self.strings[i].as_ref().map_or(null(), |s| s.as_ptr())
    }

    fn flag(&self, n: u8) -> bool {
        self.ctl.flags & (1 << n) != 0
    }

    fn flag2(&self, n: u8) -> bool {
        self.ctl.flags2 & (1 << n) != 0
    }

    fn out_null(&self, j: u32) -> bool {
        self.ctl.null_outs & (1 << j) != 0
    }

    /// Calls `f` with out-pointer `j` (NULL when the input says so; else a
    /// slot holding `sentinel`) and checks the result; the slot's value on
    /// success. On failure the slot must still hold the sentinel.
    fn out<T: Copy + PartialEq + Debug>(
        &self,
        what: &str,
        j: u32,
        sentinel: T,
        f: impl FnOnce(*mut T) -> xi_result,
    ) -> (xi_result, Option<T>) {
        let mut slot = sentinel;
        let null = self.out_null(j);
        let p = if null {
            null_mut()
        } else {
            &mut slot as *mut T
        };
        let r = check(what, f(p));
        if null {
            assert_ne!(
                r,
                xi_result::Ok,
                "{what}: succeeded with a NULL out-pointer"
            );
        }
        if r == xi_result::Ok {
            (r, Some(slot))
        } else {
            assert_eq!(
                slot, sentinel,
                "{what}: {r:?} but the out-parameter was written"
            );
            (r, None)
        }
    }
}

/// A pointer no allocation ever has, to see whether an out-pointer was
/// written.
fn sentinel<T>() -> *mut T {
    NonNull::dangling().as_ptr()
}

/// An out-parameter of a `repr(u32)` enum, read as its integer so that a
/// bad value is caught rather than undefined.
const ENUM_SENTINEL: u32 = 0xDEAD_BEEF;

unsafe fn run(h: &Harness<'_>) {
    // Static strings.
    assert!(text(xi_version()).is_some());
    assert!(text(xi_result_name(h.ctl.result_code)).is_some());

    uri(h);
    period(h);
    template(h);
    tokens(h);
    datetimes(h);
    unsafe { records(h) };
}

fn uri(h: &Harness<'_>) {
    // Parse, read every part, build it again through the ABI.
    let (_, parsed) = h.out("xi_uri_parse", O_URI_PARSE, sentinel(), |out| unsafe {
        xi_uri_parse(h.arg(F_URI), out)
    });
    if let Some(u) = parsed {
        let (local, host, token) = unsafe {
            (
                text(xi_parsed_uri_localpart(u)),
                text(xi_parsed_uri_host(u)).expect("a host"),
                text(xi_parsed_uri_token(u)).expect("a token"),
            )
        };
        let mut ibr = false;
        let (r, action) = h.out(
            "xi_parsed_uri_action",
            O_URI_ACTION,
            ENUM_SENTINEL,
            |out| unsafe { xi_parsed_uri_action(u, out.cast(), &mut ibr) },
        );
        let action = action.unwrap_or(ENUM_SENTINEL);
        if r == xi_result::Ok {
            assert!(action <= 1, "xi_parsed_uri_action wrote {action}");
            let local = local.map(|l| CString::new(l).unwrap());
            let host = CString::new(host).unwrap();
            let token = CString::new(token).unwrap();
            let mut built = null_mut();
            let r = check("xi_uri_build (round trip)", unsafe {
                xi_uri_build(
                    local.as_ref().map_or(null(), |l| l.as_ptr()),
                    host.as_ptr(),
                    action,
                    token.as_ptr(),
                    ibr,
                    &mut built,
                )
            });
            assert_eq!(r, xi_result::Ok, "a parsed URI does not build again");
            let built = take(built);
            let c = CString::new(built.clone()).unwrap();
            let mut again = null_mut();
            let r = check("xi_uri_parse (round trip)", unsafe {
                xi_uri_parse(c.as_ptr(), &mut again)
            });
            assert_eq!(r, xi_result::Ok, "{built:?} does not parse");
            unsafe {
                assert_eq!(
                    text(xi_parsed_uri_host(again)).as_deref(),
                    host.to_str().ok()
                );
                assert_eq!(
                    text(xi_parsed_uri_token(again)).as_deref(),
                    token.to_str().ok()
                );
                xi_parsed_uri_free(again);
            }
        }
        unsafe { xi_parsed_uri_free(u) };
    }
    // NULL handles: accessors answer NULL, never crash.
    unsafe {
        assert!(xi_parsed_uri_localpart(null()).is_null());
        assert!(xi_parsed_uri_host(null()).is_null());
        assert!(xi_parsed_uri_token(null()).is_null());
        xi_parsed_uri_free(null_mut());
    }

    // Build from fuzzed parts (the action may be out of range).
    let (_, built) = h.out("xi_uri_build", O_URI_BUILD, sentinel(), |out| unsafe {
        xi_uri_build(
            h.arg(F_LOCALPART),
            h.arg(F_HOST),
            h.ctl.action,
            h.arg(F_TOKEN),
            h.flag(2),
            out,
        )
    });
    if let Some(p) = built {
        assert!(h.ctl.action <= 1);
        let s = take(p);
        assert!(s.is_ascii(), "built URI {s:?} is not ASCII");
        let c = CString::new(s.clone()).unwrap();
        let mut u = null_mut();
        let r = check("xi_uri_parse (built)", unsafe {
            xi_uri_parse(c.as_ptr(), &mut u)
        });
        assert_eq!(r, xi_result::Ok, "built URI {s:?} does not parse");
        unsafe { xi_parsed_uri_free(u) };
    }

    // Fragment link.
    let (_, link) = h.out("xi_fragment_link", O_FRAGMENT, sentinel(), |out| unsafe {
        xi_fragment_link(h.arg(F_BASE), h.arg(F_URI), out)
    });
    if let Some(p) = link {
        take(p);
    }
}

fn period(h: &Harness<'_>) {
    let mut never = false;
    let (r, seconds) = h.out(
        "xi_period_parse",
        O_PERIOD_SECONDS,
        0x5A5A_5A5A_5A5A_5A5Au64,
        |out| {
            let never_out = if h.out_null(O_PERIOD_NEVER) {
                null_mut()
            } else {
                &mut never as *mut bool
            };
            let r = unsafe { xi_period_parse(h.arg(F_PERIOD), out, never_out) };
            if h.out_null(O_PERIOD_NEVER) {
                assert_ne!(r, xi_result::Ok);
            }
            r
        },
    );
    if r == xi_result::Ok {
        let seconds = seconds.unwrap();
        if never {
            assert_eq!(seconds, 0);
        }
        let mut e = 0;
        let r = check("xi_period_expiry (parsed)", unsafe {
            xi_period_expiry(seconds, never, h.ctl.period_now, &mut e)
        });
        if r == xi_result::Ok && never {
            assert_eq!(e, XI_NEVER_EXPIRES);
        }
    }
    let (_, e) = h.out(
        "xi_period_expiry",
        O_PERIOD_EXPIRY,
        i64::MIN + 7,
        |out| unsafe { xi_period_expiry(h.ctl.period_seconds, h.flag(6), h.ctl.period_now, out) },
    );
    if let Some(e) = e
        && !h.flag(6)
    {
        assert_eq!(
            i128::from(e),
            i128::from(h.ctl.period_now) + i128::from(h.ctl.period_seconds)
        );
    }
}

fn template(h: &Harness<'_>) {
    let (_, out) = h.out("xi_template_render", O_TEMPLATE, sentinel(), |out| unsafe {
        xi_template_render(h.arg(F_TEMPLATE), h.arg(F_VALUES), out)
    });
    if let Some(p) = out {
        take(p);
    }
}

fn tokens(h: &Harness<'_>) {
    for f in [F_TOKEN, F_PRESENTED] {
        let r = check("xi_token_check", unsafe { xi_token_check(h.arg(f)) });
        if r == xi_result::Ok {
            let t = h.fields.bytes(f).unwrap_or_default();
            assert!((16..=128).contains(&t.len()));
            assert!(
                t.iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            );
        }
    }
    let (_, equal) = h.out("xi_token_equal", O_TOKEN_EQUAL, false, |out| unsafe {
        xi_token_equal(h.arg(F_TOKEN), h.arg(F_PRESENTED), out)
    });
    if equal == Some(true) {
        assert_eq!(h.fields.bytes(F_TOKEN), h.fields.bytes(F_PRESENTED));
    }
    let (_, redacted) = h.out(
        "xi_token_redact",
        O_TOKEN_REDACT,
        sentinel(),
        |out| unsafe { xi_token_redact(h.arg(F_TOKEN), out) },
    );
    if let Some(p) = redacted {
        let s = take(p);
        let t = h.fields.bytes(F_TOKEN).unwrap_or_default();
        assert!(!s.as_bytes().windows(t.len() - 4).any(|w| w == &t[4..]));
    }
    // Deterministic bytes only: NULL with a length is an error, never the OS.
    let random = h.fields.bytes(F_RANDOM).unwrap_or_default();
    let (ptr, len) = if h.flag2(5) {
        (null(), random.len().max(1))
    } else {
        (random.as_ptr(), random.len())
    };
    let (_, token) = h.out(
        "xi_token_generate",
        O_TOKEN_GENERATE,
        sentinel(),
        |out| unsafe {
            xi_token_generate(h.ctl.token_format, h.ctl.token_size as usize, ptr, len, out)
        },
    );
    if let Some(p) = token {
        let s = take(p);
        let c = CString::new(s.clone()).unwrap();
        let r = check("xi_token_check (generated)", unsafe {
            xi_token_check(c.as_ptr())
        });
        assert_eq!(r, xi_result::Ok, "generated token {s:?} fails the check");
    }
}

fn datetimes(h: &Harness<'_>) {
    let (_, unix) = h.out(
        "xi_datetime_parse",
        O_DATETIME_PARSE,
        i64::MIN + 3,
        |out| unsafe { xi_datetime_parse(h.arg(F_DATETIME), out) },
    );
    if let Some(unix) = unix {
        let mut p = null_mut();
        if check("xi_datetime_format (parsed)", unsafe {
            xi_datetime_format(unix, &mut p)
        }) == xi_result::Ok
        {
            take(p);
        }
    }
    let (_, formatted) = h.out(
        "xi_datetime_format",
        O_DATETIME_FORMAT,
        sentinel(),
        |out| unsafe { xi_datetime_format(h.ctl.unix, out) },
    );
    if let Some(p) = formatted {
        let s = take(p);
        let c = CString::new(s.clone()).unwrap();
        let mut back = 0;
        let r = check("xi_datetime_parse (formatted)", unsafe {
            xi_datetime_parse(c.as_ptr(), &mut back)
        });
        assert_eq!(r, xi_result::Ok, "{s:?} does not parse");
        assert_eq!(back, h.ctl.unix, "{s:?}");
    }
    let (_, _) = h.out(
        "xi_contact_expiry_parse",
        O_CONTACT_EXPIRY,
        i64::MIN + 5,
        |out| unsafe { xi_contact_expiry_parse(h.arg(F_RECORD), out) },
    );
}

/// Reads a record handle's parts, its JSON, and its landing link.
unsafe fn inspect_record(h: &Harness<'_>, rec: *const xi_record) {
    unsafe {
        text(xi_record_token(rec)).expect("a token");
        text(xi_record_jid(rec)).expect("a jid");
        text(xi_record_uri(rec)).expect("a uri");
    }
    h.out(
        "xi_record_expires",
        O_RECORD_EXPIRES,
        i64::MIN + 9,
        |out| unsafe { xi_record_expires(rec, out) },
    );
    let (_, t) = h.out(
        "xi_record_get_type",
        O_GET_TYPE,
        ENUM_SENTINEL,
        |out| unsafe { xi_record_get_type(rec, out.cast()) },
    );
    if let Some(t) = t {
        assert!(t <= 4, "xi_record_get_type wrote {t}");
    }
    // Its JSON reads back.
    let (_, json) = h.out(
        "xi_record_to_json",
        O_RECORD_JSON,
        sentinel(),
        |out| unsafe { xi_record_to_json(rec, out) },
    );
    if let Some(p) = json {
        let s = take(p);
        let c = CString::new(s.clone()).unwrap();
        let mut again = null_mut();
        let r = check("xi_record_from_json (re-encoded)", unsafe {
            xi_record_from_json(c.as_ptr(), &mut again)
        });
        assert_eq!(
            r,
            xi_result::Ok,
            "re-encoded record {s:?} does not read back"
        );
        unsafe { xi_record_free(again) };
    }
    let supports = [h.arg(F_SUPPORTS)];
    let (sup, n) = if h.flag2(7) {
        (supports.as_ptr(), 1)
    } else {
        (null(), 0)
    };
    let (_, link) = h.out("xi_landing_link", O_LANDING, sentinel(), |out| unsafe {
        xi_landing_link(h.arg(F_TEMPLATE), sup, n, h.arg(F_HOST), rec, out)
    });
    // NULL when the record's type has no landing page.
    if let Some(p) = link
        && !p.is_null()
    {
        take(p);
    }
}

/// The first half of the builder's fuzzed settings.
unsafe fn configure_first(h: &Harness<'_>, b: *mut xi_new_invite) {
    unsafe {
        if h.flag2(0) {
            check(
                "xi_new_invite_set_ttl",
                xi_new_invite_set_ttl(b, h.ctl.period_seconds, h.flag(6)),
            );
        }
        check(
            "xi_new_invite_add_role",
            xi_new_invite_add_role(b, h.arg(F_ROLE)),
        );
        check(
            "xi_new_invite_add_group",
            xi_new_invite_add_group(b, h.arg(F_ROLE)),
        );
        check(
            "xi_new_invite_set_note",
            xi_new_invite_set_note(b, h.arg(F_ROLE)),
        );
        check(
            "xi_new_invite_set_source",
            xi_new_invite_set_source(b, h.arg(F_USERNAME)),
        );
    }
}

/// The second half of the builder's fuzzed settings.
unsafe fn configure_second(h: &Harness<'_>, b: *mut xi_new_invite) {
    unsafe {
        check(
            "xi_new_invite_set_legacy_roles",
            xi_new_invite_set_legacy_roles(b, h.flag2(1)),
        );
        if h.flag2(2) {
            check(
                "xi_new_invite_set_reusable",
                xi_new_invite_set_reusable(b, h.flag(7)),
            );
        }
        if h.flag2(3) {
            check(
                "xi_new_invite_set_max_uses",
                xi_new_invite_set_max_uses(b, u32::from(h.ctl.max_uses)),
            );
        }
        if h.flag2(6) {
            check(
                "xi_new_invite_set_token_format",
                xi_new_invite_set_token_format(b, h.ctl.token_format, h.ctl.token_size as usize),
            );
        }
        if h.flag2(4) {
            let supports = [h.arg(F_SUPPORTS)];
            check(
                "xi_new_invite_set_landing_page",
                xi_new_invite_set_landing_page(b, h.arg(F_TEMPLATE), supports.as_ptr(), 1),
            );
        }
        // NULL handles are errors, not crashes.
        check(
            "xi_new_invite_set_ttl (NULL)",
            xi_new_invite_set_ttl(null_mut(), 1, false),
        );
    }
}

/// The result of creating from `b`, and the record as JSON on success.
unsafe fn create_record(
    b: *const xi_new_invite,
    now: i64,
    random: &[u8],
) -> (xi_result, Option<String>) {
    let mut inv = null_mut();
    let r = check("xi_new_invite_create (again)", unsafe {
        xi_new_invite_create(b, now, random.as_ptr(), random.len(), &mut inv)
    });
    if r != xi_result::Ok {
        return (r, None);
    }
    let mut json = null_mut();
    let j = check("xi_invite_record_json (again)", unsafe {
        xi_invite_record_json(inv, &mut json)
    });
    unsafe { xi_invite_free(inv) };
    (j, (j == xi_result::Ok).then(|| take(json)))
}

/// Creates an invite through the builder, from fuzzed settings.
///
/// The builder keeps its settings built between creates: it creates once
/// after the first half of the settings, and the invite made after the
/// second half must be the one a builder given all of them at once makes
/// from the same bytes.
unsafe fn create(h: &Harness<'_>) -> Option<*mut xi_invite> {
    let new_builder = |out: *mut *mut xi_new_invite| unsafe {
        xi_new_invite_new(h.ctl.invite_type, h.arg(F_HOST), h.arg(F_USER), out)
    };
    let (_, b) = h.out("xi_new_invite_new", O_NEW_INVITE, sentinel(), new_builder);
    let b = b?;
    // Enough supplied bytes for any token: the field, repeated.
    let field = h.fields.bytes(F_RANDOM).unwrap_or_default();
    let random: Vec<u8> = if field.is_empty() || h.flag2(5) {
        field.to_vec()
    } else {
        field.iter().copied().cycle().take(4096).collect()
    };
    let now = creation_time(h.ctl.now);
    unsafe {
        configure_first(h, b);
        create_record(b, now, &random);
        configure_second(h, b);
    }
    let again = unsafe { create_record(b, now, &random) };
    if !(EARLIEST..XI_NEVER_EXPIRES).contains(&now) {
        assert_ne!(again.0, xi_result::Ok, "created at {now}, outside XEP-0082's years");
    }
    let mut fresh = null_mut();
    if check("xi_new_invite_new (fresh)", new_builder(&mut fresh)) == xi_result::Ok {
        let once = unsafe {
            configure_first(h, fresh);
            configure_second(h, fresh);
            create_record(fresh, now, &random)
        };
        unsafe { xi_new_invite_free(fresh) };
        assert_eq!(
            again, once,
            "a builder that created before its last settings differs from a fresh one"
        );
    }
    let (_, invite) = h.out("xi_new_invite_create", O_CREATE, sentinel(), |out| unsafe {
        xi_new_invite_create(b, now, random.as_ptr(), random.len(), out)
    });
    unsafe { xi_new_invite_free(b) };
    let invite = invite?;
    unsafe {
        text(xi_invite_token(invite)).expect("a token");
        let uri = text(xi_invite_uri(invite)).expect("a uri");
        let c = CString::new(uri.clone()).unwrap();
        let mut u = null_mut();
        let r = check("xi_uri_parse (created)", xi_uri_parse(c.as_ptr(), &mut u));
        assert_eq!(
            r,
            xi_result::Ok,
            "created invite URI {uri:?} does not parse"
        );
        xi_parsed_uri_free(u);
        text(xi_invite_landing_page(invite));
        xi_invite_expires(invite);
        let mut t = ENUM_SENTINEL;
        check(
            "xi_invite_get_type",
            xi_invite_get_type(invite, (&mut t as *mut u32).cast()),
        );
        assert!(t <= 4);
        let mut changes = null_mut();
        if check(
            "xi_invite_storage_changes",
            xi_invite_storage_changes(invite, &mut changes),
        ) == xi_result::Ok
        {
            read_changes(h, changes);
            xi_changes_free(changes);
        }
    }
    Some(invite)
}

/// Reads every change of a list, and one past the end.
unsafe fn read_changes(h: &Harness<'_>, list: *const xi_changes) {
    let n = unsafe { xi_changes_len(list) };
    for i in (0..=n).chain([usize::from(h.ctl.index)]) {
        let mut slot = std::mem::MaybeUninit::<xi_change>::uninit();
        unsafe {
            slot.as_mut_ptr()
                .cast::<u8>()
                .write_bytes(0xA5, size_of::<xi_change>())
        };
        let p = if h.out_null(O_CHANGES_GET) {
            null_mut()
        } else {
            slot.as_mut_ptr()
        };
        let r = check("xi_changes_get", unsafe { xi_changes_get(list, i, p) });
        if r == xi_result::Ok {
            assert!(i < n && !p.is_null());
            // SAFETY: written on success.
            let c = unsafe { slot.assume_init() };
            assert!(c.op as u32 <= 3);
            text(c.token).expect("a token");
            text(c.user);
            let sql_type = text(c.sql_type);
            let value = text(c.value);
            assert_eq!(sql_type.is_some(), value.is_some());
        } else {
            // SAFETY: plain bytes.
            let bytes = unsafe {
                std::slice::from_raw_parts(slot.as_ptr().cast::<u8>(), size_of::<xi_change>())
            };
            assert!(
                bytes.iter().all(|&b| b == 0xA5),
                "xi_changes_get wrote on {r:?}"
            );
            assert!(i >= n || p.is_null());
        }
    }
}

unsafe fn records(h: &Harness<'_>) {
    let (_, rec) = h.out("xi_record_from_json", O_RECORD, sentinel(), |out| unsafe {
        xi_record_from_json(h.arg(F_RECORD), out)
    });
    if let Some(rec) = rec {
        unsafe { inspect_record(h, rec) };
    }
    let invite = unsafe { create(h) };
    // The created invite's record, as the host would store and load it.
    let mut created = None;
    if let Some(inv) = invite {
        let mut json = null_mut();
        let r = check("xi_invite_record_json", unsafe {
            xi_invite_record_json(inv, &mut json)
        });
        assert_eq!(r, xi_result::Ok);
        let json = CString::new(take(json)).unwrap();
        let mut r2 = null_mut();
        let r = check("xi_record_from_json (created)", unsafe {
            xi_record_from_json(json.as_ptr(), &mut r2)
        });
        assert_eq!(
            r,
            xi_result::Ok,
            "a created record does not read back: {json:?}"
        );
        unsafe { inspect_record(h, r2) };
        created = Some(r2);
    }

    // Validate: against the fuzzed record or the created one, with the
    // fuzzed token or the created invite's.
    let use_created = h.flag(7) && invite.is_some();
    let record: *const xi_record = match (h.flag(0), use_created) {
        (false, _) => null(),
        (true, true) => created.unwrap_or(null_mut()),
        (true, false) => rec.unwrap_or(null_mut()),
    };
    let presented = match invite {
        Some(inv) if use_created => unsafe { xi_invite_token(inv) },
        _ => h.arg(F_PRESENTED),
    };
    let contact_expires = h.ctl.contact_expires;
    let ce: *const i64 = if h.flag(1) { &contact_expires } else { null() };
    let (_, valid) = h.out("xi_validate", O_VALIDATE, sentinel(), |out| unsafe {
        xi_validate(
            presented,
            record,
            ce,
            h.arg(F_SUBSCRIPTION_TO),
            h.ctl.now,
            out,
        )
    });
    if let Some(v) = valid {
        unsafe {
            text(xi_valid_invite_inviter(v));
            text(xi_valid_invite_bound_username(v));
            text(xi_valid_invite_reset_username(v));
            // Written once, then the same borrowed string.
            let uri = xi_valid_invite_uri(v);
            assert_eq!(xi_valid_invite_uri(v), uri);
            text(uri);
            assert!(xi_valid_invite_expires(v) >= h.ctl.now);
        }
        let (_, t) = h.out(
            "xi_valid_invite_get_type",
            O_GET_TYPE,
            ENUM_SENTINEL,
            |out| unsafe { xi_valid_invite_get_type(v, out.cast()) },
        );
        if let Some(t) = t {
            assert!(t <= 4);
        }
        let (_, changes) = h.out(
            "xi_valid_invite_use_changes",
            O_USE_CHANGES,
            sentinel(),
            |out| unsafe { xi_valid_invite_use_changes(v, out) },
        );
        if let Some(list) = changes {
            unsafe {
                read_changes(h, list);
                xi_changes_free(list);
            }
        }
    }
    // The gate, with the validated invite or none.
    let invite_arg = valid.unwrap_or(null_mut());
    let (_, admission) = h.out("xi_registration_gate", O_GATE, sentinel(), |out| unsafe {
        xi_registration_gate(
            invite_arg,
            h.flag(3),
            h.arg(F_USERNAME),
            h.flag(4),
            h.flag(5),
            out,
        )
    });
    if let Some(a) = admission {
        let (_, kind) = h.out(
            "xi_admission_get_kind",
            O_ADMISSION_KIND,
            ENUM_SENTINEL,
            |out| unsafe { xi_admission_get_kind(a, out.cast()) },
        );
        if let Some(k) = kind {
            assert!(k <= 2);
            assert_eq!(k == 0, valid.is_none(), "open admission iff no invite");
        }
        unsafe {
            text(xi_admission_username(a)).expect("a username");
            text(xi_admission_inviter(a));
            let roles = xi_admission_roles_len(a);
            for i in 0..roles {
                text(xi_admission_role(a, i)).expect("a role");
            }
            assert!(xi_admission_role(a, roles).is_null());
            let groups = xi_admission_groups_len(a);
            for i in 0..groups {
                text(xi_admission_group(a, i)).expect("a group");
            }
            assert!(xi_admission_group(a, groups).is_null());
            xi_admission_free(a);
        }
    }
    // Reserved usernames over the records at hand.
    let handles: Vec<*const xi_record> = [rec, created]
        .into_iter()
        .flatten()
        .map(|p| p as *const xi_record)
        .collect();
    h.out("xi_username_reserved", O_RESERVED, false, |out| unsafe {
        xi_username_reserved(
            h.arg(F_USERNAME),
            handles.as_ptr(),
            handles.len(),
            h.ctl.now,
            h.arg(F_PRESENTED),
            out,
        )
    });

    unsafe {
        xi_valid_invite_free(valid.unwrap_or(null_mut()));
        xi_record_free(rec.unwrap_or(null_mut()));
        xi_record_free(created.unwrap_or(null_mut()));
        xi_invite_free(invite.unwrap_or(null_mut()));
        // NULL is fine everywhere.
        xi_valid_invite_free(null_mut());
        xi_admission_free(null_mut());
        xi_changes_free(null_mut());
        xi_string_free(null_mut());
        assert_eq!(xi_changes_len(null()), 0);
        assert!(xi_record_token(null()).is_null());
    }
}

fuzz_target!(|data: &[u8]| {
    let h = Harness::new(data);
    // SAFETY: every pointer handed in is NULL, a live C string of the
    // harness, or a live handle from the library, freed exactly once.
    unsafe { run(&h) };
});
