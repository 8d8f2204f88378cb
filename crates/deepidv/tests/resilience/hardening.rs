//! What a busy service meets: callers that give up, a deadline over the whole call, concurrent
//! `create_once`, odd answers, a server that pages for ever. Each test shows one defect of an
//! earlier version (issue 9) and fails if it comes back.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use deepidv::{
    CreateOutcome, Error, MAX_PAGES_PER_CALL, RateLimit, SessionListParams, SessionStatus,
    SessionStatusUpdate,
};
use deepidv_mock::{Channel, Fault, MockOperation, MockServer, SeedSessions};
use tokio::time::Instant;

use crate::{applicant, builder, sent};

/// Callers that time out while queued for the rate limiter give their turns back: after 100
/// abandoned calls, the next one waits for one refill (1 s), not for the 100 lost turns.
#[tokio::test(start_paused = true)]
async fn callers_that_give_up_in_the_limiter_queue_do_not_eat_later_turns() {
    let mock = MockServer::start().await;
    let client = builder(&mock)
        .rate_limit(Some(RateLimit::per_second(1).burst(1)))
        .build()
        .unwrap();
    let sessions = client.sessions();
    let impatient = (0..100).map(|_| {
        let sessions = sessions.clone();
        async move { tokio::time::timeout(Duration::from_millis(10), sessions.list(one())).await }
    });
    let outcomes = futures_util::future::join_all(impatient).await;
    assert!(outcomes.iter().filter(|o| o.is_err()).count() >= 99);

    // The network needs the real clock from here on.
    tokio::time::resume();
    let started = Instant::now();
    let plain = tokio::time::timeout(Duration::from_secs(20), sessions.list(one())).await;
    let took = started.elapsed();
    assert!(matches!(plain, Ok(Ok(_))), "{plain:?}");
    // One refill is 1 s; the 99 leaked turns of the old limiter were 99 s.
    assert!(took < Duration::from_secs(5), "waited {took:?}");
}

fn one() -> SessionListParams {
    SessionListParams::new().limit(1)
}

/// `Duration::MAX` (and anything past what the clock can hold) means "no limit", not a panic.
#[tokio::test]
async fn huge_durations_mean_no_limit() {
    let mock = MockServer::start().await;
    let client = builder(&mock)
        .total_timeout(Duration::MAX)
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .initial_retry_delay(Duration::MAX)
        .build()
        .unwrap();
    let sessions = client.sessions();
    let CreateOutcome::Created(created) = sessions.create_once(applicant("huge-1")).await.unwrap()
    else {
        panic!("nothing existed before")
    };
    sessions.retrieve(&created.id).await.unwrap();
    sessions.list(SessionListParams::new()).await.unwrap();
}

/// One deadline for every page an emulated `list` reads: six pages of 200 ms each cannot fit
/// in 300 ms.
#[tokio::test]
async fn the_total_timeout_bounds_every_page_of_an_emulated_list() {
    let mock = MockServer::start().await;
    mock.seed_sessions(3_000, SeedSessions::new().status("PENDING"))
        .unwrap();
    mock.inject(
        Fault::delay(Duration::from_millis(200))
            .on(MockOperation::ListSessions)
            .times(1_000),
    );
    let client = builder(&mock)
        .total_timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let started = Instant::now();
    let e = client
        .sessions()
        .list(SessionListParams::new().status(SessionStatus::Verified))
        .await
        .unwrap_err();
    let took = started.elapsed();

    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.message().contains("total timeout"), "{e}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(sent(&mock, MockOperation::ListSessions) <= 2);
}

/// `create_once`'s rounds (create, wait, look up) share the call's deadline.
#[tokio::test]
async fn the_total_timeout_bounds_the_rounds_of_create_once() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(503)
            .on(MockOperation::CreateSession)
            .times(100),
    );
    let client = builder(&mock)
        .initial_retry_delay(Duration::from_millis(200))
        .max_retries(20)
        .total_timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let started = Instant::now();
    let e = client
        .sessions()
        .create_once(applicant("deadline-1"))
        .await
        .unwrap_err();
    let took = started.elapsed();

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
    // Rounds of 200, 400, 800 ms ... would take seconds without the shared deadline.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(sent(&mock, MockOperation::CreateSession) <= 3);
}

