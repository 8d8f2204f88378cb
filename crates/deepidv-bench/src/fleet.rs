//! `cargo xtask bench --fleet [--processes N]`: N replica processes sharing one API key against
//! deepidv-mock with its per-key limiter on (25/s, bursts of 35, like DeepIDV), once with fleet
//! mode through a real redis-server and once without; then the added cost of the Redis round trip
//! per call on loopback.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use deepidv::{RateLimit, SessionListParams};

/// Calls each replica makes.
const CALLS_PER_PROCESS: usize = 50;
/// Sequential calls timed for the per-call cost.
const LATENCY_CALLS: usize = 1_000;

/// The orchestrator: starts the mock and Redis, runs the replicas, prints the figures.
pub async fn run(args: &[String]) -> Result<(), String> {
    let processes = args
        .iter()
        .position(|a| a == "--processes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(4usize);
    let redis = Redis::start()?;
    for mode in ["redis", "local"] {
        let mock = deepidv_mock::MockServer::builder()
            .rate_limit(true)
            .start()
            .await
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let children = (0..processes)
            .map(|_| replica(&mock, mode, &redis.url()))
            .collect::<Result<Vec<_>, _>>()?;
        for child in children {
            let status = tokio::task::spawn_blocking(move || child.wait_with_output())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            if !status.status.success() {
                return Err(format!(
                    "a replica failed: {}",
                    String::from_utf8_lossy(&status.stderr)
                ));
            }
        }
        let took = started.elapsed().as_secs_f64();
        let requests = mock.requests();
        let refused = requests.iter().filter(|r| r.status == Some(429)).count();
        println!(
            "bench fleet mode={mode} processes={processes} calls={} rate_per_s={:.1} http_429={refused}",
            requests.len(),
            requests.len() as f64 / took
        );
    }
    let mock = deepidv_mock::MockServer::start().await;
    let without = per_call(&mock, None).await?;
    let with = per_call(&mock, Some(&redis.url())).await?;
    println!(
        "bench fleet per_call_us local={without:.0} redis={with:.0} redis_round_trip_us={:.0}",
        with - without
    );
    Ok(())
}

/// One replica process: this benchmark binary again, as `--fleet-replica`.
fn replica(mock: &deepidv_mock::MockServer, mode: &str, redis: &str) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(exe)
        .args(["--fleet-replica", mock.url(), mock.api_key(), mode, redis])
        .arg(CALLS_PER_PROCESS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())
}

/// The replica's work: `calls` list calls, four at a time, through its own client.
pub async fn replica_main(args: &[String]) -> Result<(), String> {
    let [url, key, mode, redis, calls] = args else {
        return Err("usage: --fleet-replica URL KEY redis|local REDIS_URL CALLS".to_owned());
    };
    let calls: usize = calls.parse().map_err(|_| "CALLS is a number")?;
    let mut builder = deepidv::Client::builder()
        .api_key(key)
        .base_url(url)
        .rate_limit(Some(RateLimit::DEFAULT))
        .max_retries(0);
    if mode == "redis" {
        builder = builder.redis(redis);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let mut lanes = tokio::task::JoinSet::new();
    for lane in 0..4 {
        let sessions = client.sessions();
        let share = calls / 4 + usize::from(lane < calls % 4);
        lanes.spawn(async move {
            for _ in 0..share {
                // A 429 is counted from the mock's journal.
                let _ = sessions.list(SessionListParams::new().limit(1)).await;
            }
        });
    }
    lanes.join_all().await;
    Ok(())
}

/// Mean microseconds per sequential call, with a limit high enough never to wait: the limiter's
/// bookkeeping is what differs (in-process, or one Redis script per call).
async fn per_call(mock: &deepidv_mock::MockServer, redis: Option<&str>) -> Result<f64, String> {
    let mut builder = deepidv::Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .rate_limit(Some(RateLimit::per_second(1_000_000).burst(1_000_000)));
    if let Some(url) = redis {
        builder = builder.redis(url).redis_prefix("latency");
    }
    let sessions = builder.build().map_err(|e| e.to_string())?.sessions();
    // Warm up the connections.
    for _ in 0..50 {
        sessions
            .list(SessionListParams::new().limit(1))
            .await
            .map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    for _ in 0..LATENCY_CALLS {
        sessions
            .list(SessionListParams::new().limit(1))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / LATENCY_CALLS as f64)
}

/// A redis-server on a unix socket in a temporary directory, stopped on drop.
struct Redis {
    dir: PathBuf,
    child: Child,
}

impl Redis {
    fn start() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("deepidv-bench-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let socket = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start redis-server (apt-get install redis-server): {e}")
            })?;
        let started = Instant::now();
        while !socket.exists() {
            if started.elapsed() > Duration::from_secs(20) {
                return Err("redis-server did not start within 20 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { dir, child })
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", self.dir.join("redis.sock").display())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
