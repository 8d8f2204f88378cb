//! The client-side rate limiter, the total timeout and the body cap.

use std::time::{Duration, Instant};

use deepidv::{Error, RateLimit, SessionListParams};
use deepidv_mock::{Fault, MockServer, Operation};

use crate::{builder, sent};

#[tokio::test]
async fn the_default_limiter_keeps_a_busy_client_under_the_servers_limit() {
    // The mock limits each key like DeepIDV: 25 a second, bursts of 35.
    let mock = MockServer::builder()
        .rate_limit(true)
        .start()
        .await
        .unwrap();
    let client = builder(&mock)
        .rate_limit(Some(RateLimit::DEFAULT))
        .max_retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let sessions = client.sessions();
        tasks.spawn(async move {
            sessions
                .list(SessionListParams::new().limit(1))
                .await
                .map(|_| ())
        });
    }
    let outcomes = tasks.join_all().await;
    let took = started.elapsed();

    assert!(
        outcomes.iter().all(Result::is_ok),
        "{:?}",
        outcomes.iter().find(|o| o.is_err())
    );
    assert!(
        mock.requests().iter().all(|r| r.status != Some(429)),
        "no 429 reached the client"
    );
    // 30 at once, then 70 more at 24 a second: at least 70/24 s.
    assert!(took >= Duration::from_millis(2_800), "took only {took:?}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[tokio::test]
async fn the_limiter_is_shared_by_clones() {
    let mock = MockServer::start().await;
    let client = builder(&mock)
        .rate_limit(Some(RateLimit::per_second(10).burst(2)))
        .build()
        .unwrap();
    let clone = client.clone();
    let started = Instant::now();
    for sessions in [
        client.sessions(),
        clone.sessions(),
        client.sessions(),
        clone.sessions(),
    ] {
        sessions.list(SessionListParams::new()).await.unwrap();
    }
    // Two at once, then two more at 10 a second.
    assert!(
        started.elapsed() >= Duration::from_millis(180),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_total_timeout_bounds_a_call_across_retries() {
    let mock = MockServer::start().await;
    mock.inject(Fault::status(503).times(1_000));
    let client = builder(&mock)
        .initial_retry_delay(Duration::from_millis(200))
        .max_retries(50)
        .total_timeout(Duration::from_millis(1_500))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();
    let took = started.elapsed();

    // Either the deadline cut an attempt or wait short (Timeout), or a retry would have ended past
    // it (the last 503); never a wait beyond the deadline.
    assert!(
        matches!(e, Error::Timeout { .. } | Error::Api { .. }),
        "{e:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(sent(&mock, Operation::RetrieveSession) >= 2);
}

#[tokio::test]
async fn the_total_timeout_cuts_a_slow_attempt() {
    let mock = MockServer::start().await;
    mock.inject(Fault::delay(Duration::from_secs(10)).times(10));
    let client = builder(&mock)
        .timeout(Duration::from_secs(30))
        .total_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                maybe_sent: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.message().contains("total timeout"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_body_over_the_cap_is_a_typed_error() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::oversized(3 * 1024 * 1024)
            .on(Operation::RetrieveSession)
            .times(10),
    );
    let client = builder(&mock)
        .max_response_bytes(1024 * 1024)
        .max_retries(0)
        .build()
        .unwrap();

    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();

    let Error::Decode { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(message.contains("1048576-byte limit"), "{message}");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn the_default_cap_allows_a_full_page() {
    let mock = MockServer::start().await;
    mock.seed_sessions(500, deepidv_mock::SeedSessions::new())
        .unwrap();
    let client = builder(&mock).build().unwrap();
    let page = client
        .sessions()
        .list(SessionListParams::new().limit(500))
        .await
        .unwrap();
    assert_eq!(page.data.len(), 500);
}

#[test]
fn invalid_limits_are_refused() {
    for builder in [
        deepidv::Client::builder()
            .api_key("k")
            .rate_limit(Some(RateLimit::per_second(0))),
        deepidv::Client::builder()
            .api_key("k")
            .rate_limit(Some(RateLimit::per_second(5).burst(0))),
        deepidv::Client::builder()
            .api_key("k")
            .total_timeout(Duration::ZERO),
        deepidv::Client::builder()
            .api_key("k")
            .connect_timeout(Duration::ZERO),
        deepidv::Client::builder()
            .api_key("k")
            .max_response_bytes(10),
    ] {
        assert!(matches!(builder.build(), Err(Error::Config { .. })));
    }
}
