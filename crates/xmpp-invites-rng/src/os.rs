//! The operating system's generator, without a system call per draw where
//! the kernel offers that.
//!
//! Linux 6.11 and later put `getrandom` in the vDSO, the small library the
//! kernel maps into every process: the kernel's own generator, run in the
//! caller's thread from a per-thread state that the kernel keys, rekeys
//! when its pool is reseeded (and when a VM is forked, where the
//! hypervisor reports it), and wipes in the child of every `fork`. glibc
//! 2.41 and later use it for `getrandom(3)`; Debian 12's glibc 2.36 makes
//! the system call. On the project's VM the system call is about 460 ns
//! for 18 bytes, the vDSO about 46 ns.
//!
//! [`fill`] uses the vDSO where it is there and the `getrandom` system call
//! (through the `getrandom` crate) everywhere else: on older kernels, other
//! systems, PowerPC (whose vDSO reports errors as a system call does), C
//! libraries that do not register the vDSO under a name this module looks
//! up, when a thread's state cannot be mapped, from a signal handler that
//! interrupted a draw on its thread, and during thread exit. Both are the
//! OS's generator; no byte comes from a generator of this crate.
//! [`backend`] tells which one the calling thread uses.
//!
//! ```
//! use xmpp_invites::NewInvite;
//! use xmpp_invites_rng::os::{self, OsRng};
//!
//! let invite = NewInvite::account("example.com").create(&mut OsRng, 1_795_268_421).unwrap();
//! assert_eq!(invite.token().as_str().len(), 24);
//! let mut bytes = [0u8; 18];
//! os::fill(&mut bytes).unwrap();
//! println!("{:?}", os::backend()); // Vdso on Linux 6.11+ with glibc, else Syscall
//! ```

/// Where [`fill`] gets the calling thread's bytes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The kernel's `getrandom` in the vDSO (Linux 6.11 and later).
    Vdso,
    /// The `getrandom` system call (or the platform's equivalent, as the
    /// `getrandom` crate chooses).
    Syscall,
}

/// Fills `dst` with bytes from the operating system's generator: the
/// vDSO's `getrandom` where the kernel has it, the system call otherwise.
///
/// Safe across `fork` (the kernel wipes the vDSO's state in the child) and
/// on any thread. A signal handler that interrupts a draw on its own
/// thread and draws too is served by the system call, leaving the
/// interrupted draw's state alone. Not async-signal-safe on a thread's
/// first draw, which maps the thread's state and registers a thread-local
/// destructor.
///
/// # Errors
///
/// The `getrandom` crate's error, where the system call fails (the vDSO
/// failing falls back to it).
pub fn fill(dst: &mut [u8]) -> Result<(), getrandom::Error> {
    let dst = match vdso::fill(dst) {
        0 => dst,
        n if n == dst.len() => return Ok(()),
        n => &mut dst[n..],
    };
    getrandom::fill(dst)
}

/// Which generator the calling thread's draws use now: the vDSO once its
/// state is mapped (or where it can be), else the system call. Maps the
/// thread's state if it has none yet.
pub fn backend() -> Backend {
    if vdso::ready() {
        Backend::Vdso
    } else {
        Backend::Syscall
    }
}

/// A handle to the operating system's generator through [`fill`], for the
/// core's `NewInvite::create` and `Token::generate` (any
/// `rand_core::TryCryptoRng` consumer). Zero-sized and `Copy`; each draw is
/// served on the thread that makes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsRng;

impl rand_core::TryRng for OsRng {
    type Error = getrandom::Error;

    fn try_next_u32(&mut self) -> Result<u32, getrandom::Error> {
        let mut b = [0; 4];
        fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, getrandom::Error> {
        let mut b = [0; 8];
        fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), getrandom::Error> {
        fill(dst)
    }
}

impl rand_core::TryCryptoRng for OsRng {}

/// The vDSO's `getrandom`: found once per process, a state page per thread.
#[cfg(target_os = "linux")]
mod vdso {
    use std::cell::Cell;
    use std::ffi::{CStr, c_int, c_uint, c_void};
    use std::ptr::{self, NonNull};
    use std::sync::atomic::{
        AtomicI32, AtomicPtr, AtomicU8, AtomicUsize, Ordering, compiler_fence,
    };

    /// `ssize_t getrandom(void *buffer, size_t len, unsigned int flags,
    /// void *opaque_state, size_t opaque_len)`, as the vDSO exports it.
    type Getrandom = unsafe extern "C" fn(*mut c_void, usize, c_uint, *mut c_void, usize) -> isize;

    /// What the kernel answers when asked how to allocate states
    /// (`struct vgetrandom_opaque_params` of `<linux/random.h>`).
    #[repr(C)]
    #[derive(Default)]
    struct Params {
        size_of_opaque_state: u32,
        mmap_prot: u32,
        mmap_flags: u32,
        reserved: [u32; 13],
    }

