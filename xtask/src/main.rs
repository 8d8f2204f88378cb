//! Project chores: `cargo xtask <command>`.
//!
//! xtask depends on neither deepidv crate (not even through build scripts), so its checks run on a
//! spec that progenitor would refuse, and they run in seconds.

use std::{path::PathBuf, process::ExitCode};

mod api_diff;
mod check_spec;
mod codegen;
mod contract;
mod drift;
mod msrv;
mod mutants;
mod public_api;
mod spec_rules;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  check-spec [FILE]   check openapi.yaml (default: the workspace's) against the rules the
                      generator relies on; names every offender, exits 1 on any
  bench [--rounds N]  build crates/deepidv-bench in release mode and run it: the SDK against
                      hand-written reqwest + serde_json code, side by side
  bench --fleet [--processes N]
                      N replica processes (default 4) sharing one key against deepidv-mock with
                      its limiter on, with fleet mode (a redis-server it starts) and without;
                      then the Redis round trip's cost per call
  bench --at-most-once
                      create_once's look before creating (requests and time per call against
                      deepidv-mock), and the lenient decoder on hostile and 16 MiB bodies (time,
                      a 10 ms ticker's ticks, a 1 s total timeout)
  codegen [--out DIR] [--check]
                      copy the generated client out of OUT_DIR (default target/codegen) and
                      write its public surface to crates/deepidv-raw/generated-api.txt, or with
                      --check fail if that committed snapshot is out of date
  public-api [--check]
                      list the public API of the deepidv facade (every feature) from rustdoc's
                      JSON with the public-api crate (xtask/public-api) in
                      crates/deepidv/public-api.txt, or with --check fail if that committed
                      snapshot is out of date
  contract            Redocly lint; the client through Prism's validating proxy in front of
                      deepidv-mock; the client against Prism's dynamic mock
                      (needs `npm ci --prefix xtask/node`)
  msrv                fail, naming the crate, if any package in Cargo.lock declares a
                      rust-version above the workspace's
  api-diff [--base REV]
                      what changed in openapi.yaml since REV (default HEAD), each change marked
                      breaking or additive; exits 1 if anything breaks
  drift               read-only probe of the live API: GETs test_verified, test_rejected and one
                      list page, and checks each body against openapi.yaml strictly (unknown
                      fields and enum values count); prints paths and JSON types, never values.
                      Needs DEEPIDV_API_KEY (a sandbox key is enough); DEEPIDV_BASE_URL defaults
                      to https://api.deepidv.com. Exits 0 no drift, 1 drift, 2 probe failed
  mutants [--file PATH]... [--timeout SECS] [-- ARGS...]
                      mutation testing with cargo-mutants (`cargo install cargo-mutants
                      --locked`) of the facade's safety-critical files (sessions/, pipeline/,
                      rate_limit, validate, pagination, coordinator/, decode, fleet/ by default),
                      `cargo test -p deepidv` per mutant, SECS per mutant (default 300);
                      results in target/mutants/mutants.out; exits 2 if any mutant is missed";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check-spec") => {
            let path = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("openapi.yaml"));
            check_spec::run(&path)
        }
        Some("bench") => bench(&args[1..]),
        Some("api-diff") => api_diff::run(&workspace_root(), &args[1..]),
        Some("codegen") => codegen::run(&workspace_root(), &args[1..]),
        Some("public-api") => public_api::run(&workspace_root(), &args[1..]),
        Some("contract") => contract::run(&workspace_root()),
        Some("msrv") => msrv::run(&workspace_root()),
        Some("drift") => drift::run(&workspace_root()),
        Some("mutants") => mutants::run(&workspace_root(), &args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark package in release mode. xtask only spawns it, so xtask itself depends on no
/// deepidv crate.
fn bench(args: &[String]) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "deepidv-bench",
            "--",
        ])
        .args(args)
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: cannot run cargo: {e}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root: xtask's manifest directory's parent.
fn workspace_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}
