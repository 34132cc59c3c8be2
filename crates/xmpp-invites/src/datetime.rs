//! XEP-0082 date-times: what the ad-hoc result form's `expire` field carries.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a date-time could not be formatted or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    /// The Unix time is outside the years 0000 to 9999 that XEP-0082 can
    /// write.
    #[error("{0} is outside the range of XEP-0082 date-times")]
    OutOfRange(i64),
    /// The text is not an XEP-0082 date-time such as `2026-11-28T09:00:00Z`.
    #[error("not an XEP-0082 date-time (like 2026-11-28T09:00:00Z): {0:?}")]
    Invalid(String),
}

impl DateTimeError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutOfRange(_) => "datetime-out-of-range",
            Self::Invalid(_) => "invalid-datetime",
        }
    }
}

/// The first second XEP-0082 can write, 0000-01-01T00:00:00Z, in Unix
/// seconds. The last is [`crate::NEVER_EXPIRES`].
pub(crate) const EARLIEST: i64 = -62_167_219_200;

/// Formats Unix seconds as an XEP-0082 UTC date-time, as Prosody's
/// `util.datetime.datetime` does.
///
/// ```
/// assert_eq!(
///     xmpp_invites::format_datetime(1795856400).unwrap(),
///     "2026-11-28T09:00:00Z"
/// );
/// ```
pub fn format_datetime(unix: i64) -> Result<String, DateTimeError> {
    let text = datetime_bytes(unix)?;
    // Only ASCII digits and separators were written: never the default.
    Ok(std::str::from_utf8(&text).unwrap_or_default().to_owned())
}

/// The 20 bytes of `CCYY-MM-DDThh:mm:ssZ`: the calendar from `time`, the
/// digits written by hand (the format-description machinery cost about
/// ten times as much, and this runs once per created invite).
fn datetime_bytes(unix: i64) -> Result<[u8; 20], DateTimeError> {
    let dt =
        OffsetDateTime::from_unix_timestamp(unix).map_err(|_| DateTimeError::OutOfRange(unix))?;
    let year = u32::try_from(dt.year())
        .ok()
        .filter(|y| *y <= 9999)
        .ok_or(DateTimeError::OutOfRange(unix))?;
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (at..at + width).rev() {
            // n % 10 < 10: the cast cannot truncate.
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, year, 4);
    put(5, u8::from(dt.month()).into(), 2);
    put(8, dt.day().into(), 2);
    put(11, dt.hour().into(), 2);
    put(14, dt.minute().into(), 2);
    put(17, dt.second().into(), 2);
    Ok(out)
}

/// Parses an XEP-0082 date-time (`CCYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm)`) to
/// Unix seconds, fractions dropped.
///
/// ```
/// assert_eq!(xmpp_invites::parse_datetime("2026-11-28T10:00:00.5+01:00").unwrap(), 1795856400);
/// assert!(xmpp_invites::parse_datetime("28/11/2026").is_err());
/// ```
pub fn parse_datetime(text: &str) -> Result<i64, DateTimeError> {
    let invalid = || DateTimeError::Invalid(text.to_owned());
    // RFC 3339 is XEP-0082's profile of ISO 8601, but also allows a space
    // and a lowercase 't'/'z'; XEP-0082 does not.
    if text.len() > 64 || text.as_bytes().get(10) != Some(&b'T') || text.contains('z') {
        return Err(invalid());
    }
    let dt = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| invalid())?;
    // The instant, whatever the offset: converting to UTC first would
    // panic past 9999-12-31 (9999-12-31T23:59:59-01:00).
    Ok(dt.unix_timestamp())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_range_ends_where_four_digit_years_do() {
        assert_eq!(
            format_datetime(EARLIEST).as_deref(),
            Ok("0000-01-01T00:00:00Z")
        );
        assert!(format_datetime(EARLIEST - 1).is_err());
        assert_eq!(
            format_datetime(crate::NEVER_EXPIRES).as_deref(),
            Ok("9999-12-31T23:59:59Z")
        );
        assert!(format_datetime(crate::NEVER_EXPIRES + 1).is_err());
    }

    use super::*;

    /// An offset that takes the instant past year 9999 (or before year 0)
    /// in UTC: the instant, no panic.
    #[test]
    fn offsets_across_the_year_bounds() {
        assert_eq!(
            parse_datetime("9999-12-31T23:59:59-01:00").unwrap(),
            253_402_300_799 + 3600
        );
        assert_eq!(
            parse_datetime("0000-01-01T00:00:00+01:00").unwrap(),
            -62_167_219_200 - 3600
        );
    }

    #[test]
    fn bounds() {
        assert_eq!(format_datetime(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_datetime(-62_167_219_200).unwrap(),
            "0000-01-01T00:00:00Z"
        );
        assert!(format_datetime(253_402_300_800).is_err());
        assert!(format_datetime(i64::MAX).is_err());
        assert!(format_datetime(i64::MIN).is_err());
        assert_eq!(
            format_datetime(253_402_300_799).unwrap(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn hand_written_digits_match_time_formatting() {
        use time::macros::format_description;
        let reference = |unix: i64| {
            let dt = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            dt.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .unwrap()
        };
        // Every day boundary of the leap years around 2000 and 1900, and a
        // spread of instants over the whole range.
        let mut instants: Vec<i64> = (-2_300..1_200).map(|d| d * 86_400 - 1).collect();
        let (first, last) = (-62_167_219_200_i64, 253_402_300_799_i64);
        let step = (last - first) / 100_003;
        instants.extend((0..=100_003).map(|i| first + i * step + i % 86_400));
        instants.extend([first, last, 0, 1_795_856_400]);
        for unix in instants {
            assert_eq!(format_datetime(unix).unwrap(), reference(unix), "{unix}");
        }
    }

    #[test]
    fn parse_forms() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_datetime("1970-01-01T01:00:00+01:00").unwrap(), 0);
        for bad in [
            "",
            "1970-01-01 00:00:00Z",
            "1970-01-01t00:00:00Z",
            "1970-01-01T00:00:00z",
            "1970-01-01T25:00:00Z",
            "1970-01-01",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }
}
