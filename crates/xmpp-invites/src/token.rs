//! Invite tokens: generation from an injected CSPRNG, validation of presented
//! tokens before any lookup, and constant-time comparison.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::TryCryptoRng;
use subtle::ConstantTimeEq;

/// Fewest characters a presented or generated token may have: 16 base64url
/// characters carry 96 bits, above XEP-0379's floor of 80.
pub const MIN_TOKEN_LEN: usize = 16;
/// Most characters a presented or generated token may have; longer input is
/// refused before it reaches storage.
pub const MAX_TOKEN_LEN: usize = 128;

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// How a new token is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFormat {
    /// `bytes` random bytes as unpadded base64url. 18 bytes (24 characters,
    /// 144 bits) is what Prosody writes.
    Base64Url {
        /// Number of random bytes, 12 to 96.
        bytes: usize,
    },
    /// `chars` characters drawn uniformly from `A-Z a-z 0-9` (XEP-0401 0.6.0
    /// asks for an alphanumeric token), about 5.95 bits each.
    Alphanumeric {
        /// Number of characters, 16 to 128.
        chars: usize,
    },
}

impl TokenFormat {
    /// Prosody's format: 18 random bytes, 24 base64url characters, 144 bits.
    pub const PROSODY: Self = Self::Base64Url { bytes: 18 };
    /// Alphanumeric, 22 characters: 131 bits, the shortest at or above 128.
    pub const ALPHANUMERIC: Self = Self::Alphanumeric { chars: 22 };

    /// Checks the size against the bounds of [`MIN_TOKEN_LEN`] and
    /// [`MAX_TOKEN_LEN`], so that every generated token is one that
    /// [`Token::parse`] accepts.
    pub fn validate(self) -> Result<Self, TokenError> {
        let len = self.encoded_len();
        if (MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&len) {
            Ok(self)
        } else {
            Err(TokenError::UnsupportedSize {
                len,
                min: MIN_TOKEN_LEN,
                max: MAX_TOKEN_LEN,
            })
        }
    }

    /// Length of the token in characters.
    pub fn encoded_len(self) -> usize {
        match self {
            // Unpadded base64: 4 characters per 3 bytes, rounded up.
            Self::Base64Url { bytes } => bytes.saturating_mul(4).div_ceil(3),
            Self::Alphanumeric { chars } => chars,
        }
    }

    /// Entropy of a token of this format, in whole bits (rounded down).
    pub fn entropy_bits(self) -> u32 {
        match self {
            Self::Base64Url { bytes } => u32::try_from(bytes.saturating_mul(8)).unwrap_or(u32::MAX),
            // log2(62) = 5.954...; 5954/1000 keeps it integral and rounds down.
            Self::Alphanumeric { chars } => {
                u32::try_from(chars.saturating_mul(5954) / 1000).unwrap_or(u32::MAX)
            }
        }
    }
}

impl Default for TokenFormat {
    fn default() -> Self {
        Self::PROSODY
    }
}

/// Why a token could not be generated or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token was presented (Prosody's `no-token`).
    #[error("no-token")]
    Missing,
    /// The presented token is shorter or longer than any token this library
    /// issues or accepts.
    #[error("token-invalid: a token has {min} to {max} characters, this one has {len}")]
    BadLength {
        /// Length of the presented token, in bytes.
        len: usize,
        /// Shortest accepted length.
        min: usize,
        /// Longest accepted length.
        max: usize,
    },
    /// The presented token holds a character outside `A-Z a-z 0-9 - _`.
    #[error("token-invalid: a token holds only A-Z, a-z, 0-9, '-' and '_'")]
    BadAlphabet,
    /// A requested format would make tokens outside the accepted lengths.
    #[error("a token of {len} characters is not supported: use {min} to {max}")]
    UnsupportedSize {
        /// Length the format would produce.
        len: usize,
        /// Shortest accepted length.
        min: usize,
        /// Longest accepted length.
        max: usize,
    },
    /// The random number generator failed.
    #[error("the random number generator failed: {0}")]
    Rng(String),
}

impl TokenError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "no-token",
            Self::BadLength { .. } => "token-bad-length",
            Self::BadAlphabet => "token-bad-alphabet",
            Self::UnsupportedSize { .. } => "unsupported-token-size",
            Self::Rng(_) => "rng-failure",
        }
    }
}

impl TokenError {
    /// Prosody's error name for a refused presented token (`no-token` or
    /// `token-invalid`), or `internal-server-error` for generation failures.
    pub fn condition(&self) -> &'static str {
        match self {
            Self::Missing => "no-token",
            Self::BadLength { .. } | Self::BadAlphabet => "token-invalid",
            Self::UnsupportedSize { .. } | Self::Rng(_) => "internal-server-error",
        }
    }
}

