//! `deepidv`: DeepIDV identity-verification sessions from the command line.
//!
//! Modules, bottom to top (each imports only those before it): `failure` (exit codes),
//! `output`, `fields`, `records`, `credentials`, `cli`, `export`, `commands`.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod credentials;
mod export;
mod failure;
mod fields;
mod output;
mod records;

use std::io::Write;

use clap::Parser;

use crate::failure::Failure;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(commands::run(cli)),
        Err(e) => Err(Failure::failed(format!("cannot start the runtime: {e}"))),
    };
    match outcome {
        Ok(()) | Err(Failure::Quiet) => std::process::ExitCode::SUCCESS,
        Err(Failure::Exit { message, code }) => {
            let _ = writeln!(std::io::stderr(), "deepidv: {message}");
            std::process::ExitCode::from(code as u8)
        }
    }
}
