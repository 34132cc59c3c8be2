//! The OS generator of `xmpp_invites_rng::os`: the vDSO's `getrandom` where
//! the kernel has it, and what must hold whichever backend serves a draw.
#![cfg(target_os = "linux")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use rand_core::TryRng;
use xmpp_invites_rng::os::{self, Backend, OsRng};

/// The running kernel's (major, minor).
fn kernel() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release.trim().split(['.', '-']);
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

/// Where this crate must find the vDSO's getrandom: x86_64 with glibc (which
/// registers the vDSO as linux-vdso.so.1) on Linux 6.11 or later.
fn vdso_expected() -> bool {
    cfg!(all(target_arch = "x86_64", target_env = "gnu")) && kernel() >= (6, 11)
}

#[test]
fn the_vdso_serves_draws_where_the_kernel_has_it() {
    let backend = os::backend();
    if vdso_expected() {
        assert_eq!(backend, Backend::Vdso, "kernel {:?}", kernel());
    }
    // Every thread maps its own state.
    let backends: Vec<Backend> = (0..4)
        .map(|_| thread::spawn(os::backend))
        .map(|t| t.join().unwrap())
        .collect();
    assert!(backends.iter().all(|b| *b == backend), "{backends:?}");
}

/// Installs a seccomp filter in the calling (forked, single-threaded)
/// process that makes the getrandom system call fail with EPERM.
#[cfg(target_arch = "x86_64")]
fn forbid_getrandom_syscall() -> bool {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let filter = [
        // seccomp_data: nr at offset 0, arch at 4.
        stmt(load, 4),
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(load, 0),
        jeq(libc::SYS_getrandom as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with a valid, live filter program; it only restricts
    // this process from now on.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &raw const program,
            ) == 0
    }
}

/// With the getrandom system call forbidden, draws still come: the vDSO
/// serves them without it (so `backend()` saying Vdso is not just a mapped
/// state while the kernel quietly makes the call). Where the vDSO is not
/// expected, it only says so.
#[test]
fn the_vdso_draws_without_the_system_call() {
    if !vdso_expected() {
        println!(
            "no vDSO getrandom expected here (kernel {:?}): not checked",
            kernel()
        );
        return;
    }
    #[cfg(target_arch = "x86_64")]
    thread::spawn(|| {
        os::fill(&mut [0u8; 16]).unwrap();
        // SAFETY: the child draws (no allocation: the thread drew before),
        // makes prctl and getrandom system calls, and _exits with what it
        // found; nothing else.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // The fork wiped the state: the first draw takes a new key
            // from the kernel, through the system call.
            let rekeyed = os::fill(&mut [0u8; 64]).is_ok();
            let forbidden = forbid_getrandom_syscall();
            let mut buf = [0u8; 16];
            // SAFETY: a raw getrandom into a 16-byte buffer.
            let raw = unsafe { libc::syscall(libc::SYS_getrandom, buf.as_mut_ptr(), 16, 0) };
            let raw_refused =
                raw == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            // A kernel reseed in between makes the vDSO take a new key
            // through the (now forbidden) call: one failure is allowed.
            let failures = (0..100).filter(|_| os::fill(&mut buf).is_err()).count();
            let code = if !rekeyed {
                2
            } else if !forbidden {
                3
            } else if !raw_refused {
                4
            } else if failures > 1 {
                5
            } else {
                0
            };
            // SAFETY: ends the child without the parent's handlers.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "the child died: {status:#x}");
        let code = libc::WEXITSTATUS(status);
        assert_eq!(
            code,
            0,
            "{}",
            match code {
                2 => "the child could not draw after the fork",
                3 => "the seccomp filter could not be installed",
                4 => "the filter did not forbid the system call",
                5 => "draws failed without the system call: the vDSO did not serve them",
                _ => "?",
            }
        );
    })
    .join()
    .unwrap();
}

/// A draw from another thread-local's destructor, after this module's
/// state is gone (thread-local destructors run in reverse order of
/// registration), is served by the system call.
#[test]
fn draws_in_a_thread_local_destructor() {
    struct DrawOnDrop(std::sync::mpsc::Sender<Option<[u8; 16]>>);
    impl Drop for DrawOnDrop {
        fn drop(&mut self) {
            let mut b = [0u8; 16];
            let _ = self.0.send(os::fill(&mut b).ok().map(|()| b));
        }
    }
    thread_local! {
        static GUARD: std::cell::RefCell<Option<DrawOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        // Registered first, so destroyed after the state's slot.
        GUARD.with_borrow_mut(|g| *g = Some(DrawOnDrop(tx)));
        let mut b = [0u8; 16];
        os::fill(&mut b).unwrap();
    })
    .join()
    .unwrap();
    let drawn = rx.recv().unwrap().expect("the destructor's draw failed");
    assert_ne!(drawn, [0u8; 16]);
}

#[test]
fn fills_every_length_with_fresh_bytes() {
    for len in [
        0usize,
        1,
        15,
        16,
        18,
        31,
        32,
        33,
        255,
        256,
        257,
        4096,
        1 << 20,
    ] {
        let mut a = vec![0u8; len];
        let mut b = vec![0u8; len];
        os::fill(&mut a).unwrap();
        os::fill(&mut b).unwrap();
        if len >= 16 {
            assert_ne!(a, b, "two draws of {len} bytes");
            assert!(a.iter().any(|&x| x != 0), "{len} zero bytes");
        }
        if len >= 1 << 20 {
            // Every byte value turns up in 1 MiB of random bytes (the
            // chance that one is missing is about 256 * e^-4096).
            let seen: HashSet<u8> = a.iter().copied().collect();
            assert_eq!(seen.len(), 256, "{len} bytes");
        }
    }
    // Through the rand_core handle too.
    let (x, y) = (OsRng.try_next_u64().unwrap(), OsRng.try_next_u64().unwrap());
    assert_ne!(x, y);
}