    #[derive(Clone, Copy)]
    struct Vdso {
        getrandom: Getrandom,
        /// The state's size, passed with every call.
        state_len: usize,
        /// How a state must be mapped (the kernel asks for
        /// `MAP_DROPPABLE`: wiped in a forked child, and dropped rather
        /// than swapped under memory pressure).
        prot: c_int,
        flags: c_int,
        /// One page: a state must not straddle a page boundary.
        map_len: usize,
    }

    /// What [`find`] found, kept in atomics rather than a `OnceLock`,
    /// which would block: a signal handler that draws while its thread
    /// is in the first lookup, or the child of a `fork` taken while
    /// another thread was in it, would wait for ever. `find` gives the
    /// same answer every time, so threads that race each look it up and
    /// store the same values; `STATUS` is written last.
    static STATUS: AtomicU8 = AtomicU8::new(UNKNOWN);
    const UNKNOWN: u8 = 0;
    const ABSENT: u8 = 1;
    const PRESENT: u8 = 2;
    static FUNCTION: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
    static STATE_LEN: AtomicUsize = AtomicUsize::new(0);
    static PROT: AtomicI32 = AtomicI32::new(0);
    static FLAGS: AtomicI32 = AtomicI32::new(0);
    static MAP_LEN: AtomicUsize = AtomicUsize::new(0);

    /// The vDSO's function and parameters, or `None` where there is none.
    fn vdso() -> Option<Vdso> {
        let status = match STATUS.load(Ordering::Acquire) {
            UNKNOWN => {
                let status = match find() {
                    Some(v) => {
                        FUNCTION.store(v.getrandom as *mut c_void, Ordering::Relaxed);
                        STATE_LEN.store(v.state_len, Ordering::Relaxed);
                        PROT.store(v.prot, Ordering::Relaxed);
                        FLAGS.store(v.flags, Ordering::Relaxed);
                        MAP_LEN.store(v.map_len, Ordering::Relaxed);
                        PRESENT
                    }
                    None => ABSENT,
                };
                STATUS.store(status, Ordering::Release);
                status
            }
            status => status,
        };
        if status != PRESENT {
            return None;
        }
        let function = FUNCTION.load(Ordering::Relaxed);
        // SAFETY: `function` is the address `find` took from the vDSO's
        // `getrandom` (stored before STATUS said PRESENT, which this
        // thread read with Acquire), and it has this signature.
        let getrandom = unsafe { std::mem::transmute::<*mut c_void, Getrandom>(function) };
        Some(Vdso {
            getrandom,
            state_len: STATE_LEN.load(Ordering::Relaxed),
            prot: PROT.load(Ordering::Relaxed),
            flags: FLAGS.load(Ordering::Relaxed),
            map_len: MAP_LEN.load(Ordering::Relaxed),
        })
    }

    /// Looks `getrandom` up in the vDSO that the dynamic loader registered
    /// (`RTLD_NOLOAD` never loads a file), and asks it for its state
    /// parameters.
    fn find() -> Option<Vdso> {
        // Only where the vDSO's getrandom returns a negative errno on
        // failure and is called through a plain code address. PowerPC's
        // reports errors as a system call does (a positive errno and a
        // condition bit, which Rust cannot see), and big-endian ppc64
        // would need a function descriptor: there the system call serves.
        const USABLE: bool = cfg!(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "loongarch64",
            target_arch = "riscv64",
            target_arch = "s390x"
        ));
        if !USABLE {
            return None;
        }
        // The fallback's first use looks the C library's getrandom up
        // (dlsym), which must not first happen in a signal handler: make
        // it here, on the thread's first draw.
        let _ = getrandom::fill(&mut [0u8; 1]);
        // glibc's names for the vDSO's link map (musl's is linux-gate).
        const LIBRARIES: [&CStr; 3] =
            [c"linux-vdso.so.1", c"linux-vdso64.so.1", c"linux-gate.so.1"];
        // x86_64, LoongArch and RISC-V name it so; arm64 and s390x.
        const SYMBOLS: [&CStr; 2] = [c"__vdso_getrandom", c"__kernel_getrandom"];
        let symbol = LIBRARIES.iter().find_map(|library| {
            // SAFETY: a NUL-terminated name; RTLD_NOLOAD only returns a
            // handle to an object already loaded (the vDSO is never
            // unloaded, so the handle is not closed), else NULL.
            let handle =
                unsafe { libc::dlopen(library.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
            if handle.is_null() {
                return None;
            }
            SYMBOLS.iter().find_map(|name| {
                // SAFETY: a live handle and a NUL-terminated name.
                let address = unsafe { libc::dlsym(handle, name.as_ptr()) };
                (!address.is_null()).then_some(address)
            })
        })?;
        // SAFETY: on the architectures this module is built for, the
        // vDSO's getrandom is a plain function with this signature in
        // every kernel that exports it (Linux 6.11+).
        let getrandom: Getrandom = unsafe { std::mem::transmute::<*mut c_void, Getrandom>(symbol) };
        let mut params = Params::default();
        // SAFETY: the documented query: no buffer, no length, no flags, and
        // an opaque_len of ~0 ask the kernel to write its parameters to
        // the struct that opaque_state points to.
        let queried =
            unsafe { getrandom(ptr::null_mut(), 0, 0, (&raw mut params).cast(), usize::MAX) };
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
        let state_len = params.size_of_opaque_state as usize;
        (queried == 0 && state_len > 0 && state_len <= page).then_some(Vdso {
            getrandom,
            state_len,
            prot: params.mmap_prot as c_int,
            flags: params.mmap_flags as c_int,
            map_len: page,
        })
    }

    /// One thread's state, mapped on first use.
    struct Slot {
        state: Cell<Option<NonNull<c_void>>>,
        /// Mapping failed once on this thread: it uses the system call.
        unmappable: Cell<bool>,
    }

    thread_local! {
        /// Set while the thread draws (or looks the vDSO up), so that a
        /// signal handler that interrupts it and draws too is sent to the
        /// system call: the kernel allows one caller per state, and the
        /// lookup is not async-signal-safe. A `const` thread-local with no
        /// destructor: a handler touching it registers nothing.
        static BUSY: Cell<bool> = const { Cell::new(false) };
        static SLOT: Slot = const {
            Slot {
                state: Cell::new(None),
                unmappable: Cell::new(false),
            }
        };
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            if let (Some(state), Some(vdso)) = (self.state.take(), vdso()) {
                // SAFETY: `state` was mapped by `map` with `vdso.map_len`
                // bytes, read-write; it is taken out of the slot, so it is
                // wiped and unmapped once, and the thread is past its last
                // draw. The volatile writes keep the wipe of the key from
                // being dropped as a dead store.
                unsafe {
                    let bytes = state.as_ptr().cast::<u8>();
                    for i in 0..vdso.state_len {
                        ptr::write_volatile(bytes.add(i), 0);
                    }
                    libc::munmap(state.as_ptr(), vdso.map_len);
                }
            }
        }
    }

