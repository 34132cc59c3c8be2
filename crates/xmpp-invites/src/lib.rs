//! The XMPP invite domain without I/O.
//!
//! Everything a server needs to offer invites (XEP-0401 easy onboarding,
//! XEP-0445 pre-authenticated registration, XEP-0379 pre-approved
//! subscriptions): tokens, the kinds of invite, records in the shape of
//! Prosody's `invite_token` store, expiry and periods, validation and the
//! storage changes of using an invite, the registration gate, permission
//! policy, ejabberd-style quotas, RFC 5122 URIs, landing pages in Prosody's
//! template language, and ad-hoc form data.
//!
//! The crate knows no clock, no entropy source and no storage: every entry
//! point takes `now` (Unix seconds) and, where it draws randomness, a
//! [`rand_core::TryCryptoRng`]; the `os-rng` feature (default) adds
//! `*_os` conveniences over the operating system's CSPRNG. Storage is the
//! host's: functions say what to write and delete ([`StorageChange`]).
//!
//! ```
//! use xmpp_invites::{validate, NewInvite, Redemption, RegistrationAttempt, RegistrationGate, Stored, Admission};
//!
//! let now = 1_795_268_421;
//! // An admin creates an account invite; the host stores the record.
//! let invite = NewInvite::account("example.com").create_os(now)?;
//! let stored = invite.record().clone();
//!
//! // Later a client presents the token in <preauth/>, then registers.
//! let valid = validate(invite.token().as_str(),
//!     Stored { record: Some(&stored), contact_expires: None }, Redemption::Registration, now + 60)?;
//! let admitted = RegistrationGate::default().check(Some(&valid),
//!     RegistrationAttempt { username: "juliet", account_exists: false, reserved: false })?;
//! assert!(matches!(admitted, Admission::NewAccount { .. }));
//! // After the account is created, spend the token.
//! let changes = valid.use_changes();
//! assert_eq!(changes.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod adhoc;
mod change;
mod create;
mod datetime;
mod gate;
mod jid;
mod kind;
mod landing;
mod period;
mod policy;
mod quota;
mod record;
mod template;
mod token;
mod uri;
mod validate;

pub use adhoc::{
    CreateAccountRequest, DataForm, FORM_TYPE_INVITATION, FieldType, FormError, FormField,
    NODE_CREATE_ACCOUNT, NODE_INVITE, NODE_PASSWORD_RESET, create_account_form,
    invitation_result_form, parse_create_account_submission, parse_password_reset_submission,
    password_reset_form,
};
pub use change::{InviteWrite, StorageChange};
pub use create::{CreateError, Invite, NewInvite};
pub use datetime::{DateTimeError, format_datetime, parse_datetime};
pub use gate::{Admission, GateError, RegistrationAttempt, RegistrationGate};
pub use jid::{BareJid, JidError, host_to_ascii, prep_host, prep_username};
pub use kind::{InviteKind, InviteType, UnknownInviteType};
pub use landing::{LandingPage, fragment_link};
pub use period::{NEVER_EXPIRES, Period, PeriodError};
pub use policy::{ADMIN_ROLE, ContactInvite, Decision, Policy, Reason, Requester};
pub use quota::{ChainLimit, IssuedInvite, QuotaError, Quotas, reserved_by};
pub use record::{
    AdditionalData, ContactRecord, InviteAction, InviteRecord, RecordError, Roles,
    allow_registration_from_text, unix_seconds_from_f64,
};
pub use template::{
    Filter, MAX_RENDERED_LEN, MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_STEPS, Renderer, TemplateError,
    strip_scheme, url_escape, xml_escape,
};
pub use token::{
    HASHED_KEY_PREFIX, MAX_TOKEN_LEN, MIN_TOKEN_LEN, Token, TokenError, TokenFormat, hashed_key,
    storage_key,
};
pub use uri::{InviteUri, MAX_URI_LEN, UriError, UriQuery, XmppUri, build_uri};
pub use validate::{Redemption, Stored, ValidInvite, ValidateError, validate, validate_owned};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

// Re-exported so hosts name the same trait versions as the crate.
pub use rand_core;
