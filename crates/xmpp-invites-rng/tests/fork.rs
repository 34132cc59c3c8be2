//! The child of a fork never repeats its parent's output: its state page
//! comes back zeroed (MADV_WIPEONFORK), so it reseeds from the OS first.
#![cfg(target_os = "linux")]

use std::thread;

use xmpp_invites_rng::{fill, reseed_count};

const N: usize = 64;

/// What the child reports: its reseed count before and after drawing, and
/// the bytes it drew.
struct Child {
    reseeds_before: u64,
    reseeds_after: u64,
    bytes: [u8; N],
}

/// Forks; the child draws `N` bytes and writes them back through a pipe,
/// then `_exit`s. It touches no lock that another test thread could hold
/// (no allocation, no printing).
fn fork_and_draw_in_child() -> Child {
    let mut fds = [0; 2];
    // SAFETY: `fds` is two writable ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let [rd, wr] = fds;
    // SAFETY: the child only uses async-signal-safe calls (our fill, which
    // makes at most a getrandom system call and allocates nothing on a
    // thread that has drawn before, write, _exit).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let before = reseed_count();
        let mut msg = [0u8; 16 + N];
        let ok = fill(&mut msg[16..]).is_ok();
        msg[..8].copy_from_slice(&before.to_le_bytes());
        msg[8..16].copy_from_slice(&reseed_count().to_le_bytes());
        // SAFETY: `msg` is readable for its length; _exit ends the child
        // without running the parent's atexit handlers or test harness.
        unsafe {
            let written = libc::write(wr, msg.as_ptr().cast(), msg.len());
            libc::_exit(if ok && written == msg.len() as isize {
                0
            } else {
                1
            });
        }
    }
    // SAFETY: `wr` is the parent's copy of the write end, unused here.
    unsafe { libc::close(wr) };
    let mut msg = [0u8; 16 + N];
    let mut got = 0;
    while got < msg.len() {
        // SAFETY: reads into the unfilled tail of `msg`.
        let r = unsafe { libc::read(rd, msg[got..].as_mut_ptr().cast(), msg.len() - got) };
        assert!(r > 0, "child sent {got} bytes");
        got += r as usize;
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above; `rd` is ours to close.
    unsafe {
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        libc::close(rd);
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    let word = |i: usize| u64::from_le_bytes(msg[i..i + 8].try_into().unwrap());
    Child {
        reseeds_before: word(0),
        reseeds_after: word(8),
        bytes: msg[16..].try_into().unwrap(),
    }
}

fn draw() -> [u8; N] {
    let mut b = [0u8; N];
    fill(&mut b).unwrap();
    b
}

#[test]
fn parent_and_child_draw_different_bytes_after_fork() {
    // In its own thread, so that the count starts at this test's draws.
    thread::spawn(|| {
        for round in 0..20 {
            // The parent's state is seeded and holds unread keystream: a
            // copied state would give the child exactly the parent's next
            // bytes.
            let before = draw();
            let reseeds = reseed_count();
            assert!(reseeds >= 1);
            let child = fork_and_draw_in_child();
            let after = draw();
            assert_eq!(
                child.reseeds_before, 0,
                "round {round}: the child's page was not wiped"
            );
            assert_eq!(
                child.reseeds_after, 1,
                "round {round}: the child did not reseed"
            );
            assert_ne!(
                child.bytes, after,
                "round {round}: child repeated the parent"
            );
            assert_ne!(child.bytes, before, "round {round}");
            assert_ne!(after, before, "round {round}");
            // The parent's state went on untouched.
            assert_eq!(reseed_count(), reseeds);
        }
    })
    .join()
    .unwrap();
}

#[test]
fn a_child_of_a_child_reseeds_too() {
    thread::spawn(|| {
        draw();
        let mut fds = [0; 2];
        // SAFETY: `fds` is two writable ints.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: as in `fork_and_draw_in_child`; the child forks once more
        // and reports through the pipe.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let mine = draw();
            let grandchild = fork_and_draw_in_child();
            let mut msg = [0u8; 2 * N + 1];
            msg[..N].copy_from_slice(&mine);
            msg[N..2 * N].copy_from_slice(&grandchild.bytes);
            msg[2 * N] = u8::try_from(grandchild.reseeds_before * 10 + grandchild.reseeds_after)
                .unwrap_or(255);
            // SAFETY: as in `fork_and_draw_in_child`.
            unsafe {
                let written = libc::write(fds[1], msg.as_ptr().cast(), msg.len());
                libc::_exit(i32::from(written != msg.len() as isize));
            }
        }
        let mine = draw();
        let mut msg = [0u8; 2 * N + 1];
        // SAFETY: the write end is unused here; reads into `msg`.
        unsafe { libc::close(fds[1]) };
        let mut got = 0;
        while got < msg.len() {
            // SAFETY: reads into the unfilled tail of `msg`.
            let r = unsafe { libc::read(fds[0], msg[got..].as_mut_ptr().cast(), msg.len() - got) };
            assert!(r > 0);
            got += r as usize;
        }
        let mut status = 0;
        // SAFETY: waits for our child.
        unsafe {
            libc::waitpid(pid, &mut status, 0);
            libc::close(fds[0]);
        }
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        let (child, grandchild) = (&msg[..N], &msg[N..2 * N]);
        assert_eq!(msg[2 * N], 1, "grandchild: wiped (0) then reseeded (1)");
        assert_ne!(child, &mine[..]);
        assert_ne!(grandchild, &mine[..]);
        assert_ne!(child, grandchild);
    })
    .join()
    .unwrap();
}
