//! The control API under /__mock/, as the binary exposes it.

use deepidv_mock::{MockServer, SeedSessions};
use serde_json::json;

use crate::common::*;

async fn control(
    mock: &MockServer,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let answer = call(
        mock,
        method,
        &format!("/__mock{path}"),
        None,
        body.map(|b| b.to_string()).as_deref(),
    )
    .await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json()
}

#[tokio::test]
async fn every_control_works_over_http() {
    let mock = MockServer::start().await;
    assert!(control(&mock, "GET", "", None).await["seed"].is_string());

    let seeded = control(
        &mock,
        "POST",
        "/seed",
        Some(json!({"count": 3, "status": "SUBMITTED", "external_id_prefix": "x-"})),
    )
    .await;
    let ids: Vec<String> = seeded["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(mock.session(&ids[0]).unwrap().status(), "SUBMITTED");

    control(&mock, "POST", &format!("/sessions/{}/submit", ids[1]), None).await;
    assert!(mock.session(&ids[1]).unwrap().has_results());
    control(&mock, "POST", &format!("/sessions/{}/expire", ids[2]), None).await;
    assert_eq!(mock.session(&ids[2]).unwrap().status(), "EXPIRED");
    control(&mock, "POST", &format!("/sessions/{}/fail", ids[0]), None).await;
    assert_eq!(mock.session(&ids[0]).unwrap().status(), "FAILED");
    let unknown = call(&mock, "POST", "/__mock/sessions/nope/submit", None, None).await;
    assert_eq!(unknown.status, 400);

    control(&mock, "POST", "/faults", Some(json!({"kind": {"type": "status", "status": 429, "headers": [["retry-after", "1"]]}, "operation": "createSession"}))).await;
    let limited = live(&mock, "POST", "/v1/sessions", Some(CREATE)).await;
    assert_eq!(
        (
            limited.status,
            limited.headers["retry-after"].to_str().unwrap()
        ),
        (429, "1")
    );
    control(
        &mock,
        "POST",
        "/faults",
        Some(json!({"kind": {"type": "drop_connection"}, "remaining": 5})),
    )
    .await;
    control(&mock, "DELETE", "/faults", None).await;
    assert_eq!(
        live(&mock, "POST", "/v1/sessions", Some(CREATE))
            .await
            .status,
        200
    );

    let requests = control(&mock, "GET", "/requests", None).await;
    assert_eq!(requests.as_array().unwrap().len(), 2);
    assert_eq!(requests[0]["status"], 429);
    assert_eq!(requests[0]["operation"], "createSession");
    let invites = control(&mock, "GET", "/invites", None).await;
    assert_eq!(invites.as_array().unwrap().len(), 2);
    assert_eq!(invites[0]["channel"], "email");

    let before = mock.now();
    control(
        &mock,
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    assert!(mock.now() - before >= chrono::Duration::seconds(3600));

    control(
        &mock,
        "POST",
        &format!("/keys/{}/no-funds", mock.api_key()),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(
        live(&mock, "POST", "/v1/sessions", Some(CREATE))
            .await
            .status,
        402
    );

    control(&mock, "POST", "/reset", None).await;
    assert_eq!(mock.session_count(), 0);
    assert!(mock.invites().is_empty() && mock.requests().is_empty());
    assert_eq!(
        live(&mock, "POST", "/v1/sessions", Some(CREATE))
            .await
            .status,
        200,
        "reset clears no-funds too"
    );
}

/// Sends a control request with a raw body; returns the answer as received.
async fn raw_control(mock: &MockServer, method: &str, path: &str, body: &str) -> Answer {
    call(mock, method, &format!("/__mock{path}"), None, Some(body)).await
}

/// The mock still serves the API and the control API.
async fn still_answers(mock: &MockServer, after: &str) {
    assert_eq!(
        live(mock, "GET", "/v1/sessions", None).await.status,
        200,
        "the API answers after {after}"
    );
    assert_eq!(
        call(mock, "GET", "/__mock", None, None).await.status,
        200,
        "the control API answers after {after}"
    );
}

#[tokio::test]
async fn malformed_control_inputs_are_400_naming_the_field_and_the_mock_keeps_answering() {
    let mock = MockServer::start().await;
    let cases: &[(&str, &str, &str)] = &[
        // The clock: out of range, overflowing chrono, not an integer, missing.
        ("/clock/advance", r#"{"seconds": 1e16}"#, "seconds"),
        (
            "/clock/advance",
            r#"{"seconds": 9000000000000000}"#,
            "seconds",
        ),
        (
            "/clock/advance",
            r#"{"seconds": -9223372036854775808}"#,
            "seconds",
        ),
        (
            "/clock/advance",
            r#"{"seconds": 18446744073709551615}"#,
            "seconds",
        ),
        ("/clock/advance", r#"{"seconds": 3155760001}"#, "seconds"),
        ("/clock/advance", r#"{"seconds": "soon"}"#, "seconds"),
        ("/clock/advance", r#"{}"#, "seconds"),
        ("/clock/advance", "not json", "body"),
        ("/clock/advance", "", "body"),
        // Seeding: too many, negative, not an integer, spacing that overflows the clock.
        ("/seed", r#"{"count": 1e12}"#, "count"),
        ("/seed", r#"{"count": 1000000000000}"#, "count"),
        ("/seed", r#"{"count": 100001}"#, "count"),
        ("/seed", r#"{"count": -1}"#, "count"),
        ("/seed", r#"{"spacing_millis": 1000}"#, "count"),
        (
            "/seed",
            r#"{"count": 10, "spacing_millis": 1125899906842624}"#,
            "spacing_millis",
        ),
        (
            "/seed",
            r#"{"count": 3, "spacing_millis": 18446744073709551615}"#,
            "spacing_millis",
        ),
        (
            "/seed",
            r#"{"count": 3, "spacing_millis": 86400001}"#,
            "spacing_millis",
        ),
        ("/seed", r#"{"count": 3, "status": 7}"#, "status"),
        (
            "/seed",
            r#"{"count": 3, "owner_key": "sk_nobody"}"#,
            "sk_nobody",
        ),
        // Faults: sizes, delays, statuses, chances and counts out of range.
        (
            "/faults",
            r#"{"kind": {"type": "oversized", "bytes": 1000000000000000}}"#,
            "bytes",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "oversized", "bytes": 268435457}}"#,
            "bytes",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "oversized", "bytes": 1e9}}"#,
            "bytes",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "delay", "millis": 18446744073709551615}}"#,
            "millis",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "delay", "millis": 3600001}}"#,
            "millis",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "slow_body", "millis": -1}}"#,
            "millis",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "status", "status": 99}}"#,
            "status",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "status", "status": 600}}"#,
            "status",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "status", "status": 70000}}"#,
            "status",
        ),
        ("/faults", r#"{"kind": {"type": "status"}}"#, "status"),
        (
            "/faults",
            r#"{"kind": {"type": "status", "status": 503, "headers": [["bad header", "x"]]}}"#,
            "headers",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "probability": 1.5}"#,
            "probability",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "probability": -0.1}"#,
            "probability",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "probability": "often"}"#,
            "probability",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "remaining": 0}"#,
            "remaining",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "remaining": 4294967296}"#,
            "remaining",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "remaining": 1e12}"#,
            "remaining",
        ),
        (
            "/faults",
            r#"{"kind": {"type": "drop_connection"}, "operation": "deleteSession"}"#,
            "operation",
        ),
        ("/faults", r#"{"kind": {"type": "explode"}}"#, "type"),
        ("/faults", r#"{"kind": "status"}"#, "kind"),
        ("/faults", r#"[1, 2]"#, "body"),
    ];
    for (path, body, field) in cases {
        let answer = raw_control(&mock, "POST", path, body).await;
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.text);
        let message = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains(field),
            "{path} {body}: the message names {field}: {message}"
        );
        still_answers(&mock, &format!("{path} {body}")).await;
    }
    let no_funds = format!("/keys/{}/no-funds", mock.api_key());
    for body in [r#"{"enabled": "yes"}"#, "{}"] {
        let answer = raw_control(&mock, "POST", &no_funds, body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert!(answer.json()["error"].as_str().unwrap().contains("enabled"));
    }
    assert_eq!(mock.session_count(), 0, "no refused seed added sessions");
    assert_eq!(
        live(&mock, "POST", "/v1/sessions", Some(CREATE))
            .await
            .status,
        200,
        "no refused fault was added, no refused switch was set"
    );
}

