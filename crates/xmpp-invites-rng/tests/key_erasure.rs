//! Forward secrecy of the process's memory, not only of the state page:
//! once a draw has returned, no key that made its output is left on the
//! stack below the caller (copies the block function and the OS seed made
//! there), from which that output could be recomputed.
#![cfg(target_os = "linux")]

use std::thread;

use chacha20::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use xmpp_invites_rng::fill;

/// Stack below the scanning frame that is searched for keys.
const SPAN: usize = 64 * 1024;

/// Draws `out` from a frame 16 KiB deep, so that the generator's frames lie
/// below it, in the stack [`key_below`] then scans.
#[inline(never)]
fn draw_deep(out: &mut [u8; 16]) {
    let pad = [0u8; 16 * 1024];
    std::hint::black_box(&pad);
    fill(out).unwrap();
    std::hint::black_box(&pad);
}

/// How far below this frame a 32-byte key lies whose ChaCha20 keystream
/// holds `out` right after the 32 bytes that became the next key (where the
/// generator's output begins), if any.
#[inline(never)]
fn key_below(out: &[u8; 16]) -> Option<usize> {
    let marker = 0u8;
    let top = std::hint::black_box(&marker as *const u8) as usize;
    let mut stack = vec![0u8; SPAN];
    for (i, byte) in stack.iter_mut().enumerate() {
        // SAFETY: this thread's stack below its stack pointer is mapped
        // (the frames of the calls just made used it; a Rust thread's stack
        // is far larger than SPAN plus this test's frames) and holds plain
        // bytes; it is read, never written.
        *byte = unsafe { std::ptr::read_volatile((top - SPAN + i) as *const u8) };
    }
    let mut block = [0u8; 64];
    (0..SPAN - 32).find_map(|off| {
        let key: [u8; 32] = stack[off..off + 32].try_into().unwrap();
        if key == [0; 32] {
            return None;
        }
        ChaCha20Rng::from_seed(key).fill_bytes(&mut block);
        (block[32..48] == out[..]).then_some(SPAN - off)
    })
}

#[test]
fn no_key_is_left_on_the_stack() {
    // The first draw of a thread seeds from the OS; a draw after 992 bytes
    // makes a new key from the old one.
    for refill in [false, true] {
        let found = thread::spawn(move || {
            if refill {
                fill(&mut [0u8; 1024 - 32]).unwrap();
            }
            let mut out = [0u8; 16];
            draw_deep(&mut out);
            key_below(&out)
        })
        .join()
        .unwrap();
        assert_eq!(
            found, None,
            "refill {refill}: the key of the output is on the stack, this many bytes below the caller"
        );
    }
}
