//! Fleet mode (`redis` feature) against a real redis-server and deepidv-mock with its per-key
//! limiter on (25/s, bursts of 35, like DeepIDV): replicas share one bucket and one
//! `create_once`; Redis failing never stops the calls. A binary of its own: it installs a global
//! log subscriber and starts child processes of itself as replicas.

#[path = "../support/captured_logs.rs"]
mod captured_logs;
mod redis_server;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use deepidv::{Client, CreateOutcome, Error, RateLimit, SessionCreateInput, SessionListParams};
use deepidv_mock::{Channel, Fault, MockOperation, MockServer};
use redis_server::RedisServer;

const OUTAGE: &str = "Redis is unreachable or slow";
const RECOVERY: &str = "Redis answers again";

/// A replica: its own client (own local bucket and single-flight), the shared key and Redis.
fn replica(mock_url: &str, key: &str, redis: Option<&str>) -> Client {
    let mut builder = deepidv::testing::builder()
        .base_url(mock_url)
        .api_key(key)
        .rate_limit(Some(RateLimit::DEFAULT))
        .max_retries(0);
    if let Some(url) = redis {
        // Each test starts its own redis-server: the default prefix is shared by its replicas.
        builder = builder.redis(url);
    }
    builder.build().unwrap()
}

async fn limited_mock() -> MockServer {
    MockServer::builder()
        .rate_limit(true)
        .start()
        .await
        .unwrap()
}

fn answered_429(mock: &MockServer) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count()
}

/// `calls` list calls from each client, 4 at a time per client; how long they took.
async fn run_calls(clients: &[Client], calls: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        for lane in 0..4 {
            let sessions = client.sessions();
            let share = calls / 4 + usize::from(lane < calls % 4);
            tasks.spawn(async move {
                for _ in 0..share {
                    // A 429 is the server's refusal; it is counted from the mock's journal.
                    let _ = sessions.list(SessionListParams::new().limit(1)).await;
                }
            });
        }
    }
    // Bounded: a limiter that stalls fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(30), tasks.join_all())
        .await
        .expect("the calls did not finish within 30 s");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_clients_share_one_bucket_and_stay_under_the_limit() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = limited_mock().await;
    let key = mock.api_key().to_owned();
    let url = redis.url();
    let clients: Vec<Client> = (0..4)
        .map(|_| replica(mock.url(), &key, Some(&url)))
        .collect();

    let took = run_calls(&clients, 75).await;

    let sent = mock.requests().len();
    assert_eq!(sent, 300);
    assert_eq!(answered_429(&mock), 0, "one shared bucket stays under 25/s");
    // 30 at once, then 24/s: at least 270/24 s, and at least 90% of the configured rate.
    let rate = sent as f64 / took.as_secs_f64();
    assert!(took >= Duration::from_secs(10), "took {took:?}");
    assert!(rate >= 0.9 * 24.0, "aggregate rate {rate:.1}/s");
    eprintln!("fleet mode=redis clients=4 calls={sent} rate_per_s={rate:.1} http_429=0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_four_clients_collect_429s() {
    let mock = limited_mock().await;
    let key = mock.api_key().to_owned();
    let clients: Vec<Client> = (0..4).map(|_| replica(mock.url(), &key, None)).collect();

    run_calls(&clients, 75).await;

    let refused = answered_429(&mock);
    eprintln!("fleet mode=local clients=4 calls=300 http_429={refused}");
    assert!(refused > 0, "four buckets of 24/s overrun one key's 25/s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_create_once_send_one_create() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    // The first create is processed, but its answer is lost.
    mock.inject(Fault::process_then_drop().on(MockOperation::CreateSession));
    let url = redis.url();
    let (a, b) = (
        replica(mock.url(), mock.api_key(), Some(&url)),
        replica(mock.url(), mock.api_key(), Some(&url)),
    );
    let input = || {
        SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890")
            .external_id("fleet-job-1")
    };
    let (a, b) = (a.sessions(), b.sessions());
    let (first, second) = tokio::join!(a.create_once(input()), b.create_once(input()));
    for outcome in [first.unwrap(), second.unwrap()] {
        assert!(matches!(outcome, CreateOutcome::Existing(_)), "{outcome:?}");
    }
    assert_eq!(mock.session_count(), 1, "exactly one session");
    let channels: Vec<Channel> = mock.invites().iter().map(|i| i.channel).collect();
    assert_eq!(
        channels,
        [Channel::Email, Channel::Sms],
        "one set of invites"
    );
    assert_eq!(
        mock.requests()
            .iter()
            .filter(|r| r.operation == Some(MockOperation::CreateSession))
            .count(),
        1
    );
}

/// One replica process: reads its job from the environment, prints one result line.
fn replica_process(test: &str, env: &[(&str, String)]) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", test, "--nocapture", "--test-threads", "1"]);
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap()
}

