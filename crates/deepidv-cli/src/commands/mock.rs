//! `deepidv mock`: deepidv-mock in the foreground.

use std::{
    io::Write,
    net::{Ipv4Addr, SocketAddr},
};

use deepidv_mock::{MockServer, SeedSessions};

use crate::{
    cli::MockArgs,
    credentials,
    failure::{Failure, Outcome},
    output,
};

/// Starts the mock on loopback, prints the `export` lines that point the other commands at it,
/// and serves until Ctrl-C.
pub async fn run(args: MockArgs) -> Outcome {
    let mut builder = MockServer::builder()
        .rate_limit(true)
        .address(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
    if let Some(url) = &args.webhook_url {
        let secret = credentials::webhook_secret(args.secret.secret_file.as_deref())?;
        builder = builder.webhook(url, secret);
    }
    let mock = builder
        .start()
        .await
        .map_err(|e| Failure::failed(format!("deepidv-mock could not start: {e}")))?;
    if args.sessions > 0 {
        let seed = SeedSessions::new().with_results(!args.without_results);
        mock.seed_sessions(args.sessions, seed)
            .map_err(|e| Failure::usage(format!("--sessions: {e}")))?;
    }
    let mut out = output::stdout();
    writeln!(out, "export {}={}", deepidv::BASE_URL_ENV, mock.url())?;
    writeln!(out, "export {}={}", deepidv::API_KEY_ENV, mock.api_key())?;
    out.flush()?;
    eprintln!(
        "deepidv-mock listening on {}{} (Ctrl-C stops it)",
        mock.url(),
        args.webhook_url
            .as_deref()
            .map(|u| format!(", webhooks to {u}"))
            .unwrap_or_default()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::failed(format!("cannot wait for Ctrl-C: {e}")))?;
    Ok(())
}
