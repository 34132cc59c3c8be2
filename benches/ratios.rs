//! Ratios measured in one run (cargo bench --bench ratios):
//!
//! 1. The Rust core's full create (token, record, URI) against the floor on
//!    this machine: one 18-byte getrandom call, base64url, and the URI
//!    string. Target: within 1.5x.
//! 2. The same create with the opt-in userspace CSPRNG (xmpp-invites-rng's
//!    `ForkSafeRng`: per-thread ChaCha20, fork-safe through
//!    MADV_WIPEONFORK) against the same floor, which keeps its getrandom
//!    call: what skipping the system call buys.
//! 3. The OS's bytes through `xmpp_invites_rng::os` (the vDSO's getrandom
//!    on Linux 6.11+, what the C API and the Lua module draw from) against
//!    the getrandom system call; and the core's create drawing from it
//!    against a floor that draws from it too.
//! 4. The C API's create and validate against the Rust core called
//!    directly (the cost of the boundary: handles, C strings, the panic
//!    guard), both drawing from `xmpp_invites_rng::os`.
//!
//! 1 is also given for the full create of the Lua bench's row (the same
//! create with a landing link and the expiry as XEP-0082 text), against
//! the same floor, which has neither.
//!
//! Each pair is timed in alternating rounds; the ratio printed is the median
//! of the per-round ratios, so that a noisy neighbour moves both sides.
//! With XI_BENCH_SMOKE=1 (a test suite: `cargo test --bench ratios`) each
//! pair runs once, briefly: the bench and its checks work; the figures
//! mean nothing.

use std::ffi::CString;
use std::hint::black_box;
use std::time::Instant;

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::TryRng;
use xmpp_invites::{
    InviteRecord, LandingPage, NewInvite, Redemption, Stored, format_datetime, validate,
};
use xmpp_invites_ffi as ffi;
use xmpp_invites_rng::ForkSafeRng;
use xmpp_invites_rng::os::{self, OsRng};

const NOW: i64 = 1_795_268_421;

/// Rounds per pair and calls per round.
fn plan() -> (usize, u32) {
    if std::env::var_os("XI_BENCH_SMOKE").is_some_and(|v| v == "1") {
        (1, 100)
    } else {
        (15, 20_000)
    }
}

fn time(iters: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

/// Median ns/op of `a`, of `b`, and of the per-round ratio b / a.
fn pair(mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    let (rounds, iters) = plan();
    time(iters / 4, &mut a);
    time(iters / 4, &mut b);
    let (mut xs, mut ys, mut rs) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        let x = time(iters, &mut a);
        let y = time(iters, &mut b);
        xs.push(x);
        ys.push(y);
        rs.push(y / x);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut xs), median(&mut ys), median(&mut rs))
}

fn row(what: &str, baseline: &str, (base, ours, ratio): (f64, f64, f64), target: Option<f64>) {
    let verdict = match target {
        Some(t) if ratio <= t => format!("target <= {t}x: met"),
        Some(t) => format!("target <= {t}x: MISSED"),
        None => String::new(),
    };
    println!("{what:<34} {baseline:<30} {base:>9.0} {ours:>9.0} {ratio:>7.2}x  {verdict}");
}

