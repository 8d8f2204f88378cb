//! The mock behaves as DeepIDV documents the live API.

use deepidv_mock::{ApiKey, Channel, MockServer, SeedSessions};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn every_published_create_request_is_accepted() {
    let mock = MockServer::start().await;
    for name in [
        "create-session.request.json",
        "create-session.request.workflows-guide.json",
        "create-session.request.igaming-recipe.json",
        "create-session.request.api-reference.docs-site.json",
        "create-session.request.api-reference.sc-docs.json",
    ] {
        let sent: Value = serde_json::from_str(&fixture(name)).unwrap();
        let answer = live(&mock, "POST", "/v1/sessions", Some(&fixture(name))).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.text);
        let body = answer.json();
        assert!(
            body["id"].is_string() && body["session_url"].is_string(),
            "{name}: {body}"
        );
        assert_eq!(body["links"], json!([]));
        let external = sent.get("externalId").or_else(|| sent.get("external_id"));
        assert_eq!(body.get("externalId"), external, "{name}");
        let record = mock
            .session(body["id"].as_str().unwrap())
            .unwrap()
            .json()
            .clone();
        let workflow = sent.get("workflowId").or_else(|| sent.get("workflow_id"));
        assert_eq!(record.get("workflow_id"), workflow, "{name}");
        assert_eq!(record["type"], "session");
        assert_eq!(record["status"], "PENDING");
    }
}

#[tokio::test]
async fn camel_case_wins_over_snake_case() {
    let mock = MockServer::start().await;
    let body = r#"{"firstName":"Camel","first_name":"Snake","lastName":"Doe","email":"a@example.com","phone":"+15192223333","externalId":"camel","external_id":"snake"}"#;
    let id = create(&mock, body).await;
    let found = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
        .await
        .json();
    assert_eq!(found["user"]["first_name"], "Camel");
    assert_eq!(found["session_record"]["external_id"], "camel");
    assert_eq!(
        found["session_record"]["type"], "verification",
        "no workflow: a standalone verification"
    );
}

#[tokio::test]
async fn invalid_creates_are_400_with_message_and_hints() {
    let mock = MockServer::start().await;
    let cases = [
        (
            r#"{"lastName":"Doe","email":"a@example.com","phone":"+15192223333"}"#,
            "firstName",
        ),
        (
            r#"{"firstName":"Jo","lastName":"Doe","email":"a@example.com","phone":"5192223333"}"#,
            "phone",
        ),
        (
            r#"{"firstName":"Jo","lastName":"Doe","email":"not-an-email","phone":"+15192223333"}"#,
            "email",
        ),
        (
            r#"{"firstName":"Jo","lastName":"Doe","email":"a@example.com","phone":"+15192223333","redirectUrl":"http://x.com"}"#,
            "redirectUrl",
        ),
        (
            r#"{"firstName":"Jo","lastName":"Doe","email":"a@example.com","phone":"+15192223333","expiresInHours":8761}"#,
            "expiresInHours",
        ),
        (
            r#"{"firstName":"Jo","lastName":"Doe","email":"a@example.com","phone":"+15192223333","externalId":null}"#,
            "externalId",
        ),
        (
            r#"{"firstName":"Jo","lastName":"Doe","email":"a@example.com","phone":"+15192223333","sendEmailInvite":"no"}"#,
            "sendEmailInvite",
        ),
        ("not json", ""),
    ];
    for (body, field) in cases {
        let answer = live(&mock, "POST", "/v1/sessions", Some(body)).await;
        assert_eq!(answer.status, 400, "{body}");
        let error = answer.json();
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{body}: {error}"
        );
        assert_eq!(error["hints"][0]["path"][0], field, "{body}: {error}");
    }
    assert_eq!(mock.session_count(), 0);
    assert!(mock.invites().is_empty());
}

