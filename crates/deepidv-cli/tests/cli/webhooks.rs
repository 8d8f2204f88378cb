//! `webhooks listen` (receiving the mock's deliveries, forwarding them) and `webhooks trigger`
//! (reaching a receiver that checks the signature with `deepidv::webhooks`).

use std::time::Duration;

use deepidv::webhooks::{EventType, SIGNATURE_HEADER, Webhook};
use deepidv_mock::MockServer;
use serde_json::Value;

use crate::common::{
    PATIENCE, Receiver, Running, SECRET, TestMock, bare, free_port, stderr_of, stdout_of,
};

const SUBMITTED_EXAMPLE: &str =
    include_str!("../../payloads/webhook-session.status.submitted.json");

/// `deepidv webhooks listen` on a free port, ready.
fn listen(extra: &[&str]) -> (Running, u16) {
    let port = free_port();
    let mut cmd = std::process::Command::new(crate::common::binary());
    cmd.env("DEEPIDV_WEBHOOK_SECRET", SECRET)
        .env_remove("DEEPIDV_API_KEY")
        .args(["webhooks", "listen", "--port", &port.to_string()])
        .args(extra);
    let running = Running::spawn(cmd);
    let ready = running.next_stderr_line();
    assert!(
        ready.starts_with("listening on http://127.0.0.1:"),
        "{ready}"
    );
    assert!(!ready.contains(SECRET));
    (running, port)
}

