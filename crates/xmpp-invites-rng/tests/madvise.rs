//! How the generator answers the kernels (and emulators) it cannot trust.
//! This test binary defines its own `madvise`, which the crate's calls bind
//! to instead of the C library's, and which answers as the system under
//! test would.
#![cfg(target_os = "linux")]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::thread;

use xmpp_invites_rng::{Error, ForkSafeRng, fill};

/// Linux 4.14 and later: knows MADV_WIPEONFORK, refuses unknown advice.
const LINUX: u8 = 0;
/// qemu-user: says yes to every advice and follows none.
const IGNORES_ALL: u8 = 1;
/// Linux before 4.14: refuses MADV_WIPEONFORK as unknown.
const OLD_LINUX: u8 = 2;
/// Knows MADV_WIPEONFORK but is out of room to split the mapping.
const OUT_OF_MAPPINGS: u8 = 3;
/// A seccomp filter that answers madvise with EPERM.
const FILTERED: u8 = 4;

static SYSTEM: AtomicU8 = AtomicU8::new(LINUX);
/// The tests of this file change `SYSTEM`; one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn fail(errno: libc::c_int) -> libc::c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = errno };
    -1
}

/// This binary's `madvise`. Linux's answers for the advice the crate uses:
/// MADV_WIPEONFORK and MADV_DONTDUMP are taken, any other number is EINVAL.
#[unsafe(no_mangle)]
pub extern "C" fn madvise(
    _addr: *mut libc::c_void,
    _len: libc::size_t,
    advice: libc::c_int,
) -> libc::c_int {
    let known = advice == libc::MADV_WIPEONFORK || advice == libc::MADV_DONTDUMP;
    match SYSTEM.load(SeqCst) {
        IGNORES_ALL => 0,
        OLD_LINUX if advice == libc::MADV_WIPEONFORK => fail(libc::EINVAL),
        OUT_OF_MAPPINGS if advice == libc::MADV_WIPEONFORK => fail(libc::ENOMEM),
        FILTERED => fail(libc::EPERM),
        _ if known => 0,
        _ => fail(libc::EINVAL),
    }
}

/// What a thread that has not drawn yet gets from the generator on `system`.
fn first_draw_on(system: u8) -> (Result<ForkSafeRng, Error>, Result<(), Error>) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    SYSTEM.store(system, SeqCst);
    let got = thread::spawn(|| (ForkSafeRng::new(), fill(&mut [0u8; 18])))
        .join()
        .unwrap();
    SYSTEM.store(LINUX, SeqCst);
    got
}

#[test]
fn runs_where_madvise_knows_wipeonfork_and_refuses_nonsense() {
    let (rng, draw) = first_draw_on(LINUX);
    assert!(rng.is_ok() && draw.is_ok(), "{rng:?} {draw:?}");
}

/// The error a thread's first use of the generator gets on `system`: the
/// same from `ForkSafeRng::new` and from `fill`.
fn refusal_on(system: u8) -> Error {
    let (rng, draw) = first_draw_on(system);
    let err = rng.expect_err("ForkSafeRng::new ran");
    assert_eq!(draw, Err(err), "fill and ForkSafeRng::new disagree");
    err
}

#[test]
fn refuses_a_madvise_that_takes_any_advice() {
    assert_eq!(refusal_on(IGNORES_ALL), Error::AdviceIgnored);
    assert_eq!(Error::AdviceIgnored.code(), "wipeonfork-unsupported");
}

#[test]
fn refuses_a_kernel_without_wipeonfork() {
    assert_eq!(
        refusal_on(OLD_LINUX),
        Error::WipeOnForkUnsupported {
            errno: libc::EINVAL
        }
    );
}

#[test]
fn refuses_a_madvise_that_a_filter_forbids() {
    let err = refusal_on(FILTERED);
    assert_eq!(err, Error::WipeOnForkUnsupported { errno: libc::EPERM });
    assert!(err.is_unsupported());
}

#[test]
fn reports_a_madvise_out_of_memory_as_a_mapping_failure() {
    let err = refusal_on(OUT_OF_MAPPINGS);
    assert_eq!(
        err,
        Error::Map {
            errno: libc::ENOMEM
        }
    );
    assert_eq!(err.code(), "rng-map-failed");
    assert!(!err.is_unsupported());
}