/// `update_status`'s reconciliation read shares the call's deadline: it cannot turn a call that
/// ran out of time into a success.
#[tokio::test]
async fn the_total_timeout_bounds_the_reconciliation_read() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let created = sessions.create(applicant("deadline-2")).await.unwrap();
    mock.submit(&created.id).unwrap();
    sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .unwrap();
    // An answer that may have been acted on (503) asking for a 1 s wait, a refusal, and a slow
    // read: 1 s + 0.8 s, over the 1.3 s the call may take.
    mock.inject(
        Fault::status(503)
            .header("retry-after", "1")
            .on(MockOperation::UpdateSessionStatus),
    );
    mock.inject(
        Fault::status(409)
            .body("application/json", r#"{"error":"Status already set"}"#)
            .on(MockOperation::UpdateSessionStatus),
    );
    mock.inject(Fault::delay(Duration::from_millis(800)).on(MockOperation::RetrieveSession));
    let client = builder(&mock)
        .total_timeout(Duration::from_millis(1_300))
        .build()
        .unwrap();

    let started = Instant::now();
    let outcome = client
        .sessions()
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await;

    assert!(outcome.is_err(), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}

/// Two concurrent `create_once` calls for one `external_id` in one client send one create: the
/// second waits for the first and is handed its session.
#[tokio::test]
async fn concurrent_create_once_calls_create_one_session() {
    let mock = MockServer::start().await;
    // The first create is processed, but its answer is lost.
    mock.inject(Fault::process_then_drop().on(MockOperation::CreateSession));
    let client = builder(&mock).build().unwrap();
    let (first, second) = (client.sessions(), client.clone().sessions());

    let (a, b) = tokio::join!(
        first.create_once(applicant("single-1")),
        second.create_once(applicant("single-1")),
    );

    let ids: Vec<String> = [a.unwrap(), b.unwrap()]
        .into_iter()
        .map(|outcome| match outcome {
            CreateOutcome::Existing(session) => session.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids[0], ids[1], "both callers get the one session");
    assert_eq!(mock.session_count(), 1, "exactly one session");
    let channels: Vec<Channel> = mock.invites().iter().map(|i| i.channel).collect();
    assert_eq!(
        channels,
        [Channel::Email, Channel::Sms],
        "one set of invites"
    );
    assert_eq!(sent(&mock, MockOperation::CreateSession), 1);
}

/// Without a fault, the first concurrent call creates and the second gets `Existing`.
#[tokio::test]
async fn a_call_waiting_behind_a_create_gets_the_created_session() {
    let mock = MockServer::start().await;
    let client = builder(&mock).build().unwrap();
    let sessions = client.sessions();

    let (a, b) = tokio::join!(
        sessions.create_once(applicant("single-2")),
        sessions.create_once(applicant("single-2")),
    );

    let (created, existing) = match (a.unwrap(), b.unwrap()) {
        (CreateOutcome::Created(c), CreateOutcome::Existing(e))
        | (CreateOutcome::Existing(e), CreateOutcome::Created(c)) => (c, e),
        other => panic!("{other:?}"),
    };
    assert_eq!(created.id, existing.id);
    assert_eq!(mock.session_count(), 1);
    assert_eq!(sent(&mock, MockOperation::CreateSession), 1);
    // Other ids do not wait for each other.
    let (c, d) = tokio::join!(
        sessions.create_once(applicant("single-3")),
        sessions.create_once(applicant("single-4")),
    );
    assert!(matches!(c, Ok(CreateOutcome::Created(_))));
    assert!(matches!(d, Ok(CreateOutcome::Created(_))));
}

/// A `Retry-After` too large for a u64 is "longer than 60 s" (stop and report it), not absent
/// (which would retry within 30 s).
#[tokio::test]
async fn a_retry_after_too_large_to_parse_stops_the_retries() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(429)
            .header("retry-after", "99999999999999999999999")
            .on(MockOperation::RetrieveSession)
            .times(10),
    );
    let client = builder(&mock).build().unwrap();

    // Bounded: a client that waited for the Retry-After would hang here, not fail.
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        client.sessions().retrieve("test_verified"),
    )
    .await
    .expect("the call waited for the Retry-After")
    .unwrap_err();

    let Error::RateLimit { retry_after, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*retry_after, Some(Duration::MAX));
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}

