//! Result codes, the last-error message and the panic boundary.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The result of a fallible call. `XI_RESULT_OK` is 0; the others are
/// stable numbers grouped by area. `xi_result_name` gives each one's stable
/// kebab-case name, the same as the Rust core's `code()` and the Lua
/// module's error strings.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not UTF-8.
    InvalidUtf8 = 2,
    /// An integer argument is not one of the enum's values.
    InvalidEnum = 3,
    /// A Rust panic was caught at the boundary (a bug: please report it).
    Panic = 4,
    /// A string to hand out holds a NUL byte and cannot be a C string.
    InteriorNul = 5,
    /// Another argument is out of range or malformed (an index, a JSON
    /// text).
    InvalidArgument = 6,
    /// The username is empty.
    EmptyUsername = 100,
    /// The username is not a valid localpart.
    InvalidUsername = 101,
    /// The host is empty.
    EmptyHost = 102,
    /// The host is not a valid domain.
    InvalidHost = 103,
    /// A JID part is longer than 1023 bytes.
    JidTooLong = 104,
    /// A bare JID was expected.
    JidHasResource = 105,
    /// Not an `xmpp:` URI.
    NotXmpp = 200,
    /// The `xmpp://` authority form.
    AuthorityForm = 201,
    /// Bad percent-encoding or a character that must be encoded.
    MalformedUri = 202,
    /// No `register` or `roster` query.
    NotAnInvite = 203,
    /// No `preauth` key.
    MissingToken = 204,
    /// A query key appears twice.
    DuplicateKey = 205,
    /// A roster invite URI without a user.
    RosterWithoutUser = 206,
    /// An invite URI with a resource.
    UriHasResource = 207,
    /// The URI is too long.
    UriTooLong = 208,
    /// No token was presented (`no-token`).
    NoToken = 300,
    /// The token's length is out of range (`token-invalid`).
    TokenBadLength = 301,
    /// The token holds a character outside base64url (`token-invalid`).
    TokenBadAlphabet = 302,
    /// The requested token size is not supported.
    UnsupportedTokenSize = 303,
    /// The random number source failed or ran out of bytes.
    RngFailure = 304,
    /// `xi_rng_select`: this system cannot run the fork-safe userspace
    /// generator (it needs Linux 4.14's `MADV_WIPEONFORK`, from a `madvise`
    /// that refuses advice it does not know and that no filter forbids).
    RngUnsupported = 305,
    /// The period is empty.
    EmptyPeriod = 400,
    /// `1m`: minutes or months?
    AmbiguousPeriod = 401,
    /// An unknown unit.
    UnknownUnit = 402,
    /// Not a period.
    InvalidPeriod = 403,
    /// The period or expiry overflows.
    PeriodOverflow = 404,
    /// The time cannot be written as an XEP-0082 date-time.
    DatetimeOutOfRange = 410,
    /// Not an XEP-0082 date-time.
    InvalidDatetime = 411,
    /// No invite has this token (`token-invalid`).
    TokenInvalid = 500,
    /// The invite has expired (`token-expired`).
    TokenExpired = 501,
    /// A `max_uses` invite is used up.
    TokenUsedUp = 502,
    /// A contact invite of another user.
    WrongInviter = 503,
    /// The invite does not allow registration.
    NotForRegistration = 504,
    /// "Registration on this server is through invitation only".
    InviteOnly = 600,
    /// The invite is bound to another username.
    UsernameMismatch = 601,
    /// A reset invite for another username.
    ResetUsernameMismatch = 602,
    /// A reset invite where no account exists.
    ResetWithoutAccount = 603,
    /// The account exists.
    AccountExists = 604,
    /// Another pending invite reserves the username.
    UsernameReserved = 605,
    /// `max_uses` was 0.
    ZeroUses = 700,
    /// The options do not fit the kind of invite.
    ConflictingOptions = 701,
    /// The per-user invite cap is reached.
    MaxInvites = 710,
    /// The invite tree is full.
    InviteTreeFull = 711,
    /// Invites spread too fast along this chain.
    ChainTooFast = 712,
    /// A required form field is missing.
    MissingField = 720,
    /// A form field appears twice.
    DuplicateField = 721,
    /// A boolean field is not true or false.
    NotBoolean = 722,
    /// Template blocks nest too deeply.
    TemplateTooDeep = 730,
    /// The rendered template is too large.
    TemplateTooLarge = 731,
    /// The template takes too many steps to render.
    TemplateTooComplex = 732,
    /// The stored record cannot be read.
    InvalidRecord = 740,
    /// An invite type name is not known.
    UnknownInviteType = 750,
}