/// A token that is well formed: 16 to 128 characters of the base64url
/// alphabet. Every token this library generates is one, and so are Prosody's
/// and ejabberd's. Equality is constant-time.
#[derive(Clone, Eq)]
pub struct Token(String);

impl Token {
    /// Generates a token from `rng`.
    ///
    /// [`TokenFormat::Base64Url`] asks `rng` once for exactly `bytes` bytes.
    /// [`TokenFormat::Alphanumeric`] asks for 64 bytes at a time, never
    /// fewer, and keeps one character per byte below 248 (the rest are
    /// rejected, which keeps the draw uniform), asking again until it has
    /// `chars` characters: at least 64 bytes for up to 64 characters, 128
    /// for more, and 64 more each time rejected bytes leave it short. A
    /// failing `rng`, such as a finite source that runs out, gives
    /// [`TokenError::Rng`]; a format [`TokenFormat::validate`] refuses gives
    /// [`TokenError::UnsupportedSize`] before `rng` is asked for anything.
    ///
    /// ```
    /// use xmpp_invites::{Token, TokenFormat};
    /// # use rand_core::{TryRng, TryCryptoRng};
    /// # struct Counter(u8);
    /// # impl TryRng for Counter {
    /// #     type Error = core::convert::Infallible;
    /// #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { unimplemented!() }
    /// #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { unimplemented!() }
    /// #     fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
    /// #         for b in dst { self.0 = self.0.wrapping_add(1); *b = self.0; } Ok(())
    /// #     }
    /// # }
    /// # impl TryCryptoRng for Counter {}
    /// let token = Token::generate(&mut Counter(0), TokenFormat::PROSODY).unwrap();
    /// assert_eq!(token.as_str().len(), 24);
    /// ```
    pub fn generate<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        format: TokenFormat,
    ) -> Result<Self, TokenError> {
        let format = format.validate()?;
        let fill = |rng: &mut R, buf: &mut [u8]| {
            rng.try_fill_bytes(buf)
                .map_err(|e| TokenError::Rng(e.to_string()))
        };
        match format {
            TokenFormat::Base64Url { bytes } => {
                let mut buf = [0u8; 96];
                fill(rng, &mut buf[..bytes])?;
                // Encoded on the stack, then one exact allocation (what
                // encode_string does costs a zeroed buffer and a check).
                let mut text = [0u8; 128];
                let encoded = Base64UrlUnpadded::encode(&buf[..bytes], &mut text)
                    // validate() bounds bytes to 96, whose text fits.
                    .map_err(|_| TokenError::UnsupportedSize {
                        len: (bytes * 4).div_ceil(3),
                        min: MIN_TOKEN_LEN,
                        max: MAX_TOKEN_LEN,
                    })?;
                Ok(Self(encoded.to_owned()))
            }
            TokenFormat::Alphanumeric { chars } => {
                let mut out = String::with_capacity(chars);
                let mut buf = [0u8; 64];
                while out.len() < chars {
                    fill(rng, &mut buf)?;
                    // Rejection sampling keeps the draw uniform: 248 = 4 * 62.
                    for &b in buf.iter().filter(|&&b| b < 248) {
                        if out.len() == chars {
                            break;
                        }
                        out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
                    }
                }
                Ok(Self(out))
            }
        }
    }

    /// Generates a token from the operating system's CSPRNG.
    ///
    /// ```
    /// let token = xmpp_invites::Token::generate_os(xmpp_invites::TokenFormat::PROSODY).unwrap();
    /// assert_eq!(token.as_str().len(), 24);
    /// ```
    #[cfg(feature = "os-rng")]
    pub fn generate_os(format: TokenFormat) -> Result<Self, TokenError> {
        Self::generate(&mut getrandom::SysRng, format)
    }

    /// Checks a presented token's length and alphabet. Call this before any
    /// storage lookup, so that garbage never reaches the store.
    ///
    /// ```
    /// use xmpp_invites::{Token, TokenError};
    /// assert!(Token::parse("Xb9sT2vR7qLm4KpZ8wYd1eFg").is_ok());
    /// assert_eq!(Token::parse("").unwrap_err(), TokenError::Missing);
    /// assert_eq!(Token::parse("abc+def/ghi=jklmnopq").unwrap_err(), TokenError::BadAlphabet);
    /// ```
    pub fn parse(presented: &str) -> Result<Self, TokenError> {
        check_shape(presented)?;
        Ok(Self(presented.to_owned()))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, non-reversible label for logs: the first four characters and
    /// the length, never the whole token.
    ///
    /// ```
    /// let t = xmpp_invites::Token::parse("Xb9sT2vR7qLm4KpZ8wYd1eFg").unwrap();
    /// assert_eq!(t.redacted(), "Xb9s…(24)");
    /// ```
    pub fn redacted(&self) -> String {
        // Written by hand: modules log every invite they create with it,
        // and `format!` cost four times as much.
        let mut digits = [0u8; 20];
        let mut n = self.0.len();
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut out = String::with_capacity(4 + "…()".len() + digits.len() - at);
        // A token is ASCII, so its first four bytes are four characters.
        out.push_str(&self.0[..4]);
        out.push_str("…(");
        for &d in &digits[at..] {
            out.push(char::from(d));
        }
        out.push(')');
        out
    }

    /// Compares with another token text in time that depends only on the
    /// lengths, never on where the two first differ.
    pub fn ct_eq_str(&self, other: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), other.as_bytes())
    }
}

