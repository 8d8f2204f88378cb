//! What reaches `tracing` during a full flow, at TRACE: spans and retries, never the key, never
//! the applicant's data or file links. Its own test binary: it installs the global subscriber.

#[path = "support/captured_logs.rs"]
mod captured_logs;

use std::time::Duration;

use deepidv::{Client, SessionCreateInput, SessionListParams, SessionStatusUpdate};
use deepidv_mock::{Fault, MockOperation, MockServer};

fn captured() -> &'static captured_logs::Captured {
    captured_logs::install(tracing::Level::TRACE)
}

/// Runs a whole flow with `log_bodies` and returns what was logged during it.
async fn flow(log_bodies: bool) -> String {
    let captured = captured();
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(503)
            .header("x-request-id", "req-flow-503")
            .on(MockOperation::RetrieveSession),
    );
    let client = Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .initial_retry_delay(Duration::from_millis(5))
        .log_bodies(log_bodies)
        .build()
        .unwrap();
    let sessions = client.sessions();
    let before = captured.len();

    let input = SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
        .external_id("log-1");
    let created = sessions.create(input).await.unwrap();
    mock.submit(&created.id).unwrap();
    let found = sessions.retrieve(&created.id).await.unwrap();
    assert!(!found.resource_links.is_empty());
    sessions
        .list(SessionListParams::new().external_id("log-1"))
        .await
        .unwrap();
    sessions
        .update_status(&created.id, SessionStatusUpdate::Verified)
        .await
        .unwrap();
    let _ = sessions.retrieve("no-such-session").await;
    // The published 18 KB record, as the sandbox serves it.
    let sandbox = Client::builder()
        .api_key(mock.sandbox_key().expect("the mock has a sandbox key"))
        .base_url(mock.url())
        .log_bodies(log_bodies)
        .build()
        .unwrap();
    sandbox.sessions().retrieve("test_verified").await.unwrap();
    // A value of an unexpected type: a WARN with its path and the expected type, not the value.
    let mut odd: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/retrieve-session.response.json")).unwrap();
    odd["session_record"]["analysis_data"]["faceliveness_score"] = "SECRET-SCORE-TEXT".into();
    mock.inject(
        Fault::status(200)
            .body("application/json", odd.to_string())
            .on(MockOperation::RetrieveSession),
    );
    let found = sessions.retrieve(&created.id).await.unwrap();
    assert_eq!(found.unreadable.len(), 1);
    // The same in a webhook delivery: logged as the webhook's, not as an operation's.
    let hook = deepidv::webhooks::Webhook::new("whsec_logging").unwrap();
    let mut headers = deepidv::reqwest::header::HeaderMap::new();
    headers.insert("deepidv-signature", "whsec_logging".parse().unwrap());
    let delivery = serde_json::json!({"type": "session.status.verified", "data": odd});
    let event = hook
        .verify(&headers, delivery.to_string().as_bytes())
        .unwrap();
    assert_eq!(event.unreadable.len(), 1);

    let text = captured.since(before);
    for secret in [
        mock.api_key(),
        "jane.smith@example.com",
        "+14165557890",
        "Jane",
        "Smith",
        "JANE",
        "SMITH",
        "1990/05/15",
        "files.mock.deepidv.invalid",
        "verify.mock.deepidv.invalid",
        "192.168.1.1",
        // from the published record
        "JOHN",
        "SPRINGFIELD",
        "JOHNSON,ROBERT",
        "SECRET-SCORE-TEXT",
    ] {
        assert!(!text.contains(secret), "{secret:?} was logged:\n{text}");
    }
    text
}

// One test: the subscriber and its buffer are global, and the flows must not interleave.
#[tokio::test]
async fn logs_carry_spans_and_retries_but_no_secrets_or_personal_data() {
    let plain = flow(false).await;
    for expected in [
        "operation=\"createSession\"",
        "path=\"/v1/sessions/{id}\"",
        "attempt=2",
        "retrying",
        "status=503",
        "request_id=\"req-flow-503\"",
        "outcome=\"not_found\"",
        "WARN",
        // One WARN per response: how many, where, and what was expected.
        "count=1",
        "paths=$.session_record.analysis_data.faceliveness_score",
        "expected=f64",
    ] {
        assert!(
            plain.contains(expected),
            "{expected:?} missing from:\n{plain}"
        );
    }
    assert!(!plain.contains(" body="), "bodies are off by default");
    let webhook = plain
        .lines()
        .find(|line| line.contains("paths=$.data.analysis_data.faceliveness_score"))
        .unwrap_or_else(|| panic!("no WARN for the webhook's unreadable value in:\n{plain}"));
    assert!(
        webhook.contains(" WARN ") && webhook.contains("operation=\"webhook\""),
        "{webhook}"
    );
    // The retry is one DEBUG event inside the call's span: the span's fields (operation, method,
    // path, the attempt that failed, its status and request id) and the event's own (reason,
    // status, wait).
    let retry = plain
        .lines()
        .find(|line| line.contains("retrying"))
        .unwrap_or_else(|| panic!("no retry event in:\n{plain}"));
    for expected in [
        " DEBUG ",
        "deepidv{",
        "operation=\"retrieveSession\"",
        "method=\"GET\"",
        "path=\"/v1/sessions/{id}\"",
        "request_id=\"req-flow-503\"",
        "retry_reason=\"api\"",
        "attempt=1",
        "reason=\"api\"",
        "status=503",
        "wait_ms=",
    ] {
        assert!(
            retry.contains(expected),
            "{expected:?} missing from {retry}"
        );
    }
    assert_eq!(
        plain
            .lines()
            .filter(|line| line.contains("retrying"))
            .count(),
        1,
        "one retry in the flow"
    );

    let with_bodies = flow(true).await;
    assert!(
        with_bodies.contains("direction=\"request\""),
        "{with_bodies}"
    );
    assert!(
        with_bodies.contains("direction=\"response\""),
        "{with_bodies}"
    );
    assert!(with_bodies.contains("[redacted]"));
    assert!(
        with_bodies.contains(r#""externalId":"log-1""#),
        "what is not personal stays readable: {with_bodies}"
    );
    assert!(with_bodies.contains("(truncated)"), "long bodies are cut");
}
