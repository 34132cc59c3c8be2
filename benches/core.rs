//! Criterion benchmarks of the core's hot paths: creating an invite (token,
//! record, URI, landing link), validating a presented token, and parsing a
//! URI. `floor/getrandom_18` is the 18-byte OS random read every create
//! must make, measured in the same run for comparison.
//!
//! cargo bench --bench core

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_core::TryRng;
use xmpp_invites::{
    InviteRecord, InviteUri, LandingPage, NewInvite, Redemption, Renderer, Stored, Token,
    TokenFormat, validate,
};

const NOW: i64 = 1_795_268_421;

fn create(c: &mut Criterion) {
    let mut g = c.benchmark_group("create");
    g.bench_function("floor/getrandom_18", |b| {
        let mut buf = [0u8; 18];
        b.iter(|| {
            getrandom::SysRng
                .try_fill_bytes(black_box(&mut buf))
                .unwrap()
        })
    });
    g.bench_function("token", |b| {
        b.iter(|| Token::generate_os(black_box(TokenFormat::PROSODY)).unwrap())
    });
    g.bench_function("account_invite", |b| {
        let new = NewInvite::account("example.com");
        b.iter(|| black_box(&new).create_os(NOW).unwrap())
    });
    g.bench_function("account_invite_with_landing_page", |b| {
        let new = NewInvite::account("example.com").landing_page(LandingPage::new(
            "https://example.com/invite?{invite.token}",
        ));
        b.iter(|| black_box(&new).create_os(NOW).unwrap())
    });
    g.bench_function("contact_invite", |b| {
        let new = NewInvite::contact("juliet", "example.com", true);
        b.iter(|| black_box(&new).create_os(NOW).unwrap().storage_changes())
    });
    g.finish();
}

fn validate_and_parse(c: &mut Criterion) {
    let invite = NewInvite::contact("juliet", "example.com", true)
        .create_os(NOW)
        .unwrap();
    let record = invite.record().clone();
    let token = invite.token().as_str().to_owned();
    let json = record.to_json();
    let mut g = c.benchmark_group("redeem");
    g.bench_function("validate", |b| {
        let stored = Stored {
            record: Some(&record),
            contact_expires: None,
        };
        b.iter(|| validate(black_box(&token), stored, Redemption::Registration, NOW).unwrap())
    });
    g.bench_function("record_from_json", |b| {
        b.iter(|| InviteRecord::from_json(black_box(&json)).unwrap())
    });
    g.bench_function("uri_parse", |b| {
        b.iter(|| InviteUri::parse(black_box(invite.uri())).unwrap())
    });
    g.bench_function("landing_render", |b| {
        let values = serde_json::json!({"host": "example.com", "invite": record.to_value()});
        let r = Renderer::url();
        b.iter(|| {
            r.render(
                black_box("https://example.com/invite?{invite.token}"),
                &values,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, create, validate_and_parse);
criterion_main!(benches);
