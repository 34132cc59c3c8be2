//! Strings across the boundary.

use std::ffi::{CStr, CString, c_char};

use crate::error::{Fail, guard_value, xi_result};

/// Reads a required C string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(Fail::new(
            xi_result::NullArgument,
            format!("{name} is NULL"),
        ));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|_| Fail::new(xi_result::InvalidUtf8, format!("{name} is not UTF-8")))
}

/// Reads an optional C string argument (NULL means none).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: as the caller promised.
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// Reads an array of `n` C strings. NULL with `n == 0` is the empty list.
///
/// # Safety
/// `p` is NULL or points to `n` pointers, each as in [`arg_str`].
pub(crate) unsafe fn arg_str_list<'a>(
    p: *const *const c_char,
    n: usize,
    name: &str,
) -> Result<Vec<&'a str>, Fail> {
    // SAFETY: the caller promises `n` readable pointers.
    let items = unsafe { arg_slice(p, n, name) }?;
    items
        .iter()
        .enumerate()
        // SAFETY: each item as the caller promised.
        .map(|(i, &item)| unsafe { arg_str(item, &format!("{name}[{i}]")) })
        .collect()
}

/// Reads `n` items (NULL with `n == 0` is empty). A count whose size in
/// bytes passes `isize::MAX` is refused (`XI_RESULT_INVALID_ARGUMENT`):
/// no array is that large, and making a slice of it is undefined.
///
/// # Safety
/// `p` is NULL or points to `n` readable items.
pub(crate) unsafe fn arg_slice<'a, T>(p: *const T, n: usize, name: &str) -> Result<&'a [T], Fail> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::new(
            xi_result::NullArgument,
            format!("{name} is NULL"),
        ));
    }
    if n > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Fail::new(
            xi_result::InvalidArgument,
            format!("the length of {name} ({n}) is larger than any array"),
        ));
    }
    // SAFETY: as the caller promised; the size fits in isize.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Checks that an out-pointer is not NULL.
pub(crate) fn out_ptr<T>(p: *mut T, name: &str) -> Result<(), Fail> {
    if p.is_null() {
        Err(Fail::new(
            xi_result::NullArgument,
            format!("{name} is NULL"),
        ))
    } else {
        Ok(())
    }
}

/// Writes `value` to a checked out-pointer.
///
/// # Safety
/// `p` was checked with [`out_ptr`] and points to writable memory for `T`.
pub(crate) unsafe fn write_out<T>(p: *mut T, value: T) {
    // SAFETY: as the caller promised.
    unsafe { p.write(value) }
}

/// A Rust string as a C string, or an error if it holds a NUL.
pub(crate) fn to_cstring(s: &str) -> Result<CString, Fail> {
    CString::new(s).map_err(|_| Fail::new(xi_result::InteriorNul, "the result holds a NUL byte"))
}

/// A Rust string handed to C as an owned `char *`.
pub(crate) fn owned(s: &str) -> Result<*mut c_char, Fail> {
    to_cstring(s).map(CString::into_raw)
}

/// A borrowed `const char *` to an optional stored string (NULL for none).
pub(crate) fn borrow(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |c| c.as_ptr())
}

/// Frees a string this library handed out as `char *`. NULL is fine.
///
/// # Safety
/// `s` is NULL or a string from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xi_string_free(s: *mut c_char) {
    guard_value((), || {
        if !s.is_null() {
            // SAFETY: the caller promises it came from CString::into_raw.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// The major version of the library the header came with; compare it (and
/// the minor version, while the major is 0) with `xi_version()` at run time.
pub const XI_VERSION_MAJOR: u32 = 0;
/// The minor version of the library the header came with.
pub const XI_VERSION_MINOR: u32 = 1;
/// The patch version of the library the header came with.
pub const XI_VERSION_PATCH: u32 = 0;

/// A decimal number at compile time (Cargo's version parts).
const fn decimal(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit());
        n = n * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    n
}

// The constants above are literals for cbindgen; the build fails when they
// drift from the crate's version.
const _: () = assert!(
    XI_VERSION_MAJOR == decimal(env!("CARGO_PKG_VERSION_MAJOR"))
        && XI_VERSION_MINOR == decimal(env!("CARGO_PKG_VERSION_MINOR"))
        && XI_VERSION_PATCH == decimal(env!("CARGO_PKG_VERSION_PATCH"))
);

/// The library version, a static string such as `"0.1.0"`.
#[unsafe(no_mangle)]
pub extern "C" fn xi_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Frees a boxed handle; NULL is fine.
///
/// # Safety
/// `p` is NULL or came from `Box::into_raw` for `T` and was not freed.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    guard_value((), || {
        if !p.is_null() {
            // SAFETY: as the caller promised.
            drop(unsafe { Box::from_raw(p) });
        }
    })
}

/// Borrows a handle argument.
///
/// # Safety
/// `p` is NULL or a live handle of type `T`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T, Fail> {
    // SAFETY: as the caller promised.
    unsafe { p.as_ref() }
        .ok_or_else(|| Fail::new(xi_result::NullArgument, format!("{name} is NULL")))
}

/// Borrows a mutable handle argument.
///
/// # Safety
/// `p` is NULL or a live handle of type `T`, not aliased during the call.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: as the caller promised.
    unsafe { p.as_mut() }
        .ok_or_else(|| Fail::new(xi_result::NullArgument, format!("{name} is NULL")))
}
