//! The fault matrix: every operation against every fault, with retries set to 2 (three attempts at
//! most), a 300 ms per-attempt timeout, a 1 MiB body cap and 10 ms initial backoff. Each fault is
//! persistent (it answers every attempt), so the table shows what the retry policy allows.
//!
//! "3 / 1" means three attempts for retrieve, list and update_status, one for create (DeepIDV has
//! no idempotency key, so an ambiguous create is never repeated; 429 is the exception, as the
//! server refused it unprocessed).
//!
//! | fault | outcome | attempts |
//! |---|---|---|
//! | 429 with `Retry-After: 1` | `RateLimit`, retry_after 1 s | 3 (all operations) |
//! | 429 with `Retry-After` as an HTTP date | `RateLimit` | 3 (all operations) |
//! | 429 without `Retry-After` | `RateLimit` | 3 (all operations) |
//! | 500 with DeepIDV's JSON error | `Api` 500 | 3 / 1 |
//! | 502 with a proxy's HTML page | `Api` 502, body kept | 3 / 1 |
//! | 503, empty body | `Api` 503 | 3 / 1 |
//! | connection reset before the answer | `Network`, maybe sent | 3 / 1 |
//! | connection closed in the middle of the body | `Network`, maybe sent | 3 / 1 |
//! | 200 with truncated JSON | `Decode` | 1 |
//! | headers slower than the timeout | `Timeout`, maybe sent | 3 / 1 |
//! | body slower than the timeout | `Timeout`, maybe sent | 3 / 1 |
//! | 307 to another host | `Api` 307, not followed | 1 |
//! | 200 over the body cap | `Decode` | 1 |
//! | empty 200 | `Decode` | 1 |
//! | 200 with `text/html` | `Decode` | 1 |
//!
//! Every cell also checks that the call ends within the bound its configuration implies (with a
//! wide margin) and never hangs (a 20 s guard) or panics.

use std::time::{Duration, Instant};

use deepidv::{Error, SessionListParams, SessionStatusUpdate, Sessions};
use deepidv_mock::{Fault, MockOperation, MockServer, SeedSessions};

use crate::{applicant, builder, sent};

const OPERATIONS: [MockOperation; 4] = [
    MockOperation::CreateSession,
    MockOperation::RetrieveSession,
    MockOperation::ListSessions,
    MockOperation::UpdateSessionStatus,
];

/// What a cell must end with.
#[derive(Clone, Copy, Debug)]
enum Expect {
    RateLimit,
    /// `RateLimit` carrying this `Retry-After`, which every retry waited for.
    RateLimitAfter(Duration),
    Api(u16),
    Network,
    Decode,
    Timeout,
}

impl Expect {
    fn matches(self, e: &Error) -> bool {
        match self {
            Expect::RateLimit => matches!(e, Error::RateLimit { .. }),
            Expect::RateLimitAfter(wait) => {
                matches!(e, Error::RateLimit { retry_after: Some(after), .. } if *after == wait)
            }
            Expect::Api(status) => matches!(e, Error::Api { .. }) && e.status() == Some(status),
            Expect::Network => matches!(
                e,
                Error::Network {
                    maybe_sent: true,
                    ..
                }
            ),
            Expect::Decode => matches!(e, Error::Decode { .. }),
            Expect::Timeout => matches!(
                e,
                Error::Timeout {
                    maybe_sent: true,
                    ..
                }
            ),
        }
    }
}

/// Runs `operation` once against a mock answering every attempt with `fault`.
async fn cell(
    operation: MockOperation,
    fault: Fault,
    expect: Expect,
    retried: Retried,
    worst_attempt: Duration,
) {
    let mock = MockServer::start().await;
    let id = mock
        .seed_sessions(1, SeedSessions::new().status("SUBMITTED"))
        .unwrap()
        .remove(0);
    mock.inject(fault.on(operation).times(1_000));
    let sessions = builder(&mock)
        .timeout(Duration::from_millis(300))
        .initial_retry_delay(Duration::from_millis(10))
        .max_retries(2)
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap()
        .sessions();

    let started = Instant::now();
    let outcome =
        tokio::time::timeout(Duration::from_secs(20), call(&sessions, operation, &id)).await;
    let took = started.elapsed();

    let Ok(outcome) = outcome else {
        panic!("{operation:?}: hung for 20 s")
    };
    let Err(e) = outcome else {
        panic!("{operation:?}: succeeded despite the fault")
    };
    assert!(
        expect.matches(&e),
        "{operation:?}: expected {expect:?}, got {e:?}"
    );
    let attempts = match (retried, operation) {
        (Retried::Always, _) => 3,
        (Retried::ExceptCreate, MockOperation::CreateSession) | (Retried::Never, _) => 1,
        (Retried::ExceptCreate, _) => 3,
    };
    assert_eq!(
        sent(&mock, operation),
        attempts,
        "{operation:?}: attempts for {e:?}"
    );
    // The server's Retry-After was waited for before every retry (the clock may only be late).
    if let Expect::RateLimitAfter(wait) = expect {
        let waited = wait * (attempts as u32 - 1);
        assert!(
            took >= waited,
            "{operation:?}: took {took:?}, less than the {waited:?} of Retry-After"
        );
    }
    // Each attempt at most `worst_attempt`, plus at most 10 + 20 ms of backoff; doubled, plus 2 s.
    let bound = worst_attempt * attempts as u32 * 2 + Duration::from_secs(2);
    assert!(
        took < bound,
        "{operation:?}: took {took:?}, bound {bound:?}"
    );
}

