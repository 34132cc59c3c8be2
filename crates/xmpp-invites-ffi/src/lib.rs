//! The C ABI of xmpp-invites.
//!
//! Conventions (as in rustls-ffi): every symbol starts with `xi_`; handles
//! are opaque and come in `_new`/`_free` pairs (freeing NULL is fine);
//! fallible functions return an [`xi_result`] and write their
//! out-parameters only on success; NULL arguments give
//! `XI_RESULT_NULL_ARGUMENT`; integers that name enum values are checked
//! before use; every export runs inside a panic boundary that returns
//! `XI_RESULT_PANIC`. After any failure, [`xi_last_error_message`] gives the
//! full text on the failing thread (for the registration gate this is the
//! text to show the user, Prosody's wording).
//!
//! Strings passed in are NUL-terminated UTF-8. Strings handed out as
//! `char *` are owned by the caller and freed with [`xi_string_free`];
//! strings handed out as `const char *` are borrowed from the handle they
//! come from and live as long as it.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod adhoc;
mod error;
mod invite;
mod policy;
mod rng;
mod strings;
mod time;
mod token;
mod uri;
mod validate;

pub use adhoc::*;
pub use error::*;
pub use invite::*;
pub use policy::*;
pub use rng::{xi_rng, xi_rng_backend, xi_rng_os_backend, xi_rng_select, xi_rng_selected};
pub use strings::*;
pub use time::*;
pub use token::*;
pub use uri::*;
pub use validate::*;
