//! One module per command group; `run` dispatches the parsed command line.

mod completions;
mod login;
mod mock;
mod sessions;
mod webhooks;

use crate::{
    cli::{Cli, Command, SessionsCommand, WebhooksCommand},
    credentials,
    failure::Outcome,
};

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> Outcome {
    let profile = cli.profile.as_deref();
    match cli.command {
        Command::Sessions(command) => {
            let client = credentials::client(profile)?;
            let sessions = client.sessions();
            match command {
                SessionsCommand::List(args) => sessions::list(&sessions, args).await,
                SessionsCommand::Get(args) => sessions::get(&sessions, args).await,
                SessionsCommand::Create(args) => sessions::create(&sessions, args).await,
                SessionsCommand::Decide(args) => sessions::decide(&sessions, args).await,
                SessionsCommand::Export(args) => sessions::export(&sessions, args).await,
            }
        }
        Command::Webhooks(WebhooksCommand::Listen(args)) => webhooks::listen(args).await,
        Command::Webhooks(WebhooksCommand::Trigger(args)) => webhooks::trigger(profile, args).await,
        Command::Mock(args) => mock::run(args).await,
        Command::Completions(args) => completions::run(args),
        Command::Login(args) => login::run(profile, args),
    }
}
