//! Periods (`invite_expiry`, `--expires-after`) and expiry times.

use std::fmt;
use std::str::FromStr;

/// Seconds in each unit Prosody's period parser knows. A month is 31 days and
/// a year 365.2425 days, as in Prosody 13's `util.human.io`.
const UNITS: &[(&[&str], u64)] = &[
    (&["s", "sec", "secs", "second", "seconds"], 1),
    (&["min", "mins", "minute", "minutes"], 60),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600),
    (&["d", "day", "days"], 86_400),
    (&["w", "wk", "wks", "week", "weeks"], 604_800),
    (&["mon", "month", "months"], 2_678_400),
    (&["y", "yr", "yrs", "year", "years"], 31_556_952),
];

/// The expiry written for invites that never expire: 9999-12-31T23:59:59Z.
/// A number, not Prosody 13's `inf` (which its JSON encoder writes as invalid
/// JSON), so every reader, stock Prosody 0.12 included, compares it as "far
/// future". Expiry times at or past it are shown as "never".
pub const NEVER_EXPIRES: i64 = 253_402_300_799;

/// A length of time, or `never`.
///
/// ```
/// use xmpp_invites::Period;
/// assert_eq!("2 days".parse::<Period>().unwrap(), Period::Seconds(172_800));
/// assert_eq!("3600".parse::<Period>().unwrap(), Period::Seconds(3_600));
/// assert_eq!("never".parse::<Period>().unwrap(), Period::Never);
/// let err = "1m".parse::<Period>().unwrap_err();
/// assert_eq!(err.to_string(), "ambiguous period \"1m\": write \"1 min\" for minutes or \"1 mon\" for months");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A number of seconds.
    Seconds(u64),
    /// No limit.
    Never,
}

/// Why a period was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Nothing was given.
    #[error("empty period: write a number of seconds or a period such as \"2 days\"")]
    Empty,
    /// `m`, `mi` or `mo`: minutes or months?
    #[error("ambiguous period {given:?}: write \"{n} min\" for minutes or \"{n} mon\" for months")]
    Ambiguous {
        /// The text given.
        given: String,
        /// Its number.
        n: String,
    },
    /// A unit that is not one of `s`, `min`, `h`, `d`, `w`, `mon`, `y` (or
    /// their words).
    #[error("unknown unit {unit:?} in period {given:?}: use s, min, h, d, w, mon or y")]
    UnknownUnit {
        /// The text given.
        given: String,
        /// The unit found.
        unit: String,
    },
    /// Not of the form `N unit`: a sign, a fraction, several parts, no number.
    #[error(
        "not a period: {0:?}; write a whole number of seconds, \"N unit\" such as \"2 days\", or \"never\""
    )]
    Invalid(String),
    /// The period does not fit in 64 bits of seconds.
    #[error("period {0:?} is too long")]
    Overflow(String),
}

impl PeriodError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty-period",
            Self::Ambiguous { .. } => "ambiguous-period",
            Self::UnknownUnit { .. } => "unknown-unit",
            Self::Invalid(_) => "invalid-period",
            Self::Overflow(_) => "period-overflow",
        }
    }
}

impl Period {
    /// Seven days, the default invite TTL.
    pub const WEEK: Self = Self::Seconds(604_800);
    /// One day, the default TTL of password reset invites.
    pub const DAY: Self = Self::Seconds(86_400);

    /// A period from a configured number of seconds. A negative number is
    /// refused ([`PeriodError::Invalid`]): Prosody would make an invite that
    /// expired when it was made, and reading it as `never` would turn a
    /// slip of the sign into an invite that never expires.
    pub fn from_seconds(seconds: i64) -> Result<Self, PeriodError> {
        u64::try_from(seconds)
            .map(Self::Seconds)
            .map_err(|_| PeriodError::Invalid(seconds.to_string()))
    }