#[test]
fn listen_verifies_prints_and_forwards_the_mocks_deliveries() {
    let app = Receiver::start(202);
    let (listener, port) = listen(&["--forward-to", &app.url, "--output", "json"]);
    let t = TestMock::with(
        MockServer::builder()
            .webhook(format!("http://127.0.0.1:{port}/webhooks"), SECRET)
            .webhook_retry(1, Duration::ZERO),
    );

    let out = t
        .cmd()
        .args([
            "sessions",
            "create",
            "--first-name",
            "Jane",
            "--last-name",
            "Smith",
        ])
        .args(["--email", "jane@example.com", "--phone", "+14165557890"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.runtime
        .block_on(t.mock.wait_for_deliveries(1, PATIENCE))
        .unwrap();
    t.mock.submit(&id).unwrap();
    let deliveries = t
        .runtime
        .block_on(t.mock.wait_for_deliveries(2, PATIENCE))
        .unwrap();
    for delivery in &deliveries {
        assert_eq!(
            delivery.status,
            Some(202),
            "the application's answer: {delivery:?}"
        );
        assert!(delivery.delivered);
    }

    // Printed, one JSON object per delivery.
    let first: Value = serde_json::from_str(&listener.next_line()).unwrap();
    let second: Value = serde_json::from_str(&listener.next_line()).unwrap();
    assert_eq!(first["type"], "session.created");
    assert_eq!(second["type"], "session.status.submitted");
    for line in [&first, &second] {
        assert_eq!(line["session_id"], id.as_str());
        assert_eq!(line["verified"], true);
        assert_eq!(line["forwarded_status"], 202);
        assert!(line["time"].is_string());
    }
    assert_eq!(second["status"], "SUBMITTED");

    // Forwarded with their headers; they still verify at the application.
    let received = app.wait_for(2);
    let hook = Webhook::new(SECRET).unwrap();
    let events: Vec<EventType> = received
        .iter()
        .map(|r| hook.verify(&r.header_map(), &r.body).unwrap().event_type)
        .collect();
    assert_eq!(
        events,
        [EventType::SessionCreated, EventType::SessionStatusSubmitted]
    );
    assert_eq!(received[0].path, "/hook");
    assert!(
        received[0]
            .header("user-agent")
            .unwrap()
            .contains("deepidv-mock")
    );

    // A delivery signed with another secret is refused, printed as such, and not forwarded.
    let out = bare()
        .env("DEEPIDV_WEBHOOK_SECRET", "whsec_forged")
        .args(["webhooks", "trigger", "session.status.verified", "--to"])
        .arg(format!("http://127.0.0.1:{port}/webhooks"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout_of(&out).starts_with("HTTP 401"),
        "{}",
        stdout_of(&out)
    );
    let refused: Value = serde_json::from_str(&listener.next_line()).unwrap();
    assert_eq!(refused["verified"], false);
    assert_eq!(refused["refused"], "refused: invalid signature");
    assert_eq!(app.received().len(), 2);

    // The exact bytes of a verified delivery reach the application.
    let out = bare()
        .env("DEEPIDV_WEBHOOK_SECRET", SECRET)
        .args(["webhooks", "trigger", "session.status.submitted", "--to"])
        .arg(format!("http://127.0.0.1:{port}/webhooks"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).starts_with("HTTP 202"),
        "{}",
        stdout_of(&out)
    );
    let received = app.wait_for(3);
    assert_eq!(received[2].body, SUBMITTED_EXAMPLE.as_bytes());
    assert_eq!(received[2].header(SIGNATURE_HEADER), Some(SECRET));
}

#[test]
fn listen_prints_a_summary_line_per_delivery() {
    let (listener, port) = listen(&[]);
    let out = bare()
        .env("DEEPIDV_WEBHOOK_SECRET", SECRET)
        .args(["webhooks", "trigger", "session.status.rejected", "--to"])
        .arg(format!("http://127.0.0.1:{port}/webhooks"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let line = listener.next_line();
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 5, "{line}");
    assert!(parts[0].ends_with('Z'), "{line}");
    assert_eq!(
        &parts[1..],
        [
            "session.status.rejected",
            "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "REJECTED",
            "verified"
        ]
    );
    // Another path is not a delivery.
    let out = bare()
        .env("DEEPIDV_WEBHOOK_SECRET", SECRET)
        .args(["webhooks", "trigger", "session.created", "--to"])
        .arg(format!("http://127.0.0.1:{port}/elsewhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout_of(&out).starts_with("HTTP 404"));
}

#[test]
fn trigger_signs_as_deepidv_signs() {
    let receiver = Receiver::start(200);
    let hook = Webhook::new(SECRET).unwrap();

    // Every event, from the built-in examples.
    for event in [
        "session.created",
        "session.status.submitted",
        "session.status.verified",
        "session.status.rejected",
        "session.status.failed",
    ] {
        let out = bare()
            .env("DEEPIDV_WEBHOOK_SECRET", SECRET)
            .args(["webhooks", "trigger", event, "--to", &receiver.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{event}: {}", stderr_of(&out));
        assert!(
            stdout_of(&out).starts_with("HTTP 200 OK\nreceived"),
            "{}",
            stdout_of(&out)
        );
        let got = receiver.received().pop().unwrap();
        let verified = hook.verify(&got.header_map(), &got.body).unwrap();
        assert_eq!(verified.event_type.as_str(), event);
        assert_eq!(got.header("content-type"), Some("application/json"));
    }

    // From a session read through the API, the secret from a file.
    let t = TestMock::start();
    let id = t.seed(1).remove(0);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let out = t
        .cmd()
        .args([
            "webhooks",
            "trigger",
            "session.status.verified",
            "--to",
            &receiver.url,
        ])
        .args(["--session", &id, "--secret-file"])
        .arg(&secret_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let got = receiver.received().pop().unwrap();
    let event = hook.verify(&got.header_map(), &got.body).unwrap();
    assert_eq!(event.data.id, id);
    assert_eq!(event.event_type, EventType::SessionStatusVerified);

    // No secret: nothing sent; an unknown event: clap refuses it; a failing receiver: 1.
    let before = receiver.received().len();
    let out = bare()
        .args([
            "webhooks",
            "trigger",
            "session.created",
            "--to",
            &receiver.url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("DEEPIDV_WEBHOOK_SECRET"));
    let out = bare()
        .env("DEEPIDV_WEBHOOK_SECRET", SECRET)
        .args([
            "webhooks",
            "trigger",
            "session.archived",
            "--to",
            &receiver.url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(receiver.received().len(), before);
    let failing = Receiver::start(500);
    let out = bare()
        .env("DEEPIDV_WEBHOOK_SECRET", SECRET)
        .args([
            "webhooks",
            "trigger",
            "session.created",
            "--to",
            &failing.url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout_of(&out).starts_with("HTTP 500"));
    assert!(!stdout_of(&out).contains(SECRET) && !stderr_of(&out).contains(SECRET));
}