#[tokio::test]
async fn the_documented_bounds_themselves_are_accepted() {
    let mock = MockServer::start().await;
    let accepted: &[(&str, &str)] = &[
        ("/clock/advance", r#"{"seconds": 3155760000}"#),
        ("/clock/advance", r#"{"seconds": -3155760000}"#),
        ("/seed", r#"{"count": 2, "spacing_millis": 86400000}"#),
        ("/seed", r#"{"count": 0}"#),
        (
            "/faults",
            r#"{"kind": {"type": "status", "status": 599}, "remaining": 4294967295, "probability": 0}"#,
        ),
        (
            "/faults",
            r#"{"kind": {"type": "delay", "millis": 3600000}, "probability": 0}"#,
        ),
        (
            "/faults",
            r#"{"kind": {"type": "oversized", "bytes": 268435456}, "probability": 0}"#,
        ),
    ];
    for (path, body) in accepted {
        let answer = raw_control(&mock, "POST", path, body).await;
        assert_eq!(answer.status, 200, "{path} {body}: {}", answer.text);
    }
    still_answers(&mock, "the bounds").await;
}

#[tokio::test]
async fn the_clock_cannot_be_pushed_out_of_its_range() {
    let mock = MockServer::start().await;
    let mut refused = None;
    // 100 years at a time: the clock reaches the end of its range long before 100 steps.
    for step in 0..100 {
        let answer = raw_control(
            &mock,
            "POST",
            "/clock/advance",
            r#"{"seconds": 3155760000}"#,
        )
        .await;
        if answer.status != 200 {
            refused = Some((step, answer));
            break;
        }
    }
    let (step, answer) = refused.expect("the clock stops at its end");
    assert!(step > 10, "{step} steps of 100 years");
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.json()["error"].as_str().unwrap().contains("seconds"));
    // Creates still work, and their timestamps are four-digit years.
    let id = create(&mock, CREATE).await;
    let record = mock.session(&id).unwrap().json().clone();
    assert!(
        record["expires_at"].as_str().unwrap().starts_with("99"),
        "{record}"
    );
    still_answers(&mock, "pushing the clock").await;
}

/// Sends `method /__mock{path}` with an optional `Authorization` header; returns the status and
/// the `WWW-Authenticate` header.
async fn with_authorization(
    mock: &MockServer,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut request = http().request(method, format!("{}/__mock{path}", mock.url()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.body("{}").send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.text().await.unwrap())
}

#[tokio::test]
async fn a_control_token_is_enforced_on_every_control_request() {
    let builder = MockServer::builder().control_token("s3cret-Token_1");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains("[redacted]"),
        "{shown}"
    );
    let mock = builder.start().await.unwrap();
    use reqwest::Method;
    let endpoints = [
        (Method::GET, ""),
        (Method::GET, "/requests"),
        (Method::POST, "/reset"),
        (Method::DELETE, "/faults"),
        (Method::POST, "/faults"),
        (Method::POST, "/seed"),
        (Method::POST, "/clock/advance"),
        (Method::POST, "/nowhere"),
    ];
    for (method, path) in &endpoints {
        for wrong in [
            None,
            Some("Bearer wrong"),
            Some("Bearer s3cret-Token_"),
            Some("Bearer s3cret-Token_12"),
            Some("Basic s3cret-Token_1"),
            Some("s3cret-Token_1"),
            Some("Bearer"),
        ] {
            let (status, challenge, text) =
                with_authorization(&mock, method.clone(), path, wrong).await;
            assert_eq!(status, 401, "{method} {path} with {wrong:?}: {text}");
            assert!(challenge.unwrap().starts_with("Bearer"));
            let error: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(
                error["error"].as_str().unwrap().contains("Bearer"),
                "{error}"
            );
        }
    }
    assert_eq!(mock.session_count(), 0, "no refused request did anything");
    // With the token: through to the control API (which then judges the body).
    for right in ["Bearer s3cret-Token_1", "bearer s3cret-Token_1"] {
        let (status, ..) = with_authorization(&mock, Method::GET, "", Some(right)).await;
        assert_eq!(status, 200, "{right}");
    }
    let (status, ..) =
        with_authorization(&mock, Method::POST, "/seed", Some("Bearer s3cret-Token_1")).await;
    assert_eq!(status, 400, "authorized, then the empty seed is refused");
    // The API itself and the Rust methods do not need the token.
    assert_eq!(live(&mock, "GET", "/v1/sessions", None).await.status, 200);
    mock.seed_sessions(2, SeedSessions::new()).unwrap();
    assert_eq!(mock.session_count(), 2);
}

#[tokio::test]
async fn off_loopback_a_token_is_required_and_tokens_must_be_sendable() {
    // Refused before binding: nothing listens on these addresses.
    for address in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"] {
        let e = MockServer::builder()
            .address(address.parse().unwrap())
            .start()
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("control token") && e.to_string().contains("loopback"),
            "{address}: {e}"
        );
    }
    for token in ["", "two words", "tab\tbed", "naïve"] {
        let e = MockServer::builder()
            .control_token(token)
            .start()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("visible ASCII"), "{token:?}: {e}");
    }
    // On loopback, IPv6 included, no token is needed.
    let v6 = MockServer::builder()
        .address("[::1]:0".parse().unwrap())
        .start()
        .await;
    if let Ok(mock) = v6 {
        assert_eq!(call(&mock, "GET", "/__mock", None, None).await.status, 200);
    }
}

