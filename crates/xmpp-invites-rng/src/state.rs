//! The generator itself, in safe code: ChaCha20 with fast key erasure,
//! reseeded from the OS. Where its state lives (and why that makes it
//! fork-safe) is `page.rs`'s business.

use chacha20::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::mem;

/// Output bytes drawn from one OS seed before the next draw reseeds from
/// the OS: 1 MiB.
pub const RESEED_INTERVAL: u64 = 1 << 20;

/// Keystream bytes made per ChaCha20 key; the first [`KEY_LEN`] become the
/// next key (fast key erasure), the rest is output.
pub(crate) const BUF_LEN: usize = 1024;
const KEY_LEN: usize = 32;

/// One thread's generator. All zeroes is a valid value and means "not
/// seeded": that is what `mmap` hands out and what `MADV_WIPEONFORK` leaves
/// in a forked child.
///
/// Invariant: `buf[..pos]` is all zeroes (bytes already handed out, or the
/// next key, are erased at once), so the state never holds past output.
#[repr(C)]
pub(crate) struct State {
    /// Nonzero once seeded from the OS in this process.
    seeded: u64,
    /// Set at the start of every draw and read back at its end (volatile,
    /// in [`State::fill`]): zero at the end means a `fork` wiped the page
    /// during the draw, in a signal handler that interrupted it, and this
    /// process is the child.
    drawing: u64,
    /// Output bytes handed out since the last OS seed.
    since_seed: u64,
    /// OS seeds taken since the page was mapped or wiped.
    reseeds: u64,
    /// Next unread byte of `buf`.
    pos: u64,
    /// The ChaCha20 key for the next refill.
    key: [u8; KEY_LEN],
    /// Keystream not yet handed out, after `pos`.
    buf: [u8; BUF_LEN],
}

impl State {
    /// A fresh, unseeded state (all zeroes).
    pub(crate) const fn zeroed() -> Self {
        Self {
            seeded: 0,
            drawing: 0,
            since_seed: 0,
            reseeds: 0,
            pos: 0,
            key: [0; KEY_LEN],
            buf: [0; BUF_LEN],
        }
    }

    /// How often this state was seeded from the OS.
    pub(crate) fn reseeds(&self) -> u64 {
        self.reseeds
    }

    /// Fills `dst`. Seeds first when the state is unseeded (first use, or a
    /// child after `fork`), reseeds after [`RESEED_INTERVAL`] bytes of
    /// output. An OS failure is returned as is; no output is made from a
    /// state that needed a seed it could not get.
    ///
    /// A `fork` between two draws wipes the page, and the child's next draw
    /// seeds anew. A `fork` during a draw (from a signal handler that
    /// interrupted it) leaves the child in the middle of it, with bytes
    /// copied before the fork (its parent's too) and values the interrupted
    /// code held in registers, which it writes back to the wiped page. The
    /// draw marker tells: the child forgets the whole state and draws
    /// `dst` again from a new seed.
    pub(crate) fn fill(&mut self, dst: &mut [u8]) -> Result<(), getrandom::Error> {
        loop {
            mem::write(&mut self.drawing, 1);
            self.draw(dst)?;
            if mem::read(&self.drawing) != 0 {
                return Ok(());
            }
            *self = Self::zeroed();
        }
    }

    fn draw(&mut self, mut dst: &mut [u8]) -> Result<(), getrandom::Error> {
        if self.seeded == 0 {
            self.reseed()?;
            mem::wipe_stack();
        }
        while !dst.is_empty() {
            if self.since_seed >= RESEED_INTERVAL {
                self.reseed()?;
                mem::wipe_stack();
            }
            if self.pos() == BUF_LEN {
                self.refill();
                mem::wipe_stack();
            }
            let pos = self.pos();
            // n <= BUF_LEN, so `n as u64` below is exact.
            let until_reseed =
                usize::try_from(RESEED_INTERVAL - self.since_seed).unwrap_or(BUF_LEN);
            let n = dst.len().min(BUF_LEN - pos).min(until_reseed);
            let (head, rest) = dst.split_at_mut(n);
            let out = &mut self.buf[pos..pos + n];
            head.copy_from_slice(out);
            out.fill(0);
            self.pos += n as u64;
            self.since_seed += n as u64;
            dst = rest;
        }
        Ok(())
    }

    fn pos(&self) -> usize {
        // `pos` never exceeds BUF_LEN; a wiped page reads as 0.
        usize::try_from(self.pos).map_or(BUF_LEN, |p| p.min(BUF_LEN))
    }

    /// A new key straight from the OS into the state (no copy elsewhere);
    /// unread keystream of the old key is discarded. On failure the key is
    /// partly overwritten but nothing is output: `seeded` or `since_seed`
    /// still asks for a seed.
    #[inline(never)]
    fn reseed(&mut self) -> Result<(), getrandom::Error> {
        getrandom::fill(&mut self.key)?;
        self.buf.fill(0);
        self.pos = BUF_LEN as u64;
        self.since_seed = 0;
        self.reseeds += 1;
        self.seeded = 1;
        Ok(())
    }

