//! What is retried, how often, and how long the client waits. Timing assertions have wide
//! margins: the machine may be busy.

use std::time::{Duration, Instant};

use deepidv::{Error, SessionListParams, SessionStatusUpdate};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use crate::common::*;

/// Answers `status` for the first `times` requests with `verb`, then `then`.
async fn flaky(
    server: &MockServer,
    verb: &str,
    failure: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .respond_with(failure)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn retrieve_retries_503_until_it_succeeds() {
    let server = MockServer::start().await;
    flaky(
        &server,
        "GET",
        ResponseTemplate::new(503),
        2,
        json(fixture("retrieve-session.response.json")),
    )
    .await;

    let found = client(&server).sessions().retrieve("s1").await.unwrap();

    assert_eq!(
        found.session_record.id,
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    );
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn list_and_update_status_retry_server_errors_and_rate_limits() {
    let server = MockServer::start().await;
    flaky(
        &server,
        "GET",
        ResponseTemplate::new(500),
        1,
        json(fixture("list-sessions.response.json")),
    )
    .await;
    flaky(
        &server,
        "PATCH",
        ResponseTemplate::new(429),
        2,
        json(fixture("update-session-status.response.json")),
    )
    .await;
    let sessions = client(&server).sessions();

    sessions.list(SessionListParams::new()).await.unwrap();
    sessions
        .update_status("s1", SessionStatusUpdate::Verified)
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .count(),
        2
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.method.as_str() == "PATCH")
            .count(),
        3
    );
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;

    let e = builder(&server)
        .max_retries(2)
        .build()
        .unwrap()
        .sessions()
        .retrieve("s1")
        .await
        .unwrap_err();

    assert!(matches!(e, Error::Api { .. }), "{e:?}");
    assert_eq!(e.status(), Some(503));
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn create_is_not_retried_after_a_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;

    let e = client(&server)
        .sessions()
        .create(create_input())
        .await
        .unwrap_err();

    assert_eq!(e.status(), Some(500));
    assert!(
        !e.is_retryable(),
        "an ambiguous create must not look retryable"
    );
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn create_is_retried_after_a_429() {
    let server = MockServer::start().await;
    flaky(
        &server,
        "POST",
        ResponseTemplate::new(429),
        1,
        json(fixture("create-session.response.json")),
    )
    .await;

    let created = client(&server)
        .sessions()
        .create(create_input())
        .await
        .unwrap();

    assert_eq!(created.id, "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn create_is_not_retried_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            json(fixture("create-session.response.json")).set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;

    let client = builder(&server)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = client.sessions().create(create_input()).await.unwrap_err();

    let Error::Timeout { maybe_sent, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(maybe_sent);
    assert!(!e.is_retryable());
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn create_is_retried_when_no_connection_could_be_made() {
    // A port nobody listens on yet; the server appears there a moment after the first attempt.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = deepidv::Client::builder()
        .api_key(KEY)
        .base_url(format!("http://{address}"))
        .initial_retry_delay(Duration::from_millis(100))
        .max_retries(10)
        .build()
        .unwrap();

    let late_server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let listener = std::net::TcpListener::bind(address).unwrap();
        let server = MockServer::builder().listener(listener).start().await;
        Mock::given(method("POST"))
            .respond_with(json(fixture("create-session.response.json")))
            .mount(&server)
            .await;
        server
    });

    let created = client.sessions().create(create_input()).await.unwrap();
    let server = late_server.await.unwrap();
    assert_eq!(created.id, "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
    assert_eq!(
        received(&server).await.len(),
        1,
        "exactly one create reached the server"
    );
}

#[tokio::test]
async fn connection_refused_is_a_network_error_that_was_never_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = deepidv::Client::builder()
        .api_key(KEY)
        .base_url(format!("http://{address}"))
        .initial_retry_delay(Duration::from_millis(1))
        .max_retries(1)
        .build()
        .unwrap();

    let e = client.sessions().create(create_input()).await.unwrap_err();

    let Error::Network { maybe_sent, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(!maybe_sent);
    assert!(e.is_retryable());
    assert!(!e.to_string().contains(KEY));
}

#[tokio::test]
async fn retry_after_in_seconds_is_waited_for() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429).insert_header("retry-after", "1");
    flaky(
        &server,
        "GET",
        limited,
        1,
        json(fixture("retrieve-session.response.json")),
    )
    .await;

    let started = Instant::now();
    client(&server).sessions().retrieve("s1").await.unwrap();
    let waited = started.elapsed();

    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(15), "waited {waited:?}");
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_waited_for() {
    let server = MockServer::start().await;
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let limited = ResponseTemplate::new(503).insert_header("retry-after", at.as_str());
    flaky(
        &server,
        "GET",
        limited,
        1,
        json(fixture("retrieve-session.response.json")),
    )
    .await;

    let started = Instant::now();
    client(&server).sessions().retrieve("s1").await.unwrap();
    let waited = started.elapsed();

    // The date has one-second resolution, so the wait is between one and two seconds.
    assert!(
        waited >= Duration::from_millis(500),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(15), "waited {waited:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_60_seconds_ends_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;

    let started = Instant::now();
    let e = client(&server).sessions().retrieve("s1").await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_after_the_per_attempt_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            json(fixture("retrieve-session.response.json")).set_delay(Duration::from_secs(10)),
        )
        .mount(&server)
        .await;

    let client = builder(&server)
        .timeout(Duration::from_millis(200))
        .max_retries(1)
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client.sessions().retrieve("s1").await.unwrap_err();
    let took = started.elapsed();

    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(
        took >= Duration::from_millis(400),
        "two attempts of 200 ms took {took:?}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(received(&server).await.len(), 2);
}