fn job(name: &str) -> Option<String> {
    std::env::var(format!("DEEPIDV_FLEET_{name}")).ok()
}

/// As a child process: one replica's share of calls. Run alone (no job in the environment), it
/// is a one-replica check: its calls stay under the key's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_calls() {
    let (mock_url, key, redis_url, calls) =
        match (job("MOCK"), job("KEY"), job("REDIS"), job("CALLS")) {
            (Some(mock), Some(key), Some(redis), Some(calls)) => {
                (mock, key, redis, calls.parse::<usize>().unwrap())
            }
            _ => {
                let Some(redis) = RedisServer::start() else {
                    return;
                };
                let mock = limited_mock().await;
                let client = replica(mock.url(), mock.api_key(), Some(&redis.url()));
                run_calls(&[client], 60).await;
                assert_eq!(answered_429(&mock), 0);
                return;
            }
        };
    let client = replica(&mock_url, &key, Some(&redis_url));
    run_calls(&[client], calls).await;
    println!("replica done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_share_one_bucket() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = limited_mock().await;
    let env = vec![
        ("DEEPIDV_FLEET_MOCK", mock.url().to_owned()),
        ("DEEPIDV_FLEET_KEY", mock.api_key().to_owned()),
        ("DEEPIDV_FLEET_REDIS", redis.url()),
        ("DEEPIDV_FLEET_CALLS", "50".to_owned()),
    ];
    let started = Instant::now();
    let children: Vec<_> = (0..4)
        .map(|_| replica_process("replica_calls", &env))
        .collect();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(output.status.success());
        assert!(String::from_utf8_lossy(&output.stdout).contains("replica done"));
    }
    let took = started.elapsed();
    let sent = mock.requests().len();
    assert_eq!(sent, 200);
    assert_eq!(answered_429(&mock), 0, "four processes, one bucket");
    let rate = sent as f64 / took.as_secs_f64();
    eprintln!("fleet mode=redis processes=4 calls={sent} rate_per_s={rate:.1} http_429=0");
}

