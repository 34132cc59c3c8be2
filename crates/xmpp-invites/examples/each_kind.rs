//! Creates one invite of each kind for a host and prints what a server would
//! store and hand out: `cargo run -p xmpp-invites --example each_kind -- HOST`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use xmpp_invites::{LandingPage, NewInvite, Period, format_datetime};

fn main() -> ExitCode {
    let host = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "example.com".to_owned());
    // The core takes the time from its caller; here that is the system clock.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let page = LandingPage::new(format!("https://{host}/invite?{{invite.token}}"));
    let kinds = [
        ("account (any username)", NewInvite::account(&host)),
        (
            "account (bound to juliet)",
            NewInvite::account_for("juliet", &host),
        ),
        (
            "password reset (romeo)",
            NewInvite::password_reset("romeo", &host),
        ),
        (
            "contact only (from romeo)",
            NewInvite::contact("romeo", &host, false),
        ),
        (
            "account and contact (from romeo)",
            NewInvite::contact("romeo", &host, true),
        ),
        (
            "group (reusable for 2 days)",
            NewInvite::group(&host, ["family"]).ttl(Period::Seconds(172_800)),
        ),
    ];
    for (label, new) in kinds {
        match new.landing_page(page.clone()).create_os(now) {
            Ok(invite) => {
                println!("{label}");
                println!("  uri:     {}", invite.uri());
                if let Some(link) = invite.landing_page() {
                    println!("  landing: {link}");
                }
                let expires = format_datetime(invite.expires()).unwrap_or_else(|e| e.to_string());
                println!("  expires: {expires}");
                for change in invite.storage_changes() {
                    let (kind, value) = change.sql_value().unwrap_or_default();
                    let user = change.user().unwrap_or("");
                    println!(
                        "  store:   user={user:?} key={} type={kind} value={value}",
                        change.token()
                    );
                }
            }
            Err(e) => {
                eprintln!("error: cannot create {label} invite for {host:?}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
