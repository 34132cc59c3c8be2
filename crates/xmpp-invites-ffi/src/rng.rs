//! Randomness: the OS by default, or bytes the caller supplies (for
//! deterministic tests and for hosts with their own CSPRNG).

use rand_core::{TryCryptoRng, TryRng};

use crate::error::{Fail, xi_result};
use crate::strings::arg_bytes;

/// The random source failed: the caller's bytes ran out, or the OS said no.
#[derive(Debug)]
pub(crate) struct Exhausted(&'static str);

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Exhausted {}

/// Hands out the caller's bytes in order, once.
pub(crate) struct SuppliedRng<'a> {
    bytes: &'a [u8],
}

impl TryRng for SuppliedRng<'_> {
    type Error = Exhausted;
    fn try_next_u32(&mut self) -> Result<u32, Exhausted> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Exhausted> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Exhausted> {
        if dst.len() > self.bytes.len() {
            return Err(Exhausted("the supplied random bytes ran out"));
        }
        let (now, rest) = self.bytes.split_at(dst.len());
        dst.copy_from_slice(now);
        self.bytes = rest;
        Ok(())
    }
}

// The caller vouches for its bytes; with NULL the OS is used.
impl TryCryptoRng for SuppliedRng<'_> {}

/// Runs `f` with the OS CSPRNG (`random` NULL) or the supplied bytes.
///
/// # Safety
/// `random` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn with_rng<T>(
    random: *const u8,
    len: usize,
    f: impl FnOnce(&mut dyn TryCryptoRng<Error = Exhausted>) -> Result<T, Fail>,
) -> Result<T, Fail> {
    if random.is_null() {
        if len != 0 {
            return Err(Fail::new(
                xi_result::NullArgument,
                "random is NULL but random_len is not 0",
            ));
        }
        return f(&mut OsRng);
    }
    // SAFETY: as the caller promised.
    let bytes = unsafe { arg_bytes(random, len, "random") }?;
    f(&mut SuppliedRng { bytes })
}

/// The OS generator behind the same error type as [`SuppliedRng`].
struct OsRng;

impl TryRng for OsRng {
    type Error = Exhausted;
    fn try_next_u32(&mut self) -> Result<u32, Exhausted> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Exhausted> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Exhausted> {
        getrandom::fill(dst).map_err(|_| Exhausted("the operating system's random source failed"))
    }
}

impl TryCryptoRng for OsRng {}