/// As a child process: one replica's `create_once`, started at an agreed instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_create_once() {
    let (Some(mock_url), Some(key), Some(redis_url), Some(start_at)) =
        (job("MOCK"), job("KEY"), job("REDIS"), job("START_AT_MS"))
    else {
        // Alone: two clients in this process, each with its own single-flight, share Redis's.
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let mock = MockServer::start().await;
        let (a, b) = (
            replica(mock.url(), mock.api_key(), Some(&redis.url())),
            replica(mock.url(), mock.api_key(), Some(&redis.url())),
        );
        let input = || {
            SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890")
                .external_id("alone-1")
        };
        let (a, b) = (a.sessions(), b.sessions());
        let (x, y) = tokio::join!(a.create_once(input()), b.create_once(input()));
        assert!(x.is_ok() && y.is_ok());
        assert_eq!(mock.session_count(), 1);
        return;
    };
    let start_at: u64 = start_at.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(start_at.saturating_sub(now))).await;
    let client = replica(&mock_url, &key, Some(&redis_url));
    let input = SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890")
        .external_id("fleet-process-job");
    match client.sessions().create_once(input).await {
        Ok(CreateOutcome::Created(created)) => println!("outcome created {}", created.id),
        Ok(CreateOutcome::Existing(session)) => println!("outcome existing {}", session.id),
        Ok(other) => println!("outcome other {other:?}"),
        Err(e) => println!("outcome error {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_create_once_at_the_same_moment_send_one_create() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    mock.inject(Fault::process_then_drop().on(MockOperation::CreateSession));
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1_500;
    let env = vec![
        ("DEEPIDV_FLEET_MOCK", mock.url().to_owned()),
        ("DEEPIDV_FLEET_KEY", mock.api_key().to_owned()),
        ("DEEPIDV_FLEET_REDIS", redis.url()),
        ("DEEPIDV_FLEET_START_AT_MS", start_at.to_string()),
    ];
    let children: Vec<_> = (0..2)
        .map(|_| replica_process("replica_create_once", &env))
        .collect();
    let mut outcomes = Vec::new();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        // The harness may print the test's name on the same line.
        let line = stdout
            .lines()
            .find_map(|line| line.find("outcome ").map(|at| line[at..].to_owned()))
            .unwrap_or_else(|| panic!("no outcome in {stdout}"));
        outcomes.push(line);
    }
    assert!(
        outcomes.iter().all(|o| o.starts_with("outcome existing ")),
        "{outcomes:?}"
    );
    assert_eq!(mock.session_count(), 1, "exactly one session: {outcomes:?}");
    assert_eq!(mock.invites().len(), 2, "one set of invites");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failing_never_stops_the_calls_and_sharing_resumes() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let logs = captured_logs::install(tracing::Level::INFO);
    let mark = logs.len();
    let logged = || logs.since(mark);
    let mock = MockServer::start().await;
    let client = deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .rate_limit(Some(RateLimit::per_second(1_000)))
        .redis(redis.url())
        .redis_prefix("outage")
        .redis_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let sessions = client.sessions();
    let some_calls = || async {
        let started = Instant::now();
        for _ in 0..20 {
            sessions
                .list(SessionListParams::new().limit(1))
                .await
                .unwrap();
        }
        started.elapsed()
    };
    let count = |needle: &str| logged().matches(needle).count();

    some_calls().await;
    assert_eq!(count(OUTAGE), 0);

    // Down: every call still completes, within the Redis timeout at most, one WARN in all;
    // create_once goes on with this process's single-flight.
    redis.stop();
    let took = some_calls().await;
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let input = applicant("outage-1");
    let outcome = sessions.create_once(input).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(count(OUTAGE), 1, "{}", logged());

    // Back: sharing resumes (the bucket's key reappears) and it is said once.
    redis.restart();
    let started = Instant::now();
    while count(RECOVERY) == 0 && started.elapsed() < Duration::from_secs(20) {
        sessions
            .list(SessionListParams::new().limit(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(RECOVERY), 1, "{}", logged());
    let keys = redis.command(&["KEYS", "outage:*"]).unwrap();
    assert!(
        matches!(&keys, redis::Value::Array(found) if !found.is_empty()),
        "{keys:?}"
    );

    // Slow: DEBUG SLEEP holds Redis for 1.5 s; calls fall back after 100 ms each.
    let sleeper = {
        let url = redis.url();
        std::thread::spawn(move || {
            let client = redis::Client::open(url).unwrap();
            let mut connection = client.get_connection().unwrap();
            let _: redis::RedisResult<String> = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg("1.5")
                .query(&mut connection);
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let took = some_calls().await;
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(count(OUTAGE), 2, "a second outage, one more WARN");
    sleeper.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_refuses_calls_while_redis_is_down() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let redis_url = redis.url();
    let fail_closed = |rate_limit: Option<RateLimit>| {
        deepidv::testing::builder()
            .base_url(mock.url())
            .api_key(mock.api_key())
            .rate_limit(rate_limit)
            .redis(redis_url.clone())
            .redis_prefix("closed")
            .redis_timeout(Duration::from_millis(100))
            .redis_fail_closed(true)
            .build()
            .unwrap()
    };
    let client = fail_closed(Some(RateLimit::DEFAULT));
    // Debug shows fleet mode and its namespace (a hash of the key, never the key).
    let shown = format!("{client:?}");
    assert!(
        shown.contains(r#"fleet: Some(Fleet { namespace: "closed:"#)
            && shown.contains("fail_closed: true")
            && !shown.contains(mock.api_key()),
        "{shown}"
    );
    client
        .sessions()
        .list(SessionListParams::new())
        .await
        .unwrap();
    redis.stop();
    let started = Instant::now();
    let e = client
        .sessions()
        .list(SessionListParams::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Coordination { .. }), "{e:?}");
    // The refusal says why Redis could not be used.
    let why = e.to_string();
    assert!(
        why.contains("Redis could not be used (") && !why.contains("()"),
        "{why}"
    );
    assert!(e.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5));
    let e = client
        .sessions()
        .create_once(applicant("closed-1"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Coordination { .. }), "{e:?}");
    assert_eq!(mock.session_count(), 0, "nothing was sent");

    // Without a rate limit only create_once uses Redis, and refuses just the same.
    let unlimited = fail_closed(None);
    let input = applicant("closed-2");
    let e = unlimited.sessions().create_once(input).await.unwrap_err();
    assert!(matches!(e, Error::Coordination { .. }), "{e:?}");
    assert_eq!(mock.session_count(), 0, "nothing was sent");
}

#[test]
fn a_bad_redis_url_is_a_config_error() {
    for url in ["http://127.0.0.1:6379", "not a url", ""] {
        let e = Client::builder()
            .api_key("sk_test_1")
            .redis(url)
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{url}: {e:?}");
    }
}

/// After Redis fails, calls skip it for a moment (1 s) instead of each paying for a failed
/// connection: twenty quick calls against an address that accepts and at once closes every
/// connection try it a handful of times, not twenty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_redis_fails_calls_skip_it_for_a_moment() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn({
        let accepted = accepted.clone();
        move || {
            for connection in listener.incoming() {
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(connection);
            }
        }
    });
    let mock = MockServer::start().await;
    let client = deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .rate_limit(Some(RateLimit::per_second(1_000)))
        .redis(format!("redis://{address}"))
        .redis_timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let started = Instant::now();
    for _ in 0..20 {
        client
            .sessions()
            .list(SessionListParams::new().limit(1))
            .await
            .unwrap();
    }
    let took = started.elapsed();

    let tries = accepted.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("redis connections tried: {tries} in {took:?}");
    assert!((1..=6).contains(&tries), "{tries} connections in {took:?}");
}

/// A fleet client whose shared bucket gives one turn a second, no burst: a second call right after
/// a first waits about 1 s.
fn one_turn_a_second(mock: &MockServer, redis: &RedisServer) -> deepidv::ClientBuilder {
    deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .rate_limit(Some(RateLimit::per_second(1).burst(1)))
        .redis(redis.url())
}

/// A turn from the shared bucket that would come after the call's total timeout is not taken:
/// the call fails at once with a timeout, sends nothing, and leaves the turn to others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_turn_past_the_total_timeout_fails_the_call_at_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let client = one_turn_a_second(&mock, &redis)
        .total_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let sessions = client.sessions();
    sessions
        .list(SessionListParams::new().limit(1))
        .await
        .unwrap();

    let started = Instant::now();
    let e = sessions
        .list(SessionListParams::new().limit(1))
        .await
        .unwrap_err();
    let took = started.elapsed();

    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(took < Duration::from_millis(450), "failed after {took:?}");
    assert_eq!(mock.requests().len(), 1, "the second call sent nothing");
}