/// How stored keys that hold a hash of the token start (tokens never contain
/// it: they have no `:`).
pub const HASHED_KEY_PREFIX: &str = "sha256:";

/// The storage key of a token kept hashed at rest: `sha256:` and the
/// unpadded base64url SHA-256 of the token. A leaked store then holds no
/// usable token.
///
/// ```
/// let key = xmpp_invites::hashed_key("Xb9sT2vR7qLm4KpZ8wYd1eFg");
/// assert!(key.starts_with("sha256:") && key.len() == 7 + 43);
/// ```
pub fn hashed_key(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut key = String::with_capacity(HASHED_KEY_PREFIX.len() + 43);
    key.push_str(HASHED_KEY_PREFIX);
    key.push_str(&Base64UrlUnpadded::encode_string(&digest));
    key
}

/// The key under which to look a presented token up: the token itself, or
/// with `hashed` its [`hashed_key`]. The token's shape is checked first, so
/// that garbage never reaches storage.
///
/// ```
/// use xmpp_invites::storage_key;
/// assert_eq!(storage_key("Xb9sT2vR7qLm4KpZ8wYd1eFg", false).unwrap(), "Xb9sT2vR7qLm4KpZ8wYd1eFg");
/// assert!(storage_key("Xb9sT2vR7qLm4KpZ8wYd1eFg", true).unwrap().starts_with("sha256:"));
/// assert!(storage_key("x", true).is_err());
/// ```
pub fn storage_key(presented: &str, hashed: bool) -> Result<String, TokenError> {
    check_shape(presented)?;
    Ok(if hashed {
        hashed_key(presented)
    } else {
        presented.to_owned()
    })
}

/// Whether `presented` is the token a record stored under `stored` (the
/// token itself, or its [`hashed_key`]), compared in constant time.
pub(crate) fn matches_stored(presented: &str, stored: &str) -> bool {
    if stored.starts_with(HASHED_KEY_PREFIX) {
        constant_time_eq(hashed_key(presented).as_bytes(), stored.as_bytes())
    } else {
        constant_time_eq(presented.as_bytes(), stored.as_bytes())
    }
}

/// Checks a presented token's length and alphabet without copying it.
pub(crate) fn check_shape(presented: &str) -> Result<(), TokenError> {
    if presented.is_empty() {
        return Err(TokenError::Missing);
    }
    let len = presented.len();
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&len) {
        return Err(TokenError::BadLength {
            len,
            min: MIN_TOKEN_LEN,
            max: MAX_TOKEN_LEN,
        });
    }
    if !presented
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenError::BadAlphabet);
    }
    Ok(())
}

/// Compares two byte strings in constant time (for equal lengths; unequal
/// lengths return false at once, the length of a token being no secret).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    #[cfg(test)]
    tests::CT_CALLS.with(|c| c.set(c.get() + 1));
    a.ct_eq(b).into()
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq_str(&other.0)
    }
}

impl fmt::Debug for Token {
    // Debug output ends up in logs: show the redacted form only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.redacted())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Token {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use core::convert::Infallible;
    use rand_core::TryRng;