#[tokio::test]
async fn an_unknown_workflow_is_404() {
    let mock = MockServer::start().await;
    let body = CREATE.replace(
        "\"externalId\"",
        "\"workflowId\":\"wf_nope\",\"externalId\"",
    );
    let answer = live(&mock, "POST", "/v1/sessions", Some(&body)).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json(), json!({"error": "Workflow not found"}));
    let known = MockServer::builder()
        .workflow("wf_nope")
        .start()
        .await
        .unwrap();
    assert_eq!(
        live(&known, "POST", "/v1/sessions", Some(&body))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn authentication_answers_as_documented() {
    let mock = MockServer::start().await;
    let missing = call(&mock, "GET", "/v1/sessions", None, None).await;
    assert_eq!(
        (missing.status, missing.json()),
        (403, json!({"error": "API key is missing."}))
    );
    let unknown = call(&mock, "GET", "/v1/sessions", Some("sk_nope"), None).await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (401, json!({"error": "Invalid API key."}))
    );

    let sandbox = mock.sandbox_key().unwrap();
    let write = call(&mock, "POST", "/v1/sessions", Some(sandbox), Some(CREATE)).await;
    assert_eq!(write.status, 403);
    assert_eq!(
        write.json(),
        serde_json::from_str::<Value>(&fixture("sandbox-write-blocked.error-403.json")).unwrap()
    );
    let update = call(
        &mock,
        "PATCH",
        "/v1/sessions/test_verified/update-status",
        Some(sandbox),
        Some(r#"{"new_status":"VERIFIED"}"#),
    )
    .await;
    assert_eq!(update.status, 403);
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.header("x-api-key") != Some(sandbox)),
        "the journal never holds keys"
    );
}

#[tokio::test]
async fn sandbox_reads_are_synthetic_and_deterministic() {
    let mock = MockServer::start().await;
    let sandbox = mock.sandbox_key().unwrap();
    let verified = call(
        &mock,
        "GET",
        "/v1/sessions/test_verified",
        Some(sandbox),
        None,
    )
    .await
    .json();
    assert_eq!(verified["session_record"]["status"], "VERIFIED");
    assert_eq!(verified["session_record"]["id"], "test_verified");
    assert!(
        verified["session_record"]["analysis_data"]["id_analysis_data"]["id_extracted_text"]
            .is_array()
    );
    assert!(!verified["resource_links"].as_object().unwrap().is_empty());
    let rejected = call(
        &mock,
        "GET",
        "/v1/sessions/test_rejected",
        Some(sandbox),
        None,
    )
    .await
    .json();
    assert_eq!(rejected["session_record"]["status"], "REJECTED");
    assert_eq!(
        rejected["session_record"]["meta_data"]["declinedData"]["declined"],
        true
    );

    let statuses: Vec<Value> = futures_like_sequence(&mock, sandbox).await;
    let again: Vec<Value> = futures_like_sequence(&mock, sandbox).await;
    assert_eq!(
        statuses, again,
        "the same id always gives the same scenario"
    );
    let distinct: std::collections::HashSet<String> =
        statuses.iter().map(|s| s.to_string()).collect();
    assert!(
        distinct.len() >= 3,
        "ids spread over scenarios: {distinct:?}"
    );
}

async fn futures_like_sequence(mock: &MockServer, key: &str) -> Vec<Value> {
    let mut statuses = Vec::new();
    for i in 0..12 {
        let answer = call(
            mock,
            "GET",
            &format!("/v1/sessions/sandbox-{i}"),
            Some(key),
            None,
        )
        .await;
        assert_eq!(answer.status, 200);
        statuses.push(answer.json()["session_record"]["status"].clone());
    }
    statuses
}

