//! `sessions export`: default fields, personal fields on request, and interrupted exports
//! resumed to the same bytes as an uninterrupted one.

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use deepidv_mock::Fault;
use serde_json::Value;

use crate::common::{PATIENCE, TestMock, stderr_of};

fn checkpoint(out: &Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".checkpoint");
    name.into()
}

/// Rows the checkpoint says are written, if it exists and is readable.
fn rows_done(out: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(checkpoint(out)).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["rows"].as_u64()
}

fn wait_for_rows(out: &Path, at_least: u64) {
    let start = Instant::now();
    while rows_done(out).unwrap_or(0) < at_least {
        assert!(
            start.elapsed() < PATIENCE,
            "the export did not reach {at_least} rows"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn default_fields_carry_no_personal_data() {
    let t = TestMock::start();
    t.seed(120);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sessions.csv");
    let result = t
        .cmd()
        .args(["sessions", "export", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", stderr_of(&result));
    assert!(stderr_of(&result).contains("exported 120 sessions"));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,external_id,status,workflow_id,created_at,updated_at,submitted_at,expires_at"
    );
    assert_eq!(lines.len(), 121);
    assert!(
        !text.contains('@') && !text.contains("Applicant"),
        "no personal data"
    );
    assert!(!checkpoint(&out).exists(), "the checkpoint goes when done");

    // Personal data only when named, and filters.
    let out = dir.path().join("verified.ndjson");
    let result = t
        .cmd()
        .args([
            "sessions", "export", "--format", "ndjson", "--status", "VERIFIED",
        ])
        .args(["--fields", "id,email,first_name,status", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", stderr_of(&result));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 20);
    for line in text.lines() {
        assert!(
            line.starts_with("{\"id\":"),
            "keys in the order asked: {line}"
        );
        let row: Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["status"], "VERIFIED");
        assert!(row["email"].as_str().unwrap().ends_with("@example.com"));
        assert_eq!(row["first_name"], "Seeded");
    }

    // Dates follow the SDK's rule; nothing is left behind.
    let out = dir.path().join("bad.csv");
    let result = t
        .cmd()
        .args(["sessions", "export", "--since", "yesterday", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(!out.exists() && !checkpoint(&out).exists());

    // --resume with nothing to resume.
    let result = t
        .cmd()
        .args(["sessions", "export", "--resume", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
}

#[test]
fn interrupted_exports_resume_to_the_same_bytes() {
    let t = TestMock::start();
    t.seed(5_000);
    let dir = tempfile::tempdir().unwrap();
    // Small pages, so that the export takes long enough to interrupt (the SDK's own rate
    // limit, 24 requests a second, paces it).
    let export = |out: &Path, extra: &[&str]| {
        t.cmd()
            .args(["sessions", "export", "--page-size", "50", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };

    // The reference: uninterrupted.
    let whole = dir.path().join("whole.csv");
    let result = export(&whole, &[]);
    assert!(result.status.success(), "{}", stderr_of(&result));
    let expected = std::fs::read(&whole).unwrap();
    assert_eq!(expected.iter().filter(|&&b| b == b'\n').count(), 5_001);

    // Killed (no chance to clean up) after some pages, then resumed.
    let killed = dir.path().join("killed.csv");
    let mut child = t
        .std_cmd()
        .args(["sessions", "export", "--page-size", "50", "--out"])
        .arg(&killed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&killed, 1_000);
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running when killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let done = rows_done(&killed).unwrap();
    assert!((1_000..5_000).contains(&done), "{done}");
    // Without --resume an interrupted export is not overwritten.
    let result = export(&killed, &[]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr_of(&result));
    // Other options are refused.
    let result = export(&killed, &["--resume", "--status", "VERIFIED"]);
    assert_eq!(result.status.code(), Some(2), "{}", stderr_of(&result));
    let result = export(&killed, &["--resume"]);
    assert!(result.status.success(), "{}", stderr_of(&result));
    assert!(
        std::fs::read(&killed).unwrap() == expected,
        "killed + resumed differs"
    );
    assert!(!checkpoint(&killed).exists());

    // NDJSON, failed by the server mid-way (after the SDK's retries), then resumed.
    let whole = dir.path().join("whole.ndjson");
    let result = export(&whole, &["--format", "ndjson"]);
    assert!(result.status.success(), "{}", stderr_of(&result));
    let expected = std::fs::read(&whole).unwrap();
    let failed = dir.path().join("failed.ndjson");
    let child = t
        .std_cmd()
        .args([
            "sessions",
            "export",
            "--page-size",
            "50",
            "--format",
            "ndjson",
            "--out",
        ])
        .arg(&failed)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&failed, 1_000);
    t.mock.inject(Fault::status(503).times(1_000));
    let result = child.wait_with_output().unwrap();
    t.mock.clear_faults();
    assert_eq!(result.status.code(), Some(1), "{}", stderr_of(&result));
    let stderr = stderr_of(&result);
    assert!(stderr.contains("--resume"), "{stderr}");
    // What is there is valid: whole lines of JSON.
    let partial = std::fs::read_to_string(&failed).unwrap();
    assert!(partial.ends_with('\n'));
    assert!(
        partial
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert!(partial.lines().count() < 5_000);
    let result = export(&failed, &["--format", "ndjson", "--resume"]);
    assert!(result.status.success(), "{}", stderr_of(&result));
    assert!(
        std::fs::read(&failed).unwrap() == expected,
        "failed + resumed differs"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_leaves_a_valid_file_and_a_checkpoint() {
    let t = TestMock::start();
    t.seed(3_000);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("interrupted.csv");
    let child = t
        .std_cmd()
        .args(["sessions", "export", "--page-size", "50", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&out, 500);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(130), "{}", stderr_of(&result));
    let rows = rows_done(&out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().count() as u64,
        rows + 1,
        "the file holds the checkpoint's rows"
    );
    let result = t
        .cmd()
        .args([
            "sessions",
            "export",
            "--page-size",
            "50",
            "--resume",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", stderr_of(&result));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 3_001);
    let mut ids: Vec<&str> = text.lines().skip(1).map(|l| &l[..36]).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3_000, "no row lost or repeated");
}
