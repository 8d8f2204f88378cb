//! `create_once` and `update_status` when an answer is lost.

use deepidv::{CreateOutcome, Error, SessionStatus, SessionStatusUpdate};
use deepidv_mock::{Channel, Fault, MockServer, Operation};

use crate::{applicant, builder, sent};

#[tokio::test]
async fn a_lost_answer_is_found_not_repeated() {
    let mock = MockServer::start().await;
    mock.inject(Fault::process_then_drop().on(Operation::CreateSession));
    let sessions = builder(&mock).build().unwrap().sessions();

    let outcome = sessions.create_once(applicant("once-1")).await.unwrap();

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
    assert_eq!(sent(&mock, Operation::CreateSession), 1);
}

#[tokio::test]
async fn a_create_that_never_happened_is_sent_again() {
    let mock = MockServer::start().await;
    // Dropped before processing: the lookup finds nothing, so the create is repeated.
    mock.inject(Fault::drop_connection().on(Operation::CreateSession));
    let sessions = builder(&mock).build().unwrap().sessions();

    let outcome = sessions.create_once(applicant("once-2")).await.unwrap();

    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(mock.session_count(), 1);
    assert_eq!(mock.invites().len(), 2);
    assert_eq!(sent(&mock, Operation::CreateSession), 2);
    assert_eq!(sent(&mock, Operation::ListSessions), 1);
}

#[tokio::test]
async fn a_clean_create_needs_no_lookup() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let outcome = sessions.create_once(applicant("once-3")).await.unwrap();
    let CreateOutcome::Created(created) = outcome else {
        panic!()
    };
    assert_eq!(created.external_id.as_deref(), Some("once-3"));
    assert_eq!(sent(&mock, Operation::ListSessions), 0);
}

#[tokio::test]
async fn attempts_count_against_max_retries() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::drop_connection()
            .on(Operation::CreateSession)
            .times(100),
    );
    let sessions = builder(&mock).max_retries(2).build().unwrap().sessions();

    let e = sessions.create_once(applicant("once-4")).await.unwrap_err();

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
    assert_eq!(sent(&mock, Operation::CreateSession), 3);
    assert_eq!(mock.session_count(), 0);
}

#[tokio::test]
async fn create_once_needs_an_external_id_and_sends_nothing_without_one() {
    let mock = MockServer::start().await;
    let sessions = builder(&mock).build().unwrap().sessions();
    let input =
        deepidv::SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890");
    let e = sessions.create_once(input).await.unwrap_err();
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
    mock.inject(Fault::process_then_drop().on(Operation::UpdateSessionStatus));
    mock.inject(
        Fault::status(409)
            .body("application/json", r#"{"error":"Status already set"}"#)
            .on(Operation::UpdateSessionStatus),
    );

    let updated = sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .unwrap();

    assert_eq!(updated.session_record.status, SessionStatus::Verified);
    assert_eq!(sent(&mock, Operation::UpdateSessionStatus), 2);
    assert_eq!(sent(&mock, Operation::RetrieveSession), 1);
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
    let e = sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Validation { .. }), "{e:?}");
    assert_eq!(sent(&mock, Operation::RetrieveSession), 0);
}
