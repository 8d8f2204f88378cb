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

    let sessions = builder(&server).max_retries(2).build().unwrap().sessions();
    // Bounded: a client that never ran out of retries would loop here, not fail.
    let e = tokio::time::timeout(Duration::from_secs(20), sessions.retrieve("s1"))
        .await
        .expect("the retries never stopped")
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

/// A loopback socket that is bound but not listening: connecting to it is refused at once, and
/// the port stays ours for as long as it is held (no other process can take it meanwhile).
fn refusing_socket() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = socket.local_addr().unwrap();
    (socket, address)
}

/// Resolves every name to `refused` for the first `refusals` lookups, then to `good`; counts
/// lookups (one per connection the client opens).
struct Flip {
    lookups: std::sync::atomic::AtomicUsize,
    refusals: usize,
    refused: std::net::SocketAddr,
    good: std::net::SocketAddr,
}

impl deepidv::reqwest::dns::Resolve for Flip {
    fn resolve(&self, _: deepidv::reqwest::dns::Name) -> deepidv::reqwest::dns::Resolving {
        let n = self
            .lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let address = if n < self.refusals {
            self.refused
        } else {
            self.good
        };
        Box::pin(
            async move { Ok(Box::new(std::iter::once(address)) as deepidv::reqwest::dns::Addrs) },
        )
    }
}

#[tokio::test]
async fn create_is_retried_when_no_connection_could_be_made() {
    // The first two connections go to a port that refuses them; the third reaches the server.
    let (_held, refused) = refusing_socket();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(fixture("create-session.response.json")))
        .mount(&server)
        .await;
    let flip = std::sync::Arc::new(Flip {
        lookups: Default::default(),
        refusals: 2,
        refused,
        good: *server.address(),
    });
    let http = deepidv::reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(flip.clone());
    // No port in the URL: the resolver's addresses are used as they are.
    let client = deepidv::testing::builder()
        .base_url("http://deepidv-api.test")
        .api_key(KEY)
        .allow_insecure_http(true)
        .http_client_builder(http)
        .max_retries(3)
        .build()
        .unwrap();

    let created = client.sessions().create(create_input()).await.unwrap();

    assert_eq!(created.id, "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
    assert_eq!(
        flip.lookups.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "two refused connections, then the server"
    );
    assert_eq!(
        received(&server).await.len(),
        1,
        "exactly one create reached the server"
    );
}

#[tokio::test]
async fn connection_refused_is_a_network_error_that_was_never_sent() {
    let (_held, address) = refusing_socket();
    let client = deepidv::testing::builder()
        .base_url(format!("http://{address}"))
        .api_key(KEY)
        .max_retries(1)
        .build()
        .unwrap();

    // Bounded: a client whose retries never ran out would loop here, not fail.
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        client.sessions().create(create_input()),
    )
    .await
    .expect("the retries never stopped")
    .unwrap_err();

    let Error::Network { maybe_sent, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(!maybe_sent);
    assert!(e.is_retryable());
    assert!(!e.to_string().contains(KEY));
}

