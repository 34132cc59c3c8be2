//! Successive draws, threads, the reseed interval, and the core's create
//! through the public API.

use std::collections::HashSet;
use std::thread;

use rand_core::TryRng;
use xmpp_invites::{NewInvite, Redemption, Stored, Token, TokenFormat, validate};
use xmpp_invites_rng::{ForkSafeRng, RESEED_INTERVAL, fill, reseed_count};

const NOW: i64 = 1_795_268_421;

#[test]
fn successive_draws_differ() {
    let mut rng = ForkSafeRng::new().unwrap();
    let mut seen = HashSet::new();
    // Enough 18-byte draws to cross several key erasures (992 bytes each).
    for _ in 0..500 {
        let mut b = [0u8; 18];
        rng.try_fill_bytes(&mut b).unwrap();
        assert_ne!(b, [0; 18]);
        assert!(seen.insert(b), "a draw repeated");
    }
    let words: HashSet<u64> = (0..200).map(|_| rng.try_next_u64().unwrap()).collect();
    assert_eq!(words.len(), 200);
    assert_ne!(rng.try_next_u32().unwrap(), rng.try_next_u32().unwrap());
}

#[test]
fn output_is_not_obviously_biased() {
    // 64 KiB: each byte value is expected 256 times; a broken buffer
    // (zeroes handed out, a repeated block) shows far outside these bounds.
    let mut buf = vec![0u8; 1 << 16];
    fill(&mut buf).unwrap();
    let mut counts = [0u32; 256];
    for &b in &buf {
        counts[usize::from(b)] += 1;
    }
    assert!(
        counts.iter().all(|&c| (150..400).contains(&c)),
        "{counts:?}"
    );
    let blocks: HashSet<&[u8]> = buf.chunks(64).collect();
    assert_eq!(blocks.len(), buf.len() / 64);
}

#[test]
fn threads_get_distinct_streams() {
    let outputs: Vec<([u8; 32], u64)> = (0..8)
        .map(|_| {
            thread::spawn(|| {
                let mut b = [0u8; 32];
                fill(&mut b).unwrap();
                (b, reseed_count())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let mut mine = [0u8; 32];
    fill(&mut mine).unwrap();
    let distinct: HashSet<[u8; 32]> = outputs.iter().map(|(b, _)| *b).chain([mine]).collect();
    assert_eq!(distinct.len(), 9);
    // Each thread seeded its own state from the OS, once.
    assert!(outputs.iter().all(|&(_, reseeds)| reseeds == 1));
}

#[test]
fn reseeds_from_the_os_after_the_interval() {
    // A fresh thread, so that no other test's draws count.
    thread::spawn(|| {
        assert_eq!(reseed_count(), 0);
        let mut chunk = vec![0u8; 1000];
        fill(&mut chunk[..1]).unwrap();
        assert_eq!(reseed_count(), 1);
        let mut drawn = 1u64;
        while drawn < RESEED_INTERVAL {
            let n = chunk
                .len()
                .min(usize::try_from(RESEED_INTERVAL - drawn).unwrap());
            fill(&mut chunk[..n]).unwrap();
            drawn += n as u64;
            assert_eq!(reseed_count(), 1, "reseeded after {drawn} bytes");
        }
        fill(&mut chunk[..1]).unwrap();
        assert_eq!(reseed_count(), 2);
        let mut big = vec![0u8; usize::try_from(2 * RESEED_INTERVAL).unwrap()];
        fill(&mut big).unwrap();
        assert_eq!(reseed_count(), 4);
    })
    .join()
    .unwrap();
}

#[test]
fn creates_valid_invites_through_the_core() {
    let mut rng = ForkSafeRng::new().unwrap();
    let new = NewInvite::account("example.com");
    let mut tokens = HashSet::new();
    for _ in 0..200 {
        let invite = new.create(&mut rng, NOW).unwrap();
        let token = invite.token().as_str().to_owned();
        assert_eq!(token.len(), 24);
        assert!(Token::parse(&token).is_ok());
        assert!(invite.uri().contains(&token));
        let record = invite.record().clone();
        let stored = Stored {
            record: Some(&record),
            contact_expires: None,
        };
        validate(&token, stored, Redemption::Registration, NOW + 60).unwrap();
        assert!(tokens.insert(token), "a token repeated");
    }
    let t = Token::generate(&mut rng, TokenFormat::ALPHANUMERIC).unwrap();
    assert_eq!(t.as_str().len(), 22);
}
