//! End to end against deepidv-mock, an independent implementation of the contract: the whole life
//! of a session, paging over many sessions, and retries under injected faults.

use std::time::Duration;

use deepidv::{Client, Error, SessionListParams, SessionStatus, SessionStatusUpdate};
use deepidv_mock::{Channel, Fault, MockOperation, MockServer, SeedSessions};
use serde_json::Value;

use crate::common::{applicant, client_for, normalise};

#[tokio::test]
async fn the_life_of_a_session() {
    let mock = MockServer::start().await;
    let sessions = client_for(&mock).sessions();

    let created = sessions
        .create(applicant("applicant-42").workflow_id("wf_abc123"))
        .await
        .unwrap();
    assert_eq!(created.external_id.as_deref(), Some("applicant-42"));
    assert!(created.session_url.contains(&created.id));

    let fresh = sessions.retrieve(&created.id).await.unwrap();
    assert_eq!(fresh.session_record.status, SessionStatus::Pending);
    assert_eq!(
        fresh.session_record.workflow_id.as_deref(),
        Some("wf_abc123")
    );
    assert_eq!(
        fresh.user.as_ref().unwrap().email.as_deref(),
        Some("jane.smith@example.com")
    );
    assert!(fresh.session_record.analysis_data.is_none());

    let mine = sessions
        .list(SessionListParams::new().external_id("applicant-42"))
        .await
        .unwrap();
    assert_eq!(mine.data.len(), 1);
    assert_eq!(mine.data[0].id, created.id);

    mock.submit(&created.id).unwrap();
    let submitted = sessions.retrieve(&created.id).await.unwrap();
    let record = &submitted.session_record;
    assert_eq!(record.status, SessionStatus::Submitted);
    let analysis = record.analysis_data.as_ref().unwrap();
    let fields = analysis
        .id_analysis_data
        .as_ref()
        .unwrap()
        .id_extracted_text
        .as_ref()
        .unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f.type_.as_deref() == Some("FIRST_NAME"))
    );
    assert!(
        analysis
            .compare_faces_data
            .as_ref()
            .unwrap()
            .face_match_confidence
            .unwrap()
            > 90.0
    );
    assert!(analysis.faceliveness_score.unwrap() > 90.0);
    assert!(
        record
            .meta_data
            .as_ref()
            .unwrap()
            .applicant_submission_ip
            .is_some()
    );
    assert!(submitted.resource_links.contains_key("Hold up 3 fingers"));

    let decided = sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .unwrap();
    assert_eq!(decided.session_record.status, SessionStatus::Verified);
    let verified = sessions
        .list(SessionListParams::new().status(SessionStatus::Verified))
        .await
        .unwrap();
    assert_eq!(
        verified
            .data
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        [created.id.as_str()]
    );

    // VOIDED is refused by the live API as documented, and surfaces as a validation error.
    let voided = sessions
        .update_status(&created.id, SessionStatusUpdate::Voided)
        .await
        .unwrap_err();
    assert!(
        matches!(
            voided,
            Error::Validation {
                response: Some(_),
                ..
            }
        ),
        "{voided:?}"
    );
    // The refusal names the input the server refused, and what to do instead.
    let Error::Validation { field, .. } = &voided else {
        unreachable!()
    };
    assert_eq!(field.as_deref(), Some("new_status"));
    assert!(voided.message().contains("Admin Console"), "{voided}");
    let missing = sessions.retrieve("no-such-session").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");

    let invites = mock.invites();
    assert_eq!(invites.len(), 2, "one email and one SMS, once");
}

#[tokio::test]
async fn paging_over_a_thousand_sessions_sees_each_once() {
    let mock = MockServer::start().await;
    let mut seeded = mock.seed_sessions(1_000, SeedSessions::new()).unwrap();
    seeded.reverse(); // newest first
    let sessions = client_for(&mock).sessions();

    let mut params = SessionListParams::new().limit(137);
    let mut seen = Vec::new();
    loop {
        let page = sessions.list(params.clone()).await.unwrap();
        seen.extend(page.data.into_iter().map(|s| s.id));
        match page.next_token {
            Some(token) => params = params.next_token(token),
            None => break,
        }
    }
    assert_eq!(seen, seeded, "every session once, newest first, no gaps");

    // The status filter and offset, emulated over pages of 500.
    let statuses: Vec<String> = seeded
        .iter()
        .map(|id| mock.session(id).unwrap().status().to_string())
        .collect();
    let verified: Vec<&String> = seeded
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| *s == "VERIFIED")
        .map(|(id, _)| id)
        .collect();
    let page = sessions
        .list(
            SessionListParams::new()
                .status(SessionStatus::Verified)
                .offset(100)
                .limit(50),
        )
        .await
        .unwrap();
    assert_eq!(
        page.data.iter().map(|s| &s.id).collect::<Vec<_>>(),
        verified[100..150]
    );
    assert!(page.has_more);
    assert!(
        mock.requests()
            .iter()
            .filter(|r| r.operation == Some(MockOperation::ListSessions))
            .all(|r| {
                let query = r.query.clone().unwrap_or_default();
                !query.contains("offset") && !query.contains("status")
            })
    );
}

