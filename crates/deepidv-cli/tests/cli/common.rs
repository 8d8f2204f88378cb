//! What every test uses: a mock in process on loopback, the `deepidv` binary pointed at it, and
//! a plain HTTP receiver that records what it gets.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    path::PathBuf,
    process::{Child, ChildStderr, ChildStdout, Command as StdCommand, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use assert_cmd::Command;
use deepidv_mock::{MockBuilder, MockServer};

/// Generous: two slow cores shared with other builds.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub const SECRET: &str = "whsec_cli_test_secret";

/// The `deepidv` binary.
pub fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("deepidv")
}

/// A mock on its own runtime, so that tests stay plain blocking code.
pub struct TestMock {
    pub mock: MockServer,
    pub runtime: tokio::runtime::Runtime,
}

impl TestMock {
    pub fn start() -> Self {
        Self::with(MockServer::builder())
    }

    pub fn with(builder: MockBuilder) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mock = runtime.block_on(builder.start()).unwrap();
        TestMock { mock, runtime }
    }

    pub fn seed(&self, n: usize) -> Vec<String> {
        self.mock
            // Thousands of sessions: without results, which the tests of bulk reads never need.
            .seed_sessions(n, deepidv_mock::SeedSessions::new().with_results(false))
            .unwrap()
    }

    /// `deepidv` with this mock's URL and key, and nothing else from the environment that
    /// could change its behaviour.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(binary());
        isolate(&mut cmd);
        cmd.env("DEEPIDV_BASE_URL", self.mock.url())
            .env("DEEPIDV_API_KEY", self.mock.api_key())
            .timeout(PATIENCE);
        cmd
    }

    /// The same for a process the test drives itself.
    pub fn std_cmd(&self) -> StdCommand {
        let mut cmd = StdCommand::new(binary());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DEEPIDV_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("XDG_CONFIG_HOME", "/nonexistent/deepidv-cli-tests")
            .env("DEEPIDV_BASE_URL", self.mock.url())
            .env("DEEPIDV_API_KEY", self.mock.api_key());
        cmd
    }
}

/// No credentials, profile or webhook secret from the developer's environment.
pub fn isolate(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DEEPIDV_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/deepidv-cli-tests");
}

/// The binary with nothing pointed anywhere.
pub fn bare() -> Command {
    let mut cmd = Command::new(binary());
    isolate(&mut cmd);
    cmd.timeout(PATIENCE);
    cmd
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request a [`Receiver`] got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_map(&self) -> deepidv::reqwest::header::HeaderMap {
        let mut map = deepidv::reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            map.append(
                deepidv::reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }
}

/// A minimal HTTP/1.1 server on loopback answering every request with `status`.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                sink.lock().unwrap().push(Received {
                    path,
                    headers,
                    body,
                });
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Status\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\nreceived\n"
                );
            }
        });
        Receiver { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the receiver got {} of {n} requests",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A child process whose stdout lines arrive on a channel, killed when dropped.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub stderr_lines: mpsc::Receiver<String>,
}

impl Running {
    pub fn spawn(mut cmd: StdCommand) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = forward_lines(child.stdout.take().unwrap());
        let stderr_lines = forward_lines_err(child.stderr.take().unwrap());
        Running {
            child,
            lines,
            stderr_lines,
        }
    }

    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("a line on the child's stdout")
    }

    pub fn next_stderr_line(&self) -> String {
        self.stderr_lines
            .recv_timeout(PATIENCE)
            .expect("a line on the child's stderr")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn forward_lines_err(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Stdout as text.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Stderr as text.
pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}
