//! `cargo xtask bench`: the SDK against the hand-written alternative, side by side in one run.
//!
//! A minimal canned HTTP server (hyper; not the mock, so that the SDK is what is measured) runs in
//! a child process, so that its memory does not count in the figures. Each comparison runs rounds
//! in which the SDK and the hand-written code take turns; `ratio` is SDK time per unit divided by
//! hand-written time per unit in the same round (lower is better), reported as the median over the
//! rounds with its spread (max − min).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

mod at_most_once;
mod fleet;

use bytes::Bytes;
use deepidv::{Session, SessionListParams, User};
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming};
use serde::Deserialize;

/// DeepIDV's published 18 KB retrieve example.
const RETRIEVE: &str = include_str!("../data/retrieve-session.response.json");
const KEY: &str = "sk_bench";
const PAGE_ROWS: usize = 500;
const PAGES: usize = 200;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return match serve().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench server: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("--fleet-replica") {
        return match fleet::replica_main(&args[1..]).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fleet replica: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--at-most-once") {
        return match at_most_once::run().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench --at-most-once failed: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--fleet") {
        return match fleet::run(&args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench --fleet failed: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("--repeat") {
        // `--repeat sdk|hand N`: N sequential retrieves (`list-sdk|list-hand`: N walks of every
        // page) and nothing else, for instruction counts
        // under `valgrind --tool=callgrind` (the server child runs natively).
        let which = args.get(1).cloned().unwrap_or_default();
        let times = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1_000);
        return match repeat(&which, times).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench failed: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    match run(rounds).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The canned server (child process).

async fn serve() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    let connections = Arc::new(AtomicUsize::new(0));
    let retrieve = Bytes::from_static(RETRIEVE.as_bytes());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, Ordering::Relaxed);
        let connections = connections.clone();
        let retrieve = retrieve.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let body = answer(&request, &retrieve, &connections);
                async move {
                    let mut response = Response::new(Full::new(body));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(request: &Request<Incoming>, retrieve: &Bytes, connections: &AtomicUsize) -> Bytes {
    let path = request.uri().path();
    if path == "/connections" {
        return Bytes::from(connections.load(Ordering::Relaxed).to_string());
    }
    if path == "/v1/sessions" {
        let page = request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("next_token=")))
            .and_then(|t| t.strip_prefix("p"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        return Bytes::from(list_page(page));
    }
    retrieve.clone()
}

/// Page `page` of 500 rows shaped like DeepIDV's published list example.
fn list_page(page: usize) -> String {
    let mut body = String::with_capacity(PAGE_ROWS * 420);
    body.push_str("{\"sessions\":[");
    for row in 0..PAGE_ROWS {
        if row > 0 {
            body.push(',');
        }
        let n = page * PAGE_ROWS + row;
        body.push_str(&format!(
            "{{\"id\":\"a1b2c3d4-e5f6-7890-abcd-{n:012}\",\"organization_id\":\"org_abc123\",\"user_id\":\"usr_def456\",\
             \"sender_user_id\":\"usr_ghi789\",\"status\":\"VERIFIED\",\"type\":\"session\",\"session_progress\":\"COMPLETED\",\
             \"created_at\":\"2025-01-15T10:30:00.000Z\",\"updated_at\":\"2025-01-15T10:45:00.000Z\"}}"
        ));
    }
    let next = if page + 1 < PAGES {
        format!("\"p{}\"", page + 1)
    } else {
        "null".to_owned()
    };
    body.push_str(&format!("],\"next_token\":{next}}}"));
    body
}

// ---------------------------------------------------------------------------------------------
// The comparisons (parent process).

/// The child server; killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Result<Server, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(Server {
        child,
        url: format!("http://{}", line.trim()),
    })
}

/// The hand-written retrieve: the same types, decoded with serde_json.
#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to measure decoding")]
struct HandRetrieve {
    session_record: Session,
    user: Option<User>,
    sender_user: Option<User>,
    #[serde(default)]
    resource_links: HashMap<String, Option<String>>,
}

