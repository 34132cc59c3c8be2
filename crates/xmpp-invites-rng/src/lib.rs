//! Token randomness for xmpp-invites beyond the core's `getrandom` call:
//! the operating system's generator without a system call per draw
//! ([`os`]), and an **opt-in** userspace CSPRNG that stays safe across
//! `fork` ([`ForkSafeRng`]).
//!
//! Randomness stays the operating system's by default. The core's `*_os`
//! functions make the `getrandom` system call for each token (about
//! 0.45 µs on the project's VM, most of a 0.7–0.9 µs invite create). The C
//! API and the Lua module draw through [`os::fill`] instead: the same
//! kernel generator, through the vDSO where the kernel has it (Linux 6.11
//! and later, about 0.05 µs), the system call elsewhere. A Rust host does
//! the same by passing [`os::OsRng`] to the core.
//!
//! A host that wants no kernel call at all says so explicitly, by passing
//! a [`ForkSafeRng`] where the core takes a `rand_core::TryCryptoRng`:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use xmpp_invites::NewInvite;
//! use xmpp_invites_rng::ForkSafeRng;
//!
//! // Fails (rather than running unsafely) without MADV_WIPEONFORK.
//! let mut rng = ForkSafeRng::new()?;
//! let invite = NewInvite::account("example.com").create(&mut rng, 1_795_268_421)?;
//! assert_eq!(invite.token().as_str().len(), 24);
//!
//! // Or, from a binding, the plain function:
//! let mut bytes = [0u8; 18];
//! xmpp_invites_rng::fill(&mut bytes)?;
//! # Ok(())
//! # }
//! ```
//!
//! # What it is
//!
//! One generator per thread (no locks, no shared state):
//!
//! - **ChaCha20** (the `chacha20` crate's block function), keyed with 32
//!   bytes from the OS (`getrandom`).
//! - **Fast key erasure**: each key makes one 1 KiB block of keystream; its
//!   first 32 bytes become the next key and are erased, the other 992 are
//!   output, and every byte handed out is erased from the buffer at once. So
//!   the state never holds anything from which past output can be
//!   recomputed (forward secrecy). Nor does the stack below the generator:
//!   the copies of keys that the block function and the OS seed leave
//!   there are overwritten before a draw returns. (Registers are not: a
//!   signal that interrupts the block function saves them in its frame,
//!   which on an alternate signal stack nothing overwrites.)
//! - **Reseeding**: after [`RESEED_INTERVAL`] (1 MiB) of output from one
//!   seed, the next draw takes a fresh 32-byte key from the OS. A compromised
//!   state thus predicts at most 1 MiB of future output per thread.
//!
//! # How fork safety works
//!
//! A userspace generator copied by `fork` would give parent and child the
//! same bytes, hence the same invite tokens. Checking the PID does not
//! prevent it: PIDs are reused, so a grandchild can get its grandparent's
//! PID. Instead each thread's state lives in its own anonymous page marked
//! `madvise(MADV_WIPEONFORK)` (Linux 4.14 and later): the kernel hands the
//! child of every `fork`, and of every `clone` without `CLONE_VM`, that page
//! filled with zeroes. All zeroes reads as "not seeded", so the child's first
//! draw takes a new key from the OS before it produces any output. The
//! parent keeps its state. The page is also `MADV_DONTDUMP`, so it stays out
//! of core dumps.
//!
//! Without `MADV_WIPEONFORK` (Linux before 4.14, or any other system) there
//! is no unsafe fallback: [`ForkSafeRng::new`] and [`fill`] return
//! [`Error::WipeOnForkUnsupported`] or [`Error::UnsupportedPlatform`], and
//! the host uses the OS's generator instead (the core's `create_os`). Nor
//! where `madvise` says yes to advice no kernel knows, as qemu-user does
//! to every advice while following none: [`Error::AdviceIgnored`].
//!
//! A `fork` from a signal handler that interrupted a draw is caught too:
//! each draw marks the page when it starts and checks the mark when it
//! ends, and a child that finds it wiped draws the whole request again
//! from a new seed.
//!
//! # Limits
//!
//! - **VM snapshots, VM clones and process checkpoint/restore** (CRIU) copy
//!   the page without any fork: two restored copies produce the same output
//!   until their next reseed (at most 1 MiB each). Nothing here detects it;
//!   use the OS's generator on machines that are cloned from snapshots.
//! - **`vfork`, `posix_spawn`, `clone(CLONE_VM)`**: the child runs in the
//!   parent's memory until it calls `exec` or `_exit`, the only things POSIX
//!   lets it do. If it drew anyway, it would advance the parent's own state,
//!   so no byte would be handed out twice, but that is outside the contract.
//! - **Threads**: each thread maps one page on first use and seeds it from
//!   the OS, and unmaps it (zeroed) when the thread exits. A
//!   [`ForkSafeRng`] is a zero-sized handle: moved to another thread it
//!   draws from that thread's generator, which may fail there if the page
//!   cannot be mapped.
//! - **Signal handlers**: not async-signal-safe (the first use on a thread
//!   maps a page and registers a thread-local destructor). A draw that
//!   interrupts a draw on the same thread, or comes from a thread-local
//!   destructor after the state is gone, is served by the OS directly.
//! - **Memory disclosure**: an attacker who reads the process's memory
//!   learns the current key, and so the output until the next reseed, not
//!   past output, except from a key that a signal caught in the block
//!   function's registers and saved on an alternate signal stack. The page
//!   is not `mlock`ed: it can reach swap.
//! - **Time**: reseeding counts output only; a thread that draws little
//!   keeps one seed (with a new key every 992 bytes) for a long time.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod mem;
pub mod os;
#[cfg(target_os = "linux")]
mod page;
mod state;