impl xi_result {
    /// Every result, for tests and for `xi_result_name` (crate-private, so
    /// that cbindgen leaves it out of the header).
    pub(crate) const ALL: [Self; 59] = [
        Self::Ok,
        Self::NullArgument,
        Self::InvalidUtf8,
        Self::InvalidEnum,
        Self::Panic,
        Self::InteriorNul,
        Self::InvalidArgument,
        Self::EmptyUsername,
        Self::InvalidUsername,
        Self::EmptyHost,
        Self::InvalidHost,
        Self::JidTooLong,
        Self::JidHasResource,
        Self::NotXmpp,
        Self::AuthorityForm,
        Self::MalformedUri,
        Self::NotAnInvite,
        Self::MissingToken,
        Self::DuplicateKey,
        Self::RosterWithoutUser,
        Self::UriHasResource,
        Self::UriTooLong,
        Self::NoToken,
        Self::TokenBadLength,
        Self::TokenBadAlphabet,
        Self::UnsupportedTokenSize,
        Self::RngFailure,
        Self::RngUnsupported,
        Self::EmptyPeriod,
        Self::AmbiguousPeriod,
        Self::UnknownUnit,
        Self::InvalidPeriod,
        Self::PeriodOverflow,
        Self::DatetimeOutOfRange,
        Self::InvalidDatetime,
        Self::TokenInvalid,
        Self::TokenExpired,
        Self::TokenUsedUp,
        Self::WrongInviter,
        Self::NotForRegistration,
        Self::InviteOnly,
        Self::UsernameMismatch,
        Self::ResetUsernameMismatch,
        Self::ResetWithoutAccount,
        Self::AccountExists,
        Self::UsernameReserved,
        Self::ZeroUses,
        Self::ConflictingOptions,
        Self::MaxInvites,
        Self::InviteTreeFull,
        Self::ChainTooFast,
        Self::MissingField,
        Self::DuplicateField,
        Self::NotBoolean,
        Self::TemplateTooDeep,
        Self::TemplateTooLarge,
        Self::TemplateTooComplex,
        Self::InvalidRecord,
        Self::UnknownInviteType,
    ];

    /// The stable name: `ok`, `null-argument`, the core's error codes.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("unknown")
    }

    fn c_name(self) -> &'static CStr {
        match self {
            Self::Ok => c"ok",
            Self::NullArgument => c"null-argument",
            Self::InvalidUtf8 => c"invalid-utf8",
            Self::InvalidEnum => c"invalid-enum",
            Self::Panic => c"panic",
            Self::InteriorNul => c"interior-nul",
            Self::InvalidArgument => c"invalid-argument",
            Self::EmptyUsername => c"empty-username",
            Self::InvalidUsername => c"invalid-username",
            Self::EmptyHost => c"empty-host",
            Self::InvalidHost => c"invalid-host",
            Self::JidTooLong => c"jid-too-long",
            Self::JidHasResource => c"jid-has-resource",
            Self::NotXmpp => c"not-xmpp",
            Self::AuthorityForm => c"authority-form",
            Self::MalformedUri => c"malformed-uri",
            Self::NotAnInvite => c"not-an-invite",
            Self::MissingToken => c"missing-token",
            Self::DuplicateKey => c"duplicate-key",
            Self::RosterWithoutUser => c"roster-without-user",
            Self::UriHasResource => c"uri-has-resource",
            Self::UriTooLong => c"uri-too-long",
            Self::NoToken => c"no-token",
            Self::TokenBadLength => c"token-bad-length",
            Self::TokenBadAlphabet => c"token-bad-alphabet",
            Self::UnsupportedTokenSize => c"unsupported-token-size",
            Self::RngFailure => c"rng-failure",
            Self::RngUnsupported => c"rng-unsupported",
            Self::EmptyPeriod => c"empty-period",
            Self::AmbiguousPeriod => c"ambiguous-period",
            Self::UnknownUnit => c"unknown-unit",
            Self::InvalidPeriod => c"invalid-period",
            Self::PeriodOverflow => c"period-overflow",
            Self::DatetimeOutOfRange => c"datetime-out-of-range",
            Self::InvalidDatetime => c"invalid-datetime",
            Self::TokenInvalid => c"token-invalid",
            Self::TokenExpired => c"token-expired",
            Self::TokenUsedUp => c"token-used-up",
            Self::WrongInviter => c"wrong-inviter",
            Self::NotForRegistration => c"not-for-registration",
            Self::InviteOnly => c"invite-only",
            Self::UsernameMismatch => c"username-mismatch",
            Self::ResetUsernameMismatch => c"reset-username-mismatch",
            Self::ResetWithoutAccount => c"reset-without-account",
            Self::AccountExists => c"account-exists",
            Self::UsernameReserved => c"username-reserved",
            Self::ZeroUses => c"zero-uses",
            Self::ConflictingOptions => c"conflicting-options",
            Self::MaxInvites => c"max-invites",
            Self::InviteTreeFull => c"invite-tree-full",
            Self::ChainTooFast => c"chain-too-fast",
            Self::MissingField => c"missing-field",
            Self::DuplicateField => c"duplicate-field",
            Self::NotBoolean => c"not-boolean",
            Self::TemplateTooDeep => c"template-too-deep",
            Self::TemplateTooLarge => c"template-too-large",
            Self::TemplateTooComplex => c"template-too-complex",
            Self::InvalidRecord => c"invalid-record",
            Self::UnknownInviteType => c"unknown-invite-type",
        }
    }

    /// The result whose name is `code` (a core error code).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == code)
    }
}

