//! `create account|contact|reset`.

use serde_json::{Value, json};
use xmpp_invites::{AdditionalData, CreateError, Invite, InviteType, NewInvite, Roles, TokenError};

use super::{apply, spelling_hint, stored_under};
use crate::args;
use crate::cli::{CommonCreate, Create, CreateAccount, RoleFormat};
use crate::config::Settings;
use crate::entry::record_json;
use crate::error::{Error, Exit, Result};
use crate::output::{Out, Times, progress, qr};
use crate::store::{self, Access};

pub(crate) fn run(settings: &Settings, cmd: &Create) -> Result<()> {
    let (new, host, count) = match cmd {
        Create::Account(a) => account(settings, a)?,
        Create::Contact(c) => {
            let (user, host) = args::jid(&c.jid, false)?;
            // Prosody stores a contact-only invite as the inviter's expiry
            // alone: a note would be printed as if kept, then lost.
            if c.common.note.is_some() && !c.allow_registration {
                return Err(Error::input(
                    "conflicting-options",
                    "--note cannot be stored with a contact invite that does not allow registration: Prosody keeps only the inviter's expiry for it",
                    "leave out --note, or add --allow-registration (such an invite has a record, which holds the note)",
                ));
            }
            let user = user.unwrap_or_default();
            let new = NewInvite::contact(&user, &host, c.allow_registration);
            (common(settings, new, &c.common, true)?, host, 1)
        }
        Create::Reset(r) => {
            let (user, host) = args::jid(&r.jid, false)?;
            let user = user.unwrap_or_default();
            let new = NewInvite::password_reset(&user, &host);
            (common(settings, new, &r.common, false)?, host, 1)
        }
    };

    // Everything is made before the database is touched, so a bad option
    // never leaves half a batch behind.
    let period_hint = period_hint(settings, cmd);
    let mut invites = Vec::with_capacity(count as usize);
    for _ in 0..count {
        invites.push(
            new.create_os(settings.now)
                .map_err(|e| create_error(e, period_hint))?,
        );
    }
    // So are the QR codes: a link too long to draw must fail before the
    // invites are stored, not after, when exit 1 would hide live invites.
    let codes = if settings.qr {
        invites
            .iter()
            .map(|i| qr(i.landing_page().unwrap_or(i.uri())))
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };

    let mut store = store::open(&settings.database, Access::Create, settings.lock_timeout)?;
    // Written as given, as Prosody's VirtualHost names the host; but a
    // store that knows the host only by its other spelling is most likely
    // a Prosody configured with that one, which will not read these.
    if let Some(other) = stored_under(store.as_mut(), &host)? {
        crate::output::note(
            "other-spelling",
            &format!("storing under {host}, but {}", spelling_hint(&host, &other)),
        );
    }
    let bar = if count > 1 {
        progress(u64::from(count), "Storing invites")
    } else {
        indicatif::ProgressBar::hidden()
    };
    store.write(&mut |tx| {
        bar.set_position(0);
        for invite in &invites {
            for change in invite.storage_changes() {
                apply(tx, &host, &change)?;
            }
            bar.inc(1);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    crate::output::after_change(
        print(settings, &host, &invites, &codes),
        || {
            format!(
                "{} invite(s) were created and stored on {host}",
                invites.len()
            )
        },
        || format!("`xmpp-invites list {host}` shows them"),
    )
}

fn account(settings: &Settings, a: &CreateAccount) -> Result<(NewInvite, String, u32)> {
    let (user, host) = args::jid(&a.target, true)?;
    if a.count > 1 && user.is_some() {
        return Err(Error::input(
            "conflicting-options",
            format!(
                "--count {} with a username would make several invites for one name",
                a.count
            ),
            "leave out --count, or give only the host to create invites for any username",
        ));
    }
    let mut new = match &user {
        Some(u) => NewInvite::account_for(u, &host),
        None => NewInvite::account(&host),
    };
    let mut roles: Vec<String> = Vec::new();
    if a.admin {
        roles.push(xmpp_invites::ADMIN_ROLE.to_owned());
    }
    for r in &a.roles {
        if !roles.contains(r) {
            roles.push(r.clone());
        }
    }
    let data = AdditionalData {
        roles: (!roles.is_empty()).then(|| match a.role_format.unwrap_or(settings.role_format) {
            RoleFormat::List => Roles::Ordered(roles),
            RoleFormat::Set => {
                let mut set = roles;
                set.sort();
                Roles::LegacySet(set)
            }
        }),
        groups: (!a.groups.is_empty()).then(|| a.groups.clone()),
        note: a.common.note.clone(),
        ..AdditionalData::default()
    };
    new = new.additional_data(data);
    if let Some(n) = a.max_uses {
        new = new.max_uses(n);
    }
    let new = common(settings, new, &a.common, true)?;
    Ok((new, host, a.count))
}

/// Expiry, note and landing page. `config_ttl`: whether the configured
/// `invite_expiry` applies (not to a reset, which lasts 1 day as Prosody's).
fn common(
    settings: &Settings,
    mut new: NewInvite,
    c: &CommonCreate,
    config_ttl: bool,
) -> Result<NewInvite> {
    if let Some(text) = &c.expires_after {
        new = new.ttl(args::period(text)?);
    } else if let (true, Some(ttl)) = (config_ttl, settings.default_ttl) {
        new = new.ttl(ttl);
    }
    if let Some(note) = &c.note {
        new = new.note(note);
    }
    if let Some(page) = &settings.landing {
        new = new.landing_page(page.clone());
    }
    Ok(new)
}

/// What to change when the validity is too long: the option, or the
/// configuration file's `invite_expiry` when that is where it came from.
fn period_hint(settings: &Settings, cmd: &Create) -> &'static str {
    let (c, config_ttl) = match cmd {
        Create::Account(a) => (&a.common, true),
        Create::Contact(c) => (&c.common, true),
        Create::Reset(r) => (&r.common, false),
    };
    if c.expires_after.is_none() && config_ttl && settings.default_ttl.is_some() {
        "give a shorter invite_expiry in the configuration file (e.g. \"1 week\"), or \"never\"; or override it with --expires-after"
    } else {
        "give a shorter --expires-after, or never"
    }
}

fn create_error(e: CreateError, period_hint: &str) -> Error {
    let exit = match e {
        CreateError::Token(TokenError::Rng(_)) => Exit::Store,
        _ => Exit::Input,
    };
    let hint = match &e {
        CreateError::Jid(_) => "check the username and host, e.g. juliet@example.com",
        CreateError::Period(_) => period_hint,
        CreateError::Template(_) => {
            "fix the landing page template (--invites-page or invites_page)"
        }
        CreateError::ZeroUses => "give --max-uses 1 or more",
        CreateError::Time(_) => "check the system clock",
        CreateError::Token(TokenError::Rng(_)) => {
            "the system's random number generator failed; try again"
        }
        _ => "change the options as the message says",
    };
    Error::new(
        exit,
        e.code(),
        format!("cannot create the invite: {e}"),
        hint,
    )
}

/// What kind of invite, in words.
fn describe(invite: &Invite, host: &str) -> String {
    let record = invite.record();
    match invite.invite_type() {
        InviteType::Account | InviteType::Group => match record.jid_username() {
            Some(u) => format!("an account invite for {u}@{host}"),
            None => format!("an account invite for any username on {host}"),
        },
        InviteType::PasswordReset => format!("a password reset invite for {}", record.jid),
        InviteType::ContactOnly => format!("a contact invite from {}", record.jid),
        InviteType::AccountAndContact => format!(
            "a contact invite from {} that also lets the invitee register",
            record.jid
        ),
    }
}

/// Prints the invites; `codes` holds their QR codes when `--qr` was given.
fn print(settings: &Settings, host: &str, invites: &[Invite], codes: &[String]) -> Result<()> {
    let mut out = Out::new();
    if settings.json {
        let items: Vec<Value> = invites
            .iter()
            .map(|i| invite_json(host, i, settings.now))
            .collect();
        let value = match items.len() {
            1 => items.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Array(items),
        };
        return out.json(&value);
    }
    for (n, invite) in invites.iter().enumerate() {
        if n > 0 {
            out.line("")?;
        }
        let record = invite.record();
        out.text(format!("Created {}.", describe(invite, host)))?;
        out.line(format!("  URI:      {}", invite.uri()))?;
        if let Some(link) = invite.landing_page() {
            out.text(format!("  Link:     {link}"))?;
        }
        out.line(format!(
            "  Expires:  {}",
            Times::of(invite.expires()).both()
        ))?;
        if let Some(d) = &record.additional_data {
            if let Some(roles) = &d.roles {
                out.text(format!("  Roles:    {}", roles.as_slice().join(", ")))?;
            }
            if !d.group_list().is_empty() {
                out.text(format!("  Groups:   {}", d.group_list().join(", ")))?;
            }
            if let Some(note) = &d.note {
                out.text(format!("  Note:     {note}"))?;
            }
        }
        if let Some(max) = record.max_uses {
            out.line(format!("  Uses:     up to {max}"))?;
        }
        out.line(format!("  Token:    {}", invite.token().as_str()))?;
        if let Some(code) = codes.get(n) {
            out.line("")?;
            out.line(code)?;
        }
    }
    out.flush()
}

pub(crate) fn invite_json(host: &str, invite: &Invite, now: i64) -> Value {
    let mut v = record_json(host, invite.record(), now);
    if let Value::Object(map) = &mut v {
        map.insert(
            "expires_local".into(),
            json!(Times::of(invite.expires()).local),
        );
        // A contact-only invite stores no record, only the inviter's entry.
        if !invite.record().allow_registration {
            map.insert("record".into(), Value::Null);
        }
    }
    v
}