#[tokio::test]
async fn reads_are_retried_through_injected_faults() {
    let mock = MockServer::start().await;
    let sessions = client_for(&mock).sessions();
    let created = sessions.create(applicant("retry-1")).await.unwrap();

    mock.inject(
        Fault::status(503)
            .on(MockOperation::RetrieveSession)
            .times(2),
    );
    mock.inject(Fault::drop_connection().on(MockOperation::ListSessions));
    mock.inject(Fault::drop_mid_body().on(MockOperation::UpdateSessionStatus));
    mock.submit(&created.id).unwrap();

    sessions.retrieve(&created.id).await.unwrap();
    sessions.list(SessionListParams::new()).await.unwrap();
    let decided = sessions
        .update_status(&created.id, SessionStatusUpdate::Rejected)
        .await
        .unwrap();
    assert_eq!(decided.session_record.status, SessionStatus::Rejected);

    let count = |operation| {
        mock.requests()
            .iter()
            .filter(|r| r.operation == Some(operation))
            .count()
    };
    assert_eq!(count(MockOperation::RetrieveSession), 3);
    assert_eq!(count(MockOperation::ListSessions), 2);
    assert_eq!(
        count(MockOperation::UpdateSessionStatus),
        2,
        "setting a status twice is harmless"
    );
}

#[tokio::test]
async fn a_rate_limited_create_is_retried_after_retry_after() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(429)
            .header("retry-after", "1")
            .body("application/json", r#"{"error":"Too many requests"}"#),
    );
    let started = std::time::Instant::now();

    let created = client_for(&mock)
        .sessions()
        .create(applicant("limited-1"))
        .await
        .unwrap();

    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.session_count(), 1);
    assert_eq!(
        mock.session(&created.id).unwrap().external_id(),
        Some("limited-1")
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_repeated() {
    let mock = MockServer::start().await;
    mock.inject(Fault::process_then_drop().on(MockOperation::CreateSession));

    let e = client_for(&mock)
        .sessions()
        .create(applicant("lost-1").send_phone_invite(false))
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
    assert!(!e.is_retryable());
    let creates = mock
        .requests()
        .iter()
        .filter(|r| r.operation == Some(MockOperation::CreateSession))
        .count();
    assert_eq!(creates, 1, "the create was sent once");
    let invites = mock.invites();
    assert_eq!(
        invites.len(),
        1,
        "the applicant got one invitation: {invites:?}"
    );
    assert_eq!(invites[0].channel, Channel::Email);
    // The session exists and can be found by its external id.
    let found = client_for(&mock)
        .sessions()
        .list(SessionListParams::new().external_id("lost-1"))
        .await
        .unwrap();
    assert_eq!(found.data.len(), 1);
}

#[tokio::test]
async fn a_slow_mock_is_a_timeout() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::delay(Duration::from_secs(5))
            .on(MockOperation::RetrieveSession)
            .times(5),
    );
    let client = Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
}

#[tokio::test]
async fn sandbox_records_decode_with_every_modelled_field() {
    let mock = MockServer::start().await;
    // Sandbox records are dated relative to the mock's clock; freeze it so both reads agree.
    mock.freeze_time("2025-06-01T12:00:00Z".parse().unwrap());
    let sandbox = mock.sandbox_key().unwrap().to_owned();
    let client = Client::builder()
        .api_key(&sandbox)
        .base_url(mock.url())
        .build()
        .unwrap();

    for id in [
        "test_verified",
        "test_rejected",
        "sandbox-a",
        "sandbox-b",
        "sandbox-c",
    ] {
        let found = client.sessions().retrieve(id).await.unwrap();
        let raw: Value = reqwest_get(&mock, &sandbox, id).await;
        let decoded = serde_json::to_value(&found.session_record).unwrap();
        // Compared as text so that a failure prints the two records, not their debug trees.
        let (decoded, raw) = (
            normalise(decoded).to_string(),
            normalise(raw["session_record"].clone()).to_string(),
        );
        assert!(decoded == raw, "{id}:\n decoded {decoded}\n sent    {raw}");
    }
    let write = client
        .sessions()
        .create(applicant("sandbox"))
        .await
        .unwrap_err();
    assert!(matches!(write, Error::Authorization { .. }), "{write:?}");
    assert!(write.message().contains("sandbox API key"));
}

async fn reqwest_get(mock: &MockServer, key: &str, id: &str) -> Value {
    deepidv::reqwest::Client::new()
        .get(format!("{}/v1/sessions/{id}", mock.url()))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn no_funds_is_insufficient_funds() {
    let mock = MockServer::start().await;
    mock.set_no_funds(mock.api_key(), true).unwrap();
    let e = client_for(&mock)
        .sessions()
        .create(applicant("broke"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InsufficientFunds { .. }), "{e:?}");
    assert_eq!(e.message(), "Insufficient funds or subscription.");
}
