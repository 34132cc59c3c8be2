//! Tokens.

use std::ffi::c_char;

use xmpp_invites::{Token, TokenFormat};

use crate::error::{Fail, guard, xi_result};
use crate::rng::with_rng;
use crate::strings::{arg_str, out_ptr, owned, write_out};

/// Token shapes, for `xi_token_generate` and `xi_new_invite_set_token_format`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_token_format {
    /// `size` random bytes as unpadded base64url (default 18: Prosody's
    /// 24-character token).
    Base64url = 0,
    /// `size` characters of `A-Z a-z 0-9` (default 22: 131 bits).
    Alphanumeric = 1,
}

/// Checks a format number and size (0 = the format's default).
pub(crate) fn token_format(format: u32, size: usize) -> Result<TokenFormat, Fail> {
    Ok(match (format, size) {
        (0, 0) => TokenFormat::PROSODY,
        (0, bytes) => TokenFormat::Base64Url { bytes },
        (1, 0) => TokenFormat::ALPHANUMERIC,
        (1, chars) => TokenFormat::Alphanumeric { chars },
        _ => {
            return Err(Fail::new(
                xi_result::InvalidEnum,
                format!("{format} is not an xi_token_format"),
            ));
        }
    })
}

/// Generates a token into `*out` (free with `xi_string_free`).
///
/// `format` is an `xi_token_format`; `size` its byte or character count, 0
/// for the default. With `random` NULL (and `random_len` 0) the bytes come
/// from the generator `xi_rng_select` chose (the OS by default); otherwise
/// from `random`, in order:
///
/// - `XI_TOKEN_FORMAT_BASE64URL` uses exactly `size` bytes (default 18).
/// - `XI_TOKEN_FORMAT_ALPHANUMERIC` uses whole blocks of 64 bytes and keeps
///   one character per byte below 248, until it has `size` characters
///   (default 22). So `random_len` must be at least 64 (128 for more than
///   64 characters), and the whole 64-byte blocks in `random` must hold at
///   least `size` bytes below 248; bytes after the last whole block are
///   never used.
///
/// Too few bytes give `XI_RESULT_RNG_FAILURE`. A size that makes a token
/// outside 16 to 128 characters (base64url: 12 to 96 bytes) gives
/// `XI_RESULT_UNSUPPORTED_TOKEN_SIZE`, an unknown `format`
/// `XI_RESULT_INVALID_ENUM`. `*out` is written only on success.
///
/// # Safety
/// `random` is NULL or points to `random_len` bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_token_generate(
    format: u32,
    size: usize,
    random: *const u8,
    random_len: usize,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        let format = token_format(format, size)?;
        // SAFETY: as the caller promised.
        let token =
            unsafe { with_rng(random, random_len, |rng| Ok(Token::generate(rng, format)?)) }?;
        let s = owned(token.as_str())?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// Checks a presented token's length (16 to 128) and alphabet (base64url)
/// before any storage lookup: `XI_RESULT_OK`, `XI_RESULT_NO_TOKEN` (empty),
/// `XI_RESULT_TOKEN_BAD_LENGTH` or `XI_RESULT_TOKEN_BAD_ALPHABET`.
///
/// # Safety
/// `presented` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_token_check(presented: *const c_char) -> xi_result {
    guard(|| {
        // SAFETY: as the caller promised.
        let t = unsafe { arg_str(presented, "presented") }?;
        Token::parse(t)?;
        Ok(())
    })
}

/// Compares two tokens in constant time (for equal lengths) into `*out`.
///
/// # Safety
/// `a` and `b` are NUL-terminated strings; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_token_equal(
    a: *const c_char,
    b: *const c_char,
    out: *mut bool,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let (a, b) = unsafe { (arg_str(a, "a")?, arg_str(b, "b")?) };
        let equal = match Token::parse(a) {
            Ok(t) => t.ct_eq_str(b),
            // A malformed token equals nothing this library would store.
            Err(_) => false,
        };
        // SAFETY: checked above.
        unsafe { write_out(out, equal) };
        Ok(())
    })
}

/// The key to look a presented token up under, into `*out` (free with
/// `xi_string_free`): the token itself, or with `hashed` its `sha256:` hash
/// (for invites kept hashed at rest). The token's shape is checked first.
///
/// # Safety
/// `presented` is a NUL-terminated string; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_storage_key(
    presented: *const c_char,
    hashed: bool,
    out: *mut *mut c_char,
) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let key = xmpp_invites::storage_key(unsafe { arg_str(presented, "presented") }?, hashed)?;
        let s = owned(&key)?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}

/// A loggable label for a token (its first 4 characters and its length),
/// into `*out` (free with `xi_string_free`).
///
/// # Safety
/// `token` is a NUL-terminated string; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_token_redact(token: *const c_char, out: *mut *mut c_char) -> xi_result {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: as the caller promised.
        let t = Token::parse(unsafe { arg_str(token, "token") }?)?;
        let s = owned(&t.redacted())?;
        // SAFETY: checked above.
        unsafe { write_out(out, s) };
        Ok(())
    })
}
