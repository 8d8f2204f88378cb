//! `cargo xtask drift` as a user runs it: the environment, the dispatch and the exit code. The
//! probe itself is tested against the mock in `src/drift.rs`.

use std::process::Command;

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

#[test]
fn drift_without_a_key_exits_2_and_says_why() {
    for key in [None, Some("")] {
        let mut command = xtask();
        command
            .arg("drift")
            // Nothing may be sent anywhere: without a key the probe stops before connecting.
            .env("DEEPIDV_BASE_URL", "http://127.0.0.1:9");
        match key {
            Some(key) => command.env("DEEPIDV_API_KEY", key),
            None => command.env_remove("DEEPIDV_API_KEY"),
        };
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let err = String::from_utf8(output.stderr).unwrap();
        assert!(
            err.starts_with("drift: DEEPIDV_API_KEY is not set; a sandbox key is enough"),
            "{err}"
        );
    }
}

#[test]
fn drift_refuses_a_base_url_that_is_not_http() {
    let output = xtask()
        .arg("drift")
        .env("DEEPIDV_API_KEY", "sk_secret_never_printed")
        .env("DEEPIDV_BASE_URL", "ftp://example.invalid")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("DEEPIDV_BASE_URL must start with https://"),
        "{err}"
    );
    assert!(!err.contains("sk_secret_never_printed"), "{err}");
}

#[test]
fn the_usage_lists_drift() {
    let output = xtask().arg("--help").output().unwrap();
    let usage = String::from_utf8(output.stdout).unwrap();
    assert!(usage.contains("\n  drift "), "{usage}");
}