/// `connect_timeout` bounds establishing a connection. A loopback listener whose accept queue is
/// full drops new SYNs (Linux), so a connection to it hangs in the handshake: the call fails after
/// the connect timeout (not the 30 s attempt timeout), as a timeout that was never sent.
#[tokio::test]
async fn a_connection_that_cannot_be_established_ends_at_the_connect_timeout() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    // Fill the accept queue (never accepted), then check that a further connection hangs.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            fillers.push(stream);
        }
    }
    let probe = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(address),
    )
    .await;
    if probe.is_ok() {
        eprintln!(
            "skipped: this kernel completes connections to a listener with a full accept queue, \
             so no connection can be made to hang on loopback"
        );
        return;
    }
    let client = deepidv::testing::builder()
        .base_url(format!("http://{address}"))
        .api_key(KEY)
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();

    let started = Instant::now();
    let e = client.sessions().create(create_input()).await.unwrap_err();
    let took = started.elapsed();

    assert!(
        matches!(
            e,
            Error::Timeout {
                maybe_sent: false,
                ..
            } | Error::Network {
                maybe_sent: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.is_retryable(),
        "never sent, so even a create is retryable"
    );
    assert!(took >= Duration::from_millis(250), "took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    drop((listener, fillers));
}

/// Every attempt takes a turn from the client's rate limiter, retries included: three attempts
/// use a burst of three, and the next call waits for a refill (1 s at one a second).
#[tokio::test]
async fn retries_take_their_turns_from_the_rate_limiter() {
    let server = MockServer::start().await;
    flaky(
        &server,
        "GET",
        ResponseTemplate::new(503),
        2,
        json(fixture("retrieve-session.response.json")),
    )
    .await;
    let client = builder(&server)
        .rate_limit(Some(deepidv::RateLimit::per_second(1).burst(3)))
        .build()
        .unwrap();
    let sessions = client.sessions();

    sessions.retrieve("s1").await.unwrap();
    assert_eq!(received(&server).await.len(), 3);
    let started = Instant::now();
    sessions.retrieve("s1").await.unwrap();
    let waited = started.elapsed();

    assert!(
        waited >= Duration::from_millis(700),
        "the burst was not used up by the retries: waited {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
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
    // Bounded: a client that waited for the Retry-After would hang here, not fail.
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        client(&server).sessions().retrieve("s1"),
    )
    .await
    .expect("the call waited for the Retry-After")
    .unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(received(&server).await.len(), 1);
}

/// `Retry-After` is honoured up to 60 s inclusive: 61 s ends the retries at once and is returned;
/// 60 s is waited for (the call is still waiting, with no second request, well after the 429 was
/// answered; it is then dropped rather than waited out).
#[tokio::test]
async fn a_retry_after_of_60_seconds_is_waited_for_and_61_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "61"))
        .mount(&server)
        .await;
    let started = Instant::now();
    // Bounded: a client that waited for the Retry-After would hang here, not fail.
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        client(&server).sessions().retrieve("s1"),
    )
    .await
    .expect("the call waited for the Retry-After")
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(61)));
    assert_eq!(received(&server).await.len(), 1);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "60"))
        .mount(&server)
        .await;
    let sessions = client(&server).sessions();
    let call = tokio::spawn(async move { sessions.retrieve("s1").await });
    let started = Instant::now();
    while received(&server).await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no request");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A call that stopped would have returned within milliseconds of the answer.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !call.is_finished(),
        "a Retry-After of 60 s ended the retries"
    );
    assert_eq!(received(&server).await.len(), 1, "and it is waited for");
    call.abort();
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
    // Bounded: a client whose retries never ran out would loop here, not fail.
    let e = tokio::time::timeout(Duration::from_secs(20), client.sessions().retrieve("s1"))
        .await
        .expect("the retries never stopped")
        .unwrap_err();
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

/// Without `Retry-After`, each retry waits a random time up to `initial_delay · 2ⁿ` (full
/// jitter): four retries from 100 ms wait between 0 and 1.5 s in all. Not waiting at all would take
/// four draws all near zero (under 20 ms together: about one chance in a million).
#[tokio::test]
async fn retries_back_off_with_jitter_within_the_ceilings() {
    let server = MockServer::start().await;
    flaky(
        &server,
        "GET",
        ResponseTemplate::new(503),
        4,
        json(fixture("retrieve-session.response.json")),
    )
    .await;
    let client = builder(&server)
        .initial_retry_delay(Duration::from_millis(100))
        .max_retries(4)
        .build()
        .unwrap();

    let started = Instant::now();
    client.sessions().retrieve("s1").await.unwrap();
    let took = started.elapsed();

    assert_eq!(received(&server).await.len(), 5);
    assert!(took >= Duration::from_millis(20), "no backoff: {took:?}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
}
