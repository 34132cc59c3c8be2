//! `xmpp-invites`: create and manage XMPP invites in Prosody's SQL storage
//! (SQLite or PostgreSQL). See the README for commands and exit statuses.

#![forbid(unsafe_code)]

mod args;
mod cli;
mod commands;
mod config;
mod entry;
mod error;
mod output;
mod store;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

use crate::cli::Cli;
use crate::config::Settings;
use crate::error::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // --json promises errors as JSON, those of the parser too; the
            // flag is looked for by hand, since parsing is what failed.
            if std::env::args_os().any(|a| a == "--json") {
                eprintln!("{}", cli::usage_error(&e).to_json());
            } else {
                let _ = e.print();
            }
            // clap says 2 for usage errors; here 2 means "invalid token".
            return Exit::Input.into();
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let json = cli.global.json;
    output::notes_as_json(json);
    let result = Settings::resolve(&cli.global, now)
        .and_then(|settings| commands::run(&settings, &cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read the output stopped reading (`| head`): the work is
        // done, nothing to say.
        Err(e) if e.code == output::BROKEN_PIPE => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                eprintln!("{}", e.to_json());
            } else {
                eprintln!("xmpp-invites: {e}");
            }
            e.exit.into()
        }
    }
}
