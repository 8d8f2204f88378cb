//! `cargo xtask msrv`: the workspace's `rust-version` is really its minimum. Only the stable
//! toolchain can be installed here, so instead of building with the old compiler this reads
//! `cargo metadata` and fails, naming the crate, when any package in `Cargo.lock` declares a
//! `rust-version` above the workspace's. Language features are checked by clippy's
//! `incompatible_msrv` lint, which reads the same `rust-version`.

use std::{
    path::Path,
    process::{Command, ExitCode, Stdio},
};

pub fn run(root: &Path) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = match Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--locked"])
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(output) if output.status.success() => output,
        Ok(_) => {
            eprintln!("msrv: cargo metadata failed");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("msrv: cannot run cargo: {e}");
            return ExitCode::from(2);
        }
    };
    let metadata: serde_json::Value = match serde_json::from_slice(&output.stdout) {
        Ok(metadata) => metadata,
        Err(e) => {
            eprintln!("msrv: cargo metadata printed something that is not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    match check(&metadata) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("msrv: {problem}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A `rust-version` as numbers: `1.88` is `[1, 88, 0]`.
fn parse(version: &str) -> Option<[u64; 3]> {
    let mut parts = version.trim().split('.').map(str::parse::<u64>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some([major, minor, patch])
}

/// The workspace's MSRV and every dependency's, compared: a summary line, or the offenders.
fn check(metadata: &serde_json::Value) -> Result<String, Vec<String>> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
        .unwrap_or_default();
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    let mut workspace: Option<(String, [u64; 3])> = None;
    for package in packages
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(&id)))
    {
        let name = package["name"].as_str().unwrap_or("?");
        match package["rust_version"].as_str().and_then(|v| parse(v).map(|p| (v, p))) {
            None => problems.push(format!(
                "workspace crate `{name}` declares no rust-version (add `rust-version.workspace = true`)"
            )),
            Some((text, version)) => match &workspace {
                Some((first, parsed)) if *parsed != version => problems.push(format!(
                    "workspace crate `{name}` declares rust-version {text}, the others {first}"
                )),
                Some(_) => {}
                None => workspace = Some((text.to_owned(), version)),
            },
        }
    }
    let Some((msrv_text, msrv)) = workspace else {
        problems.push("no workspace crate declares a rust-version".to_owned());
        return Err(problems);
    };
    let mut highest: Option<(String, [u64; 3])> = None;
    let mut checked = 0;
    for package in packages
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| !members.contains(&id)))
    {
        checked += 1;
        let Some(text) = package["rust_version"].as_str() else {
            continue;
        };
        let name = package["name"].as_str().unwrap_or("?");
        let crate_version = package["version"].as_str().unwrap_or("?");
        let Some(version) = parse(text) else {
            problems.push(format!(
                "{name} {crate_version}: unreadable rust-version `{text}`"
            ));
            continue;
        };
        if version > msrv {
            problems.push(format!(
                "{name} {crate_version} needs Rust {text}, above the workspace's rust-version {msrv_text}"
            ));
        }
        if highest.as_ref().is_none_or(|(_, h)| version > *h) {
            highest = Some((format!("{name} {crate_version} ({text})"), version));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(format!(
        "msrv: rust-version {msrv_text}; {checked} dependencies in Cargo.lock, the most demanding {}",
        highest.map_or_else(|| "declares none".to_owned(), |(what, _)| what)
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metadata(workspace: &str, dependency: &str) -> serde_json::Value {
        json!({
            "workspace_members": ["a 0.1.0", "b 0.1.0"],
            "packages": [
                {"id": "a 0.1.0", "name": "a", "version": "0.1.0", "rust_version": workspace},
                {"id": "b 0.1.0", "name": "b", "version": "0.1.0", "rust_version": workspace},
                {"id": "dep 1.2.3", "name": "dep", "version": "1.2.3", "rust_version": dependency},
                {"id": "old 1.0.0", "name": "old", "version": "1.0.0", "rust_version": null},
            ]
        })
    }

    #[test]
    fn a_dependency_above_the_msrv_is_named() {
        let problems = check(&metadata("1.85", "1.88")).unwrap_err();
        assert_eq!(
            problems,
            ["dep 1.2.3 needs Rust 1.88, above the workspace's rust-version 1.85"]
        );
    }

    #[test]
    fn equal_or_lower_passes_and_versions_compare_numerically() {
        let report = check(&metadata("1.88", "1.88.0")).unwrap();
        assert!(report.contains("dep 1.2.3 (1.88.0)"), "{report}");
        assert!(check(&metadata("1.100", "1.99")).is_ok());
        assert!(check(&metadata("1.9", "1.10")).is_err());
    }

    #[test]
    fn a_member_without_rust_version_is_reported() {
        let mut metadata = metadata("1.88", "1.0");
        metadata["packages"][1]["rust_version"] = serde_json::Value::Null;
        let problems = check(&metadata).unwrap_err();
        assert!(
            problems[0].contains("`b` declares no rust-version"),
            "{problems:?}"
        );
    }

    #[test]
    fn parsing() {
        assert_eq!(parse("1.88"), Some([1, 88, 0]));
        assert_eq!(parse("1.88.1"), Some([1, 88, 1]));
        assert_eq!(parse("x"), None);
    }
}
