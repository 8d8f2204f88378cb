//! The control API under /__mock/, as the binary exposes it.

use deepidv_mock::MockServer;
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
    assert_eq!(mock.session(&ids[0]).unwrap()["status"], "SUBMITTED");

    control(&mock, "POST", &format!("/sessions/{}/submit", ids[1]), None).await;
    assert!(mock.session(&ids[1]).unwrap()["analysis_data"].is_object());
    control(&mock, "POST", &format!("/sessions/{}/expire", ids[2]), None).await;
    assert_eq!(mock.session(&ids[2]).unwrap()["status"], "EXPIRED");
    control(&mock, "POST", &format!("/sessions/{}/fail", ids[0]), None).await;
    assert_eq!(mock.session(&ids[0]).unwrap()["status"], "FAILED");
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
