//! `mock`, `completions`, `--help`, and a closed pipe.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{Running, TestMock, bare, stderr_of, stdout_of};

#[test]
fn mock_prints_exports_that_point_the_other_commands_at_it() {
    let mut cmd = std::process::Command::new(crate::common::binary());
    cmd.args(["mock", "--port", "0", "--sessions", "7"]);
    let mock = Running::spawn(cmd);
    let base_url = mock.next_line();
    let api_key = mock.next_line();
    let base_url = base_url
        .strip_prefix("export DEEPIDV_BASE_URL=")
        .unwrap_or_else(|| panic!("{base_url}"));
    let api_key = api_key
        .strip_prefix("export DEEPIDV_API_KEY=")
        .unwrap_or_else(|| panic!("{api_key}"));
    assert!(base_url.starts_with("http://127.0.0.1:"));
    let out = bare()
        .env("DEEPIDV_BASE_URL", base_url)
        .env("DEEPIDV_API_KEY", api_key)
        .args(["sessions", "list", "--output", "ndjson"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 7);

    // A webhook URL needs a secret, from the environment or a file, never an argument.
    let out = bare()
        .args([
            "mock",
            "--port",
            "0",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = bare().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = stdout_of(&out);
        assert!(script.contains("deepidv"), "{shell}");
        assert!(
            script.contains("export"),
            "{shell}: subcommands are completed"
        );
    }
    let out = bare().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_help_has_an_example() {
    for command in [
        &["sessions", "list"][..],
        &["sessions", "get"],
        &["sessions", "create"],
        &["sessions", "decide"],
        &["sessions", "export"],
        &["webhooks", "listen"],
        &["webhooks", "trigger"],
        &["mock"],
        &["completions"],
        &["login"],
        &[],
    ] {
        let out = bare().args(command).arg("--help").output().unwrap();
        assert!(out.status.success(), "{command:?}");
        assert!(stdout_of(&out).contains("Example"), "{command:?}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let t = TestMock::start();
    t.seed(3_000);
    let mut child = t
        .std_cmd()
        .args(["sessions", "list", "--all", "--output", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with('{'));
    drop(stdout); // as `| head -1` does
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "quietly");

    // Through a real shell pipe too.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} sessions list --all --output csv | head -1",
            crate::common::binary().display()
        ))
        .env("DEEPIDV_BASE_URL", t.mock.url())
        .env("DEEPIDV_API_KEY", t.mock.api_key())
        .output()
        .unwrap();
    assert_eq!(
        stdout_of(&out),
        "id,external_id,status,workflow_id,created_at\n"
    );
    assert_eq!(stderr_of(&out), "");
}
