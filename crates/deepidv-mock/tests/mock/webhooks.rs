//! Webhook deliveries over real HTTP on loopback: the events, their envelope and header, the
//! retries, the journal, and that nothing in them holds up the API.

use std::time::Duration;

use deepidv_mock::{MockServer, SeedSessions, WebhookDelivery, WebhookEvent};
use serde_json::Value;

use crate::{
    common::*,
    receiver::{Receiver, Reply, WAIT},
};

/// `(event, session id)` of each attempt to `url`, in journal order.
fn events_to(journal: &[WebhookDelivery], url: &str) -> Vec<(WebhookEvent, String)> {
    journal
        .iter()
        .filter(|d| d.url == url)
        .map(|d| (d.event, d.session_id.clone()))
        .collect()
}

async fn submit_over_http(mock: &MockServer, id: &str) {
    let answer = call(
        mock,
        "POST",
        &format!("/__mock/sessions/{id}/submit"),
        None,
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

async fn decide(mock: &MockServer, id: &str, status: &str) -> Answer {
    live(
        mock,
        "PATCH",
        &format!("/v1/sessions/{id}/update-status"),
        Some(&format!(r#"{{"new_status":"{status}"}}"#)),
    )
    .await
}

#[tokio::test]
async fn a_sessions_life_reaches_every_endpoint_with_the_secret_and_the_bare_record() {
    let mut first = Receiver::start("/hooks/a?tenant=1", vec![]).await;
    let mut second = Receiver::start("/b", vec![]).await;
    let mock = MockServer::builder()
        .webhook(&first.url, "whsec_first")
        .webhook(&second.url, "whsec_second")
        .start()
        .await
        .unwrap();

    let id = create(&mock, CREATE).await;
    submit_over_http(&mock, &id).await;
    assert_eq!(decide(&mock, &id, "VERIFIED").await.status, 200);
    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();
    let retrieved = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
        .await
        .json();

    let expected = [
        ("session.created", "PENDING"),
        ("session.status.submitted", "SUBMITTED"),
        ("session.status.verified", "VERIFIED"),
    ];
    for (receiver, secret, target) in [
        (&mut first, "whsec_first", "/hooks/a?tenant=1"),
        (&mut second, "whsec_second", "/b"),
    ] {
        let mut got = Vec::new();
        for (event, status) in expected {
            let received = receiver.next().await;
            assert_eq!(received.method, "POST");
            assert_eq!(received.target, target);
            assert_eq!(received.header("content-type"), Some("application/json"));
            assert_eq!(received.header("deepidv-signature"), Some(secret));
            let mut keys: Vec<&str> = received
                .body
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, ["data", "type"], "the envelope is {{type, data}}");
            assert_eq!(received.event(), event);
            let data = &received.body["data"];
            assert_eq!(data["id"], id.as_str(), "{event}");
            assert_eq!(data["status"], status, "{event}");
            assert!(
                data.get("session_record").is_none() && data.get("user").is_none(),
                "data is the bare record: {data}"
            );
            got.push(received);
        }
        assert!(got[1].body["data"]["analysis_data"].is_object());
        assert_eq!(
            got[2].body["data"], retrieved["session_record"],
            "data is the record a retrieve shows"
        );
        assert!(receiver.try_next().is_none(), "three events, once each");
    }

    assert_eq!(journal.len(), 6, "{journal:#?}");
    for url in [&first.url, &second.url] {
        let events: Vec<WebhookEvent> = events_to(&journal, url)
            .into_iter()
            .map(|(event, session)| {
                assert_eq!(session, id);
                event
            })
            .collect();
        assert_eq!(
            events,
            [
                WebhookEvent::SessionCreated,
                WebhookEvent::SessionSubmitted,
                WebhookEvent::SessionVerified
            ]
        );
    }
    for delivery in &journal {
        assert_eq!(
            (
                delivery.attempt,
                delivery.status,
                delivery.error.as_deref(),
                delivery.delivered,
                delivery.retry_in
            ),
            (1, Some(200), None, true, None),
            "{delivery:?}"
        );
    }

    let over_http = call(&mock, "GET", "/__mock/webhooks", None, None).await;
    assert_eq!(over_http.status, 200);
    let over_http = over_http.json();
    let entries = over_http.as_array().unwrap();
    assert_eq!(entries.len(), 6);
    let mut fields: Vec<&str> = entries[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "attempt",
            "delivered",
            "delivery",
            "duplicate",
            "duration_millis",
            "error",
            "event",
            "retry_in_millis",
            "sent_at",
            "session_id",
            "status",
            "url"
        ]
    );
    assert!(
        entries
            .iter()
            .any(|e| e["event"] == "session.status.verified" && e["url"] == second.url.as_str())
    );
    assert!(entries[0]["sent_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn failed_and_rejected_sessions_are_delivered_and_other_changes_send_nothing() {
    let mut receiver = Receiver::start("/hooks", vec![]).await;
    let mock = MockServer::builder()
        .webhook(&receiver.url, "whsec_x")
        .accept_voided(true)
        .start()
        .await
        .unwrap();

    let failed = create(&mock, CREATE).await;
    mock.fail(&failed).unwrap();
    let rejected = create(&mock, CREATE).await;
    mock.submit(&rejected).unwrap();
    assert_eq!(decide(&mock, &rejected, "REJECTED").await.status, 200);
    assert_eq!(
        decide(&mock, &rejected, "REJECTED").await.status,
        200,
        "a repeated status changes nothing and sends nothing"
    );
    let expired = create(&mock, CREATE).await;
    mock.expire(&expired).unwrap();
    assert_eq!(decide(&mock, &expired, "VOIDED").await.status, 200);
    mock.seed_sessions(3, SeedSessions::new()).unwrap();
    let sandbox = call(
        &mock,
        "GET",
        "/v1/sessions/test_verified",
        mock.sandbox_key(),
        None,
    )
    .await;
    assert_eq!(sandbox.status, 200);

    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();
    let events = events_to(&journal, &receiver.url);
    for (session, expected) in [
        (
            &failed,
            vec![WebhookEvent::SessionCreated, WebhookEvent::SessionFailed],
        ),
        (
            &rejected,
            vec![
                WebhookEvent::SessionCreated,
                WebhookEvent::SessionSubmitted,
                WebhookEvent::SessionRejected,
            ],
        ),
        (&expired, vec![WebhookEvent::SessionCreated]),
    ] {
        let got: Vec<WebhookEvent> = events
            .iter()
            .filter(|(_, id)| id == session)
            .map(|(event, _)| *event)
            .collect();
        assert_eq!(got, expected, "{session}");
    }
    assert_eq!(journal.len(), 6, "{journal:#?}");

    let mut bodies = Vec::new();
    for _ in 0..6 {
        bodies.push(receiver.next().await.body);
    }
    assert!(receiver.try_next().is_none());
    let body = |event: &str| -> &Value {
        bodies
            .iter()
            .find(|b| b["type"] == event)
            .unwrap_or_else(|| panic!("no {event}"))
    };
    let failure = &body("session.status.failed")["data"];
    assert_eq!(
        (&failure["id"], &failure["status"]),
        (&Value::from(failed.as_str()), &Value::from("FAILED"))
    );
    assert!(failure["meta_data"]["failureData"]["failedAttempts"].is_number());
    let rejection = &body("session.status.rejected")["data"];
    assert_eq!(
        (&rejection["id"], &rejection["status"]),
        (&Value::from(rejected.as_str()), &Value::from("REJECTED"))
    );
}

#[tokio::test]
async fn a_failed_attempt_is_retried_until_a_2xx() {
    let mut receiver = Receiver::start("/hooks", vec![Reply::Status(500)]).await;
    let mock = MockServer::builder()
        .webhook(&receiver.url, "whsec_retry")
        .webhook_retry(3, Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let id = create(&mock, CREATE).await;
    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();

    assert_eq!(journal.len(), 2, "{journal:#?}");
    let (first, second) = (&journal[0], &journal[1]);
    assert_eq!(
        (first.attempt, first.status, first.delivered, first.retry_in),
        (1, Some(500), false, Some(Duration::from_millis(50)))
    );
    assert_eq!(
        (
            second.attempt,
            second.status,
            second.delivered,
            second.retry_in
        ),
        (2, Some(200), true, None)
    );
    assert_eq!(
        first.delivery, second.delivery,
        "two attempts of one delivery"
    );
    assert_eq!(
        (first.event, first.session_id.as_str()),
        (WebhookEvent::SessionCreated, id.as_str())
    );
    assert!(second.sent_at >= first.sent_at, "{journal:#?}");

    let (attempt_1, attempt_2) = (receiver.next().await, receiver.next().await);
    assert_eq!(
        attempt_1.body, attempt_2.body,
        "a retry sends the same body"
    );
    assert_eq!(attempt_2.header("deepidv-signature"), Some("whsec_retry"));
    assert!(receiver.try_next().is_none());

    // The journal over HTTP, as an operator would see it.
    let over_http = call(&mock, "GET", "/__mock/webhooks", None, None).await;
    let over_http = over_http.json();
    assert_eq!(over_http[0]["status"], 500);
    assert_eq!(over_http[0]["retry_in_millis"], 50);
    assert!(over_http[0]["duration_millis"].as_f64().unwrap() >= 0.0);
    assert_eq!(over_http[1]["status"], 200);
    assert_eq!(over_http[1]["delivered"], true);
    println!(
        "GET /__mock/webhooks:\n{}",
        serde_json::to_string_pretty(&over_http).unwrap()
    );
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retried() {
    let mut receiver = Receiver::start("/slow", vec![Reply::Sleep(Duration::from_secs(60))]).await;
    let mock = MockServer::builder()
        .webhook(&receiver.url, "whsec_slow")
        .webhook_timeout(Duration::from_secs(1))
        .webhook_retry(5, Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    create(&mock, CREATE).await;
    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();

    let timed_out = &journal[0];
    assert_eq!(
        (timed_out.attempt, timed_out.status, timed_out.delivered),
        (1, None, false),
        "{journal:#?}"
    );
    assert_eq!(
        timed_out.error.as_deref(),
        Some("no answer within 1000 ms"),
        "{timed_out:?}"
    );
    assert!(timed_out.duration >= Duration::from_secs(1));
    assert_eq!(timed_out.retry_in, Some(Duration::from_millis(20)));
    // The receiver answers at once from the second request on; a machine too busy to carry that
    // within a second would time out again, so only the last attempt is required to deliver.
    let (last, between) = journal[1..].split_last().expect("a second attempt");
    assert!(between.iter().all(|d| d.status.is_none()), "{journal:#?}");
    assert_eq!(
        (last.attempt as usize, last.status, last.delivered),
        (journal.len(), Some(200), true),
        "{journal:#?}"
    );
    for _ in &journal {
        receiver.next().await;
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_uses_up_the_attempts_and_the_api_keeps_answering() {
    // A socket bound but never listening: the port is held (nothing else can take it) and every
    // connection to it is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/down", socket.local_addr().unwrap());
    let mock = MockServer::builder()
        .webhook(&url, "whsec_down")
        .webhook_retry(3, Duration::from_millis(100))
        .start()
        .await
        .unwrap();

    let id = create(&mock, CREATE).await;
    // While the retries go on, the API answers as usual.
    assert_eq!(live(&mock, "GET", "/v1/sessions", None).await.status, 200);
    assert_eq!(decide(&mock, &id, "VERIFIED").await.status, 200);
    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();

    assert_eq!(
        journal.len(),
        6,
        "two deliveries of 3 attempts: {journal:#?}"
    );
    for event in [WebhookEvent::SessionCreated, WebhookEvent::SessionVerified] {
        let attempts: Vec<&WebhookDelivery> = journal.iter().filter(|d| d.event == event).collect();
        let numbers: Vec<u32> = attempts.iter().map(|d| d.attempt).collect();
        assert_eq!(numbers, [1, 2, 3], "{event}");
        let waits: Vec<Option<Duration>> = attempts.iter().map(|d| d.retry_in).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                None
            ]
        );
        for attempt in attempts {
            assert!(!attempt.delivered && attempt.status.is_none());
            let error = attempt.error.as_deref().unwrap_or_default();
            assert!(
                error.to_lowercase().contains("refused"),
                "the error says why: {error}"
            );
        }
    }
    // Same session, same endpoint: the verified delivery began after the created one gave up.
    let created_last = journal
        .iter()
        .find(|d| d.event == WebhookEvent::SessionCreated && d.attempt == 3)
        .unwrap();
    let verified_first = journal
        .iter()
        .find(|d| d.event == WebhookEvent::SessionVerified && d.attempt == 1)
        .unwrap();
    assert!(verified_first.sent_at >= created_last.sent_at);
    assert_eq!(create(&mock, CREATE).await.len(), 36);
    drop(socket);
}

#[tokio::test]
async fn deliveries_never_hold_up_an_answer() {
    let mut receiver = Receiver::start("/held", vec![Reply::Hold]).await;
    let mock = MockServer::builder()
        .webhook(&receiver.url, "whsec_held")
        .webhook_timeout(Duration::from_secs(120))
        .start()
        .await
        .unwrap();

    // The receiver holds the created event for as long as the test wants, longer than the
    // time allowed here: the create answers anyway.
    let id = tokio::time::timeout(Duration::from_secs(20), create(&mock, CREATE))
        .await
        .expect("the create answers while its webhook is held");
    let held = receiver.next().await;
    assert_eq!(
        (held.event(), held.body["data"]["id"].as_str()),
        ("session.created", Some(id.as_str()))
    );
    tokio::time::timeout(Duration::from_secs(20), submit_over_http(&mock, &id))
        .await
        .expect("the control API answers too");
    assert!(
        mock.webhook_deliveries().is_empty(),
        "nothing has finished yet"
    );
    // Another session's event is not held up behind the first session's.
    let other = tokio::time::timeout(Duration::from_secs(20), create(&mock, CREATE))
        .await
        .unwrap();
    let passed = receiver.next().await;
    assert_eq!(passed.body["data"]["id"].as_str(), Some(other.as_str()));
    // This session's submitted event waits for its created event to be delivered.
    mock.wait_for_deliveries(1, WAIT).await.unwrap();
    assert!(
        receiver.try_next().is_none(),
        "the submitted event waits behind the held created event"
    );

    receiver.release();
    let submitted = receiver.next().await;
    assert_eq!(
        (submitted.event(), submitted.body["data"]["id"].as_str()),
        ("session.status.submitted", Some(id.as_str()))
    );
    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();
    assert_eq!(
        events_to(&journal, &receiver.url),
        [
            (WebhookEvent::SessionCreated, other.clone()),
            (WebhookEvent::SessionCreated, id.clone()),
            (WebhookEvent::SessionSubmitted, id.clone()),
        ]
    );
    assert!(journal.iter().all(|d| d.delivered && d.attempt == 1));
}

#[tokio::test]
async fn reset_stops_deliveries_and_empties_the_journal() {
    let mut receiver = Receiver::start("/hooks", vec![Reply::Hold]).await;
    let mock = MockServer::builder()
        .webhook(&receiver.url, "whsec_reset")
        .webhook_timeout(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    create(&mock, CREATE).await;
    receiver.next().await;
    let second = create(&mock, CREATE).await;
    mock.wait_for_deliveries(1, WAIT).await.unwrap();
    assert_eq!(mock.webhook_deliveries().len(), 1);

    mock.reset();
    assert!(mock.webhook_deliveries().is_empty());
    assert!(
        mock.wait_for_webhooks_idle(WAIT).await.unwrap().is_empty(),
        "the held delivery was stopped"
    );
    receiver.release();
    // The second session's request, answered before the reset.
    assert_eq!(receiver.next().await.body["data"]["id"], second.as_str());

    let after = create(&mock, CREATE).await;
    let journal = mock.wait_for_deliveries(1, WAIT).await.unwrap();
    assert_eq!(journal.len(), 1, "{journal:#?}");
    assert_eq!(
        (journal[0].delivery, journal[0].session_id.as_str()),
        (1, after.as_str()),
        "numbering starts again"
    );

    let reset = call(&mock, "POST", "/__mock/reset", None, None).await;
    assert_eq!(reset.status, 200);
    let over_http = call(&mock, "GET", "/__mock/webhooks", None, None).await;
    assert_eq!(over_http.json(), serde_json::json!([]));
}

#[tokio::test]
async fn waiting_for_deliveries_that_do_not_come_fails_with_what_happened() {
    let mock = MockServer::start().await;
    create(&mock, CREATE).await;
    assert!(
        mock.webhook_deliveries().is_empty(),
        "no endpoints, no events"
    );
    let error = mock
        .wait_for_deliveries(1, Duration::from_millis(50))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "waited 50 ms for 1 webhook attempts: 0 attempts journaled, 0 deliveries in flight"
    );
    assert!(
        mock.wait_for_webhooks_idle(Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_webhook_settings_are_refused_with_clear_errors() {
    let refused = |builder: deepidv_mock::MockBuilder| async move {
        builder.start().await.map(|_| ()).unwrap_err().to_string()
    };
    let url = "http://127.0.0.1:9/hooks";
    for (bad_url, secret, expected) in [
        (
            "not a url",
            "whsec_x",
            "webhook URL \"not a url\" is not a valid URL",
        ),
        (
            "ftp://127.0.0.1/hooks",
            "whsec_x",
            "must be an absolute http:// URL",
        ),
        ("/hooks", "whsec_x", "must be an absolute http:// URL"),
        (
            "https://example.com/hooks",
            "whsec_x",
            "https:// is not supported",
        ),
        (
            "http://user:pw@127.0.0.1/",
            "whsec_x",
            "credentials in the URL",
        ),
        (url, "", "must be non-empty visible ASCII"),
        (url, "whsec with space", "must be non-empty visible ASCII"),
    ] {
        let error = refused(MockServer::builder().webhook(bad_url, secret)).await;
        assert!(error.contains(expected), "{bad_url} {secret:?}: {error}");
    }
    for (attempts, delay, expected) in [
        (
            0,
            Duration::ZERO,
            "webhook attempts must be from 1 to 20 (got 0)",
        ),
        (
            21,
            Duration::ZERO,
            "webhook attempts must be from 1 to 20 (got 21)",
        ),
        (
            u32::MAX,
            Duration::ZERO,
            "webhook attempts must be from 1 to 20 (got 4294967295)",
        ),
        (
            3,
            Duration::from_secs(7_200),
            "the webhook retry delay must be at most 3600000 ms (one hour) (got 7200000 ms)",
        ),
        (
            3,
            Duration::MAX,
            "the webhook retry delay must be at most 3600000 ms",
        ),
    ] {
        let error = refused(
            MockServer::builder()
                .webhook(url, "whsec_x")
                .webhook_retry(attempts, delay),
        )
        .await;
        assert!(error.contains(expected), "{attempts} {delay:?}: {error}");
    }
    for timeout in [Duration::ZERO, Duration::from_secs(301), Duration::MAX] {
        let error = refused(MockServer::builder().webhook_timeout(timeout)).await;
        assert!(
            error.contains("the webhook timeout must be from 1 ms to 300000 ms"),
            "{timeout:?}: {error}"
        );
    }
    let mut many = MockServer::builder();
    for i in 0..17 {
        many = many.webhook(format!("http://127.0.0.1:9/{i}"), "whsec_x");
    }
    assert_eq!(
        refused(many).await,
        "at most 16 webhook endpoints are supported (got 17)"
    );

    // The bounds themselves are accepted.
    let mut sixteen = MockServer::builder()
        .webhook_retry(20, Duration::from_secs(3_600))
        .webhook_timeout(Duration::from_millis(1));
    for i in 0..16 {
        sixteen = sixteen.webhook(format!("http://[::1]:9/{i}"), "whsec_x");
    }
    sixteen.start().await.unwrap();
    MockServer::builder()
        .webhook_retry(1, Duration::ZERO)
        .webhook_timeout(Duration::from_secs(300))
        .start()
        .await
        .unwrap();
}