#[tokio::test]
async fn the_rust_api_bounds_seeds() {
    let mock = MockServer::start().await;
    let too_many = mock
        .seed_sessions(100_001, SeedSessions::new())
        .unwrap_err();
    assert!(too_many.to_string().contains("100000"), "{too_many}");
    let too_far = mock
        .seed_sessions(
            10,
            SeedSessions::new().spacing(std::time::Duration::from_secs(1 << 40)),
        )
        .unwrap_err();
    assert!(too_far.to_string().contains("spacing"), "{too_far}");
    let day_and_a_bit = std::time::Duration::from_millis(86_400_001);
    assert!(
        mock.seed_sessions(2, SeedSessions::new().spacing(day_and_a_bit))
            .is_err()
    );
    assert_eq!(mock.session_count(), 0, "a refused seed adds nothing");
    let day = std::time::Duration::from_secs(86_400);
    assert_eq!(
        mock.seed_sessions(2, SeedSessions::new().spacing(day))
            .unwrap()
            .len(),
        2
    );
    still_answers(&mock, "bounded seeds").await;
}

#[tokio::test]
async fn the_rust_api_keeps_the_clock_in_range() {
    use chrono::{DateTime, Utc};
    let latest: DateTime<Utc> = "9998-12-31T23:59:59.999Z".parse().unwrap();
    let earliest: DateTime<Utc> = "1970-01-01T00:00:00Z".parse().unwrap();
    let mock = MockServer::start().await;

    mock.freeze_time(DateTime::<Utc>::MAX_UTC);
    assert_eq!(mock.now(), latest);
    let id = create(&mock, CREATE).await;
    let record = mock.session(&id).unwrap().json().clone();
    assert_eq!(record["created_at"], "9998-12-31T23:59:59.999Z");
    assert!(
        record["expires_at"].as_str().unwrap().starts_with("9999-"),
        "{record}"
    );
    mock.advance_time(chrono::Duration::MAX);
    assert_eq!(mock.now(), latest, "a move past the end stops there");

    mock.freeze_time(DateTime::<Utc>::MIN_UTC);
    assert_eq!(mock.now(), earliest);
    mock.advance_time(chrono::Duration::MIN);
    assert_eq!(mock.now(), earliest);
    create(&mock, CREATE).await;

    // A running clock saturates too, and keeps running.
    mock.reset();
    mock.advance_time(chrono::Duration::MAX);
    assert!(mock.now() >= latest - chrono::Duration::minutes(1));
    create(&mock, CREATE).await;
    mock.advance_time(chrono::Duration::MIN);
    assert!(mock.now() <= earliest + chrono::Duration::minutes(1));
    create(&mock, CREATE).await;
    still_answers(&mock, "clock moves past the range").await;
}

