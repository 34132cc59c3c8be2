//! Errors the tool reports: a stable code, what went wrong, what to do about
//! it, and the exit status that scripts branch on.

use std::fmt;
use std::process::ExitCode;

/// The exit statuses, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Usage or bad input: an unknown option, a bad host, period, URI or
    /// configuration file.
    Input = 1,
    /// The token does not lead to a usable invite: not found, malformed,
    /// expired or used up.
    Token = 2,
    /// The store cannot be used: missing, locked, read-only, not Prosody's
    /// schema, connection refused. Nothing was written.
    Store = 3,
    /// A stored row is not an invite record (corrupt or foreign data).
    Data = 4,
    /// The change was made (invites created, a token spent, rows removed)
    /// but its report could not be written to standard output.
    Unreported = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// What went wrong and what to do about it.
#[derive(Debug, Clone)]
pub(crate) struct Error {
    pub(crate) exit: Exit,
    /// A stable kebab-case name: the core's `code()` where the error comes
    /// from the core, otherwise one of this tool's.
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) hint: String,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(
        exit: Exit,
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            exit,
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn input(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(Exit::Input, code, message, hint)
    }

    pub(crate) fn token(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(Exit::Token, code, message, hint)
    }

    pub(crate) fn store(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(Exit::Store, code, message, hint)
    }

    pub(crate) fn data(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(Exit::Data, code, message, hint)
    }

    /// The error as one JSON object, for `--json`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "hint": self.hint,
                "exit": self.exit as u8,
            }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages quote stored rows (hosts, keys): escaped like output.
        write!(
            f,
            "{} [{}]\n  hint: {}",
            crate::output::printable(&self.message),
            self.code,
            crate::output::printable(&self.hint)
        )
    }
}