    /// Maps one state as the kernel asked.
    fn map(vdso: &Vdso) -> Option<NonNull<c_void>> {
        // SAFETY: an anonymous mapping at an address of the kernel's
        // choosing touches no existing memory; failure is checked.
        let address =
            unsafe { libc::mmap(ptr::null_mut(), vdso.map_len, vdso.prot, vdso.flags, -1, 0) };
        if address == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(address)
    }

    /// Runs `f` with the calling thread's state, looking the vDSO up and
    /// mapping the state first if needed; `None` where there is no vDSO,
    /// the state cannot be mapped, the thread is already drawing (a signal
    /// handler's draw), or the thread is exiting.
    fn with_state<T>(f: impl FnOnce(&Vdso, NonNull<c_void>) -> T) -> Option<T> {
        if BUSY.replace(true) {
            return None;
        }
        // A signal handler on this thread reads the flag: nothing below
        // may move before it is set, nor after it is cleared.
        compiler_fence(Ordering::SeqCst);
        let result = vdso().and_then(|vdso| {
            SLOT.try_with(|slot| {
                if slot.unmappable.get() {
                    return None;
                }
                let state = match slot.state.get() {
                    Some(state) => state,
                    None => {
                        let state = map(&vdso);
                        slot.state.set(state);
                        slot.unmappable.set(state.is_none());
                        state?
                    }
                };
                Some(f(&vdso, state))
            })
            .ok()
            .flatten()
        });
        compiler_fence(Ordering::SeqCst);
        BUSY.set(false);
        result
    }

    /// Fills as much of `dst` as the vDSO gives (all of it, but for an
    /// error or no vDSO) and returns how many bytes that was.
    pub(super) fn fill(dst: &mut [u8]) -> usize {
        if dst.is_empty() {
            return 0;
        }
        with_state(|vdso, state| {
            let mut done = 0;
            while done < dst.len() {
                let rest = &mut dst[done..];
                // SAFETY: `rest` is writable for its length; `state` is
                // this thread's state of `state_len` bytes, mapped as the
                // kernel asked, and no other call is using it (this thread
                // is marked busy, and no other thread knows the state).
                let got = unsafe {
                    (vdso.getrandom)(
                        rest.as_mut_ptr().cast(),
                        rest.len(),
                        0,
                        state.as_ptr(),
                        vdso.state_len,
                    )
                };
                match usize::try_from(got) {
                    Ok(got) if got > 0 && got <= rest.len() => done += got,
                    _ if got == -(libc::EINTR as isize) => {}
                    // Any other answer (an error, nothing, more than was
                    // asked): the system call serves the rest.
                    _ => break,
                }
            }
            done
        })
        .unwrap_or(0)
    }

    /// True where the calling thread's draws go through the vDSO.
    pub(super) fn ready() -> bool {
        with_state(|_, _| ()).is_some()
    }
}

/// No vDSO outside Linux: no bytes, never ready.
#[cfg(not(target_os = "linux"))]
mod vdso {
    pub(super) fn fill(_: &mut [u8]) -> usize {
        0
    }

    pub(super) fn ready() -> bool {
        false
    }
}