/// How many requests for `operation` the mock received.
fn sent(mock: &MockServer, operation: MockOperation) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

fn applicant(external_id: &str) -> SessionCreateInput {
    SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890")
        .external_id(external_id)
}

/// A finished `create_once` has released its lock itself (this runtime's one thread is busy with
/// the test, so nothing ran in the background), and a later replica gets the session by its
/// recorded id: one retrieve, no list (the first call's look before creating is the only list).
/// A record naming no session is not trusted: looked up.
#[tokio::test]
async fn a_later_replica_retrieves_the_recorded_session_and_no_lock_is_left() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let url = redis.url();
    let a = replica(mock.url(), mock.api_key(), Some(&url)).sessions();
    let b = replica(mock.url(), mock.api_key(), Some(&url)).sessions();

    let CreateOutcome::Created(created) = a.create_once(applicant("later-1")).await.unwrap() else {
        panic!("the first call creates")
    };
    assert_eq!(redis.keys("deepidv:*:lock"), Vec::<String>::new());

    let outcome = b.create_once(applicant("later-1")).await.unwrap();
    let CreateOutcome::Existing(existing) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(existing.id, created.id);
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
    assert_eq!(
        sent(&mock, MockOperation::ListSessions),
        1,
        "only the first call's look"
    );

    let records = redis.keys("deepidv:*:record");
    assert_eq!(records.len(), 1, "{records:?}");
    redis.command(&["SET", &records[0], "created:"]).unwrap();
    let outcome = b.create_once(applicant("later-1")).await.unwrap();
    assert!(
        matches!(&outcome, CreateOutcome::Existing(found) if found.id == created.id),
        "{outcome:?}"
    );
    assert_eq!(sent(&mock, MockOperation::ListSessions), 2, "looked up");
    assert_eq!(mock.session_count(), 1);
}

