//! `create_once` and `update_status` when an answer is lost.

use deepidv::{CreateOutcome, Error, SessionStatus, SessionStatusUpdate};
use deepidv_mock::{Channel, Fault, MockOperation, MockServer};

use crate::{applicant, builder, sent, within};

#[tokio::test]
async fn a_lost_answer_is_found_not_repeated() {
    let mock = MockServer::start().await;
    mock.inject(Fault::process_then_drop().on(MockOperation::CreateSession));
    let sessions = builder(&mock).build().unwrap().sessions();

    let outcome = within(sessions.create_once(applicant("once-1")))
        .await
        .unwrap();

    let CreateOutcome::Existing(session) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(session.external_id.as_deref(), Some("once-1"));
    assert_eq!(mock.session_count(), 1, "exactly one session");
    let channels: Vec<Channel> = mock.invites().iter().map(|i| i.channel).collect();
    assert_eq!(
        channels,
        [Channel::Email, Channel::Sms],
        "one set of invitations"
    );
    assert_eq!(sent(&mock, MockOperation::CreateSession), 1);
}

#[tokio::test]
async fn a_create_that_never_happened_is_sent_again() {
    let mock = MockServer::start().await;
    // Dropped before processing: the lookup finds nothing, so the create is repeated.
    mock.inject(Fault::drop_connection().on(MockOperation::CreateSession));
    let sessions = builder(&mock).build().unwrap().sessions();

    let outcome = within(sessions.create_once(applicant("once-2")))
        .await
        .unwrap();

    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(mock.session_count(), 1);
    assert_eq!(mock.invites().len(), 2);
    assert_eq!(sent(&mock, MockOperation::CreateSession), 2);
    assert_eq!(
        sent(&mock, MockOperation::ListSessions),
        2,
        "the look before creating, and the lookup after the lost attempt"
    );
}

/// A clean create costs one look first: a list filtered by the `external_id`, one row, sent
/// before the create.
#[tokio::test]
async fn a_clean_create_looks_once_first() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let outcome = within(sessions.create_once(applicant("once-3")))
        .await
        .unwrap();
    let CreateOutcome::Created(created) = outcome else {
        panic!()
    };
    assert_eq!(created.external_id.as_deref(), Some("once-3"));
    let requests = mock.requests();
    let operations: Vec<_> = requests.iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        [
            Some(MockOperation::ListSessions),
            Some(MockOperation::CreateSession)
        ]
    );
    let query = requests[0].query.as_deref().unwrap_or_default();
    assert!(
        query.contains("external_id=once-3") && query.contains("limit=1"),
        "{query}"
    );
}

/// The defect of a worker restarted by an at-least-once job queue: a create sent by a process
/// that then died. A new client (no memory shared with the first) finds the session and creates
/// nothing.
#[tokio::test]
async fn a_restarted_worker_finds_the_session_and_creates_nothing() {
    let mock = MockServer::start().await;
    let first = builder(&mock).build().unwrap().sessions();
    // The first process sends the create (the mock makes the session, then holds the answer's
    // body back) and dies before reading the answer.
    mock.inject(
        Fault::slow_body(std::time::Duration::from_millis(500)).on(MockOperation::CreateSession),
    );
    let died = tokio::time::timeout(
        std::time::Duration::from_millis(250),
        first.create_once(applicant("restart-1")),
    )
    .await;
    assert!(died.is_err(), "the first call was cut off");
    drop(first);
    assert_eq!(mock.session_count(), 1, "the lost create made the session");

    let restarted = builder(&mock).build().unwrap().sessions();
    let outcome = within(restarted.create_once(applicant("restart-1")))
        .await
        .unwrap();

    assert!(
        matches!(&outcome, CreateOutcome::Existing(found) if found.external_id.as_deref() == Some("restart-1")),
        "{outcome:?}"
    );
    assert_eq!(mock.session_count(), 1, "one session");
    assert_eq!(mock.invites().len(), 2, "one set of invitations");
    assert_eq!(
        sent(&mock, MockOperation::CreateSession),
        1,
        "no second create"
    );
}