pub use state::RESEED_INTERVAL;

/// Why the generator could not produce output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The kernel refused `madvise(MADV_WIPEONFORK)` (Linux before 4.14
    /// answers `EINVAL`, a kernel without `madvise` `ENOSYS`, a seccomp
    /// filter may answer `EPERM`): the state could not be made fork-safe,
    /// so the generator is not used. Draw from the OS instead.
    #[error(
        "MADV_WIPEONFORK is not available (errno {errno}): the userspace generator would not be fork-safe; use the OS's generator"
    )]
    WipeOnForkUnsupported {
        /// `errno` from `madvise`.
        errno: i32,
    },
    /// `madvise` accepted advice that no kernel knows, as emulators such
    /// as qemu-user do (they answer every `madvise` with success and do
    /// nothing), so its acceptance of `MADV_WIPEONFORK` proves nothing: the
    /// generator is not used. Draw from the OS instead.
    #[error(
        "madvise accepts unknown advice here (an emulator?), so MADV_WIPEONFORK cannot be trusted: the userspace generator would not be fork-safe; use the OS's generator"
    )]
    AdviceIgnored,
    /// Not Linux: there is no `MADV_WIPEONFORK`, so the generator is not
    /// used. Draw from the OS instead.
    #[error(
        "the fork-safe userspace generator needs Linux's MADV_WIPEONFORK; use the OS's generator"
    )]
    UnsupportedPlatform,
    /// `mmap` could not map the thread's state page, or `madvise` could not
    /// mark it for another reason than not knowing `MADV_WIPEONFORK` (such
    /// as `ENOMEM` when the process has too many mappings).
    #[error("the generator's state page could not be mapped (errno {errno})")]
    Map {
        /// `errno` from `mmap` or `madvise`.
        errno: i32,
    },
    /// The OS's generator failed while seeding.
    #[error("the OS random number generator failed: {0}")]
    Os(getrandom::Error),
}

impl Error {
    /// True where the generator cannot be made fork-safe on this system at
    /// all (not Linux; no `MADV_WIPEONFORK`, no `madvise` or one a filter
    /// forbids; or an emulator's `madvise` that takes any advice),
    /// false for a failure that may pass (no mapping, no seed from the OS).
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            Self::WipeOnForkUnsupported { .. } | Self::AdviceIgnored | Self::UnsupportedPlatform
        )
    }

    /// A stable, machine-readable name for this error (kebab-case).
    pub fn code(&self) -> &'static str {
        match self {
            Self::WipeOnForkUnsupported { .. } | Self::AdviceIgnored => "wipeonfork-unsupported",
            Self::UnsupportedPlatform => "unsupported-platform",
            Self::Map { .. } => "rng-map-failed",
            Self::Os(_) => "rng-failure",
        }
    }
}

/// Fills `dst` from the calling thread's generator, seeding it from the OS
/// first if this thread (or this process, after a `fork`) has not yet.
///
/// Cheap per call (a thread-local lookup and a copy out of the keystream
/// buffer), takes no lock, and needs no handle: made for bindings. An empty
/// `dst` maps and seeds the thread's state without output.
///
/// # Errors
///
/// [`Error::WipeOnForkUnsupported`], [`Error::AdviceIgnored`] or
/// [`Error::UnsupportedPlatform`] where fork safety cannot be had
/// ([`Error::is_unsupported`]), [`Error::Map`] if the state page cannot
/// be mapped, [`Error::Os`] if seeding from the OS fails. After an error
/// `dst` may be partly written and must not be used.
pub fn fill(dst: &mut [u8]) -> Result<(), Error> {
    #[cfg(target_os = "linux")]
    {
        match page::with_state(|state| state.fill(&mut *dst))? {
            Some(result) => result.map_err(Error::Os),
            // Re-entered on this thread, or called during thread exit.
            None => getrandom::fill(dst).map_err(Error::Os),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dst;
        Err(Error::UnsupportedPlatform)
    }
}

/// How many times the calling thread's generator has taken a seed from the
/// OS since the thread first used it, or since this process was forked (the
/// count lives in the page the fork wipes, so a child starts from 0). One
/// after the first draw, then one more per [`RESEED_INTERVAL`] of output.
pub fn reseed_count() -> u64 {
    #[cfg(target_os = "linux")]
    {
        page::peek(state::State::reseeds).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// A handle to the calling thread's fork-safe generator, for the core's
/// `NewInvite::create` and `Token::generate` (any `rand_core::TryCryptoRng`
/// consumer). Zero-sized and `Copy`: every draw goes to the thread that
/// makes it, through [`fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkSafeRng {
    _private: (),
}

impl ForkSafeRng {
    /// Checks that the generator can run here (maps and seeds the calling
    /// thread's state), and returns a handle to it.
    ///
    /// # Errors
    ///
    /// As [`fill`]: notably [`Error::WipeOnForkUnsupported`] on a kernel
    /// without `MADV_WIPEONFORK`, where the caller should use the OS's
    /// generator.
    pub fn new() -> Result<Self, Error> {
        fill(&mut [])?;
        Ok(Self { _private: () })
    }
}

impl rand_core::TryRng for ForkSafeRng {
    type Error = Error;

    fn try_next_u32(&mut self) -> Result<u32, Error> {
        let mut b = [0; 4];
        fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Error> {
        let mut b = [0; 8];
        fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Error> {
        fill(dst)
    }
}

impl rand_core::TryCryptoRng for ForkSafeRng {}