fn main() {
    // `cargo bench` passes --bench; there is nothing to filter.
    if plan().0 == 1 {
        println!("XI_BENCH_SMOKE=1: each pair once, briefly; the figures mean nothing");
    }
    println!(
        "{:<34} {:<30} {:>9} {:>9} {:>8}",
        "ours", "baseline", "base ns", "ours ns", "ours/base"
    );

    let floor = || {
        let mut buf = [0u8; 18];
        getrandom::SysRng.try_fill_bytes(&mut buf).unwrap();
        let token = Base64UrlUnpadded::encode_string(&buf);
        black_box(format!("xmpp:example.com?register;preauth={token}"));
    };
    let new = NewInvite::account("example.com");
    row(
        "core full create (account)",
        "floor: getrandom+b64+URI",
        pair(floor, || {
            black_box(new.create_os(NOW).unwrap());
        }),
        Some(1.5),
    );
    // The Lua bench's full create: the landing link and the expiry text too.
    let with_link = NewInvite::account("example.com").landing_page(LandingPage::new(
        "https://example.com/invite?{invite.token}",
    ));
    let made = with_link.create_os(NOW).unwrap();
    assert_eq!(
        made.landing_page(),
        Some(format!("https://example.com/invite?{}", made.token().as_str()).as_str())
    );
    row(
        "core create + link + XEP-0082",
        "floor: getrandom+b64+URI",
        pair(floor, || {
            let invite = with_link.create_os(NOW).unwrap();
            black_box(format_datetime(invite.expires()).unwrap());
            black_box(invite);
        }),
        Some(1.5),
    );
    let mut rng = ForkSafeRng::new().expect("MADV_WIPEONFORK (Linux 4.14 or later)");
    row(
        "core create, opt-in ForkSafeRng",
        "floor: getrandom+b64+URI",
        pair(floor, || {
            black_box(new.create(&mut rng, NOW).unwrap());
        }),
        None,
    );

    // The OS's bytes without the system call, where the vDSO has them.
    println!("xmpp_invites_rng::os backend: {:?}", os::backend());
    row(
        "18 bytes from os::fill",
        "18 bytes from getrandom syscall",
        pair(
            || {
                let mut buf = [0u8; 18];
                getrandom::SysRng.try_fill_bytes(&mut buf).unwrap();
                black_box(buf);
            },
            || {
                let mut buf = [0u8; 18];
                os::fill(&mut buf).unwrap();
                black_box(buf);
            },
        ),
        None,
    );
    let os_floor = || {
        let mut buf = [0u8; 18];
        os::fill(&mut buf).unwrap();
        let token = Base64UrlUnpadded::encode_string(&buf);
        black_box(format!("xmpp:example.com?register;preauth={token}"));
    };
    row(
        "core full create, os::OsRng",
        "floor: os::fill+b64+URI",
        pair(os_floor, || {
            black_box(new.create(&mut OsRng, NOW).unwrap());
        }),
        Some(1.5),
    );
    row(
        "core full create, os::OsRng",
        "floor: getrandom+b64+URI",
        pair(floor, || {
            black_box(new.create(&mut OsRng, NOW).unwrap());
        }),
        Some(1.5),
    );

    // The C API against the core, both with the OS's randomness as the C
    // API draws it.
    let host = CString::new("example.com").unwrap();
    let mut builder = std::ptr::null_mut();
    unsafe { ffi::xi_new_invite_new(0, host.as_ptr(), std::ptr::null(), &mut builder) };
    row(
        "C API create + free",
        "core create",
        pair(
            || {
                black_box(new.create(&mut OsRng, NOW).unwrap());
            },
            || unsafe {
                let mut inv = std::ptr::null_mut();
                let r = ffi::xi_new_invite_create(builder, NOW, std::ptr::null(), 0, &mut inv);
                assert_eq!(r, ffi::xi_result::Ok);
                ffi::xi_invite_free(black_box(inv));
            },
        ),
        None,
    );

    let invite = new.create_os(NOW).unwrap();
    let record: InviteRecord = invite.record().clone();
    let json = CString::new(record.to_json()).unwrap();
    let token = invite.token().as_str().to_owned();
    let ctoken = CString::new(token.clone()).unwrap();
    let mut crecord = std::ptr::null_mut();
    unsafe { ffi::xi_record_from_json(json.as_ptr(), &mut crecord) };
    row(
        "C API validate + free",
        "core validate",
        pair(
            || {
                let stored = Stored {
                    record: Some(&record),
                    contact_expires: None,
                };
                black_box(validate(&token, stored, Redemption::Registration, NOW).unwrap());
            },
            || unsafe {
                let mut v = std::ptr::null_mut();
                let r = ffi::xi_validate(
                    ctoken.as_ptr(),
                    crecord,
                    std::ptr::null(),
                    std::ptr::null(),
                    NOW,
                    &mut v,
                );
                assert_eq!(r, ffi::xi_result::Ok);
                ffi::xi_valid_invite_free(black_box(v));
            },
        ),
        None,
    );
    unsafe {
        ffi::xi_record_free(crecord);
        ffi::xi_new_invite_free(builder);
    }
}
