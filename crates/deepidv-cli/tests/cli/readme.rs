//! The README's "Command line" examples, run against the mock.

use std::process::Command;

use crate::common::{TestMock, stderr_of};

/// The command lines of the `sh` blocks in the README's "Command line" section. Lines that
/// run until Ctrl-C (`deepidv mock`, `webhooks listen`) or ask on a terminal (`login` without
/// input) are shown, not run.
fn examples() -> Vec<String> {
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split("\n## Command line\n")
        .nth(1)
        .expect("README.md has a \"Command line\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let line = line.trim();
        if in_sh && !line.is_empty() && !line.starts_with('#') {
            lines.push(line.to_owned());
        }
    }
    lines
}

#[test]
fn the_readme_examples_run() {
    let examples = examples();
    assert!(examples.len() >= 8, "{examples:?}");
    let t = TestMock::start();
    t.seed(60);
    let id = t.seed(1).remove(0);
    t.mock.submit(&id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = crate::common::binary().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // `webhooks trigger` examples send to the loopback receiver `listen` would be.
    let receiver = crate::common::Receiver::start(200);
    let receiver_address = receiver
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/hook");
    let mut ran = 0;
    for example in &examples {
        let example = example.replace("127.0.0.1:4242", receiver_address);
        if [
            "deepidv mock",
            "webhooks listen",
            "deepidv login",
            "export DEEPIDV",
            "eval ",
        ]
        .iter()
        .any(|skip| example.contains(skip))
        {
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&example)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("DEEPIDV_BASE_URL", t.mock.url())
            .env("DEEPIDV_API_KEY", t.mock.api_key())
            .env("DEEPIDV_WEBHOOK_SECRET", "whsec_readme")
            .env("XDG_CONFIG_HOME", dir.path())
            .env("SESSION_ID", &id)
            .output()
            .unwrap();
        assert!(out.status.success(), "{example}: {}", stderr_of(&out));
        ran += 1;
    }
    assert!(ran >= 6, "{ran} examples ran");
}
