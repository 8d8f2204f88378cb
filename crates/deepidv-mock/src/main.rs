//! `deepidv-mock`: the mock DeepIDV sessions API as a standalone server.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use deepidv_mock::{ApiKey, MockServer, limits};

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
  --webhook-url URL        POST every webhook event (session.created, session.status.submitted,
                           .verified, .rejected, .failed) to URL, an http:// URL; repeatable,
                           each --webhook-url paired with the --webhook-secret next to it
  --webhook-secret SECRET  the secret sent as the `deepidv-signature` header to the paired URL
                           (DeepIDV's look like whsec_...)
  --webhook-attempts N     attempts per delivery, 1 to 20 (default 5)
  --webhook-retry-ms MS    wait after the first failed attempt, doubling after each next one,
                           0 to 3600000 (default 1000: waits of 1, 2, 4, 8 s)
  --webhook-timeout-ms MS  how long an attempt waits for an answer, 1 to 300000 (default 10000)
  --webhook-out-of-order-ms MS
                           deliver out of order: hold each delivery a time drawn from --seed,
                           0 to MS (at most 3600000), and stop chaining one session's events
                           (default: in order; DeepIDV documents no order)
  --webhook-duplicates P   send each event to each endpoint a second time with probability P,
                           0 to 1, drawn from --seed (default 0; DeepIDV's deliveries can repeat)
  -h, --help               this text

Webhook URLs must be http:// to a loopback host (localhost, 127.0.0.0/8, ::1): the secret
travels in clear. A webhook attempt fails on a non-2xx answer, a connection error or the
timeout, and is retried until one succeeds or the attempts are used up; GET /__mock/webhooks
lists every attempt.

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
    let mut webhooks = Webhooks::default();
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
            "--webhook-url" => webhooks.url(value(&mut parser)?)?,
            "--webhook-secret" => webhooks.secret(value(&mut parser)?)?,
            "--webhook-attempts" => {
                let range = limits::WEBHOOK_ATTEMPTS;
                webhooks.attempts = Some(
                    value(&mut parser)?
                        .parse()
                        .ok()
                        .filter(|n| range.contains(n))
                        .ok_or_else(|| {
                            format!(
                                "--webhook-attempts takes a number from {} to {}",
                                range.start(),
                                range.end()
                            )
                        })?,
                )
            }
            "--webhook-retry-ms" => {
                webhooks.first_delay = Some(millis(
                    &value(&mut parser)?,
                    "--webhook-retry-ms",
                    Duration::ZERO,
                    limits::MAX_WEBHOOK_RETRY_DELAY,
                )?)
            }
            "--webhook-timeout-ms" => {
                webhooks.timeout = Some(millis(
                    &value(&mut parser)?,
                    "--webhook-timeout-ms",
                    limits::MIN_WEBHOOK_TIMEOUT,
                    limits::MAX_WEBHOOK_TIMEOUT,
                )?)
            }
            "--webhook-out-of-order-ms" => {
                builder = builder.webhook_out_of_order(millis(
                    &value(&mut parser)?,
                    "--webhook-out-of-order-ms",
                    Duration::ZERO,
                    limits::MAX_WEBHOOK_HOLD,
                )?)
            }
            "--webhook-duplicates" => {
                builder = builder.webhook_duplicates(
                    value(&mut parser)?
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=1.0).contains(p))
                        .ok_or("--webhook-duplicates takes a probability from 0 to 1")?,
                )
            }
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
    builder = builder
        .webhook_retry(
            webhooks
                .attempts
                .unwrap_or(limits::DEFAULT_WEBHOOK_ATTEMPTS),
            webhooks
                .first_delay
                .unwrap_or(limits::DEFAULT_WEBHOOK_RETRY_DELAY),
        )
        .webhook_timeout(webhooks.timeout.unwrap_or(limits::DEFAULT_WEBHOOK_TIMEOUT));
    let endpoints = webhooks.finish()?;
    for (url, secret) in &endpoints {
        builder = builder.webhook(url, secret);
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
    for (url, _) in &endpoints {
        println!("webhooks to: {url}");
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

/// The webhook options, paired and checked as they come.
#[derive(Default)]
struct Webhooks {
    /// Complete `(url, secret)` pairs.
    pairs: Vec<(String, String)>,
    /// A URL waiting for its secret.
    url: Option<String>,
    /// A secret waiting for its URL.
    secret: Option<String>,
    attempts: Option<u32>,
    first_delay: Option<Duration>,
    timeout: Option<Duration>,
}

impl Webhooks {
    fn url(&mut self, url: String) -> Result<(), String> {
        if let Some(previous) = self.url.take() {
            return Err(format!(
                "--webhook-url {previous} has no --webhook-secret: give each --webhook-url a \
                 --webhook-secret next to it"
            ));
        }
        match self.secret.take() {
            Some(secret) => self.pairs.push((url, secret)),
            None => self.url = Some(url),
        }
        Ok(())
    }

    fn secret(&mut self, secret: String) -> Result<(), String> {
        if self.secret.is_some() {
            return Err(concat!(
                "--webhook-secret given twice without a --webhook-url between: ",
                "give each --webhook-url a --webhook-secret next to it"
            )
            .to_owned());
        }
        match self.url.take() {
            Some(url) => self.pairs.push((url, secret)),
            None => self.secret = Some(secret),
        }
        Ok(())
    }

    /// The pairs, once every URL has its secret.
    fn finish(self) -> Result<Vec<(String, String)>, String> {
        if let Some(url) = self.url {
            return Err(format!(
                "--webhook-url {url} has no --webhook-secret: give each --webhook-url a \
                 --webhook-secret next to it"
            ));
        }
        if self.secret.is_some() {
            return Err(
                "--webhook-secret has no --webhook-url: give each --webhook-secret a \
                 --webhook-url next to it"
                    .to_owned(),
            );
        }
        Ok(self.pairs)
    }
}

/// `text` as a number of milliseconds within `min..=max`, for `flag`.
fn millis(text: &str, flag: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    text.parse::<u64>()
        .ok()
        .map(Duration::from_millis)
        .filter(|d| (min..=max).contains(d))
        .ok_or_else(|| {
            format!(
                "{flag} takes a number of milliseconds from {} to {}",
                min.as_millis(),
                max.as_millis()
            )
        })
}

/// The value of the option just read.
fn value(parser: &mut lexopt::Parser) -> Result<String, String> {
    parser
        .value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "arguments must be UTF-8".to_owned())
}