    thread_local! {
        /// How often the constant-time comparison ran on this thread.
        pub(crate) static CT_CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    /// Runs `f` and says how often it compared through `subtle`.
    pub(crate) fn ct_calls(f: impl FnOnce()) -> u32 {
        let before = CT_CALLS.with(std::cell::Cell::get);
        f();
        CT_CALLS.with(std::cell::Cell::get) - before
    }

    /// A deterministic generator for tests: a counter, not random at all.
    pub(crate) struct CountingRng(pub(crate) u8);
    impl TryRng for CountingRng {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            let mut b = [0; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let mut b = [0; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            for b in dst {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }
    impl TryCryptoRng for CountingRng {}

    #[derive(Debug)]
    struct Unavailable;
    impl std::fmt::Display for Unavailable {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("entropy source unavailable")
        }
    }
    impl std::error::Error for Unavailable {}

    struct FailingRng;
    impl TryRng for FailingRng {
        type Error = Unavailable;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Err(Unavailable)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Err(Unavailable)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            Err(Unavailable)
        }
    }
    impl TryCryptoRng for FailingRng {}

    #[test]
    fn prosody_format_is_18_bytes_base64url() {
        let t = Token::generate(&mut CountingRng(0), TokenFormat::PROSODY).unwrap();
        assert_eq!(t.as_str(), "AAECAwQFBgcICQoLDA0ODxAR");
        assert_eq!(TokenFormat::PROSODY.entropy_bits(), 144);
        for bytes in 0..100 {
            let t = Base64UrlUnpadded::encode_string(&vec![0; bytes]);
            assert_eq!(TokenFormat::Base64Url { bytes }.encoded_len(), t.len());
        }
    }

    #[test]
    fn alphanumeric_rejects_high_bytes() {
        // Bytes 248..=255 are rejected, so a counter starting at 246 yields
        // 246 % 62, 247 % 62, then wraps to 0, 1, ...
        let t = Token::generate(&mut CountingRng(246), TokenFormat::ALPHANUMERIC).unwrap();
        assert_eq!(&t.as_str()[..4], "8+AB".replace('+', "9").as_str());
        assert_eq!(t.as_str().len(), 22);
        assert!(TokenFormat::ALPHANUMERIC.entropy_bits() >= 128);
    }

    #[test]
    fn formats_outside_bounds_are_refused() {
        for f in [
            TokenFormat::Base64Url { bytes: 11 },
            TokenFormat::Base64Url { bytes: 97 },
            TokenFormat::Base64Url { bytes: usize::MAX },
            TokenFormat::Alphanumeric { chars: 15 },
            TokenFormat::Alphanumeric { chars: 129 },
        ] {
            assert!(matches!(
                Token::generate(&mut CountingRng(0), f),
                Err(TokenError::UnsupportedSize { .. })
            ));
        }
        assert!(Token::generate(&mut CountingRng(0), TokenFormat::Base64Url { bytes: 96 }).is_ok());
    }

    #[test]
    fn rng_failure_is_an_error() {
        let err = Token::generate(&mut FailingRng, TokenFormat::PROSODY).unwrap_err();
        assert_eq!(err, TokenError::Rng("entropy source unavailable".into()));
        assert_eq!(err.condition(), "internal-server-error");
    }

    #[test]
    fn presented_tokens_are_checked() {
        assert_eq!(Token::parse(""), Err(TokenError::Missing));
        assert!(matches!(
            Token::parse("short"),
            Err(TokenError::BadLength { len: 5, .. })
        ));
        assert!(matches!(
            Token::parse(&"a".repeat(129)),
            Err(TokenError::BadLength { len: 129, .. })
        ));
        assert_eq!(
            Token::parse("aaaaaaaaaaaaaaa=").unwrap_err(),
            TokenError::BadAlphabet
        );
        assert_eq!(
            Token::parse("aaaaaaaaaaaaaaaé").unwrap_err(),
            TokenError::BadAlphabet
        );
        assert_eq!(
            Token::parse("aaaaaaaaaaaaaaa\0").unwrap_err(),
            TokenError::BadAlphabet
        );
        // ejabberd's lowercase tokens are accepted too.
        assert!(Token::parse("abcdefghijklmnopqrstuvwx").is_ok());
    }

    #[test]
    fn hashed_keys() {
        let t = "AAECAwQFBgcICQoLDA0ODxAR";
        // SHA-256 of the ASCII text, base64url: a known answer.
        assert_eq!(
            hashed_key("abc"),
            "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert!(matches_stored(t, &hashed_key(t)));
        assert!(matches_stored(t, t));
        assert!(!matches_stored("AAECAwQFBgcICQoLDA0ODxAS", &hashed_key(t)));
        assert!(
            !matches_stored(&hashed_key(t), &hashed_key(t)),
            "a stolen hash is no token"
        );
        assert_eq!(storage_key("", true), Err(TokenError::Missing));
    }

    #[test]
    fn redacted_is_the_first_four_characters_and_the_length() {
        for len in 1..=600 {
            let text: String = "Xb9sT2vR7qLm4KpZ8wYd1eFg-_"
                .chars()
                .cycle()
                .take(len)
                .collect();
            if let Ok(t) = Token::parse(&text) {
                assert_eq!(t.redacted(), format!("{}…({len})", &text[..4]));
            }
        }
    }

    #[test]
    fn equality_is_by_content_and_debug_is_redacted() {
        let a = Token::parse("AAECAwQFBgcICQoLDA0ODxAR").unwrap();
        assert!(a.ct_eq_str("AAECAwQFBgcICQoLDA0ODxAR"));
        assert!(!a.ct_eq_str("AAECAwQFBgcICQoLDA0ODxAS"));
        assert!(!a.ct_eq_str("AAECAwQFBgcICQoLDA0ODxA"));
        assert_eq!(format!("{a:?}"), "Token(AAEC…(24))");
    }
}
