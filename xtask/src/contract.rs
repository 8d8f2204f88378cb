//! `cargo xtask contract`: checks by software this project did not write.
//!
//! 1. Redocly CLI lints openapi.yaml.
//! 2. Prism's validating proxy sits in front of the deepidv-mock binary while the `contract`
//!    example runs every operation through it: Prism checks the client's requests and the mock's
//!    answers against openapi.yaml; any violation fails the run.
//! 3. Prism's dynamic mock answers with random data the spec allows; the example calls every
//!    operation many times and every answer must decode.
//!
//! The tools come from `xtask/node` (`npm ci --prefix xtask/node`, pinned by its lockfile).

use std::{
    fs::File,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

const KEY: &str = "sk_contract_check";

/// A child process, killed when dropped.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(root: &Path) -> ExitCode {
    match checks(root) {
        Ok(()) => {
            println!("contract: Redocly lint, Prism proxy and Prism dynamic mock all passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("contract: {e}");
            ExitCode::FAILURE
        }
    }
}

fn checks(root: &Path) -> Result<(), String> {
    let bin = root.join("xtask/node/node_modules/.bin");
    if !bin.join("prism").exists() || !bin.join("redocly").exists() {
        return Err("the tools are not installed: run `npm ci --prefix xtask/node`".to_owned());
    }
    let logs = root.join("target/contract");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;

    // 1. Lint.
    let status = Command::new(bin.join("redocly"))
        .current_dir(root)
        .args(["lint", "openapi.yaml", "--format=stylish"])
        .env("REDOCLY_TELEMETRY", "off")
        .status()
        .map_err(|e| format!("redocly: {e}"))?;
    if !status.success() {
        return Err("Redocly found problems in openapi.yaml".to_owned());
    }

    // The binaries the checks run.
    let mock = cargo_build(
        root,
        "deepidv-mock",
        &["--package", "deepidv-mock", "--bin"],
    )?;
    let example = cargo_build(
        root,
        "contract",
        &["--package", "deepidv-examples", "--example"],
    )?;

    // 2. The validating proxy in front of the mock.
    let mock_port = free_port()?;
    let proxy_port = free_port()?;
    let _mock = spawn(
        Command::new(&mock).args([
            "--port",
            &mock_port.to_string(),
            "--api-key",
            KEY,
            "--no-rate-limit",
        ]),
        &logs.join("mock.log"),
    )?;
    wait_for(mock_port)?;
    let proxy_log = logs.join("prism-proxy.log");
    let proxy = spawn(
        Command::new(bin.join("prism")).current_dir(root).args([
            "proxy",
            "openapi.yaml",
            &format!("http://127.0.0.1:{mock_port}"),
            "--port",
            &proxy_port.to_string(),
            "--errors",
        ]),
        &proxy_log,
    )?;
    wait_for(proxy_port)?;
    let flow = Command::new(&example)
        .args([
            "flow",
            &format!("http://127.0.0.1:{proxy_port}"),
            KEY,
            &format!("http://127.0.0.1:{mock_port}"),
        ])
        .status()
        .map_err(|e| e.to_string())?;
    drop(proxy);
    let violations = problems_in(&proxy_log)?;
    if !flow.success() || !violations.is_empty() {
        return Err(format!(
            "through Prism's proxy: {}",
            describe(flow.success(), &violations, &proxy_log)
        ));
    }

    // 3. The dynamic mock.
    let dynamic_port = free_port()?;
    let dynamic_log = logs.join("prism-dynamic.log");
    let dynamic = spawn(
        Command::new(bin.join("prism")).current_dir(root).args([
            "mock",
            "-d",
            "openapi.yaml",
            "--port",
            &dynamic_port.to_string(),
        ]),
        &dynamic_log,
    )?;
    wait_for(dynamic_port)?;
    let random = Command::new(&example)
        .args([
            "dynamic",
            &format!("http://127.0.0.1:{dynamic_port}"),
            KEY,
            "50",
        ])
        .status()
        .map_err(|e| e.to_string())?;
    drop(dynamic);
    let violations = problems_in(&dynamic_log)?;
    if !random.success() || !violations.is_empty() {
        return Err(format!(
            "against Prism's dynamic mock: {}",
            describe(random.success(), &violations, &dynamic_log)
        ));
    }
    Ok(())
}

fn describe(passed: bool, violations: &[String], log: &Path) -> String {
    let mut text = if passed {
        String::new()
    } else {
        "the client's run failed; ".to_owned()
    };
    if !violations.is_empty() {
        text.push_str(&format!(
            "{} violation(s):\n{}\n",
            violations.len(),
            violations.join("\n")
        ));
    }
    text.push_str(&format!("(full log: {})", log.display()));
    text
}

/// Lines where Prism reports a violation or an error.
fn problems_in(log: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    Ok(text
        .lines()
        .filter(|line| line.contains("Violation") || line.contains("✖"))
        .map(str::to_owned)
        .collect())
}

/// Builds the binary or example `name` (`selector` ends with `--bin` or `--example`) and returns
/// the path cargo gives for it, wherever `CARGO_TARGET_DIR` and the profile put it.
pub(crate) fn cargo_build(root: &Path, name: &str, selector: &[&str]) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .args(selector)
        .arg(name)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("building {name} failed"));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == name)
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .ok_or_else(|| format!("cargo built no executable named {name}"))
}

fn spawn(command: &mut Command, log: &PathBuf) -> Result<Running, String> {
    let file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .map(Running)
        .map_err(|e| format!("cannot start {command:?}: {e}"))
}

pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Waits until something listens on `port` (Prism takes a few seconds to start).
fn wait_for(port: u16) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("nothing listened on port {port} within 90 s"))
}
