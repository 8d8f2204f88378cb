//! `deepidv-mock`: the mock DeepIDV sessions API as a standalone server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use deepidv_mock::{ApiKey, MockServer};

const HELP: &str = "\
deepidv-mock: a stateful mock of DeepIDV's sessions API, for demos and tests

usage: deepidv-mock [options]

options:
  --port N                 listen on 127.0.0.1:N (default 12111; 0 picks a free port)
  --host ADDR              listen on ADDR instead of 127.0.0.1; an address other than loopback
                           needs --control-token
  --control-token TOKEN    require `Authorization: Bearer TOKEN` on every /__mock/ request
                           (others get 401); TOKEN is visible ASCII without spaces
  --api-key KEY            accept KEY as a live key (repeatable; default: a printed demo key)
  --sandbox-key KEY        accept KEY as a sandbox key (repeatable)
  --workflow ID            a known workflow id, besides the published examples' (repeatable)
  --seed N                 seed for ids, scenarios and probabilistic faults
  --no-rate-limit          do not limit keys to 25 requests/s (burst 35)
  --accept-voided          accept new_status VOIDED on update-status
  --strict-transitions     refuse (400) VERIFIED/REJECTED on PENDING, EXPIRED and VOIDED
                           sessions (DeepIDV documents no such rule; default: allowed)
  --location-as-object     serve `location` as {\"country\": ...} (one documentation example)
                           instead of a string (DeepIDV's published schema and sandbox)
  -h, --help               this text

Control endpoints live under /__mock/ (GET /__mock lists them and the bounds on their inputs).
Anyone who can reach them can reset, seed and break the mock: on loopback (the default) they
are open unless --control-token is given; on any other address the mock refuses to start without
--control-token, and then every /__mock/ request must carry `Authorization: Bearer TOKEN`.";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deepidv-mock: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    use lexopt::prelude::*;

    let mut builder = MockServer::builder().rate_limit(true);
    let mut host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = 12111;
    let mut keys = 0;
    let mut control_token = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let flag = match arg {
            Long(name) => format!("--{name}"),
            Short(letter) => format!("-{letter}"),
            Value(other) => return Err(format!("unexpected argument {other:?}\n\n{HELP}")),
        };
        match flag.as_str() {
            "--port" => {
                port = value(&mut parser)?
                    .parse()
                    .map_err(|_| "--port takes a number from 0 to 65535")?
            }
            "--host" => {
                host = value(&mut parser)?
                    .parse()
                    .map_err(|_| "--host takes an IP address")?
            }
            "--api-key" => {
                builder = builder.key(ApiKey::live(value(&mut parser)?));
                keys += 1;
            }
            "--sandbox-key" => {
                builder = builder.key(ApiKey::sandbox(value(&mut parser)?));
                keys += 1;
            }
            "--workflow" => builder = builder.workflow(value(&mut parser)?),
            "--seed" => {
                builder = builder.seed(
                    value(&mut parser)?
                        .parse()
                        .map_err(|_| "--seed takes a number")?,
                )
            }
            "--control-token" => control_token = Some(value(&mut parser)?),
            "--no-rate-limit" => builder = builder.rate_limit(false),
            "--accept-voided" => builder = builder.accept_voided(true),
            "--strict-transitions" => builder = builder.strict_transitions(true),
            "--location-as-object" => builder = builder.location_as_object(true),
            "-h" | "--help" => {
                println!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }

    if !host.to_canonical().is_loopback() && control_token.is_none() {
        return Err(format!(
            "refusing to listen on {host} without --control-token TOKEN: anyone who can reach \
             {host} could reset, seed and break the mock through /__mock/. Pass \
             --control-token TOKEN (requests to /__mock/ then need `Authorization: Bearer \
             TOKEN`), or listen on loopback (127.0.0.1 or ::1)."
        ));
    }
    let has_token = control_token.is_some();
    if let Some(token) = control_token {
        builder = builder.control_token(token);
    }
    let mock = builder
        .address(SocketAddr::new(host, port))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    println!("deepidv-mock listening on {}", mock.url());
    if has_token {
        println!("control API: /__mock/ needs `Authorization: Bearer <your control token>`");
    }
    if keys == 0 {
        println!("live key:    {}", mock.api_key());
        if let Some(sandbox) = mock.sandbox_key() {
            println!("sandbox key: {sandbox}");
        }
    }
    println!(
        "try: curl -H 'x-api-key: {}' {}/v1/sessions",
        if keys == 0 {
            mock.api_key()
        } else {
            "<your key>"
        },
        mock.url()
    );
    std::future::pending::<()>().await;
    Ok(())
}

/// The value of the option just read.
fn value(parser: &mut lexopt::Parser) -> Result<String, String> {
    parser
        .value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "arguments must be UTF-8".to_owned())
}