    /// Fast key erasure (Bernstein, "Fast-key-erasure random-number
    /// generators", 2017): one key makes one buffer of keystream, whose
    /// first 32 bytes replace the key and are erased from the buffer. Each
    /// key is used once, so the nonce and counter can start at zero, and
    /// nothing in the state can recompute output already handed out. The
    /// copies the block function makes on the stack are the caller's to
    /// wipe ([`mem::wipe_stack`]), once this frame is gone.
    #[inline(never)]
    fn refill(&mut self) {
        // ChaCha20Rng (chacha20 with `zeroize`) wipes its own copy of the key
        // and its block buffer when dropped at the end of this scope.
        let mut chacha = ChaCha20Rng::from_seed(self.key);
        chacha.fill_bytes(&mut self.buf);
        self.key.copy_from_slice(&self.buf[..KEY_LEN]);
        self.buf[..KEY_LEN].fill(0);
        self.pos = KEY_LEN as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> Box<State> {
        let mut s = Box::new(State::zeroed());
        s.fill(&mut []).unwrap();
        s
    }

    #[test]
    fn zeroed_state_seeds_before_any_output() {
        let mut s = Box::new(State::zeroed());
        assert_eq!(s.reseeds(), 0);
        let mut out = [0u8; 16];
        s.fill(&mut out).unwrap();
        assert_eq!(s.reseeds(), 1);
        assert_eq!(s.seeded, 1);
        // The all-zero key's keystream would be the output of a wiped state
        // that forgot to reseed.
        let mut zero_key = [0u8; BUF_LEN];
        ChaCha20Rng::from_seed([0; 32]).fill_bytes(&mut zero_key);
        assert_ne!(out[..], zero_key[KEY_LEN..KEY_LEN + 16]);
    }

    #[test]
    fn handed_out_bytes_and_used_keys_are_erased() {
        let mut s = seeded();
        let mut out = [0u8; 100];
        s.fill(&mut out).unwrap();
        let key_before = s.key;
        assert_eq!(s.pos(), KEY_LEN + 100);
        assert!(s.buf[..s.pos()].iter().all(|&b| b == 0));
        assert!(s.buf[s.pos()..].iter().any(|&b| b != 0));
        // Drain the buffer: the next draw refills under a new key.
        let mut rest = vec![0u8; BUF_LEN - s.pos()];
        s.fill(&mut rest).unwrap();
        assert_eq!(s.pos(), BUF_LEN);
        assert!(s.buf.iter().all(|&b| b == 0));
        s.fill(&mut out[..1]).unwrap();
        assert_ne!(s.key, key_before);
        assert_eq!(s.reseeds(), 1);
    }

    #[test]
    fn output_follows_the_fast_key_erasure_construction() {
        let mut s = Box::new(State::zeroed());
        s.seeded = 1; // a known key instead of the OS's
        s.key = [7; 32];
        s.pos = BUF_LEN as u64;
        let mut out = vec![0u8; 2 * (BUF_LEN - KEY_LEN)];
        s.fill(&mut out).unwrap();
        let mut first = [0u8; BUF_LEN];
        ChaCha20Rng::from_seed([7; 32]).fill_bytes(&mut first);
        let mut next_key = [0u8; 32];
        next_key.copy_from_slice(&first[..KEY_LEN]);
        let mut second = [0u8; BUF_LEN];
        ChaCha20Rng::from_seed(next_key).fill_bytes(&mut second);
        assert_eq!(out[..BUF_LEN - KEY_LEN], first[KEY_LEN..]);
        assert_eq!(out[BUF_LEN - KEY_LEN..], second[KEY_LEN..]);
    }

    #[test]
    fn reseeds_exactly_at_the_interval() {
        let mut s = seeded();
        let mut chunk = vec![0u8; 4096 + 3];
        let mut drawn = 0u64;
        while drawn + chunk.len() as u64 <= RESEED_INTERVAL {
            s.fill(&mut chunk).unwrap();
            drawn += chunk.len() as u64;
        }
        let left = usize::try_from(RESEED_INTERVAL - drawn).unwrap();
        s.fill(&mut chunk[..left]).unwrap();
        assert_eq!(s.reseeds(), 1);
        assert_eq!(s.since_seed, RESEED_INTERVAL);
        s.fill(&mut chunk[..1]).unwrap();
        assert_eq!(s.reseeds(), 2);
        assert_eq!(s.since_seed, 1);
        // A draw across the boundary is split: the tail comes from the new seed.
        let mut s = seeded();
        s.since_seed = RESEED_INTERVAL - 5;
        s.fill(&mut chunk[..10]).unwrap();
        assert_eq!((s.reseeds(), s.since_seed), (2, 5));
    }
}
