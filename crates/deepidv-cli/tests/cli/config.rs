//! `login`, `--profile` and the config file's permissions.

use crate::common::{TestMock, stderr_of, stdout_of};

#[cfg(unix)]
#[test]
fn login_writes_a_private_profile_that_commands_use() {
    use std::os::unix::fs::PermissionsExt;

    let t = TestMock::start();
    t.seed(4);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("deepidv").join("config.toml");

    // The key comes on stdin (a plain line off a terminal), never as an argument.
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .args(["login", "--profile", "work", "--base-url", t.mock.url()])
        .write_stdin(format!("{}\n", t.mock.api_key()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains(t.mock.api_key()));
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(config.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);

    // --profile, with no key in the environment.
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("DEEPIDV_API_KEY")
        .env_remove("DEEPIDV_BASE_URL")
        .args([
            "--profile",
            "work",
            "sessions",
            "list",
            "--output",
            "ndjson",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 4);

    // An unknown profile is a usage error.
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .args(["--profile", "nope", "sessions", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // `default` is used when DEEPIDV_API_KEY is not set.
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .args(["login", "--base-url", t.mock.url()])
        .write_stdin(t.mock.api_key().to_owned())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("DEEPIDV_API_KEY")
        .env_remove("DEEPIDV_BASE_URL")
        .args(["sessions", "list", "--output", "ndjson"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));

    // Readable by others: refused, as ssh refuses such a key, without showing the key.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .args(["--profile", "work", "sessions", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("readable by others"), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!stderr.contains(t.mock.api_key()));
    assert_eq!(
        t.mock
            .requests()
            .iter()
            .filter(|r| r.header("x-api-key").is_some())
            .count(),
        2
    );

    // An empty key is refused.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = t
        .cmd()
        .env("XDG_CONFIG_HOME", home.path())
        .args(["login", "--profile", "empty"])
        .write_stdin("\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
