//! Where each thread's generator lives: its own anonymous page, marked
//! `MADV_WIPEONFORK`, so that the child of any `fork` (or `clone` without
//! `CLONE_VM`) finds it zero-filled, reads "not seeded", and reseeds from
//! the OS before its first output.
//!
//! The crate's `unsafe` code is in this file, `mem.rs` and `os.rs`.

use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{Ordering, compiler_fence};

use crate::Error;
use crate::state::State;

/// One thread's slot: the page once mapped, and a flag that keeps a second
/// `&mut State` from ever existing on this thread (a signal handler that
/// draws while the thread is inside `fill` is sent to the OS instead).
struct Slot {
    page: Cell<Option<NonNull<State>>>,
    busy: Cell<bool>,
}

thread_local! {
    static SLOT: Slot = const {
        Slot {
            page: Cell::new(None),
            busy: Cell::new(false),
        }
    };
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(page) = self.page.take() {
            // SAFETY: `page` came from `map_page` (a live mapping of
            // `size_of::<State>()` bytes that nothing else unmaps), the slot
            // is being destroyed, so no reference into it is alive, and it
            // is taken out of the slot so it is unmapped once.
            unsafe { unmap_page(page) };
        }
    }
}

/// Resets the busy flag however `with_state`'s closure ends.
struct Busy<'a>(&'a Cell<bool>);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        // The state's last write comes before the flag says it is free, for
        // a signal handler on this thread (see `with_state`).
        compiler_fence(Ordering::SeqCst);
        self.0.set(false);
    }
}

/// Runs `f` on the calling thread's state, mapping and marking its page on
/// first use. `Ok(None)` when the state cannot be borrowed (re-entered from
/// a signal handler, or the thread is past its thread-local destructors):
/// the caller then draws from the OS.
pub(crate) fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Result<Option<T>, Error> {
    SLOT.try_with(|slot| {
        if slot.busy.replace(true) {
            return Ok(None);
        }
        // A signal handler that runs on this thread reads the flag: the
        // compiler must not move the state's first access before it.
        compiler_fence(Ordering::SeqCst);
        let _busy = Busy(&slot.busy);
        let page = match slot.page.get() {
            Some(page) => page,
            None => {
                let page = map_page()?;
                slot.page.set(Some(page));
                page
            }
        };
        // SAFETY: `page` points to a live, private, read-write mapping of at
        // least `size_of::<State>()` bytes, page-aligned (so aligned for
        // `State`), mapped by this thread's slot and only ever reached
        // through it; `State` is plain integers and byte arrays, so any
        // bytes (zeroes from mmap or from a wipe at fork) are a valid value.
        // The busy flag makes this the only reference to it on this thread,
        // and no other thread knows the pointer.
        let state = unsafe { &mut *page.as_ptr() };
        Ok(Some(f(state)))
    })
    .unwrap_or(Ok(None))
}

/// Reads the calling thread's state without mapping a page; `None` when
/// the thread has none yet (or it is borrowed, or being destroyed).
pub(crate) fn peek<T>(f: impl FnOnce(&State) -> T) -> Option<T> {
    SLOT.try_with(|slot| {
        if slot.busy.get() {
            return None;
        }
        let page = slot.page.get()?;
        // SAFETY: as in `with_state`; the busy flag is clear, so no `&mut`
        // to the state exists on this thread, and this shared borrow ends
        // before this function returns.
        let state = unsafe { &*page.as_ptr() };
        Some(f(state))
    })
    .ok()
    .flatten()
}

/// Maps one private anonymous page for a `State` and marks it
/// `MADV_WIPEONFORK`, and `MADV_DONTDUMP` (best effort) to keep it out of
/// core dumps. Fails, unmapping it again, when the kernel does not know
/// `MADV_WIPEONFORK` (Linux before 4.14 answers `EINVAL`), has no
/// `madvise` (`ENOSYS`) or a seccomp filter forbids it (`EPERM`), or when
/// `madvise` also accepts advice no kernel knows (qemu-user accepts every
/// advice and follows none, so its yes to `MADV_WIPEONFORK` means nothing;
/// BoringSSL's fork detection makes the same check).
fn map_page() -> Result<NonNull<State>, Error> {
    let len = size_of::<State>();
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory; the result is checked below.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(Error::Map { errno: errno() });
    }
    // SAFETY: `addr..addr + len` is the mapping made just above, which
    // nothing else refers to; madvise only changes how the kernel treats
    // it across fork (and in core dumps), and advice -1 changes nothing.
    let refused = unsafe {
        if libc::madvise(addr, len, -1) == 0 {
            Some(Error::AdviceIgnored)
        } else if libc::madvise(addr, len, libc::MADV_WIPEONFORK) != 0 {
            // EINVAL: a kernel before 4.14. ENOSYS: no madvise at all.
            // EPERM: a seccomp filter's answer. None of them passes.
            Some(match errno() {
                errno @ (libc::EINVAL | libc::ENOSYS | libc::EPERM) => {
                    Error::WipeOnForkUnsupported { errno }
                }
                errno => Error::Map { errno },
            })
        } else {
            None
        }
    };
    if let Some(error) = refused {
        // SAFETY: the same fresh mapping, not referenced anywhere.
        unsafe { libc::munmap(addr, len) };
        return Err(error);
    }
    // SAFETY: as for MADV_WIPEONFORK; failure only means the page may
    // appear in a core dump.
    unsafe { libc::madvise(addr, len, libc::MADV_DONTDUMP) };
    NonNull::new(addr.cast::<State>()).ok_or(Error::Map { errno: 0 })
}

/// Zeroes and unmaps a page from `map_page`.
///
/// # Safety
///
/// `page` must come from `map_page`, be unmapped only this once, and have
/// no live reference into it.
unsafe fn unmap_page(page: NonNull<State>) {
    let len = size_of::<State>();
    // SAFETY: per this function's contract the mapping is live, writable and
    // unreferenced. The volatile writes keep the wipe from being dropped as a
    // dead store before munmap.
    unsafe {
        let bytes = page.as_ptr().cast::<u8>();
        for i in 0..len {
            ptr::write_volatile(bytes.add(i), 0);
        }
        libc::munmap(page.as_ptr().cast(), len);
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