/// A failure on its way to C: the code and the full message.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: xi_result,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn new(code: xi_result, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// From a core error: its `code()` names the result, its text is the
    /// message.
    pub(crate) fn core(code: &str, message: impl std::fmt::Display) -> Self {
        let result = xi_result::from_code(code).unwrap_or(xi_result::InvalidArgument);
        Self::new(result, message.to_string())
    }
}

macro_rules! core_errors {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Fail {
            fn from(e: $t) -> Self {
                Fail::core(e.code(), &e)
            }
        }
    )*};
}

core_errors!(
    xmpp_invites::JidError,
    xmpp_invites::UriError,
    xmpp_invites::TokenError,
    xmpp_invites::PeriodError,
    xmpp_invites::DateTimeError,
    xmpp_invites::ValidateError,
    xmpp_invites::GateError,
    xmpp_invites::CreateError,
    xmpp_invites::QuotaError,
    xmpp_invites::FormError,
    xmpp_invites::TemplateError,
    xmpp_invites::RecordError,
);

impl From<xmpp_invites::UnknownInviteType> for Fail {
    fn from(e: xmpp_invites::UnknownInviteType) -> Self {
        Fail::new(xi_result::UnknownInviteType, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// The last result, in storage that has no destructor, so that it
    /// outlives `LAST_ERROR` when the thread's thread-locals are destroyed.
    static LAST_RESULT: Cell<xi_result> = const { Cell::new(xi_result::Ok) };
}

/// Keeps `result` and its `message` as the thread's last. After the
/// thread's Rust thread-locals are gone (a call from an `atexit` handler, a
/// C++ static destructor or a `pthread_key` destructor) the message cannot
/// be kept (`with` would panic outside the panic boundary and abort the
/// process), and `xi_last_error_message` gives the result's name instead.
fn set_last_error(result: xi_result, message: &str) {
    LAST_RESULT.set(result);
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = c);
}

/// Runs `f` inside the panic boundary: its error becomes the result code
/// and the thread's last error message.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Fail>) -> xi_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error(xi_result::Ok, "");
            xi_result::Ok
        }
        Ok(Err(fail)) => {
            set_last_error(fail.code, &fail.message);
            fail.code
        }
        Err(_) => {
            set_last_error(
                xi_result::Panic,
                "internal error: a panic was caught at the C boundary",
            );
            xi_result::Panic
        }
    }
}

/// Runs an infallible accessor inside the panic boundary, `fallback` on
/// panic.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The stable name of a result (`"ok"`, `"token-expired"`, …), a static
/// string; `"unknown"` for a number that is no result.
#[unsafe(no_mangle)]
pub extern "C" fn xi_result_name(result: u32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || {
        xi_result::ALL
            .into_iter()
            .find(|r| *r as u32 == result)
            .map_or(c"unknown", xi_result::c_name)
            .as_ptr()
    })
}

