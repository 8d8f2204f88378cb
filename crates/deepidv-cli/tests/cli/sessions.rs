//! `sessions list|get|create|decide`, every output format, and every exit code.

use deepidv_mock::{ApiKey, Fault, MockServer};
use serde_json::Value;

use crate::common::{TestMock, bare, stderr_of, stdout_of};

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", stdout_of(output));
    })
}

#[test]
fn list_prints_one_page_in_every_format() {
    let t = TestMock::start();
    let ids = t.seed(30);

    // Not a terminal: JSON in the API's shape by default.
    let out = t.cmd().args(["sessions", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let page = json(&out);
    let sessions = page["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 20, "default --limit 20");
    assert_eq!(sessions[0]["id"], ids[29].as_str(), "newest first");
    assert!(sessions[0]["created_at"].is_string(), "snake_case keys");
    assert!(page["next_token"].is_string());

    let out = t
        .cmd()
        .args(["sessions", "list", "--limit", "5", "--output", "table"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].starts_with("id  "), "{text}");
    assert!(lines[0].contains("status") && lines[0].contains("created_at"));
    assert!(lines[1].starts_with(&ids[29]), "{text}");
    assert!(!text.contains('\x1b'), "no colour off a terminal");

    let out = t
        .cmd()
        .args(["sessions", "list", "--limit", "7", "--output", "ndjson"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 7);
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(record["id"].is_string() && record["status"].is_string());
    }

    let out = t
        .cmd()
        .args(["sessions", "list", "--limit", "3", "--output", "csv"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,external_id,status,workflow_id,created_at");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with(&format!("{},", ids[29])));

    // Named fields, a personal one among them (read with a retrieve per session).
    let out = t
        .cmd()
        .args([
            "sessions",
            "list",
            "--limit",
            "2",
            "--fields",
            "id,email,status",
            "--output",
            "csv",
        ])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(text.lines().next(), Some("id,email,status"));
    assert!(text.contains("@example.com"), "{text}");

    let out = t
        .cmd()
        .args([
            "sessions",
            "list",
            "--limit",
            "2",
            "--fields",
            "status,id",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let page = json(&out);
    let first = page["sessions"][0].as_object().unwrap();
    assert_eq!(first.keys().collect::<Vec<_>>(), ["id", "status"]);

    // Filters: status (applied client-side by the SDK).
    let out = t
        .cmd()
        .args([
            "sessions", "list", "--status", "verified", "--output", "ndjson",
        ])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 5, "30 seeded, one in six VERIFIED");
    assert!(text.lines().all(|l| l.contains("\"status\":\"VERIFIED\"")));

    let out = t
        .cmd()
        .args(["sessions", "list", "--fields", "id,ssn"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("unknown field \"ssn\""));
}

#[test]
fn list_all_streams_every_page() {
    let t = TestMock::start();
    let ids = t.seed(1_234);
    let out = t
        .cmd()
        .args([
            "sessions", "list", "--all", "--limit", "100", "--output", "ndjson",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let seen: Vec<String> = stdout_of(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    let out = t
        .cmd()
        .args(["sessions", "list", "--all"])
        .output()
        .unwrap();
    let page = json(&out);
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1_234);
    assert!(page["next_token"].is_null());

    let out = t
        .cmd()
        .args(["sessions", "list", "--all", "--output", "table"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out).lines().count(), 1_235);
}

#[test]
fn get_shows_what_a_reviewer_needs() {
    let t = TestMock::start();
    let out = t
        .cmd()
        .args([
            "sessions",
            "create",
            "--first-name",
            "Jane",
            "--last-name",
            "Smith",
            "--email",
            "jane.smith@example.com",
            "--phone",
            "+14165557890",
        ])
        .output()
        .unwrap();
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    t.mock.submit(&id).unwrap();

    let out = t
        .cmd()
        .args(["sessions", "get", &id, "--output", "table"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    for expected in [
        "SUBMITTED",
        "Jane Smith, jane.smith@example.com, +14165557890",
        "FIRST_NAME",
        "(confidence",
        "face match",
        "similarity",
        "liveness",
        "screening",
        "PEP 2",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    let out = t.cmd().args(["sessions", "get", &id]).output().unwrap();
    let value = json(&out);
    assert_eq!(value["session_record"]["id"], id.as_str());
    assert_eq!(value["session_record"]["status"], "SUBMITTED");
    assert!(value["session_record"]["analysis_data"]["compare_faces_data"].is_object());
    assert_eq!(value["user"]["email"], "jane.smith@example.com");
    assert!(value["resource_links"].is_object());
}

#[test]
fn create_prints_the_id_and_url() {
    let t = TestMock::start();
    let args = [
        "sessions",
        "create",
        "--first-name",
        "Jane",
        "--last-name",
        "Smith",
        "--email",
        "jane.smith@example.com",
        "--phone",
        "+14165557890",
    ];
    let out = t
        .cmd()
        .args(args)
        .args(["--output", "table"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.starts_with("id "), "{text}");
    assert!(text.contains("url  https://"), "{text}");

    let out = t
        .cmd()
        .args(args)
        .args([
            "--external-id",
            "applicant-42",
            "--workflow-id",
            "wf_abc123",
        ])
        .args(["--redirect-url", "https://example.com/done"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let created = json(&out);
    assert_eq!(created["externalId"], "applicant-42");
    assert!(
        created["session_url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(t.mock.session_count(), 2);
    assert_eq!(t.mock.invites().len(), 4, "an email and an SMS each");
    let body = t.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(body["workflowId"], "wf_abc123");

    // The same --external-id again (a rerun script, a second operator): create_once finds the
    // session and creates nothing.
    let out = t
        .cmd()
        .args(args)
        .args(["--external-id", "applicant-42"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let again = json(&out);
    assert_eq!(again["existing"], true, "{again}");
    assert_eq!(again["id"], created["id"]);
    assert_eq!(t.mock.session_count(), 2, "no third session");
    assert_eq!(t.mock.invites().len(), 4, "no new invitation");

    // Invalid input: nothing sent.
    let before = t.mock.request_count();
    let out = t
        .cmd()
        .args([
            "sessions",
            "create",
            "--first-name",
            "J",
            "--last-name",
            "S",
        ])
        .args(["--email", "j@example.com", "--phone", "4165557890"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("phone"));
    assert_eq!(t.mock.request_count(), before);
}

#[test]
fn decide_needs_yes_off_a_terminal() {
    let t = TestMock::start();
    let id = t.seed(1).remove(0);

    let before = t.mock.request_count();
    let out = t
        .cmd()
        .args(["sessions", "decide", &id, "verified"])
        .write_stdin("y\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--yes"), "{}", stderr_of(&out));
    assert_eq!(t.mock.request_count(), before, "nothing sent");

    let out = t
        .cmd()
        .args(["sessions", "decide", &id, "rejected", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(json(&out)["session_record"]["status"], "REJECTED");

    let out = t
        .cmd()
        .args([
            "sessions", "decide", &id, "verified", "--yes", "--output", "table",
        ])
        .output()
        .unwrap();
    assert!(stdout_of(&out).contains("VERIFIED"));

    // The mock, like DeepIDV's reference, refuses VOIDED: invalid input.
    let out = t
        .cmd()
        .args(["sessions", "decide", &id, "voided", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));

    let out = t
        .cmd()
        .args(["sessions", "decide", &id, "approved", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses the value");
}

#[test]
fn exit_codes_follow_the_failure() {
    let t = TestMock::with(
        MockServer::builder()
            .key(ApiKey::live("sk_cli_live"))
            .key(ApiKey::sandbox("sk_cli_sandbox")),
    );
    t.seed(3);

    // 4: not found.
    let out = t
        .cmd()
        .args(["sessions", "get", "no-such-session"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("deepidv: not found"), "{stderr}");

    // 3: an unknown key (401) ...
    let out = t
        .cmd()
        .env("DEEPIDV_API_KEY", "sk_wrong_and_secret")
        .args(["sessions", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        !stderr_of(&out).contains("sk_wrong_and_secret"),
        "never the key"
    );
    // ... and a sandbox key writing (403).
    let out = t
        .cmd()
        .env("DEEPIDV_API_KEY", "sk_cli_sandbox")
        .args([
            "sessions",
            "create",
            "--first-name",
            "J",
            "--last-name",
            "S",
        ])
        .args(["--email", "j@example.com", "--phone", "+14165557890"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));

    // 2: invalid input, nothing sent; no key at all; clap's usage errors.
    let before = t.mock.request_count();
    let out = t
        .cmd()
        .args(["sessions", "list", "--since", "2025-1-5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("start_date"));
    assert_eq!(t.mock.request_count(), before);
    let out = bare().args(["sessions", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("DEEPIDV_API_KEY"));
    let out = bare()
        .args(["sessions", "list", "--limit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bare().args(["sessions", "frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // 1: the server keeps failing (after the SDK's retries), or cannot be reached.
    t.mock.inject(Fault::status(500).times(20));
    let out = t.cmd().args(["sessions", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    t.mock.clear_faults();
    let closed = crate::common::free_port();
    let out = t
        .cmd()
        .env("DEEPIDV_BASE_URL", format!("http://127.0.0.1:{closed}"))
        .args(["sessions", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("network"), "{}", stderr_of(&out));

    // 0.
    let out = t.cmd().args(["sessions", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}