#[test]
fn threads_never_share_output() {
    let draws: Vec<[u8; 16]> = (0..8)
        .map(|_| {
            thread::spawn(|| {
                (0..2_000)
                    .map(|_| {
                        let mut b = [0u8; 16];
                        os::fill(&mut b).unwrap();
                        b
                    })
                    .collect::<Vec<_>>()
            })
        })
        .flat_map(|t| t.join().unwrap())
        .collect();
    let distinct: HashSet<_> = draws.iter().collect();
    assert_eq!(distinct.len(), draws.len());
}

/// Forks after the parent's state holds unread output; the child draws
/// `N` bytes and writes them, with its backend, to a pipe.
const N: usize = 64;

fn fork_and_draw_in_child() -> ([u8; N], bool) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is two writable ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [rd, wr] = fds;
    // SAFETY: the child only draws (a thread that drew before: no
    // allocation), writes and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut msg = [0u8; N + 1];
        let ok = os::fill(&mut msg[..N]).is_ok();
        msg[N] = u8::from(os::backend() == Backend::Vdso);
        // SAFETY: `msg` is readable for its length; _exit skips the
        // parent's atexit handlers and the test harness.
        unsafe {
            let written = libc::write(wr, msg.as_ptr().cast(), msg.len());
            libc::_exit(i32::from(!(ok && written == msg.len() as isize)));
        }
    }
    let mut msg = [0u8; N + 1];
    let mut got = 0;
    // SAFETY: `wr` is the parent's copy, unused; reads go into the unfilled
    // tail of `msg`; waits for the child forked above.
    unsafe {
        libc::close(wr);
        while got < msg.len() {
            let r = libc::read(rd, msg[got..].as_mut_ptr().cast(), msg.len() - got);
            assert!(r > 0, "child sent {got} bytes");
            got += r as usize;
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        libc::close(rd);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
    (msg[..N].try_into().unwrap(), msg[N] == 1)
}

#[test]
fn parent_and_child_draw_different_bytes_after_fork() {
    thread::spawn(|| {
        for round in 0..20 {
            // The vDSO generates a batch ahead and keeps the rest in the
            // state: a state the child kept would give it exactly the
            // parent's next bytes.
            let mut before = [0u8; N];
            os::fill(&mut before).unwrap();
            let (child, child_vdso) = fork_and_draw_in_child();
            let mut after = [0u8; N];
            os::fill(&mut after).unwrap();
            assert_ne!(child, after, "round {round}: the child repeated the parent");
            assert_ne!(child, before, "round {round}");
            assert_eq!(
                child_vdso,
                os::backend() == Backend::Vdso,
                "round {round}: the child changed backend"
            );
        }
    })
    .join()
    .unwrap();
}

static HANDLED: AtomicUsize = AtomicUsize::new(0);
static HANDLER_FAILED: AtomicBool = AtomicBool::new(false);
/// The handler's draws, each as two words.
static HANDLER_DRAWS: [[AtomicU64; 2]; 4096] =
    [const { [AtomicU64::new(0), AtomicU64::new(0)] }; 4096];

/// Draws from a signal handler: where it interrupted a draw on the thread,
/// the system call serves it and the interrupted draw's state is left
/// alone. (The kernel's vDSO also refuses a state that is in use, so this
/// checks the two together, not the crate's busy flag alone.)
extern "C" fn on_signal(_: libc::c_int) {
    let i = HANDLED.load(SeqCst);
    if i >= 4096 {
        return;
    }
    let mut b = [0u8; 16];
    if os::fill(&mut b).is_err() {
        HANDLER_FAILED.store(true, SeqCst);
    }
    let [lo, hi] = &HANDLER_DRAWS[i];
    lo.store(u64::from_le_bytes(b[..8].try_into().unwrap()), SeqCst);
    hi.store(u64::from_le_bytes(b[8..].try_into().unwrap()), SeqCst);
    HANDLED.store(i + 1, SeqCst);
}

#[test]
fn draws_from_a_signal_handler_that_interrupts_draws() {
    // SAFETY: installs the handler for SIGUSR2, which nothing else in this
    // test binary sends; it is only ever sent to the drawing thread.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let drawer = {
        let stop = stop.clone();
        thread::spawn(move || {
            // The thread's state is mapped before any signal comes.
            os::fill(&mut [0u8; 1]).unwrap();
            // SAFETY: pthread_self has no preconditions.
            tx.send(unsafe { libc::pthread_self() }).unwrap();
            let mut mine = HashSet::new();
            while !stop.load(SeqCst) {
                let mut b = [0u8; 16];
                os::fill(&mut b).unwrap();
                assert!(mine.insert(b), "the thread drew the same bytes twice");
            }
            mine
        })
    };
    let target = rx.recv().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) && HANDLED.load(SeqCst) < 4000 {
        // SAFETY: `target` is the drawing thread, alive until `stop`.
        assert_eq!(unsafe { libc::pthread_kill(target, libc::SIGUSR2) }, 0);
        thread::sleep(Duration::from_micros(50));
    }
    stop.store(true, SeqCst);
    let mut mine = drawer.join().unwrap();
    let handled = HANDLED.load(SeqCst);
    assert!(handled > 0, "no signal arrived");
    assert!(!HANDLER_FAILED.load(SeqCst));
    for [lo, hi] in &HANDLER_DRAWS[..handled] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&lo.load(SeqCst).to_le_bytes());
        b[8..].copy_from_slice(&hi.load(SeqCst).to_le_bytes());
        assert!(mine.insert(b), "a handler's draw repeated a draw");
    }
}