/// A look before the create that fails returns its error, and nothing is created.
#[tokio::test]
async fn a_failed_look_before_creating_sends_no_create() {
    let mock = MockServer::start().await;
    mock.inject(Fault::status(403).on(MockOperation::ListSessions));
    let sessions = builder(&mock).build().unwrap().sessions();

    let e = within(sessions.create_once(applicant("look-1")))
        .await
        .unwrap_err();

    assert_eq!(e.status(), Some(403), "{e:?}");
    assert_eq!(sent(&mock, MockOperation::CreateSession), 0);
    assert_eq!(mock.session_count(), 0);
}

#[tokio::test]
async fn attempts_count_against_max_retries() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::drop_connection()
            .on(MockOperation::CreateSession)
            .times(100),
    );
    let sessions = builder(&mock).max_retries(2).build().unwrap().sessions();

    let e = within(sessions.create_once(applicant("once-4")))
        .await
        .unwrap_err();

    assert!(
        matches!(
            e,
            Error::Network {
                maybe_sent: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(sent(&mock, MockOperation::CreateSession), 3);
    assert_eq!(mock.session_count(), 0);
}

#[tokio::test]
async fn create_once_needs_an_external_id_and_sends_nothing_without_one() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let input =
        deepidv::SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890");
    let e = within(sessions.create_once(input)).await.unwrap_err();
    assert!(
        matches!(&e, Error::Validation { field: Some(f), .. } if f == "external_id"),
        "{e:?}"
    );
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_refused_retry_after_a_lost_update_checks_the_status() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let created = sessions.create(applicant("update-1")).await.unwrap();
    mock.submit(&created.id).unwrap();
    // The first update is applied but its answer lost; the retry is refused.
    mock.inject(Fault::process_then_drop().on(MockOperation::UpdateSessionStatus));
    mock.inject(
        Fault::status(409)
            .body("application/json", r#"{"error":"Status already set"}"#)
            .on(MockOperation::UpdateSessionStatus),
    );

    let updated = within(sessions.update_status(&created.id, SessionStatusUpdate::Verified))
        .await
        .unwrap();

    assert_eq!(updated.session_record.status, SessionStatus::Verified);
    assert_eq!(sent(&mock, MockOperation::UpdateSessionStatus), 2);
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}

#[tokio::test]
async fn a_refusal_without_an_earlier_lost_attempt_is_reported() {
    let mock = MockServer::builder()
        .strict_transitions(true)
        .start()
        .await
        .unwrap();
    let sessions = builder(&mock).build().unwrap().sessions();
    let created = sessions.create(applicant("update-2")).await.unwrap();
    // With strict transitions PENDING cannot be decided: a plain 400, no reconciliation.
    let e = within(sessions.update_status(&created.id, SessionStatusUpdate::Verified))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Validation { .. }), "{e:?}");
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 0);
}

/// Creates a session and decides it `REJECTED`; returns its id.
async fn rejected_session(
    mock: &MockServer,
    sessions: &deepidv::Sessions,
    external_id: &str,
) -> String {
    let created = sessions.create(applicant(external_id)).await.unwrap();
    mock.submit(&created.id).unwrap();
    within(sessions.update_status(&created.id, SessionStatusUpdate::Rejected))
        .await
        .unwrap();
    created.id
}

/// After an attempt whose fate is unknown, a refusal is reconciled only when the session already
/// has the status asked for. Here it has another decision (REJECTED, VERIFIED asked): the refusal
/// is the answer. The lost attempts are ones the mock did not apply (`drop_connection`, a 503):
/// `process_then_drop` would apply the VERIFIED asked for, and then the read would match.
#[tokio::test]
async fn a_refused_retry_is_reported_when_the_session_has_another_decision() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let id = rejected_session(&mock, &sessions, "update-3").await;
    for lost in [Fault::drop_connection(), Fault::status(503)] {
        mock.inject(lost.on(MockOperation::UpdateSessionStatus));
        mock.inject(
            Fault::status(409)
                .body("application/json", r#"{"error":"Status already set"}"#)
                .on(MockOperation::UpdateSessionStatus),
        );
        let reads_before = sent(&mock, MockOperation::RetrieveSession);

        let e = within(sessions.update_status(&id, SessionStatusUpdate::Verified))
            .await
            .unwrap_err();

        assert_eq!(e.status(), Some(409), "{e:?}");
        assert!(matches!(e, Error::Api { .. }), "{e:?}");
        assert_eq!(
            sent(&mock, MockOperation::RetrieveSession),
            reads_before + 1,
            "the session was read once to reconcile"
        );
        assert_eq!(mock.session(&id).unwrap().status(), "REJECTED");
    }
}