/// The message of the last failure on this thread (empty after a success).
/// The pointer stays valid until the next call into this library on the
/// same thread. Only functions that return an `xi_result` set it; the
/// `_free` functions, accessors and `xi_result_name` leave it as it was.
/// Called where the thread's storage is being torn down (an `atexit`
/// handler, a `pthread_key_create` destructor), where no message can be
/// kept, it is the failure's result name (`"invalid-enum"`), which is also
/// never empty.
#[unsafe(no_mangle)]
pub extern "C" fn xi_last_error_message() -> *const c_char {
    guard_value(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|e| e.borrow().as_ptr())
            .unwrap_or_else(|_| match LAST_RESULT.get() {
                xi_result::Ok => c"".as_ptr(),
                result => result.c_name().as_ptr(),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_invites::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in xi_result::ALL {
            assert!(seen.insert(r as u32), "{r:?} duplicated");
            assert_eq!(xi_result::from_code(r.name()), Some(r));
        }
    }

    #[test]
    fn every_core_error_has_its_own_result() {
        let jid = JidError::EmptyHost;
        let errors: Vec<Fail> = vec![
            JidError::EmptyUsername.into(),
            JidError::InvalidUsername("x".into()).into(),
            JidError::EmptyHost.into(),
            JidError::InvalidHost("x".into()).into(),
            JidError::TooLong.into(),
            JidError::HasResource("x".into()).into(),
            UriError::NotXmpp.into(),
            UriError::AuthorityForm.into(),
            UriError::Malformed {
                part: "x",
                detail: "y".into(),
            }
            .into(),
            UriError::Jid(jid.clone()).into(),
            UriError::NotAnInvite.into(),
            UriError::MissingToken.into(),
            UriError::BadToken(TokenError::BadAlphabet).into(),
            UriError::DuplicateKey("x".into()).into(),
            UriError::RosterWithoutUser.into(),
            UriError::HasResource.into(),
            UriError::TooLong.into(),
            TokenError::Missing.into(),
            TokenError::BadLength {
                len: 1,
                min: 2,
                max: 3,
            }
            .into(),
            TokenError::BadAlphabet.into(),
            TokenError::UnsupportedSize {
                len: 1,
                min: 2,
                max: 3,
            }
            .into(),
            TokenError::Rng("x".into()).into(),
            PeriodError::Empty.into(),
            PeriodError::Ambiguous {
                given: "1m".into(),
                n: "1".into(),
            }
            .into(),
            PeriodError::UnknownUnit {
                given: "x".into(),
                unit: "x".into(),
            }
            .into(),
            PeriodError::Invalid("x".into()).into(),
            PeriodError::Overflow("x".into()).into(),
            DateTimeError::OutOfRange(0).into(),
            DateTimeError::Invalid("x".into()).into(),
            ValidateError::NoToken.into(),
            ValidateError::Unknown.into(),
            ValidateError::Expired { expired_at: 0 }.into(),
            ValidateError::UsedUp.into(),
            ValidateError::WrongInviter.into(),
            ValidateError::NotForRegistration.into(),
            GateError::InviteOnly.into(),
            GateError::InvalidUsername(jid.clone()).into(),
            GateError::UsernameMismatch { bound: "x".into() }.into(),
            GateError::ResetUsernameMismatch.into(),
            GateError::ResetWithoutAccount.into(),
            GateError::AccountExists.into(),
            GateError::Reserved.into(),
            GateError::NotForRegistration.into(),
            CreateError::ZeroUses.into(),
            CreateError::Conflict("x").into(),
            QuotaError::MaxInvites { limit: 1 }.into(),
            QuotaError::TreeFull { limit: 1 }.into(),
            QuotaError::ChainTooFast { retry_after: 1 }.into(),
            FormError::Missing("x").into(),
            FormError::Duplicate("x".into()).into(),
            FormError::NotBoolean {
                var: "x",
                value: "y".into(),
            }
            .into(),
            TemplateError::TooDeep.into(),
            TemplateError::TooLarge.into(),
            TemplateError::TooComplex.into(),
            RecordError::Invalid("x".into()).into(),
            UnknownInviteType("x".into()).into(),
        ];
        for e in errors {
            assert!(
                !matches!(e.code, xi_result::InvalidArgument | xi_result::Ok),
                "{} has no result of its own",
                e.message
            );
            assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn panics_become_a_result() {
        assert_eq!(guard(|| panic!("boom")), xi_result::Panic);
        let msg = unsafe { CStr::from_ptr(xi_last_error_message()) };
        assert!(msg.to_str().unwrap().contains("panic"));
    }
}