/// A server that answers every page with an empty list and a fresh token cannot keep a call
/// going for ever.
#[tokio::test]
async fn a_call_reads_at_most_max_pages() {
    use wiremock::{Mock, MockServer as Wire, Request, Respond, ResponseTemplate, matchers};

    struct FreshTokens(Arc<AtomicU64>);
    impl Respond for FreshTokens {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            ResponseTemplate::new(200).set_body_raw(
                format!(r#"{{"sessions":[],"next_token":"t{n}"}}"#),
                "application/json",
            )
        }
    }
    let server = Wire::builder().disable_request_recording().start().await;
    let served = Arc::new(AtomicU64::new(0));
    Mock::given(matchers::method("GET"))
        .respond_with(FreshTokens(Arc::clone(&served)))
        .mount(&server)
        .await;
    let client = deepidv::Client::builder()
        .api_key("sk_test_pages")
        .base_url(server.uri())
        .rate_limit(None)
        .build()
        .unwrap();

    let e = crate::within(client.sessions().list(SessionListParams::new()))
        .await
        .unwrap_err();

    let Error::Decode { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(message.contains("MAX_PAGES_PER_CALL"), "{message}");
    assert_eq!(
        served.load(Ordering::Relaxed),
        u64::from(MAX_PAGES_PER_CALL)
    );
}

/// After a lost attempt, a 401/403/404 says nothing about the session's state: it is reported,
/// not reconciled into success because the status happens to match.
#[tokio::test]
async fn a_forbidden_retry_after_a_lost_update_is_not_reconciled() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let created = sessions.create(applicant("forbidden-1")).await.unwrap();
    mock.submit(&created.id).unwrap();
    sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .unwrap();
    for status in [401, 403, 404] {
        mock.inject(Fault::process_then_drop().on(MockOperation::UpdateSessionStatus));
        mock.inject(Fault::status(status).on(MockOperation::UpdateSessionStatus));

        let e = sessions
            .update_status(&created.id, SessionStatusUpdate::Verified)
            .await
            .unwrap_err();

        assert_eq!(e.status(), Some(status), "{e:?}");
    }
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 0);
}

/// Validation messages never repeat the applicant's data.
#[tokio::test]
async fn an_email_error_does_not_repeat_the_domain() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let input = deepidv::SessionCreateInput::new(
        "Jane",
        "Smith",
        "jane@private-clinic-xyz",
        "+14165557890",
    );
    let e = sessions.create(input).await.unwrap_err();
    assert!(
        matches!(&e, Error::Validation { field: Some(f), .. } if f == "email"),
        "{e:?}"
    );
    assert!(!e.to_string().contains("private-clinic"), "{e}");
    assert!(mock.requests().is_empty());
}

/// A retry whose wait would end past the total timeout is not waited for: the failure that asked
/// for it comes back at once (not a timeout after the wait).
#[tokio::test]
async fn a_retry_that_would_end_past_the_total_timeout_is_not_waited_for() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(429)
            .header("retry-after", "30")
            .on(MockOperation::RetrieveSession)
            .times(10),
    );
    let client = builder(&mock)
        .total_timeout(Duration::from_secs(1))
        .build()
        .unwrap();

    let started = Instant::now();
    let e = tokio::time::timeout(
        Duration::from_secs(20),
        client.sessions().retrieve("test_verified"),
    )
    .await
    .expect("the call waited for a retry past its deadline")
    .unwrap_err();

    assert!(matches!(e, Error::RateLimit { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}

/// The same at the boundary, on tokio's paused clock (the mock runs in this runtime, so no time
/// passes while it answers): a wait that would end exactly at the deadline is not taken either.
#[tokio::test(start_paused = true)]
async fn a_retry_that_would_end_exactly_at_the_total_timeout_is_not_waited_for() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(429)
            .header("retry-after", "2")
            .on(MockOperation::RetrieveSession)
            .times(10),
    );
    let client = builder(&mock)
        .total_timeout(Duration::from_secs(2))
        .build()
        .unwrap();

    let started = Instant::now();
    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();

    assert_eq!(started.elapsed(), Duration::ZERO, "no time passed: {e:?}");
    assert!(matches!(e, Error::RateLimit { .. }), "{e:?}");
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}