#[tokio::test]
async fn sessions_belong_to_the_key_owner_and_organization() {
    let mock = MockServer::builder()
        .key(
            ApiKey::live("sk_owner")
                .user("usr_owner")
                .organization("org_a"),
        )
        .key(
            ApiKey::live("sk_colleague")
                .user("usr_colleague")
                .organization("org_a"),
        )
        .key(
            ApiKey::live("sk_stranger")
                .user("usr_stranger")
                .organization("org_b"),
        )
        .start()
        .await
        .unwrap();
    let id = create(&mock, CREATE).await;

    let found = call(
        &mock,
        "GET",
        &format!("/v1/sessions/{id}"),
        Some("sk_owner"),
        None,
    )
    .await
    .json();
    assert_eq!(found["session_record"]["sender_user_id"], "usr_owner");
    assert_eq!(found["sender_user"]["id"], "usr_owner");
    assert_eq!(found["user"]["id"], found["session_record"]["user_id"]);
    assert_eq!(found["user"]["email"], "jane.smith@example.com");

    assert_eq!(
        call(
            &mock,
            "GET",
            &format!("/v1/sessions/{id}"),
            Some("sk_colleague"),
            None
        )
        .await
        .status,
        200
    );
    let stranger = call(
        &mock,
        "GET",
        &format!("/v1/sessions/{id}"),
        Some("sk_stranger"),
        None,
    )
    .await;
    assert_eq!(stranger.status, 403);
    let missing = call(
        &mock,
        "GET",
        "/v1/sessions/no-such-session",
        Some("sk_owner"),
        None,
    )
    .await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"error": "Session not found"}))
    );

    let count = |answer: Answer| answer.json()["sessions"].as_array().unwrap().len();
    assert_eq!(
        count(call(&mock, "GET", "/v1/sessions", Some("sk_owner"), None).await),
        1
    );
    assert_eq!(
        count(call(&mock, "GET", "/v1/sessions", Some("sk_colleague"), None).await),
        0,
        "default: the key owner's sessions"
    );
    assert_eq!(
        count(
            call(
                &mock,
                "GET",
                "/v1/sessions?by_organization=true",
                Some("sk_colleague"),
                None
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            call(
                &mock,
                "GET",
                "/v1/sessions?by_organization=true",
                Some("sk_stranger"),
                None
            )
            .await
        ),
        0
    );
}

#[tokio::test]
async fn invites_follow_the_send_flags() {
    let mock = MockServer::start().await;
    create(&mock, CREATE).await;
    create(
        &mock,
        &CREATE.replace("\"externalId\"", "\"sendPhoneInvite\":false,\"externalId\""),
    )
    .await;
    create(
        &mock,
        &CREATE.replace(
            "\"externalId\"",
            "\"send_email_invite\":false,\"send_phone_invite\":false,\"externalId\"",
        ),
    )
    .await;
    let channels: Vec<Channel> = mock.invites().iter().map(|i| i.channel).collect();
    assert_eq!(channels, [Channel::Email, Channel::Sms, Channel::Email]);
    assert!(
        mock.invites()
            .iter()
            .all(|i| i.external_id.as_deref() == Some("applicant-1"))
    );
    assert_eq!(mock.invites()[1].to, "+14165557890");
}

