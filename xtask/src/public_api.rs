//! `cargo xtask public-api [--check]`: the facade's public surface, listed from rustdoc's JSON.
//!
//! rustdoc writes a crate's JSON description only on request (`--output-format json`, still
//! unstable); on the stable toolchain `RUSTC_BOOTSTRAP=1` allows it, as cargo-semver-checks does.
//! The JSON is built with every feature (`testing` and `redis` included: what docs.rs shows) into
//! `target/rustdoc-json`, apart from the normal build's artifacts, and read by the `public-api`
//! crate (the library behind `cargo public-api`), which runs as its own small tool
//! (`xtask/public-api`, a workspace of its own; see its Cargo.toml for why). One sorted line per
//! item: every path a user can name, every field, variant, method and trait impl (auto traits such
//! as `Send` included; blanket impls left out). The result is written to
//! `crates/deepidv/public-api.txt`, or with `--check` compared with it.

use std::{
    path::Path,
    process::{Command, ExitCode, Stdio},
};

use crate::codegen::Snapshot;

/// The committed snapshot.
const SNAPSHOT: Snapshot = Snapshot {
    command: "public-api",
    what: "the facade's public API",
    path: "crates/deepidv/public-api.txt",
};

pub fn run(root: &Path, args: &[String]) -> ExitCode {
    if let Some(unknown) = args.iter().find(|a| *a != "--check") {
        eprintln!(
            "public-api: unknown argument `{unknown}`; usage: cargo xtask public-api [--check]"
        );
        return ExitCode::from(2);
    }
    let check = !args.is_empty();
    let surface = match surface(root) {
        Ok(surface) => surface,
        Err(e) => {
            eprintln!("public-api: {e}");
            return ExitCode::from(2);
        }
    };
    if check {
        return SNAPSHOT.check(root, &surface);
    }
    if let Err(code) = SNAPSHOT.write(root, &surface) {
        return code;
    }
    println!(
        "public-api: {} written ({} lines)",
        SNAPSHOT.path,
        surface.lines().count()
    );
    ExitCode::SUCCESS
}

/// Builds the facade's rustdoc JSON and lists it.
fn surface(root: &Path) -> Result<String, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let json_dir = root.join("target/rustdoc-json");
    let built = Command::new(&cargo)
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "rustdoc",
            "--quiet",
            "--locked",
            "--package",
            "deepidv",
            "--lib",
        ])
        .args(["--features", "testing redis", "--target-dir"])
        .arg(&json_dir)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .status()
        .map_err(|e| format!("cannot run cargo rustdoc: {e}"))?;
    if !built.success() {
        return Err("cargo rustdoc could not build the facade's JSON".to_owned());
    }
    let json = json_dir.join("doc/deepidv.json");
    let listed = Command::new(&cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--locked", "--manifest-path"])
        .arg(root.join("xtask/public-api/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target/public-api-tool"))
        .arg("--")
        .arg(&json)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the public-api lister: {e}"))?;
    if !listed.status.success() {
        return Err("the public-api lister failed (see above)".to_owned());
    }
    String::from_utf8(listed.stdout).map_err(|_| "the listing is not UTF-8".to_owned())
}