#[tokio::test]
async fn the_index_lists_operations_and_fault_kinds_and_either_spelling_is_accepted() {
    let mock = MockServer::start().await;
    let index = control(&mock, "GET", "", None).await;
    let names: Vec<(&str, &str)> = index["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["rust"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("createSession", "CreateSession"),
            ("retrieveSession", "RetrieveSession"),
            ("listSessions", "ListSessions"),
            ("updateSessionStatus", "UpdateSessionStatus"),
        ]
    );
    for kind in [
        "status",
        "delay",
        "slow_body",
        "drop_connection",
        "drop_mid_body",
        "oversized",
        "process_then_drop",
    ] {
        assert!(index["fault_kinds"][kind].is_object(), "{kind}");
    }
    assert!(index["fault_kinds"]["status"]["status"].is_string());
    assert!(index["fault_fields"]["probability"].is_string());

    // The Rust spelling works as well as the API reference's.
    control(
        &mock,
        "POST",
        "/faults",
        Some(json!({"kind": {"type": "status", "status": 503}, "operation": "ListSessions"})),
    )
    .await;
    let refused = live(&mock, "GET", "/v1/sessions", None).await;
    assert_eq!(refused.status, 503);
    let again = live(&mock, "GET", "/v1/sessions", None).await;
    assert_eq!(again.status, 200);
}
