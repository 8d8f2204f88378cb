//! `cargo xtask mutants [--file PATH]... [--timeout SECS] [-- ARGS...]`: mutation testing of the
//! facade's safety-critical code with cargo-mutants.
//!
//! cargo-mutants changes one thing at a time in the named files (an operator, a return value, a
//! whole function body), builds, and runs `cargo test -p deepidv`: a mutant the tests do not notice
//! ("missed") is a regression that would ship green. The run happens in a copy of the tree, so the
//! work tree is never touched; results go to `target/mutants/mutants.out/` (`missed.txt`,
//! `caught.txt`, `timeout.txt`, `unviable.txt`, `outcomes.json`, one log per mutant).
//!
//! Equivalent mutants (no test can tell them apart from the original) are excluded in
//! `.cargo/mutants.toml`, each with its reason; nothing else is.
//!
//! Exit codes are cargo-mutants' own: 0 every mutant caught (or unviable), 2 some missed, 3 some
//! timed out, 4 the tests fail without any mutation; and 2 when cargo-mutants is not installed
//! (the line to install it is printed).

use std::{
    path::Path,
    process::{Command, ExitCode},
};

/// The facade's safety-critical files: what a regression there costs is a duplicated session, a
/// leaked key, a forged webhook accepted, a retry storm or a hung call.
pub const DEFAULT_FILES: [&str; 19] = [
    "crates/deepidv/src/sessions/mod.rs",
    "crates/deepidv/src/sessions/create_once.rs",
    "crates/deepidv/src/sessions/list.rs",
    "crates/deepidv/src/pipeline/mod.rs",
    "crates/deepidv/src/pipeline/retry.rs",
    "crates/deepidv/src/pipeline/limiter.rs",
    "crates/deepidv/src/pipeline/deadline.rs",
    "crates/deepidv/src/rate_limit.rs",
    "crates/deepidv/src/validate.rs",
    "crates/deepidv/src/pagination.rs",
    "crates/deepidv/src/coordinator/mod.rs",
    "crates/deepidv/src/coordinator/in_process.rs",
    "crates/deepidv/src/decode.rs",
    "crates/deepidv/src/fleet/mod.rs",
    "crates/deepidv/src/fleet/connection.rs",
    "crates/deepidv/src/fleet/bucket.rs",
    "crates/deepidv/src/fleet/lock.rs",
    "crates/deepidv/src/fleet/keys.rs",
    "crates/deepidv/src/webhooks.rs",
];

/// Each mutant's test run may take this long before it counts as a timeout (an infinite loop or a
/// wait that never ends). `cargo test -p deepidv` takes about a minute on two busy cores.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// How to install cargo-mutants.
pub const INSTALL: &str = "cargo install cargo-mutants --locked";

/// What `cargo xtask mutants` was asked for.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub files: Vec<String>,
    pub timeout_secs: u64,
    /// Passed on to cargo-mutants as they are (`--list`, `--re REGEX`, `--iterate`, ...).
    pub extra: Vec<String>,
}

pub fn run(root: &Path, args: &[String]) -> ExitCode {
    let request = match parse(args) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("mutants: {message}");
            eprintln!(
                "usage: cargo xtask mutants [--file PATH]... [--timeout SECS] [-- CARGO-MUTANTS-ARGS...]"
            );
            return ExitCode::from(2);
        }
    };
    for file in &request.files {
        if !root.join(file).is_file() {
            eprintln!("mutants: no such file: {file}");
            return ExitCode::from(2);
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let installed = Command::new(&cargo)
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        eprintln!("mutants: cargo-mutants is not installed; install it with:\n  {INSTALL}");
        return ExitCode::from(2);
    }
    let args = cargo_mutants_args(&request);
    println!("mutants: cargo {}", args.join(" "));
    match Command::new(&cargo).current_dir(root).args(&args).status() {
        // cargo-mutants' exit code says what happened; pass it on.
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("mutants: cannot run cargo: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reads `[--file PATH]... [--timeout SECS] [-- ARGS...]`.
pub fn parse(args: &[String]) -> Result<Request, String> {
    let mut files = Vec::new();
    let mut timeout_secs = DEFAULT_TIMEOUT_SECS;
    let mut extra = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--file" | "-f" => {
                let file = args.next().ok_or("--file needs a path")?;
                files.push(file.trim_start_matches("./").to_owned());
            }
            "--timeout" => {
                let secs = args.next().ok_or("--timeout needs a number of seconds")?;
                timeout_secs = secs
                    .parse()
                    .ok()
                    .filter(|secs| *secs > 0)
                    .ok_or_else(|| format!("--timeout {secs:?} is not a positive number"))?;
            }
            "--" => extra.extend(args.by_ref().cloned()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if files.is_empty() {
        files = DEFAULT_FILES
            .iter()
            .map(|file| (*file).to_owned())
            .collect();
    }
    Ok(Request {
        files,
        timeout_secs,
        extra,
    })
}

/// The arguments after `cargo`: the package's tests with the default test tool, one file filter
/// per file, the per-mutant timeout, and output under `target/` (ignored by git).
pub fn cargo_mutants_args(request: &Request) -> Vec<String> {
    let mut args: Vec<String> = [
        "mutants",
        "--package",
        "deepidv",
        "--test-tool",
        "cargo",
        "--timeout",
    ]
    .map(str::to_owned)
    .into();
    args.push(request.timeout_secs.to_string());
    args.extend(["--output".to_owned(), "target/mutants".to_owned()]);
    for file in &request.files {
        args.extend(["--file".to_owned(), file.clone()]);
    }
    args.extend(request.extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn no_file_means_the_safety_critical_ones() {
        let request = parse(&[]).unwrap();
        assert_eq!(request.files, DEFAULT_FILES.map(str::to_owned));
        assert_eq!(request.timeout_secs, DEFAULT_TIMEOUT_SECS);
        let args = cargo_mutants_args(&request);
        let joined = args.join(" ");
        assert!(
            joined.starts_with("mutants --package deepidv --test-tool cargo --timeout 300"),
            "{joined}"
        );
        assert_eq!(
            args.iter().filter(|arg| *arg == "--file").count(),
            DEFAULT_FILES.len()
        );
    }

    #[test]
    fn files_timeout_and_extra_arguments() {
        let request = parse(&strings(&[
            "--file",
            "./crates/deepidv/src/rate_limit.rs",
            "-f",
            "crates/deepidv/src/coordinator/in_process.rs",
            "--timeout",
            "120",
            "--",
            "--list",
        ]))
        .unwrap();
        assert_eq!(
            request,
            Request {
                files: strings(&[
                    "crates/deepidv/src/rate_limit.rs",
                    "crates/deepidv/src/coordinator/in_process.rs"
                ]),
                timeout_secs: 120,
                extra: strings(&["--list"]),
            }
        );
        assert_eq!(
            cargo_mutants_args(&request),
            strings(&[
                "mutants",
                "--package",
                "deepidv",
                "--test-tool",
                "cargo",
                "--timeout",
                "120",
                "--output",
                "target/mutants",
                "--file",
                "crates/deepidv/src/rate_limit.rs",
                "--file",
                "crates/deepidv/src/coordinator/in_process.rs",
                "--list",
            ])
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            &["--file"][..],
            &["--timeout"],
            &["--timeout", "0"],
            &["--timeout", "soon"],
            &["--files", "x"],
        ] {
            assert!(parse(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
