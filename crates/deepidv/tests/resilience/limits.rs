//! The client-side rate limiter, the total timeout and the body cap.

use std::time::{Duration, Instant};

use deepidv::{Error, RateLimit, SessionListParams};
use deepidv_mock::{Fault, MockOperation, MockServer};

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
    assert!(sent(&mock, MockOperation::RetrieveSession) >= 2);
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
            .on(MockOperation::RetrieveSession)
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

/// The default cap is 16 MiB: a body of exactly 16 MiB is read (and then fails to decode as a
/// session, having no `session_record`), one byte more ends the read at the cap.
#[tokio::test]
async fn the_default_cap_is_16_mib() {
    assert_eq!(deepidv::DEFAULT_MAX_RESPONSE_BYTES, 16 * 1024 * 1024);
    let mock = MockServer::start().await;
    let client = builder(&mock).max_retries(0).build().unwrap();
    let sessions = client.sessions();

    mock.inject(Fault::oversized(16 * 1024 * 1024).on(MockOperation::RetrieveSession));
    let read = sessions.retrieve("test_verified").await.unwrap_err();
    let Error::Decode { message, .. } = &read else {
        panic!("{read:?}")
    };
    assert!(!message.contains("limit"), "read whole: {message}");

    mock.inject(Fault::oversized(16 * 1024 * 1024 + 1).on(MockOperation::RetrieveSession));
    let cut = sessions.retrieve("test_verified").await.unwrap_err();
    let Error::Decode { message, .. } = &cut else {
        panic!("{cut:?}")
    };
    assert!(message.contains("16777216-byte limit"), "{message}");
}

/// An error answer over the cap keeps its status (it is still a 500, retried as one), and its body
/// is read only up to the cap: the error holds at most the 4 KiB cap of the 2 MiB sent.
#[tokio::test]
async fn an_error_body_over_the_cap_keeps_its_status_and_is_cut() {
    let mock = MockServer::start().await;
    let page = format!("<html>{}</html>", "x".repeat(2 * 1024 * 1024));
    mock.inject(
        Fault::status(500)
            .body("text/html", page)
            .on(MockOperation::RetrieveSession)
            .times(10),
    );
    let client = builder(&mock)
        .max_response_bytes(4 * 1024)
        .max_retries(1)
        .build()
        .unwrap();

    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();

    assert!(matches!(e, Error::Api { .. }), "{e:?}");
    assert_eq!(e.status(), Some(500));
    let body = e.response().unwrap().body();
    assert!(body.len() <= 4 * 1024, "{} bytes kept", body.len());
    assert!(
        body.is_empty() || body.starts_with("<html>x"),
        "{}",
        &body[..20]
    );
    assert!(e.to_string().chars().count() < 500);
    assert_eq!(
        sent(&mock, MockOperation::RetrieveSession),
        2,
        "retried as a 500"
    );
}

#[test]
fn a_rate_limit_reports_its_rate_and_burst() {
    assert_eq!(
        (RateLimit::DEFAULT.rate(), RateLimit::DEFAULT.burst_size()),
        (24, 30)
    );
    let limit = RateLimit::per_second(10);
    assert_eq!((limit.rate(), limit.burst_size()), (10, 10));
    let limit = limit.burst(25);
    assert_eq!((limit.rate(), limit.burst_size()), (10, 25));
    assert_eq!(limit, RateLimit::per_second(10).burst(25));
}

/// After the burst, calls go at the configured rate, neither faster nor slower: 11 sequential
/// calls at 10 a second with no burst to spare take 1 s of waits. A refill too fast would take
/// none; one that lagged (tokens earned more slowly than the rate) would take several seconds.
#[tokio::test]
async fn after_the_burst_calls_go_at_the_rate() {
    let mock = MockServer::start().await;
    let client = builder(&mock)
        .rate_limit(Some(RateLimit::per_second(10).burst(1)))
        .build()
        .unwrap();
    let sessions = client.sessions();
    let started = Instant::now();
    for _ in 0..11 {
        sessions
            .list(SessionListParams::new().limit(1))
            .await
            .unwrap();
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(950), "took only {took:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}
