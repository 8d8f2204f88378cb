//! `cargo xtask codegen [--out DIR] [--check]`: the generated client, for reading and for review.
//!
//! - Copies `deepidv_raw.rs` out of deepidv-raw's `OUT_DIR` (found with `cargo build
//!   --message-format=json`) into DIR (default `target/codegen`).
//! - Extracts its public surface with `syn` (one line per type, field, variant, method signature and
//!   trait impl; rustdoc JSON would need a nightly toolchain) and writes it to
//!   `crates/deepidv-raw/generated-api.txt`, or with `--check` compares it with that committed file
//!   and fails on any difference, so every change to the generated API shows up in review.

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode, Stdio},
};

use quote::ToTokens;

/// The committed snapshot, relative to the workspace root.
const SNAPSHOT: &str = "crates/deepidv-raw/generated-api.txt";

pub fn run(root: &Path, args: &[String]) -> ExitCode {
    let check = args.iter().any(|a| a == "--check");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| root.join("target/codegen"), PathBuf::from);
    let generated = match generated_file(root) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("codegen: {e}");
            return ExitCode::from(2);
        }
    };
    let code = match std::fs::read_to_string(&generated) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("codegen: cannot read {}: {e}", generated.display());
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out)
        .and_then(|()| std::fs::write(out.join("deepidv_raw.rs"), &code))
    {
        eprintln!("codegen: cannot write to {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let surface = match surface(&code) {
        Ok(surface) => surface,
        Err(e) => {
            eprintln!("codegen: the generated file does not parse: {e}");
            return ExitCode::from(2);
        }
    };
    let snapshot = root.join(SNAPSHOT);
    if check {
        let committed = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if committed == surface {
            println!("codegen: the generated public API matches {SNAPSHOT}");
            return ExitCode::SUCCESS;
        }
        let (old, new): (Vec<&str>, Vec<&str>) =
            (committed.lines().collect(), surface.lines().collect());
        for line in old.iter().filter(|l| !new.contains(l)) {
            eprintln!("- {line}");
        }
        for line in new.iter().filter(|l| !old.contains(l)) {
            eprintln!("+ {line}");
        }
        eprintln!(
            "codegen: the generated public API differs from {SNAPSHOT}; run `cargo xtask codegen` and commit it"
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&snapshot, &surface) {
        eprintln!("codegen: cannot write {}: {e}", snapshot.display());
        return ExitCode::from(2);
    }
    println!(
        "codegen: {} and {SNAPSHOT} written ({} lines)",
        out.join("deepidv_raw.rs").display(),
        surface.lines().count()
    );
    ExitCode::SUCCESS
}

/// Builds deepidv-raw and returns the generated file in its `OUT_DIR`.
fn generated_file(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--package",
            "deepidv-raw",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err("cargo build -p deepidv-raw failed".to_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "build-script-executed")
        .filter(|message| {
            message["package_id"]
                .as_str()
                .is_some_and(|id| id.contains("deepidv-raw"))
        })
        .find_map(|message| {
            message["out_dir"]
                .as_str()
                .map(|dir| PathBuf::from(dir).join("deepidv_raw.rs"))
        })
        .ok_or_else(|| "cargo reported no OUT_DIR for deepidv-raw".to_owned())
}

/// One line per public item of the generated code, sorted.
pub fn surface(code: &str) -> Result<String, syn::Error> {
    let file = syn::parse_file(code)?;
    let mut lines = Vec::new();
    items(&file.items, "", &mut lines);
    lines.sort();
    lines.dedup();
    Ok(lines.join("\n") + "\n")
}

fn is_public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// Tokens as compact text: `:: std :: string :: String` becomes `::std::string::String`.
fn text(tokens: &impl ToTokens) -> String {
    let raw = tokens.to_token_stream().to_string();
    let mut out = raw
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<");
    out = out
        .replace(" > ", ">")
        .replace(" >", ">")
        .replace(" , ", ", ")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace(" ;", ";");
    out.replace(" (", "(").replace("( ", "(").replace(" )", ")")
}

fn items(list: &[syn::Item], prefix: &str, lines: &mut Vec<String>) {
    for item in list {
        match item {
            syn::Item::Mod(module) if is_public(&module.vis) => {
                if let Some((_, inner)) = &module.content {
                    items(inner, &format!("{prefix}{}::", module.ident), lines);
                }
            }
            syn::Item::Struct(model) if is_public(&model.vis) => {
                let name = format!("{prefix}{}{}", model.ident, text(&model.generics));
                let attrs: Vec<String> = model
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("non_exhaustive"))
                    .map(|_| "#[non_exhaustive] ".to_owned())
                    .collect();
                lines.push(format!("{}struct {name}", attrs.concat()));
                for field in model.fields.iter().filter(|f| is_public(&f.vis)) {
                    let field_name = field
                        .ident
                        .as_ref()
                        .map_or_else(|| "0".to_owned(), ToString::to_string);
                    lines.push(format!("field {name}.{field_name}: {}", text(&field.ty)));
                }
            }
            syn::Item::Enum(choice) if is_public(&choice.vis) => {
                let name = format!("{prefix}{}", choice.ident);
                lines.push(format!("enum {name}"));
                for variant in &choice.variants {
                    lines.push(format!(
                        "variant {name}::{}{}",
                        variant.ident,
                        text(&variant.fields)
                    ));
                }
            }
            syn::Item::Type(alias) if is_public(&alias.vis) => {
                lines.push(format!(
                    "type {prefix}{} = {}",
                    alias.ident,
                    text(&alias.ty)
                ));
            }
            syn::Item::Fn(function) if is_public(&function.vis) => {
                lines.push(format!("fn {prefix}{}", text(&function.sig)));
            }
            syn::Item::Impl(block) => {
                let self_type = text(&block.self_ty);
                if let Some((_, trait_path, _)) = &block.trait_ {
                    lines.push(format!("impl {} for {prefix}{self_type}", text(trait_path)));
                    continue;
                }
                for member in &block.items {
                    if let syn::ImplItem::Fn(method) = member
                        && is_public(&method.vis)
                    {
                        lines.push(format!("method {prefix}{self_type}: {}", text(&method.sig)));
                    }
                }
            }
            syn::Item::Use(import) if is_public(&import.vis) => {
                lines.push(format!("use {prefix}{}", text(&import.tree)));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_surface_lists_public_items_only() {
        let code = r#"
            pub mod types {
                #[non_exhaustive]
                pub struct Session { pub id: ::std::string::String, secret: u8 }
                pub enum Kind { A, B(u32) }
                struct Hidden;
                impl Session { pub fn builder() -> builder::Session { builder::Session::default() } fn private(&self) {} }
                impl ::std::fmt::Display for Kind { fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { Ok(()) } }
            }
        "#;
        let surface = surface(code).unwrap();
        let expected = [
            "#[non_exhaustive] struct types::Session",
            "enum types::Kind",
            "field types::Session.id: ::std::string::String",
            "impl ::std::fmt::Display for types::Kind",
            "method types::Session: fn builder() -> builder::Session",
            "variant types::Kind::A",
            "variant types::Kind::B(u32)",
        ];
        assert_eq!(surface.lines().collect::<Vec<_>>(), expected);
    }
}
