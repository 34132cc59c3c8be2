//! The two kinds of memory access the compiler must not optimise away:
//! volatile reads and writes of the draw marker (memory a `fork` may wipe
//! behind the compiler's back), and the wipe of stack that held keys.
//!
//! With `page.rs` and `os.rs`, the only `unsafe` code of the crate.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{Ordering, compiler_fence};

/// Writes `value` to `*place`, not reordered with the accesses around it.
pub(crate) fn write(place: &mut u64, value: u64) {
    compiler_fence(Ordering::SeqCst);
    // SAFETY: `place` is a valid, aligned, exclusive reference.
    unsafe { ptr::write_volatile(place, value) };
    compiler_fence(Ordering::SeqCst);
}

/// Reads `*place` from memory, not from a value the compiler kept.
pub(crate) fn read(place: &u64) -> u64 {
    compiler_fence(Ordering::SeqCst);
    // SAFETY: `place` is a valid, aligned reference.
    let value = unsafe { ptr::read_volatile(place) };
    compiler_fence(Ordering::SeqCst);
    value
}

/// Bytes of stack below the caller's frame that [`wipe_stack`] zeroes.
/// The ChaCha20 block function and `getrandom` are called from frames that
/// end well within it (about 1 KiB in release builds; the test
/// `no_key_is_left_on_the_stack` checks every build it runs in).
const WIPE_LEN: usize = 16 * 1024;

/// Zeroes the [`WIPE_LEN`] bytes of stack below the caller's frame, where
/// the frames of the calls it just made kept copies of keys (a key passed
/// by value, the block function's working state). Called by the generator
/// after every new key, so that of the stack the generator used nothing
/// holds the current key or a past one. (Registers a signal saved in its
/// frame on an alternate signal stack are out of reach: see the crate's
/// limits.)
#[inline(never)]
pub(crate) fn wipe_stack() {
    let mut area = MaybeUninit::<[u64; WIPE_LEN / 8]>::uninit();
    let words = area.as_mut_ptr().cast::<u64>();
    for i in 0..WIPE_LEN / 8 {
        // SAFETY: `words.add(i)` is within this frame's own array (i <
        // its length) and aligned for u64; writing needs no initialised
        // value.
        unsafe { ptr::write_volatile(words.add(i), 0) };
    }
    compiler_fence(Ordering::SeqCst);
    std::hint::black_box(&area);
}