#[derive(Deserialize)]
struct HandPage {
    sessions: Vec<Session>,
    next_token: Option<String>,
}

struct Figure {
    name: &'static str,
    ratio: f64,
    spread: f64,
    sdk: f64,
    hand: f64,
    unit: &'static str,
    extra: Vec<(&'static str, String)>,
}

impl Figure {
    fn new(name: &'static str, unit: &'static str, rounds: &[(f64, f64)]) -> Self {
        let mut ratios: Vec<f64> = rounds.iter().map(|(sdk, hand)| sdk / hand).collect();
        ratios.sort_by(f64::total_cmp);
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        Self {
            name,
            ratio: ratios[ratios.len() / 2],
            spread: ratios[ratios.len() - 1] - ratios[0],
            sdk: median(rounds.iter().map(|r| r.0).collect()),
            hand: median(rounds.iter().map(|r| r.1).collect()),
            unit,
            extra: Vec::new(),
        }
    }
}

async fn run(rounds: usize) -> Result<(), String> {
    let server = start_server()?;
    let sessions = sdk_client(&server.url, None)?.sessions();
    let http = hand_client()?;
    let retrieve_url = format!(
        "{}/v1/sessions/a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        server.url
    );
    let mut figures = Vec::new();

    // Warm up both clients (connections, allocator).
    for _ in 0..50 {
        sessions
            .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
            .await
            .map_err(|e| e.to_string())?;
        hand_retrieve(&http, &retrieve_url).await?;
    }

    // 1. Sequential retrieve.
    const SEQUENTIAL: usize = 1_000;
    let mut measured = Vec::new();
    for _ in 0..rounds {
        let sdk = time_per(SEQUENTIAL, || async {
            for _ in 0..SEQUENTIAL {
                sessions
                    .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .await?;
        let hand = time_per(SEQUENTIAL, || async {
            for _ in 0..SEQUENTIAL {
                hand_retrieve(&http, &retrieve_url).await?;
            }
            Ok(())
        })
        .await?;
        measured.push((sdk, hand));
    }
    figures.push(Figure::new("retrieve_sequential", "µs/call", &measured));

    // 2. 64 concurrent tasks over one client.
    const TASKS: usize = 64;
    const PER_TASK: usize = 50;
    let mut measured = Vec::new();
    let mut sdk_connections = 0;
    let mut hand_connections = 0;
    for _ in 0..rounds {
        let start = connections(&http, &server.url).await?;
        let sdk = time_per(TASKS * PER_TASK, || async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..TASKS {
                let sessions = sessions.clone();
                tasks.spawn(async move {
                    for _ in 0..PER_TASK {
                        sessions
                            .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                });
            }
            tasks
                .join_all()
                .await
                .into_iter()
                .collect::<Result<(), String>>()
        })
        .await?;
        let middle = connections(&http, &server.url).await?;
        let hand = time_per(TASKS * PER_TASK, || async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..TASKS {
                let http = http.clone();
                let url = retrieve_url.clone();
                tasks.spawn(async move {
                    for _ in 0..PER_TASK {
                        hand_retrieve(&http, &url).await?;
                    }
                    Ok::<(), String>(())
                });
            }
            tasks
                .join_all()
                .await
                .into_iter()
                .collect::<Result<(), String>>()
        })
        .await?;
        let end = connections(&http, &server.url).await?;
        sdk_connections += middle - start;
        hand_connections += end - middle;
        measured.push((sdk, hand));
    }
    let mut figure = Figure::new("retrieve_concurrent", "µs/call", &measured);
    // Connections opened by the SDK's client over all rounds, warm-up excluded.
    figure
        .extra
        .push(("connections", sdk_connections.to_string()));
    figure
        .extra
        .push(("hand_connections", hand_connections.to_string()));
    figures.push(figure);

    // 3. list_all over 100,000 sessions.
    let total = PAGES * PAGE_ROWS;
    let mut measured = Vec::new();
    let mut rss_growth: f64 = 0.0;
    let list_url = format!("{}/v1/sessions", server.url);
    for _ in 0..rounds.min(5) {
        let baseline = reset_peak_rss();
        let sdk = time_per(total, || async {
            let mut stream = std::pin::pin!(sessions.list_all(SessionListParams::new()));
            let mut count = 0;
            while let Some(session) = stream.next().await {
                session.map_err(|e| e.to_string())?;
                count += 1;
            }
            if count == total {
                Ok(())
            } else {
                Err(format!("list_all saw {count} sessions, not {total}"))
            }
        })
        .await?;
        if let (Some(baseline), Some(peak)) = (baseline, peak_rss_kb()) {
            rss_growth = rss_growth.max((peak.saturating_sub(baseline)) as f64 / 1024.0);
        }
        let hand = time_per(total, || async {
            let mut token: Option<String> = None;
            let mut count = 0;
            loop {
                let mut request = http.get(&list_url).query(&[("limit", "500")]);
                if let Some(token) = &token {
                    request = request.query(&[("next_token", token)]);
                }
                let body = request
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())?;
                let page: HandPage = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                count += page.sessions.len();
                match page.next_token {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
            if count == total {
                Ok(())
            } else {
                Err(format!("hand-written loop saw {count} sessions"))
            }
        })
        .await?;
        measured.push((sdk, hand));
    }
    let mut figure = Figure::new("list_all", "µs/session", &measured);
    figure.extra.push(("rss_mb", format!("{rss_growth:.1}")));
    figures.push(figure);

    // With the default client-side rate limiter on: what it lets through, for information.
    const LIMITED: usize = 120;
    let limited = sdk_client(&server.url, Some(deepidv::RateLimit::DEFAULT))?.sessions();
    let started = Instant::now();
    for _ in 0..LIMITED {
        limited
            .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
            .await
            .map_err(|e| e.to_string())?;
    }
    let limiter_rate = LIMITED as f64 / started.elapsed().as_secs_f64();

    // 4. Decode only: the 18 KB example into the facade's types vs serde_json::Value.
    const DECODES: usize = 2_000;
    let mut measured = Vec::new();
    for _ in 0..rounds {
        let typed = time_per(DECODES, || async {
            for _ in 0..DECODES {
                let decoded: HandRetrieve =
                    serde_json::from_str(RETRIEVE).map_err(|e| e.to_string())?;
                std::hint::black_box(decoded);
            }
            Ok(())
        })
        .await?;
        let value = time_per(DECODES, || async {
            for _ in 0..DECODES {
                let decoded: serde_json::Value =
                    serde_json::from_str(RETRIEVE).map_err(|e| e.to_string())?;
                std::hint::black_box(decoded);
            }
            Ok(())
        })
        .await?;
        measured.push((typed, value));
    }
    figures.push(Figure::new("decode_typed_vs_value", "µs/decode", &measured));

    print_report(&figures, rounds);
    let default = deepidv::RateLimit::DEFAULT;
    println!(
        "bench limiter_on calls_per_s={limiter_rate:.1} limit_per_s={} burst={} calls={LIMITED}",
        default.rate(),
        default.burst_size()
    );
    Ok(())
}

/// N sequential retrieves by one side only.
async fn repeat(which: &str, times: usize) -> Result<(), String> {
    let server = start_server()?;
    let url = format!(
        "{}/v1/sessions/a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        server.url
    );
    // Both sides build an SDK client, so that setup costs the same.
    let sessions = sdk_client(&server.url, None)?.sessions();
    let http = hand_client()?;
    let list_url = format!("{}/v1/sessions", server.url);
    for _ in 0..times {
        match which {
            "list-sdk" => {
                let mut stream = std::pin::pin!(sessions.list_all(SessionListParams::new()));
                while let Some(session) = stream.next().await {
                    session.map_err(|e| e.to_string())?;
                }
            }
            "list-hand" => {
                let mut token: Option<String> = None;
                loop {
                    let mut request = http.get(&list_url).query(&[("limit", "500")]);
                    if let Some(token) = &token {
                        request = request.query(&[("next_token", token)]);
                    }
                    let body = request
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .bytes()
                        .await
                        .map_err(|e| e.to_string())?;
                    let page: HandPage =
                        serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                    match page.next_token {
                        Some(next) => token = Some(next),
                        None => break,
                    }
                }
            }
            "sdk" => {
                sessions
                    .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
                    .await
                    .map_err(|e| e.to_string())?;
            }
            "hand" => hand_retrieve(&http, &url).await?,
            other => {
                return Err(format!(
                    "--repeat takes sdk, hand, list-sdk or list-hand, not {other:?}"
                ));
            }
        }
    }
    Ok(())
}

/// The SDK's client; measured with its client-side rate limiter off unless `limit` says otherwise.
fn sdk_client(url: &str, limit: Option<deepidv::RateLimit>) -> Result<deepidv::Client, String> {
    deepidv::Client::builder()
        .api_key(KEY)
        .base_url(url)
        .rate_limit(limit)
        .build()
        .map_err(|e| e.to_string())
}

/// The hand-written side's client: the key as a default header and the same per-request timeout
/// as the SDK's default (a fair alternative has one too).
fn hand_client() -> Result<reqwest::Client, String> {
    let key = (
        reqwest::header::HeaderName::from_static("x-api-key"),
        reqwest::header::HeaderValue::from_static(KEY),
    );
    reqwest::Client::builder()
        .default_headers([key].into_iter().collect())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

async fn hand_retrieve(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    let decoded: HandRetrieve = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    std::hint::black_box(decoded);
    Ok(())
}

/// Microseconds per unit of `work`.
async fn time_per<F, Fut>(units: usize, work: F) -> Result<f64, String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    work().await?;
    Ok(started.elapsed().as_secs_f64() * 1e6 / units as f64)
}

async fn connections(http: &reqwest::Client, url: &str) -> Result<usize, String> {
    let text = http
        .get(format!("{url}/connections"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    text.trim()
        .parse()
        .map_err(|_| format!("bad connection count {text}"))
}

/// Resets the kernel's peak-RSS mark (Linux) and returns the current RSS in KiB.
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kb("VmRSS:")
}

fn peak_rss_kb() -> Option<u64> {
    status_kb("VmHWM:")
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn print_report(figures: &[Figure], rounds: usize) {
    println!(
        "\ndeepidv bench: SDK vs hand-written reqwest + serde_json, {rounds} interleaved rounds\n"
    );
    println!(
        "{:<24} {:>8} {:>8} {:>12} {:>12}  {:<12} other",
        "comparison", "ratio", "spread", "sdk", "hand", "unit"
    );
    for f in figures {
        let extra: Vec<String> = f.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:<24} {:>8.3} {:>8.3} {:>12.2} {:>12.2}  {:<12} {}",
            f.name,
            f.ratio,
            f.spread,
            f.sdk,
            f.hand,
            f.unit,
            extra.join(" ")
        );
    }
    println!(
        "\nratio = SDK time per unit / hand-written time per unit (median of rounds); spread = max - min"
    );
    println!(
        "(decode_typed_vs_value compares the facade's types with serde_json::Value, for information)\n"
    );
    for f in figures {
        let extra: Vec<String> = f.extra.iter().map(|(k, v)| format!(" {k}={v}")).collect();
        println!(
            "bench {} ratio={:.3} spread={:.3} sdk={:.2} hand={:.2} unit={}{}",
            f.name,
            f.ratio,
            f.spread,
            f.sdk,
            f.hand,
            f.unit.replace('µ', "u"),
            extra.join("")
        );
    }
}