#[derive(Clone, Copy, Debug)]
enum Retried {
    Always,
    ExceptCreate,
    Never,
}

async fn call(sessions: &Sessions, operation: MockOperation, id: &str) -> deepidv::Result<()> {
    match operation {
        MockOperation::CreateSession => sessions.create(applicant("matrix")).await.map(drop),
        MockOperation::RetrieveSession => sessions.retrieve(id).await.map(drop),
        MockOperation::ListSessions => sessions.list(SessionListParams::new()).await.map(drop),
        MockOperation::UpdateSessionStatus => sessions
            .update_status(id, SessionStatusUpdate::Verified)
            .await
            .map(drop),
        _ => unreachable!("four operations"),
    }
}

/// Runs the four operations of one row concurrently.
async fn row(fault: Fault, expect: Expect, retried: Retried, worst_attempt: Duration) {
    let cells = OPERATIONS.map(|operation| {
        tokio::spawn(cell(
            operation,
            fault.clone(),
            expect,
            retried,
            worst_attempt,
        ))
    });
    for cell in cells {
        if let Err(e) = cell.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

const FAST: Duration = Duration::from_millis(300);

#[tokio::test]
async fn rate_limited_with_retry_after_seconds() {
    row(
        Fault::status(429).header("retry-after", "1"),
        Expect::RateLimitAfter(Duration::from_secs(1)),
        Retried::Always,
        Duration::from_millis(1_300),
    )
    .await;
}

#[tokio::test]
async fn rate_limited_with_retry_after_date() {
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1));
    row(
        Fault::status(429).header("retry-after", at),
        Expect::RateLimit,
        Retried::Always,
        Duration::from_millis(2_300),
    )
    .await;
}

#[tokio::test]
async fn rate_limited_without_retry_after() {
    row(
        Fault::status(429).body("application/json", r#"{"error":"Too many requests"}"#),
        Expect::RateLimit,
        Retried::Always,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn internal_server_error() {
    row(
        Fault::status(500).body("application/json", r#"{"error":"Internal server error"}"#),
        Expect::Api(500),
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn bad_gateway_html() {
    let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    row(
        Fault::status(502).body("text/html", page),
        Expect::Api(502),
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn service_unavailable() {
    row(
        Fault::status(503),
        Expect::Api(503),
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn connection_reset_before_the_answer() {
    row(
        Fault::drop_connection(),
        Expect::Network,
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn connection_closed_mid_body() {
    row(
        Fault::drop_mid_body(),
        Expect::Network,
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn truncated_json() {
    row(
        Fault::status(200).body("application/json", r#"{"session_record":{"id":"s1","stat"#),
        Expect::Decode,
        Retried::Never,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn headers_slower_than_the_timeout() {
    row(
        Fault::delay(Duration::from_secs(3)),
        Expect::Timeout,
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn body_slower_than_the_timeout() {
    row(
        Fault::slow_body(Duration::from_secs(3)),
        Expect::Timeout,
        Retried::ExceptCreate,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn redirect_to_another_host() {
    row(
        Fault::status(307).header("location", "http://127.0.0.2:9/v1/sessions"),
        Expect::Api(307),
        Retried::Never,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn body_over_the_cap() {
    row(
        Fault::oversized(2 * 1024 * 1024),
        Expect::Decode,
        Retried::Never,
        FAST,
    )
    .await;
}

#[tokio::test]
async fn empty_success() {
    row(Fault::status(200), Expect::Decode, Retried::Never, FAST).await;
}

#[tokio::test]
async fn success_that_is_not_json() {
    row(
        Fault::status(200).body("text/html", "<html><body>OK</body></html>"),
        Expect::Decode,
        Retried::Never,
        FAST,
    )
    .await;
}
