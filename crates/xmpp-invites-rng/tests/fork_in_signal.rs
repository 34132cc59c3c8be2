//! A `fork` from a signal handler that interrupted a draw: the child goes
//! on with the draw on a wiped page, holding values of the interrupted code
//! in registers. It must neither repeat its parent's bytes nor hand out
//! the keystream of the all-zero key; it draws again from a new seed.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use xmpp_invites_rng::fill;

/// Bytes drawn in one call: long enough for a signal to land inside it.
const SIZE: usize = 1 << 20;

static FILLING: AtomicBool = AtomicBool::new(false);
static IS_CHILD: AtomicBool = AtomicBool::new(false);
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Forks when the signal interrupts the draw (a `fork` is async-signal-safe).
extern "C" fn on_signal(_: libc::c_int) {
    if FILLING.load(SeqCst) {
        // SAFETY: fork from a handler; the child only finishes the draw,
        // writes and _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            IS_CHILD.store(true, SeqCst);
        } else {
            CHILD.store(pid, SeqCst);
        }
    }
}

/// One round: a fresh thread draws `SIZE` bytes and is sent SIGUSR1 after
/// `delay`. The parent's bytes, and the child's if the handler forked.
fn round(delay: Duration) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is two writable ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [rd, wr] = fds;
    CHILD.store(0, SeqCst);
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let mut buf = vec![0u8; SIZE];
        // Seeded, as any thread that drew before. The byte drawn also makes
        // the draw below cross RESEED_INTERVAL at its last byte, which then
        // comes from a new seed: so even a child that went on with its
        // parent's key (held in registers) differs from its parent there,
        // and is not taken for a fork after the draw.
        fill(&mut [0u8; 1]).unwrap();
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() } as usize).unwrap();
        FILLING.store(true, SeqCst);
        let ok = fill(&mut buf).is_ok();
        FILLING.store(false, SeqCst);
        if IS_CHILD.load(SeqCst) {
            // SAFETY: write(2) and _exit(2) only, in the forked child.
            unsafe {
                let mut off = 0;
                while off < buf.len() {
                    let w = libc::write(wr, buf[off..].as_ptr().cast(), buf.len() - off);
                    if w <= 0 {
                        libc::_exit(2);
                    }
                    off += w as usize;
                }
                libc::_exit(i32::from(!ok));
            }
        }
        assert!(ok);
        buf
    });
    let tid = rx.recv().unwrap() as libc::pthread_t;
    thread::sleep(delay);
    // SAFETY: the worker is alive until it has received the signal or
    // finished its draw; a finished thread that was not yet joined is
    // still a valid target.
    unsafe { libc::pthread_kill(tid, libc::SIGUSR1) };
    let parent = worker.join().unwrap();
    // SAFETY: the parent's copy of the write end is not used here.
    unsafe { libc::close(wr) };
    let pid = CHILD.load(SeqCst);
    let child = (pid != 0).then(|| {
        let mut bytes = Vec::with_capacity(SIZE);
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            // SAFETY: reads into `chunk`.
            let r = unsafe { libc::read(rd, chunk.as_mut_ptr().cast(), chunk.len()) };
            assert!(r >= 0);
            if r == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..r as usize]);
        }
        let mut status = 0;
        // SAFETY: waits for the child forked in the handler.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        bytes
    });
    // SAFETY: the read end is ours.
    unsafe { libc::close(rd) };
    (parent, child)
}

#[test]
fn a_fork_in_a_handler_during_a_draw_gives_the_child_new_bytes() {
    // SAFETY: installs a handler that only forks and stores atomics.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    // The all-zero key's keystream: what a wiped key would give.
    let mut zero_key = [0u8; 1024];
    ChaCha20Rng::from_seed([0; 32]).fill_bytes(&mut zero_key);
    let needle: [u8; 32] = zero_key[32..64].try_into().unwrap();

    let mut delay = Duration::from_millis(4);
    let (mut forked, mut after_the_draw) = (0, 0);
    for _ in 0..40 {
        let (parent, child) = round(delay);
        if child.as_ref() == Some(&parent) {
            // A fork after the draw fits in the few instructions between
            // `fill` returning and `FILLING` being cleared: rare. Often
            // means the child's page was not wiped at all.
            after_the_draw += 1;
            assert!(
                after_the_draw <= 3,
                "{after_the_draw} children had all their parent's bytes"
            );
        }
        // The signal came after the draw: try sooner. `FILLING` is still
        // set for a moment after `fill` returns, and a fork then hands the
        // child the parent's finished bytes, as any fork would: all of
        // them, which a fork inside the draw never gives (it redraws all).
        let Some(child) = child.filter(|c| *c != parent) else {
            delay /= 2;
            continue;
        };
        forked += 1;
        assert_eq!(child.len(), SIZE);
        let same = parent
            .chunks(16)
            .zip(child.chunks(16))
            .position(|(p, c)| p == c);
        assert_eq!(
            same, None,
            "the child repeated its parent's bytes (16-byte block index)"
        );
        assert!(
            !child.windows(32).any(|w| w == needle),
            "the child handed out the all-zero key's keystream"
        );
        assert!(
            !child.windows(32).any(|w| w.iter().all(|&b| b == 0)),
            "the child handed out 32 zero bytes"
        );
        if forked == 5 {
            break;
        }
        delay += Duration::from_micros(1500);
    }
    assert_eq!(forked, 5, "the signal never landed inside a draw");
}