/// When the reconciliation read itself fails, the refusal comes back, not the read's error.
#[tokio::test]
async fn a_failing_reconciliation_read_returns_the_refusal() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let created = sessions.create(applicant("update-4")).await.unwrap();
    mock.submit(&created.id).unwrap();
    mock.inject(Fault::drop_connection().on(MockOperation::UpdateSessionStatus));
    mock.inject(
        Fault::status(409)
            .body("application/json", r#"{"error":"Status already set"}"#)
            .on(MockOperation::UpdateSessionStatus),
    );
    mock.inject(Fault::status(403).on(MockOperation::RetrieveSession));

    let e = within(sessions.update_status(&created.id, SessionStatusUpdate::Verified))
        .await
        .unwrap_err();

    assert_eq!(e.status(), Some(409), "{e:?}");
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}

/// If the lookup after an ambiguous create fails, the create's error is returned (whether the
/// session exists is unknown), not the lookup's.
#[tokio::test]
async fn a_failed_lookup_returns_the_creates_error() {
    let mock = MockServer::start().await;
    mock.inject(Fault::status(503).on(MockOperation::CreateSession));
    // The look before creating is answered; every lookup after the create fails.
    mock.inject(Fault::delay(std::time::Duration::ZERO).on(MockOperation::ListSessions));
    mock.inject(
        Fault::status(500)
            .on(MockOperation::ListSessions)
            .times(100),
    );
    let sessions = builder(&mock).build().unwrap().sessions();

    let e = within(sessions.create_once(applicant("lookup-1")))
        .await
        .unwrap_err();

    assert_eq!(e.status(), Some(503), "{e:?}");
    assert!(!e.is_retryable(), "an ambiguous create is not retryable");
    assert_eq!(sent(&mock, MockOperation::CreateSession), 1);
    // The look first, then the lookup, a read: retried like one (1 + 3), then given up.
    assert_eq!(sent(&mock, MockOperation::ListSessions), 1 + 4);
}