    /// A period from a configured number of seconds that a Lua
    /// configuration may give as a float (`86400 * 1.5`, `3600 * 1.1`):
    /// the fraction of a second dropped, `+inf` (Lua's `math.huge`) read as
    /// `never`, a negative number or NaN refused as [`Self::from_seconds`]
    /// refuses one, 2^64 seconds and more [`PeriodError::Overflow`].
    ///
    /// ```
    /// use xmpp_invites::Period;
    /// assert_eq!(Period::from_seconds_f64(3600.0 * 1.1), Ok(Period::Seconds(3960)));
    /// assert_eq!(Period::from_seconds_f64(f64::INFINITY), Ok(Period::Never));
    /// assert!(Period::from_seconds_f64(-0.5).is_err());
    /// ```
    pub fn from_seconds_f64(seconds: f64) -> Result<Self, PeriodError> {
        if seconds == f64::INFINITY {
            Ok(Self::Never)
        } else if (0.0..u64::MAX as f64).contains(&seconds) {
            // u64::MAX as f64 rounds up to 2^64, the first value that does
            // not fit; `as` drops the fraction.
            Ok(Self::Seconds(seconds as u64))
        } else if seconds > 0.0 {
            Err(PeriodError::Overflow(seconds.to_string()))
        } else {
            // Negative, or NaN.
            Err(PeriodError::Invalid(seconds.to_string()))
        }
    }

    /// The number of seconds, or `None` for `never`.
    pub fn as_seconds(self) -> Option<u64> {
        match self {
            Self::Seconds(s) => Some(s),
            Self::Never => None,
        }
    }

    /// The expiry of something created at `now`: `now + self`, or
    /// [`NEVER_EXPIRES`]. Overflow past the end of XEP-0082 time is an error,
    /// never a wrap.
    pub fn expiry_from(self, now: i64) -> Result<i64, PeriodError> {
        match self {
            Self::Never => Ok(NEVER_EXPIRES),
            // In i128: a period past i64::MAX still ends in range from a
            // negative `now`.
            Self::Seconds(s) => i64::try_from(i128::from(now) + i128::from(s))
                .ok()
                .filter(|e| *e < NEVER_EXPIRES)
                .ok_or_else(|| PeriodError::Overflow(self.to_string())),
        }
    }

    /// Parses a period: a whole number of seconds (`3600`), a number and a
    /// unit (`2 days`, `12h`, `1 month`, case-insensitive), or `never`.
    ///
    /// Stricter than Prosody where it guesses: `1m`, `1mi` and `1mo` are
    /// ambiguous errors (Prosody logs an error and uses a month), and signs,
    /// fractions and trailing words are errors (Prosody ignores them).
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(PeriodError::Empty);
        }
        if t.eq_ignore_ascii_case("never") {
            return Ok(Self::Never);
        }
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(PeriodError::Invalid(text.to_owned()));
        }
        let (number, unit) = t.split_at(digits);
        let unit = unit.trim_start().to_ascii_lowercase();
        let n: u64 = number
            .parse()
            .map_err(|_| PeriodError::Overflow(text.to_owned()))?;
        if unit.is_empty() {
            return Ok(Self::Seconds(n));
        }
        if !unit.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(PeriodError::Invalid(text.to_owned()));
        }
        if matches!(unit.as_str(), "m" | "mi" | "mo") {
            return Err(PeriodError::Ambiguous {
                given: text.to_owned(),
                n: number.to_owned(),
            });
        }
        let multiplier = UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit.as_str()))
            .map(|(_, secs)| *secs)
            .ok_or_else(|| PeriodError::UnknownUnit {
                given: text.to_owned(),
                unit: unit.clone(),
            })?;
        n.checked_mul(multiplier)
            .map(Self::Seconds)
            .ok_or_else(|| PeriodError::Overflow(text.to_owned()))
    }
}

