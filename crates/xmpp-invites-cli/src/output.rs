//! Output for people and for scripts: times in local and UTC form, QR
//! codes, progress bars on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use xmpp_invites::{NEVER_EXPIRES, format_datetime};

use crate::error::{Error, Exit, Result};

/// Whether `--json` was given: notes on standard error are then JSON too.
static JSON_NOTES: AtomicBool = AtomicBool::new(false);

/// Makes [`note`] write JSON (with `--json`), once at start.
pub(crate) fn notes_as_json(json: bool) {
    JSON_NOTES.store(json, Ordering::Relaxed);
}

/// A note on standard error: something the command did not stop for but
/// that the user should know. With `--json`, one JSON object per line
/// (`{"note": {"code": …, "message": …}}`), so that everything on standard
/// error parses as JSON.
pub(crate) fn note(code: &'static str, message: &str) {
    if JSON_NOTES.load(Ordering::Relaxed) {
        eprintln!(
            "{}",
            serde_json::json!({ "note": { "code": code, "message": message } })
        );
    } else {
        eprintln!("xmpp-invites: note: {}", printable(message));
    }
}

/// The report of a change that was committed: if it cannot be written,
/// the error says what was done (exit 5), so that nobody takes the
/// failure for "nothing happened" and retries. A reader that went away
/// (`| head`) stays quiet, as for every command.
pub(crate) fn after_change(
    report: Result<()>,
    done: impl FnOnce() -> String,
    hint: impl FnOnce() -> String,
) -> Result<()> {
    match report {
        Err(e) if e.code == "output-failed" => Err(Error::new(
            Exit::Unreported,
            "output-failed",
            format!("{}, but {}", done(), e.message),
            format!(
                "the change stands, do not run the command again: {}",
                hint()
            ),
        )),
        other => other,
    }
}

/// A Unix time for people: local and XEP-0082 UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Times {
    /// `2026-11-28T09:00:00Z`, or `never`.
    pub(crate) utc: String,
    /// `2026-11-28 10:00:00 CET (+01:00)` in the system's time zone
    /// (`TZ` or /etc/localtime), or `never`.
    pub(crate) local: String,
}

impl Times {
    pub(crate) fn of(unix: i64) -> Self {
        if unix >= NEVER_EXPIRES {
            return Self {
                utc: "never".into(),
                local: "never".into(),
            };
        }
        let utc = format_datetime(unix).unwrap_or_else(|_| format!("{unix} (Unix time)"));
        let local = jiff::Timestamp::from_second(unix)
            .map(|t| {
                t.to_zoned(local_zone().clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z (%:z)")
                    .to_string()
            })
            .unwrap_or_else(|_| utc.clone());
        Self { utc, local }
    }

    /// `local, UTC` on one line.
    pub(crate) fn both(&self) -> String {
        if self.utc == "never" {
            "never".into()
        } else {
            format!("{} (local), {} (UTC)", self.local, self.utc)
        }
    }
}

/// The system's time zone (`TZ`, else /etc/localtime), read once.
///
/// Read here from the one TZif file it names, because `TimeZone::system()`
/// first lists the whole zoneinfo tree to build jiff's database (about 600
/// directories and three million instructions, two thirds of a `create`).
/// Whatever this does not recognise (a POSIX rule in `TZ`, `TZDIR`, a
/// /etc/localtime that is not a symlink into a zoneinfo tree) is left to
/// jiff, as before.
fn local_zone() -> &'static jiff::tz::TimeZone {
    static ZONE: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| zone_from_tzif().unwrap_or_else(jiff::tz::TimeZone::system))
}

fn zone_from_tzif() -> Option<jiff::tz::TimeZone> {
    use std::path::PathBuf;
    const ZONEINFO: &str = "/usr/share/zoneinfo/";
    if std::env::var_os("TZDIR").is_some() {
        return None;
    }
    let (name, path) = match std::env::var_os("TZ") {
        Some(tz) => {
            let tz = tz.to_str()?;
            if tz.is_empty() {
                // As jiff and the C library read an empty TZ.
                return Some(jiff::tz::TimeZone::UTC);
            }
            let tz = tz.strip_prefix(':').unwrap_or(tz);
            if let Some(at) = tz.rfind("zoneinfo/") {
                (tz[at + "zoneinfo/".len()..].to_owned(), PathBuf::from(tz))
            } else if tz
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b"/_-+".contains(&b))
                && !tz.starts_with('/')
            {
                // A zone name (Europe/Berlin, UTC); a POSIX rule has digits.
                (tz.to_owned(), PathBuf::from(format!("{ZONEINFO}{tz}")))
            } else {
                return None;
            }
        }
        None => {
            let target = std::fs::read_link("/etc/localtime").ok()?;
            let target = target.to_str()?;
            let at = target.rfind("zoneinfo/")?;
            (
                target[at + "zoneinfo/".len()..].to_owned(),
                PathBuf::from("/etc/localtime"),
            )
        }
    };
    if name.is_empty() || name.split('/').any(|part| part.is_empty() || part == "..") {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    jiff::tz::TimeZone::tzif(&name, &data).ok()
}

/// `text` with its control characters escaped as Rust writes them
/// (`\n`, `\t`, `\u{1b}`); unchanged, and not copied, when it has none.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A QR code of `text` drawn with Unicode half blocks, light on dark so that
/// it scans on a terminal with a dark background.
pub(crate) fn qr(text: &str) -> Result<String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| {
        Error::input(
            "qr-too-long",
            format!(
                "cannot draw a QR code of this {}-byte text: {e}",
                text.len()
            ),
            "leave out --qr, or use a shorter landing page template",
        )
    })?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build())
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
pub(crate) struct Out {
    stdout: std::io::StdoutLock<'static>,
}

impl Out {
    pub(crate) fn new() -> Self {
        Self {
            stdout: std::io::stdout().lock(),
        }
    }

    pub(crate) fn line(&mut self, text: impl AsRef<str>) -> Result<()> {
        writeln!(self.stdout, "{}", text.as_ref()).map_err(write_error)
    }

    /// One line for people that shows stored or given text: control
    /// characters in it are escaped (`\n`, `\u{1b}`), so that a note
    /// holding a newline or a terminal escape cannot forge rows or redraw
    /// the screen. Other Unicode is printed as it is.
    pub(crate) fn text(&mut self, text: impl AsRef<str>) -> Result<()> {
        self.line(printable(text.as_ref()))
    }

    pub(crate) fn json(&mut self, value: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        self.line(text)
    }

    pub(crate) fn raw(&mut self, text: &str) -> Result<()> {
        write!(self.stdout, "{text}").map_err(write_error)
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        self.stdout.flush().map_err(write_error)
    }
}

/// The code of the error for a reader that went away (`| head`): main
/// exits quietly on it, after the store was closed properly.
pub(crate) const BROKEN_PIPE: &str = "broken-pipe";

fn write_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Error::input(BROKEN_PIPE, "stdout was closed", "none needed");
    }
    Error::input(
        "output-failed",
        format!("cannot write the output: {e}"),
        "check where stdout goes (disk full? closed pipe?)",
    )
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(printable("für Jürgen ✓"), "für Jürgen ✓");
        assert_eq!(
            printable("a\nb\tc\u{1b}[2Jd\u{7f}\r"),
            "a\\nb\\tc\\u{1b}[2Jd\\u{7f}\\r"
        );
    }
}