/// Every ambiguous failure leads to a lookup: a 5xx, a timeout after sending, a 200 whose
/// identifying field cannot be read. Not processed (503, the unreadable 200): nothing is found and
/// the create is sent again. Processed but the body never came (a timeout in the body): found.
#[tokio::test]
async fn ambiguous_failures_are_looked_up() {
    for (n, fault) in [
        Fault::status(503),
        Fault::status(502).body("text/html", "<html>Bad Gateway</html>"),
        Fault::status(200).body("application/json", r#"{"id": 5}"#),
        Fault::status(200).body("application/json", r#"{"id": "s1"}"#),
    ]
    .into_iter()
    .enumerate()
    {
        let mock = MockServer::start().await;
        mock.inject(fault.on(MockOperation::CreateSession));
        let sessions = builder(&mock).build().unwrap().sessions();

        let outcome = sessions
            .create_once(applicant(&format!("ambiguous-{n}")))
            .await
            .unwrap();

        assert!(
            matches!(outcome, CreateOutcome::Created(_)),
            "{n}: {outcome:?}"
        );
        assert_eq!(
            sent(&mock, MockOperation::ListSessions),
            2,
            "{n}: the look first, one lookup"
        );
        assert_eq!(sent(&mock, MockOperation::CreateSession), 2, "{n}");
        assert_eq!(mock.session_count(), 1, "{n}");
    }

    let mock = MockServer::start().await;
    mock.inject(
        Fault::slow_body(std::time::Duration::from_secs(5)).on(MockOperation::CreateSession),
    );
    let sessions = builder(&mock)
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap()
        .sessions();
    let outcome = within(sessions.create_once(applicant("ambiguous-slow")))
        .await
        .unwrap();
    let CreateOutcome::Existing(existing) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(existing.external_id.as_deref(), Some("ambiguous-slow"));
    assert_eq!(sent(&mock, MockOperation::CreateSession), 1);
    assert_eq!(sent(&mock, MockOperation::ListSessions), 2);
    assert_eq!(mock.session_count(), 1);
}

/// A 4xx says the create was refused: no lookup after it (only the look before), no second
/// create.
#[tokio::test]
async fn a_refused_create_is_not_looked_up() {
    for status in [400, 401, 402, 403, 404, 409, 422] {
        let mock = MockServer::start().await;
        mock.inject(Fault::status(status).on(MockOperation::CreateSession));
        let sessions = builder(&mock).build().unwrap().sessions();

        let e = within(sessions.create_once(applicant("refused-1")))
            .await
            .unwrap_err();

        assert_eq!(e.status(), Some(status), "{e:?}");
        assert_eq!(sent(&mock, MockOperation::CreateSession), 1, "{status}");
        assert_eq!(
            sent(&mock, MockOperation::ListSessions),
            1,
            "{status}: no lookup after the create"
        );
    }
}

/// Several sessions with one `external_id`: the look takes the newest (the list is newest
/// first, `created_at` then insertion order) and nothing is created (the documented caveat: an
/// older session with the same reference is taken for this one).
#[tokio::test]
async fn the_newest_session_with_the_external_id_is_the_one_found() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let mut older = Vec::new();
    for _ in 0..3 {
        older.push(sessions.create(applicant("dup-1")).await.unwrap().id);
        mock.advance_time(chrono::Duration::hours(1));
    }

    let outcome = within(sessions.create_once(applicant("dup-1")))
        .await
        .unwrap();
    let CreateOutcome::Existing(found) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(found.id, older[2], "the newest of the older sessions");
    assert_eq!(mock.session_count(), 3);
    assert_eq!(
        sent(&mock, MockOperation::CreateSession),
        3,
        "no fourth create"
    );
}

/// Two lost attempts in a row, then a refusal: still reconciled (the uncertainty of the first is
/// not cancelled by the second).
#[tokio::test]
async fn two_lost_updates_then_a_refusal_are_reconciled() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let created = sessions.create(applicant("update-5")).await.unwrap();
    mock.submit(&created.id).unwrap();
    mock.inject(Fault::process_then_drop().on(MockOperation::UpdateSessionStatus));
    mock.inject(Fault::drop_connection().on(MockOperation::UpdateSessionStatus));
    mock.inject(
        Fault::status(409)
            .body("application/json", r#"{"error":"Status already set"}"#)
            .on(MockOperation::UpdateSessionStatus),
    );

    let updated = within(sessions.update_status(&created.id, SessionStatusUpdate::Verified))
        .await
        .unwrap();

    assert_eq!(updated.session_record.status, SessionStatus::Verified);
    assert_eq!(sent(&mock, MockOperation::UpdateSessionStatus), 3);
    assert_eq!(sent(&mock, MockOperation::RetrieveSession), 1);
}

/// After an ambiguous create, `create_once` waits the retry delay's ceiling before it looks (to
/// give the list a moment to show the session): here 300 ms.
#[tokio::test]
async fn create_once_waits_before_it_looks() {
    let mock = MockServer::start().await;
    mock.inject(Fault::status(503).on(MockOperation::CreateSession));
    let sessions = builder(&mock)
        .initial_retry_delay(std::time::Duration::from_millis(300))
        .build()
        .unwrap()
        .sessions();

    let started = std::time::Instant::now();
    let outcome = within(sessions.create_once(applicant("wait-1")))
        .await
        .unwrap();
    let took = started.elapsed();

    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(sent(&mock, MockOperation::ListSessions), 2);
    assert!(
        took >= std::time::Duration::from_millis(300),
        "looked after {took:?}"
    );
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

/// Each lookup waits twice as long as the one before (the retry delay's ceiling doubles per round,
/// here 150, 300 and 600 ms), so that a slow list has longer and longer to show a lost session.
#[tokio::test]
async fn each_lookup_waits_twice_as_long_as_the_last() {
    let mock = MockServer::start().await;
    mock.inject(Fault::status(503).on(MockOperation::CreateSession).times(3));
    let sessions = builder(&mock)
        .initial_retry_delay(std::time::Duration::from_millis(150))
        .max_retries(3)
        .build()
        .unwrap()
        .sessions();

    let started = std::time::Instant::now();
    let outcome = within(sessions.create_once(applicant("wait-2")))
        .await
        .unwrap();
    let took = started.elapsed();

    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(sent(&mock, MockOperation::CreateSession), 4);
    assert_eq!(sent(&mock, MockOperation::ListSessions), 1 + 3);
    // 150 + 300 + 600 ms; three equal waits would be 450 ms.
    assert!(
        took >= std::time::Duration::from_millis(1050),
        "three lookups after {took:?}"
    );
}
