//! `deepidv completions SHELL`.

use std::io::Write;

use clap::CommandFactory;

use crate::{
    cli::{Cli, CompletionsArgs},
    failure::Outcome,
    output,
};

/// Prints the completion script for the shell.
pub fn run(args: CompletionsArgs) -> Outcome {
    // Generated into memory first: the generator panics on a write error, such as a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "deepidv", &mut script);
    let mut out = output::stdout();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}
