//! The `deepidv-mock` binary: options, the printed URL and keys, and the control API.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    common::*,
    receiver::{Receiver, Reply, WAIT},
};

/// Runs the binary; kills it when dropped.
struct Running {
    child: Child,
    url: String,
    printed: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deepidv-mock"));
    command.args(["--port", "0"]).args(args);
    start_command(command)
}

fn start_command(mut command: Command) -> Running {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    // It prints its URL, the demo keys if it made them, and finally a `try: curl ...` hint.
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let last = line.starts_with("try: ");
        printed.push(line);
        if last {
            break;
        }
    }
    let url = printed
        .iter()
        .find_map(|line| line.strip_prefix("deepidv-mock listening on "))
        .unwrap_or_else(|| panic!("no URL printed: {printed:?}"))
        .to_owned();
    Running {
        child,
        url,
        printed,
    }
}

async fn get(url: &str, key: &str) -> u16 {
    http()
        .get(url)
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_binary_serves_configured_keys_and_controls() {
    let running = start(&[
        "--api-key",
        "sk_a",
        "--api-key",
        "sk_b",
        "--sandbox-key",
        "sk_s",
        "--seed",
        "7",
    ]);
    let list = format!("{}/v1/sessions", running.url);
    assert_eq!(get(&list, "sk_a").await, 200);
    assert_eq!(get(&list, "sk_b").await, 200);
    assert_eq!(
        get(
            &format!("{}/v1/sessions/test_verified", running.url),
            "sk_s"
        )
        .await,
        200
    );
    assert_eq!(get(&list, "sk_unknown").await, 401);

    let seeded = http()
        .post(format!("{}/__mock/seed", running.url))
        .json(&serde_json::json!({"count": 3, "owner_key": "sk_b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), 200);
    let page: serde_json::Value = http()
        .get(&list)
        .header("x-api-key", "sk_b")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["sessions"].as_array().unwrap().len(), 3);
    assert!(
        !running.printed.iter().any(|l| l.contains("sk_a")),
        "configured keys are not printed: {:?}",
        running.printed
    );
}

#[tokio::test]
async fn without_keys_it_prints_demo_keys_and_rate_limits() {
    let running = start(&[]);
    let key_line = running
        .printed
        .iter()
        .find(|l| l.starts_with("live key:"))
        .expect("a demo key is printed");
    let key = key_line.trim_start_matches("live key:").trim().to_owned();
    let list = format!("{}/v1/sessions", running.url);
    let mut statuses = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let request = http().get(&list).header("x-api-key", &key).send();
        tasks.spawn(async move { request.await.unwrap().status().as_u16() });
    }
    statuses.extend(tasks.join_all().await);
    assert!(statuses.contains(&200));
    assert!(
        statuses.contains(&429),
        "the binary limits each key to 25/s with bursts of 35"
    );
}

#[test]
fn help_and_bad_options() {
    let binary = env!("CARGO_BIN_EXE_deepidv-mock");
    let help = Command::new(binary).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--api-key",
        "--control-token TOKEN",
        "Authorization: Bearer TOKEN",
        "loopback",
        "--strict-transitions",
        "--location-as-object",
        "--accept-voided",
    ] {
        assert!(help.contains(option), "--help mentions {option}:\n{help}");
    }
    let bad = Command::new(binary).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown option --bogus"));
}

/// Runs the binary with `args` to its end (killing it after 30 s, when it did not refuse to
/// start); returns its exit code and its standard error.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deepidv-mock"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("deepidv-mock {args:?} kept running instead of refusing to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[test]
fn off_loopback_the_binary_refuses_to_start_without_a_control_token() {
    // Refused before binding, so nothing ever listens off loopback here.
    for host in ["0.0.0.0", "::"] {
        let (code, stderr) = run_to_exit(&["--host", host, "--port", "0"]);
        assert_eq!(code, Some(2), "{host}: {stderr}");
        assert!(
            stderr.contains("--control-token") && stderr.contains("loopback"),
            "{host}: {stderr}"
        );
    }
    let (code, stderr) = run_to_exit(&["--host", "0.0.0.0", "--port", "0", "--control-token", ""]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("control token"), "{stderr}");
    let (code, stderr) = run_to_exit(&["--control-token"]);
    assert_eq!(code, Some(2), "{stderr}");
}

async fn control_status(url: &str, authorization: Option<&str>, body: &str) -> u16 {
    let mut request = http()
        .post(format!("{url}/__mock/seed"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_binary_enforces_its_control_token() {
    let running = start(&["--api-key", "sk_a", "--control-token", "tok-123"]);
    let seed = r#"{"count": 2}"#;
    assert_eq!(control_status(&running.url, None, seed).await, 401);
    assert_eq!(
        control_status(&running.url, Some("Bearer tok-12"), seed).await,
        401
    );
    assert_eq!(
        control_status(&running.url, Some("Bearer tok-123"), seed).await,
        200
    );
    let page: serde_json::Value = http()
        .get(format!("{}/v1/sessions", running.url))
        .header("x-api-key", "sk_a")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["sessions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_binary_survives_malformed_control_inputs() {
    let mut running = start(&["--api-key", "sk_a", "--no-rate-limit"]);
    let post = |path: &'static str, body: &'static str| {
        let url = format!("{}/__mock{path}", running.url);
        async move {
            let response = http()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let cases = [
        (
            "/faults",
            r#"{"kind": {"type": "oversized", "bytes": 1000000000000000}}"#,
        ),
        (
            "/faults",
            r#"{"kind": {"type": "delay", "millis": 18446744073709551615}}"#,
        ),
        ("/clock/advance", r#"{"seconds": 9000000000000000}"#),
        ("/clock/advance", r#"{"seconds": 1e16}"#),
        ("/seed", r#"{"count": 1000000000000}"#),
        (
            "/seed",
            r#"{"count": 10, "spacing_millis": 1125899906842624}"#,
        ),
    ];
    for (path, body) in cases {
        let (status, text) = post(path, body).await;
        assert_eq!(status, 400, "{path} {body}: {text}");
        // The next request is served normally, by the same process.
        assert_eq!(
            get(&format!("{}/v1/sessions", running.url), "sk_a").await,
            200,
            "after {path} {body}"
        );
        assert!(
            running.child.try_wait().unwrap().is_none(),
            "the process is still running after {path} {body}"
        );
    }
}

#[tokio::test]
async fn the_binary_flags_reach_the_server() {
    let running = start(&[
        "--api-key",
        "sk_a",
        "--strict-transitions",
        "--location-as-object",
    ]);
    let client = http();
    let created: serde_json::Value = client
        .post(format!("{}/v1/sessions", running.url))
        .header("x-api-key", "sk_a")
        .header("content-type", "application/json")
        .body(CREATE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let decide = || {
        client
            .patch(format!("{}/v1/sessions/{id}/update-status", running.url))
            .header("x-api-key", "sk_a")
            .header("content-type", "application/json")
            .body(r#"{"new_status":"VERIFIED"}"#)
            .send()
    };
    assert_eq!(decide().await.unwrap().status(), 400, "strict: PENDING");
    let submitted = client
        .post(format!("{}/__mock/sessions/{id}/submit", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 200);
    let decided: serde_json::Value = decide().await.unwrap().json().await.unwrap();
    assert_eq!(decided["session_record"]["status"], "VERIFIED");
    assert_eq!(
        decided["session_record"]["location"],
        serde_json::json!({"country": "Canada"})
    );
}

#[tokio::test]
async fn the_binary_delivers_webhooks_and_retries() {
    let mut receiver = Receiver::start("/bin-hooks", vec![Reply::Status(503)]).await;
    let mut other = Receiver::start("/other", vec![]).await;
    let running = start(&[
        "--api-key",
        "sk_a",
        "--webhook-url",
        &receiver.url,
        "--webhook-secret",
        "whsec_bin",
        "--webhook-secret",
        "whsec_other",
        "--webhook-url",
        &other.url,
        "--webhook-attempts",
        "2",
        "--webhook-retry-ms",
        "10",
        "--webhook-timeout-ms",
        "20000",
    ]);
    for url in [&receiver.url, &other.url] {
        assert!(
            running.printed.contains(&format!("webhooks to: {url}")),
            "{:?}",
            running.printed
        );
    }
    assert!(
        !running.printed.iter().any(|l| l.contains("whsec_")),
        "secrets are not printed: {:?}",
        running.printed
    );
    let created: serde_json::Value = http()
        .post(format!("{}/v1/sessions", running.url))
        .header("x-api-key", "sk_a")
        .header("content-type", "application/json")
        .body(CREATE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();

    for (receiver, secret, attempts) in [
        (&mut receiver, "whsec_bin", 2),
        (&mut other, "whsec_other", 1),
    ] {
        for _ in 0..attempts {
            let got = receiver.next().await;
            assert_eq!(got.header("deepidv-signature"), Some(secret));
            assert_eq!(got.header("content-type"), Some("application/json"));
            assert_eq!(got.event(), "session.created");
            assert_eq!(got.body["data"]["id"], id);
            assert_eq!(got.body["data"]["status"], "PENDING");
        }
    }

    // The journal over the control API: polled until the three attempts are in (the receivers
    // have them; the mock journals each once its answer is read).
    let deadline = Instant::now() + WAIT;
    let journal = loop {
        let journal: serde_json::Value = http()
            .get(format!("{}/__mock/webhooks", running.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if journal.as_array().unwrap().len() >= 3 {
            break journal;
        }
        assert!(Instant::now() < deadline, "journal: {journal:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let of = |url: &str| -> Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> {
        journal
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["url"] == url)
            .map(|e| {
                (
                    e["attempt"].clone(),
                    e["status"].clone(),
                    e["delivered"].clone(),
                )
            })
            .collect()
    };
    use serde_json::json;
    assert_eq!(
        of(&receiver.url),
        [
            (json!(1), json!(503), json!(false)),
            (json!(2), json!(200), json!(true))
        ]
    );
    assert_eq!(of(&other.url), [(json!(1), json!(200), json!(true))]);
    assert_eq!(journal[0]["session_id"], id);
    assert_eq!(journal[0]["event"], "session.created");
}

#[tokio::test]
async fn the_binary_delivers_out_of_order_and_duplicates_when_asked() {
    let mut receiver = Receiver::start("/twice", vec![]).await;
    let running = start(&[
        "--api-key",
        "sk_a",
        "--seed",
        "5",
        "--webhook-url",
        &receiver.url,
        "--webhook-secret",
        "whsec_twice",
        "--webhook-out-of-order-ms",
        "50",
        "--webhook-duplicates",
        "1",
    ]);
    let answer = http()
        .post(format!("{}/v1/sessions", running.url))
        .header("x-api-key", "sk_a")
        .header("content-type", "application/json")
        .body(CREATE)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    for _ in 0..2 {
        assert_eq!(receiver.next().await.event(), "session.created");
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let journal: serde_json::Value = http()
            .get(format!("{}/__mock/webhooks", running.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = journal.as_array().unwrap();
        if entries.len() == 2 {
            let duplicates: Vec<bool> = entries
                .iter()
                .map(|e| e["duplicate"].as_bool().unwrap())
                .collect();
            assert!(duplicates.contains(&true) && duplicates.contains(&false));
            break;
        }
        assert!(Instant::now() < deadline, "journal: {journal:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn the_webhook_flags_are_documented_and_checked() {
    let binary = env!("CARGO_BIN_EXE_deepidv-mock");
    let help = Command::new(binary).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for text in [
        "--webhook-url URL",
        "--webhook-secret SECRET",
        "--webhook-attempts N",
        "--webhook-retry-ms MS",
        "--webhook-timeout-ms MS",
        "--webhook-out-of-order-ms",
        "--webhook-duplicates P",
        "loopback",
        "deepidv-signature",
        "session.created",
        "GET /__mock/webhooks",
    ] {
        assert!(help.contains(text), "--help mentions {text}:\n{help}");
    }

    let url = "http://127.0.0.1:9/hooks";
    for (args, expected) in [
        (
            vec!["--webhook-url", url],
            "--webhook-url http://127.0.0.1:9/hooks has no --webhook-secret",
        ),
        (
            vec!["--webhook-secret", "whsec_x"],
            "--webhook-secret has no --webhook-url",
        ),
        (
            vec![
                "--webhook-url",
                url,
                "--webhook-url",
                url,
                "--webhook-secret",
                "s",
            ],
            "has no --webhook-secret",
        ),
        (
            vec![
                "--webhook-secret",
                "a",
                "--webhook-secret",
                "b",
                "--webhook-url",
                url,
            ],
            "--webhook-secret given twice",
        ),
        (
            vec![
                "--webhook-url",
                "https://example.com/h",
                "--webhook-secret",
                "s",
            ],
            "https:// is not supported",
        ),
        (
            vec![
                "--webhook-url",
                "example.com/hooks",
                "--webhook-secret",
                "s",
            ],
            "is not a valid URL (invalid format); give an absolute http:// URL",
        ),
        (
            vec!["--webhook-url", url, "--webhook-secret", "with space"],
            "non-empty visible ASCII",
        ),
        (
            vec![
                "--webhook-url",
                "http://192.0.2.7:8080/hooks",
                "--webhook-secret",
                "whsec_x",
            ],
            "(MockBuilder::webhook, --webhook-url): plain http:// would send the signing secret",
        ),
        (
            vec!["--webhook-out-of-order-ms", "3600001"],
            "--webhook-out-of-order-ms takes a number of milliseconds from 0 to 3600000",
        ),
        (
            vec!["--webhook-duplicates", "1.5"],
            "--webhook-duplicates takes a probability from 0 to 1",
        ),
        (
            vec!["--webhook-duplicates", "NaN"],
            "--webhook-duplicates takes a probability from 0 to 1",
        ),
        (
            vec!["--webhook-attempts", "1000"],
            "--webhook-attempts takes a number from 1 to 20",
        ),
        (
            vec!["--webhook-attempts", "-1"],
            "--webhook-attempts takes a number from 1 to 20",
        ),
        (
            vec!["--webhook-retry-ms", "3600001"],
            "--webhook-retry-ms takes a number of milliseconds from 0 to 3600000",
        ),
        (
            vec!["--webhook-timeout-ms", "0"],
            "--webhook-timeout-ms takes a number of milliseconds from 1 to 300000",
        ),
        (
            vec!["--webhook-timeout-ms", "99999999999999999999999"],
            "--webhook-timeout-ms takes a number of milliseconds from 1 to 300000",
        ),
    ] {
        let mut all = vec!["--port", "0"];
        all.extend(args.iter().copied());
        let (code, stderr) = run_to_exit(&all);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// CPU time (user + system) the process `pid` has used, from `/proc`.
#[cfg(target_os = "linux")]
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name (in parentheses): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn out_of_file_descriptors_the_accept_loop_backs_off_and_recovers() {
    // Few descriptors, then more connections than that: every accept fails with EMFILE while
    // they stay open. A loop that retried at once would burn a core.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"ulimit -n 16 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_deepidv-mock"))
        .args(["--port", "0", "--api-key", "sk_a", "--no-rate-limit"]);
    let running = start_command(command);
    let address = running.url.trim_start_matches("http://").to_owned();
    let held: Vec<std::net::TcpStream> = (0..40)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = running.child.id();
    let before = cpu_time(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_time(pid) - before;
    assert!(
        used < Duration::from_millis(600),
        "the mock used {used:?} of CPU in 3 s while out of descriptors"
    );

    // Once the connections close, it serves again (the wait is at most a second).
    drop(held);
    let answer = tokio::time::timeout(
        Duration::from_secs(30),
        get(&format!("{}/v1/sessions", running.url), "sk_a"),
    )
    .await
    .expect("served again after the descriptors came back");
    assert_eq!(answer, 200);
}
