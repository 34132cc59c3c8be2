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
        Err(e) => {
            let _ = e.print();
            // clap says 2 for usage errors; here 2 means "invalid token".
            return if e.use_stderr() {
                Exit::Input.into()
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let json = cli.global.json;
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