#[tokio::test]
async fn no_funds_is_a_plain_text_402() {
    let mock = MockServer::start().await;
    mock.set_no_funds(mock.api_key(), true).unwrap();
    let answer = live(&mock, "POST", "/v1/sessions", Some(CREATE)).await;
    assert_eq!(answer.status, 402);
    assert_eq!(answer.text, "Insufficient funds or subscription.");
    assert!(
        answer.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(mock.session_count(), 0);
    mock.set_no_funds(mock.api_key(), false).unwrap();
    assert_eq!(
        live(&mock, "POST", "/v1/sessions", Some(CREATE))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn list_filters_take_precedence_in_the_documented_order() {
    let mock = MockServer::start().await;
    mock.seed_sessions(
        3,
        SeedSessions::new()
            .workflow_id("wf_abc123")
            .external_id_prefix("wf-"),
    )
    .unwrap();
    mock.seed_sessions(2, SeedSessions::new().external_id_prefix("plain-"))
        .unwrap();
    let ids = |answer: Answer| -> Vec<String> {
        answer.json()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["external_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(live(&mock, "GET", "/v1/sessions?workflow_id=wf_abc123", None).await),
        ["wf-2", "wf-1", "wf-0"]
    );
    assert_eq!(
        ids(live(&mock, "GET", "/v1/sessions?external_id=plain-1", None).await),
        ["plain-1"]
    );
    // external_id wins over workflow_id.
    assert_eq!(
        ids(live(
            &mock,
            "GET",
            "/v1/sessions?external_id=plain-1&workflow_id=wf_abc123",
            None
        )
        .await),
        ["plain-1"]
    );
    assert_eq!(ids(live(&mock, "GET", "/v1/sessions", None).await).len(), 5);
    // Unknown parameters (the TypeScript SDK's offset and status) are ignored, like the live API.
    assert_eq!(
        ids(live(&mock, "GET", "/v1/sessions?offset=3&status=VERIFIED", None).await).len(),
        5
    );
}

#[tokio::test]
async fn list_dates_bound_created_at_inclusively() {
    let mock = MockServer::start().await;
    mock.freeze_time("2025-01-15T12:00:00Z".parse().unwrap());
    mock.seed_sessions(
        3,
        SeedSessions::new().spacing(std::time::Duration::from_secs(86_400)),
    )
    .unwrap();
    let created = |answer: Answer| -> Vec<String> {
        answer.json()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["created_at"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = created(live(&mock, "GET", "/v1/sessions", None).await);
    assert_eq!(
        all,
        [
            "2025-01-15T12:00:00.000Z",
            "2025-01-14T12:00:00.000Z",
            "2025-01-13T12:00:00.000Z"
        ]
    );
    assert_eq!(
        created(live(&mock, "GET", "/v1/sessions?start_date=2025-01-14", None).await).len(),
        2
    );
    assert_eq!(
        created(live(&mock, "GET", "/v1/sessions?end_date=2025-01-14", None).await).len(),
        2
    );
    let exact =
        "/v1/sessions?start_date=2025-01-14T12:00:00.000Z&end_date=2025-01-14T12:00:00.000Z";
    assert_eq!(
        created(live(&mock, "GET", exact, None).await),
        ["2025-01-14T12:00:00.000Z"]
    );
    assert_eq!(
        live(&mock, "GET", "/v1/sessions?start_date=yesterday", None)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn list_pages_stay_consistent_while_sessions_are_added() {
    let mock = MockServer::start().await;
    let seeded = mock.seed_sessions(120, SeedSessions::new()).unwrap();
    let page = |answer: Answer| -> (Vec<String>, Value) {
        let body = answer.json();
        let ids = body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, body["next_token"].clone())
    };
    let (first, token) = page(live(&mock, "GET", "/v1/sessions?limit=50", None).await);
    assert_eq!(first.len(), 50);
    // Newer sessions arrive between pages; they must not shift the pages that follow.
    mock.advance_time(chrono::Duration::seconds(10));
    create(&mock, CREATE).await;
    mock.seed_sessions(5, SeedSessions::new()).unwrap();
    let mut seen = first;
    let mut token = token;
    while let Some(next) = token.as_str().map(str::to_owned) {
        let (ids, following) = page(
            live(
                &mock,
                "GET",
                &format!("/v1/sessions?limit=50&next_token={next}"),
                None,
            )
            .await,
        );
        seen.extend(ids);
        token = following;
    }
    let mut expected = seeded;
    expected.reverse();
    assert_eq!(
        seen, expected,
        "every seeded session once, newest first, no gaps"
    );
    let bad = live(&mock, "GET", "/v1/sessions?next_token=not-a-token", None).await;
    assert_eq!(bad.status, 400);
    for limit in ["0", "501", "ten"] {
        assert_eq!(
            live(&mock, "GET", &format!("/v1/sessions?limit={limit}"), None)
                .await
                .status,
            400,
            "{limit}"
        );
    }
}

#[tokio::test]
async fn update_status_follows_the_documented_rules() {
    let mock = MockServer::start().await;
    let id = create(&mock, CREATE).await;
    let path = format!("/v1/sessions/{id}/update-status");
    let set = |status: &'static str| format!(r#"{{"new_status":"{status}"}}"#);

    mock.submit(&id).unwrap();
    let verified = live(&mock, "PATCH", &path, Some(&set("VERIFIED"))).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let body = verified.json();
    assert_eq!(body["session_record"]["status"], "VERIFIED");
    assert_eq!(body.as_object().unwrap().len(), 1, "only session_record");
    assert_eq!(
        live(&mock, "PATCH", &path, Some(&set("VERIFIED")))
            .await
            .status,
        200,
        "the same status again is accepted"
    );
    assert_eq!(
        live(&mock, "PATCH", &path, Some(&set("REJECTED")))
            .await
            .status,
        200,
        "a decision may change"
    );
    let voided = live(&mock, "PATCH", &path, Some(&set("VOIDED"))).await;
    assert_eq!(voided.status, 400);
    assert_eq!(voided.json()["hints"][0]["path"][0], "new_status");
    assert_eq!(
        live(&mock, "PATCH", &path, Some(&set("EXPIRED")))
            .await
            .status,
        400
    );
    assert_eq!(
        live(&mock, "PATCH", &path, Some(r#"{"status":"VERIFIED"}"#))
            .await
            .status,
        400,
        "the TypeScript SDK's body"
    );
    assert_eq!(
        live(
            &mock,
            "PATCH",
            &format!("/v1/sessions/{id}"),
            Some(&set("VERIFIED"))
        )
        .await
        .status,
        405
    );
    assert_eq!(
        live(
            &mock,
            "PATCH",
            "/v1/sessions/nope/update-status",
            Some(&set("VERIFIED"))
        )
        .await
        .status,
        404
    );

    let lenient = MockServer::builder()
        .accept_voided(true)
        .start()
        .await
        .unwrap();
    let id = create(&lenient, CREATE).await;
    let answer = live(
        &lenient,
        "PATCH",
        &format!("/v1/sessions/{id}/update-status"),
        Some(&set("VOIDED")),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["session_record"]["status"], "VOIDED");
}

/// Sessions in each state: `(status, id)`, the VOIDED one only when `mock` accepts VOIDED.
async fn one_session_per_state(mock: &MockServer, voided: bool) -> Vec<(&'static str, String)> {
    let mut sessions = Vec::new();
    let pending = create(mock, CREATE).await;
    sessions.push(("PENDING", pending));
    let submitted = create(mock, CREATE).await;
    mock.submit(&submitted).unwrap();
    sessions.push(("SUBMITTED", submitted));
    let failed = create(mock, CREATE).await;
    mock.fail(&failed).unwrap();
    sessions.push(("FAILED", failed));
    let expired = create(mock, CREATE).await;
    mock.expire(&expired).unwrap();
    sessions.push(("EXPIRED", expired));
    if voided {
        let id = create(mock, CREATE).await;
        let answer = live(
            mock,
            "PATCH",
            &format!("/v1/sessions/{id}/update-status"),
            Some(r#"{"new_status":"VOIDED"}"#),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        sessions.push(("VOIDED", id));
    }
    for (status, id) in &sessions {
        assert_eq!(mock.session(id).unwrap().status(), *status);
    }
    sessions
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
async fn by_default_a_session_in_any_state_may_be_decided() {
    // DeepIDV documents no rule on which sessions may be decided, so the mock invents none.
    let mock = MockServer::builder()
        .accept_voided(true)
        .start()
        .await
        .unwrap();
    for decision in ["VERIFIED", "REJECTED"] {
        for (status, id) in one_session_per_state(&mock, true).await {
            let answer = decide(&mock, &id, decision).await;
            assert_eq!(
                answer.status, 200,
                "{status} -> {decision}: {}",
                answer.text
            );
            assert_eq!(answer.json()["session_record"]["status"], decision);
            assert_eq!(mock.session(&id).unwrap().status(), decision);
        }
    }
    // The default builder (VOIDED refused) decides a PENDING session too.
    let plain = MockServer::start().await;
    let pending = create(&plain, CREATE).await;
    assert_eq!(decide(&plain, &pending, "VERIFIED").await.status, 200);
}

#[tokio::test]
async fn strict_transitions_refuse_decisions_on_unfinished_or_closed_sessions() {
    let mock = MockServer::builder()
        .strict_transitions(true)
        .accept_voided(true)
        .start()
        .await
        .unwrap();
    for decision in ["VERIFIED", "REJECTED"] {
        for (status, id) in one_session_per_state(&mock, true).await {
            let answer = decide(&mock, &id, decision).await;
            let allowed = matches!(status, "SUBMITTED" | "FAILED");
            if allowed {
                assert_eq!(
                    answer.status, 200,
                    "{status} -> {decision}: {}",
                    answer.text
                );
                // A decision may change, and the same decision again is accepted.
                let other = if decision == "VERIFIED" {
                    "REJECTED"
                } else {
                    "VERIFIED"
                };
                assert_eq!(decide(&mock, &id, other).await.status, 200);
                assert_eq!(decide(&mock, &id, other).await.status, 200);
            } else {
                assert_eq!(
                    answer.status, 400,
                    "{status} -> {decision}: {}",
                    answer.text
                );
                let error = answer.json();
                assert_eq!(error["hints"][0]["path"][0], "new_status", "{error}");
                assert!(
                    error["message"].as_str().unwrap().contains(status),
                    "{error}"
                );
                assert_eq!(mock.session(&id).unwrap().status(), status, "unchanged");
            }
        }
    }
}

#[tokio::test]
async fn the_applicant_flow_fills_in_results() {
    let mock = MockServer::start().await;
    let id = create(&mock, CREATE).await;
    mock.submit(&id).unwrap();
    let found = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
        .await
        .json();
    let record = &found["session_record"];
    assert_eq!(record["status"], "SUBMITTED");
    assert_eq!(record["session_progress"], "COMPLETED");
    assert!(record["submitted_at"].is_string());
    assert!(record["analysis_data"]["compare_faces_data"]["face_match_confidence"].is_number());
    assert!(record["meta_data"]["applicantSubmissionIp"].is_string());
    assert!(
        found["resource_links"]
            .as_object()
            .unwrap()
            .contains_key("Hold up 3 fingers")
    );

    let failing = create(&mock, CREATE).await;
    mock.fail(&failing).unwrap();
    let record = mock.session(&failing).unwrap().json().clone();
    assert_eq!(record["status"], "FAILED");
    assert_eq!(record["meta_data"]["failureData"]["failedAttempts"], 3);
    assert!(mock.submit("no-such-session").is_err());
}

#[tokio::test]
async fn the_rate_limit_refuses_bursts_over_35() {
    let mock = MockServer::builder()
        .rate_limit(true)
        .start()
        .await
        .unwrap();
    let url = format!("{}/v1/sessions/test_verified", mock.url());
    let client = http();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let request = client.get(&url).header("x-api-key", mock.api_key()).send();
        tasks.spawn(async move { request.await.unwrap().status().as_u16() });
    }
    let statuses: Vec<u16> = tasks.join_all().await;
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    let passed = statuses.len() - limited;
    assert!(
        limited > 0,
        "100 requests at once must exceed a burst of 35"
    );
    assert!(passed >= 35, "the burst of 35 is allowed ({passed} passed)");
    assert!(
        statuses.iter().all(|&s| s == 429 || s == 404),
        "{statuses:?}"
    );

    let unlimited = MockServer::start().await;
    for _ in 0..50 {
        assert_ne!(
            live(&unlimited, "GET", "/v1/sessions", None).await.status,
            429
        );
    }
}

#[tokio::test]
async fn location_is_a_string_as_published_or_an_object_when_asked() {
    let shapes = [
        (MockServer::builder(), json!("Canada")),
        (
            MockServer::builder().location_as_object(true),
            json!({"country": "Canada"}),
        ),
    ];
    for (builder, expected) in shapes {
        let mock = builder.start().await.unwrap();
        let id = create(&mock, CREATE).await;
        let fresh = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
            .await
            .json();
        assert_eq!(
            fresh["session_record"].get("location"),
            None,
            "no location before the applicant submits"
        );
        mock.submit(&id).unwrap();
        let found = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
            .await
            .json();
        assert_eq!(found["session_record"]["location"], expected);
        let listed = live(&mock, "GET", "/v1/sessions", None).await.json();
        assert_eq!(listed["sessions"][0]["location"], expected);
        let decided = live(
            &mock,
            "PATCH",
            &format!("/v1/sessions/{id}/update-status"),
            Some(r#"{"new_status":"VERIFIED"}"#),
        )
        .await
        .json();
        assert_eq!(decided["session_record"]["location"], expected);

        // The sandbox's records, built from the published reference record, follow the option.
        let sandbox = mock.sandbox_key().unwrap();
        for sandbox_id in ["test_verified", "test_rejected"] {
            let answer = call(
                &mock,
                "GET",
                &format!("/v1/sessions/{sandbox_id}"),
                Some(sandbox),
                None,
            )
            .await
            .json();
            assert_eq!(
                answer["session_record"]["location"], expected,
                "{sandbox_id}"
            );
        }
        let page = call(&mock, "GET", "/v1/sessions", Some(sandbox), None)
            .await
            .json();
        assert_eq!(page["sessions"][0]["location"], expected);
    }
}

#[test]
fn the_reference_record_stays_the_published_example_byte_for_byte() {
    // The file is DeepIDV's published retrieve example, kept as published (its `location` is the
    // object form); the mock derives the string form from it when it serves a record.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference-session.json");
    let kept = std::fs::read_to_string(&path).unwrap();
    assert!(
        kept == fixture("retrieve-session.response.json"),
        "{} differs from the published example",
        path.display()
    );
    let parsed: Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(
        parsed["session_record"]["location"],
        json!({"country": "Canada"})
    );
}

/// The request journal keeps the last 10,000 requests, oldest dropped first, and counts them all.
#[tokio::test]
async fn the_journal_keeps_the_last_10_000_requests() {
    // Two batches over the cap, so that exactly the first two batches are dropped.
    const SENT: usize = 10_016;
    let mock = MockServer::start().await;
    let client = http();
    let url = format!("{}/v1/sessions/no-such-session", mock.url());
    // Eight at a time, numbered in the query so that the order can be checked.
    let mut next = 0;
    while next < SENT {
        let mut batch = tokio::task::JoinSet::new();
        for n in next..(next + 8).min(SENT) {
            let request = client
                .get(format!("{url}?n={n}"))
                .header("x-api-key", mock.api_key())
                .send();
            batch.spawn(async move { request.await.unwrap().status().as_u16() });
        }
        next = (next + 8).min(SENT);
        assert!(batch.join_all().await.iter().all(|&s| s == 404));
    }

    let journal = mock.requests();
    assert_eq!(journal.len(), 10_000);
    assert_eq!(mock.request_count(), SENT as u64);
    let numbers: Vec<usize> = journal
        .iter()
        .map(|r| r.query.as_deref().unwrap()[2..].parse().unwrap())
        .collect();
    // Within a batch of eight the arrival order is the network's; across batches it is fixed.
    assert!(numbers.iter().all(|&n| n >= 16), "the oldest went first");
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (SENT - 10_000..SENT).collect::<Vec<_>>());
    assert!(journal.iter().all(|r| r.status == Some(404)));
}
