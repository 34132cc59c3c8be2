//! Randomness: the OS by default, or bytes the caller supplies (for
//! deterministic tests and for hosts with their own CSPRNG), or, when the
//! host opts in with `xi_rng_select`, the fork-safe userspace generator of
//! the `xmpp-invites-rng` crate.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};

use rand_core::{TryCryptoRng, TryRng};

use crate::error::{Fail, guard, xi_result};
use crate::strings::arg_slice;

/// Where the random bytes of tokens come from when a call is given none
/// (`random` NULL): `xi_rng_select`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_rng {
    /// The operating system's generator: the kernel's `getrandom` through
    /// the vDSO where the kernel has it (Linux 6.11 and later, with
    /// glibc), the `getrandom` system call elsewhere. The default.
    Os = 0,
    /// Opt-in: a per-thread ChaCha20 generator seeded from the OS, with
    /// fast key erasure, reseeded every 1 MiB, whose state the kernel wipes
    /// in the child of every `fork` (`MADV_WIPEONFORK`), so parent and child
    /// never share output. Not safe for machines restored from VM
    /// snapshots or process checkpoints (see the `xmpp-invites-rng` crate).
    ForkSafe = 1,
}

/// The process-wide choice (`xi_rng` as a number).
static SELECTED: AtomicU32 = AtomicU32::new(xi_rng::Os as u32);

/// Selects where tokens' random bytes come from for every later call in
/// the process that is given none: `XI_RNG_OS` (the default) or
/// `XI_RNG_FORK_SAFE` (opt-in, see `xi_rng`). Selecting `XI_RNG_FORK_SAFE`
/// seeds the calling thread's generator at once and fails with
/// `XI_RESULT_RNG_UNSUPPORTED` where the system lacks `MADV_WIPEONFORK`
/// (Linux before 4.14, other systems, emulators that ignore `madvise`), or
/// `XI_RESULT_RNG_FAILURE` where its page cannot be mapped or the OS gives
/// no seed: the choice then stays as it was.
/// `XI_RESULT_INVALID_ENUM` for another number.
#[unsafe(no_mangle)]
pub extern "C" fn xi_rng_select(source: u32) -> xi_result {
    guard(|| {
        let source = match source {
            0 => xi_rng::Os,
            1 => xi_rng::ForkSafe,
            other => {
                return Err(Fail::new(
                    xi_result::InvalidEnum,
                    format!("{other} is not an xi_rng"),
                ));
            }
        };
        if source == xi_rng::ForkSafe {
            xmpp_invites_rng::fill(&mut []).map_err(|e| {
                if e.is_unsupported() {
                    Fail::new(
                        xi_result::RngUnsupported,
                        format!("the fork-safe generator cannot run here: {e}"),
                    )
                } else {
                    Fail::new(
                        xi_result::RngFailure,
                        format!("the fork-safe generator failed: {e}"),
                    )
                }
            })?;
        }
        SELECTED.store(source as u32, Ordering::Relaxed);
        Ok(())
    })
}

/// The `xi_rng` selected now.
#[unsafe(no_mangle)]
pub extern "C" fn xi_rng_selected() -> xi_rng {
    if SELECTED.load(Ordering::Relaxed) == xi_rng::ForkSafe as u32 {
        xi_rng::ForkSafe
    } else {
        xi_rng::Os
    }
}

/// How the operating system's generator (`XI_RNG_OS`) serves the calling
/// thread: `xi_rng_os_backend`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum xi_rng_backend {
    /// The kernel's `getrandom` in the vDSO (Linux 6.11 and later, with
    /// glibc, on x86_64, arm64, LoongArch, RISC-V and s390x): no system
    /// call per token.
    Vdso = 0,
    /// The `getrandom` system call: older kernels, other systems, and
    /// processes that hide the vDSO (valgrind does).
    Syscall = 1,
}

/// How `XI_RNG_OS` gets its bytes on the calling thread:
/// `XI_RNG_BACKEND_VDSO` or `XI_RNG_BACKEND_SYSCALL`. Maps the thread's
/// vDSO state if it has none yet. Either way the bytes are the kernel's.
#[unsafe(no_mangle)]
pub extern "C" fn xi_rng_os_backend() -> xi_rng_backend {
    match std::panic::catch_unwind(xmpp_invites_rng::os::backend) {
        Ok(xmpp_invites_rng::os::Backend::Vdso) => xi_rng_backend::Vdso,
        _ => xi_rng_backend::Syscall,
    }
}

/// The random source failed: the caller's bytes ran out, or the OS said no.
#[derive(Debug)]
pub(crate) struct Exhausted(Cow<'static, str>);

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Exhausted {}

/// Where one call's random bytes come from, behind one error type.
enum Source<'a> {
    /// The operating system (`xmpp_invites_rng::os`: the vDSO's
    /// `getrandom`, or the system call).
    Os,
    /// The opt-in fork-safe generator of `xmpp-invites-rng`.
    ForkSafe,
    /// The caller's bytes, handed out in order, once.
    Supplied(&'a [u8]),
}

impl TryRng for Source<'_> {
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
        match self {
            Self::Os => xmpp_invites_rng::os::fill(dst).map_err(|e| {
                Exhausted(format!("the operating system's random source failed: {e}").into())
            }),
            Self::ForkSafe => xmpp_invites_rng::fill(dst)
                .map_err(|e| Exhausted(format!("the fork-safe generator failed: {e}").into())),
            Self::Supplied(bytes) => {
                if dst.len() > bytes.len() {
                    return Err(Exhausted("the supplied random bytes ran out".into()));
                }
                let (now, rest) = bytes.split_at(dst.len());
                dst.copy_from_slice(now);
                *bytes = rest;
                Ok(())
            }
        }
    }
}

// The caller vouches for the bytes it supplies.
impl TryCryptoRng for Source<'_> {}

/// Runs `f` with the selected generator (`random` NULL) or the supplied
/// bytes.
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
        return match xi_rng_selected() {
            xi_rng::Os => f(&mut Source::Os),
            xi_rng::ForkSafe => f(&mut Source::ForkSafe),
        };
    }
    // SAFETY: as the caller promised.
    let bytes = unsafe { arg_slice(random, len, "random") }?;
    f(&mut Source::Supplied(bytes))
}