/// A `create_once` cancelled while its create is in flight releases its lock (in the
/// background): the next replica goes ahead at once instead of waiting out the lock's expiry
/// (over two minutes with these settings).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_create_once_releases_its_lock_for_the_next_replica() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    mock.inject(Fault::delay(Duration::from_secs(30)).on(MockOperation::CreateSession));
    let url = redis.url();
    let a = replica(mock.url(), mock.api_key(), Some(&url)).sessions();
    let b = replica(mock.url(), mock.api_key(), Some(&url)).sessions();

    let cancelled = tokio::time::timeout(
        Duration::from_millis(500),
        a.create_once(applicant("cancel-1")),
    )
    .await;
    assert!(cancelled.is_err(), "{cancelled:?}");

    let next = tokio::time::timeout(
        Duration::from_secs(20),
        b.create_once(applicant("cancel-1")),
    )
    .await
    .expect("the next replica waited for the cancelled call's lock")
    .unwrap();
    assert!(matches!(next, CreateOutcome::Created(_)), "{next:?}");
}

/// A call cancelled while it waits for its turn from the shared bucket hands the turn back: the
/// bucket's next free time (in Redis) returns to what it was before that call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_wait_hands_its_shared_turn_back() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let client = one_turn_a_second(&mock, &redis).build().unwrap();
    let sessions = client.sessions();
    sessions
        .list(SessionListParams::new().limit(1))
        .await
        .unwrap();
    let rate = redis.keys("deepidv:*:rate");
    assert_eq!(rate.len(), 1, "{rate:?}");
    // The bucket's next free time (a number of microseconds), while the key lives.
    let next_free = || -> Option<String> {
        redis::from_redis_value(redis.command(&["GET", &rate[0]]).unwrap()).unwrap()
    };
    let before = next_free();
    assert!(before.is_some());

    // The second call's turn is about a second away: it reserves it, then is cancelled.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(200),
        sessions.list(SessionListParams::new().limit(1)),
    )
    .await;
    assert!(cancelled.is_err(), "{cancelled:?}");
    assert_eq!(sent(&mock, MockOperation::ListSessions), 1);

    let started = Instant::now();
    while next_free() != before {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the turn was not handed back: {:?} != {before:?}",
            next_free()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