impl FromStr for Period {
    type Err = PeriodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Period {
    /// The largest unit that divides the period exactly: `2 days`, `90 s`,
    /// `never`; [`Period::parse`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self::Seconds(s) = *self else {
            return f.write_str("never");
        };
        const NAMES: [(u64, &str, &str); 5] = [
            (604_800, "week", "weeks"),
            (86_400, "day", "days"),
            (3_600, "hour", "hours"),
            (60, "minute", "minutes"),
            (1, "second", "seconds"),
        ];
        let (unit, one, many) = NAMES
            .into_iter()
            .find(|(unit, _, _)| s % unit == 0 && s != 0)
            .unwrap_or((1, "second", "seconds"));
        let n = s / unit;
        write!(f, "{n} {}", if n == 1 { one } else { many })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        for (text, secs) in [
            ("0", 0),
            ("30 sec", 30),
            ("30 seconds", 30),
            ("5min", 300),
            ("1 minute", 60),
            ("2 hours", 7_200),
            ("12H", 43_200),
            ("1 d", 86_400),
            ("  3 days ", 259_200),
            ("1 week", 604_800),
            ("2w", 1_209_600),
            ("1 month", 2_678_400),
            ("1 mon", 2_678_400),
            ("1 year", 31_556_952),
            ("007d", 604_800),
        ] {
            assert_eq!(Period::parse(text), Ok(Period::Seconds(secs)), "{text}");
        }
        assert_eq!(Period::parse("Never"), Ok(Period::Never));
    }

    #[test]
    fn refusals() {
        assert_eq!(Period::parse(" "), Err(PeriodError::Empty));
        for t in ["1m", "2 mi", "3 MO"] {
            assert!(
                matches!(Period::parse(t), Err(PeriodError::Ambiguous { .. })),
                "{t}"
            );
        }
        for t in ["-1 day", "1.5 days", "1 week 2 days", "day", "1 d4y", "+3"] {
            assert!(
                matches!(Period::parse(t), Err(PeriodError::Invalid(_))),
                "{t}"
            );
        }
        assert!(matches!(
            Period::parse("1 dog"),
            Err(PeriodError::UnknownUnit { .. })
        ));
        assert!(matches!(
            Period::parse("99999999999999999999"),
            Err(PeriodError::Overflow(_))
        ));
        assert!(matches!(
            Period::parse("999999999999999999 y"),
            Err(PeriodError::Overflow(_))
        ));
    }

    #[test]
    fn expiry_arithmetic() {
        assert_eq!(Period::WEEK.expiry_from(100), Ok(604_900));
        assert_eq!(Period::Never.expiry_from(100), Ok(NEVER_EXPIRES));
        assert!(Period::Seconds(u64::MAX).expiry_from(0).is_err());
        assert!(Period::Seconds(10).expiry_from(i64::MAX).is_err());
        assert!(Period::Seconds(10).expiry_from(NEVER_EXPIRES - 5).is_err());
        assert_eq!(Period::Seconds(10).expiry_from(-100), Ok(-90));
        assert_eq!(Period::from_seconds(0), Ok(Period::Seconds(0)));
        assert_eq!(
            Period::from_seconds(i64::MAX),
            Ok(Period::Seconds(i64::MAX as u64))
        );
        let err = Period::from_seconds(-1).unwrap_err();
        assert_eq!(err, PeriodError::Invalid("-1".into()));
        assert_eq!(err.code(), "invalid-period");
        // Past i64::MAX seconds, from a negative now (found by the fuzzer,
        // fuzz/regressions/period/): the sum is in range, so no error.
        let big = 9_223_372_036_857_250_827_u64;
        assert_eq!(Period::Seconds(big).expiry_from(i64::MIN), Ok(2_475_019));
        assert!(Period::Seconds(big).expiry_from(-1).is_err());
    }

    #[test]
    fn display_round_trips() {
        for p in [
            Period::WEEK,
            Period::DAY,
            Period::Seconds(90),
            Period::Seconds(7_200),
            Period::Seconds(0),
            Period::Seconds(1),
            Period::Never,
        ] {
            assert_eq!(p.to_string().parse::<Period>().unwrap(), p, "{p}");
        }
        assert_eq!(Period::WEEK.to_string(), "1 week");
        assert_eq!(Period::Seconds(90).to_string(), "90 seconds");
    }
}
