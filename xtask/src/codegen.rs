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

/// The committed snapshot.
const SNAPSHOT: Snapshot = Snapshot {
    command: "codegen",
    what: "the generated public API",
    path: "crates/deepidv-raw/generated-api.txt",
};

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
    if check {
        return SNAPSHOT.check(root, &surface);
    }
    if let Err(code) = SNAPSHOT.write(root, &surface) {
        return code;
    }
    println!(
        "codegen: {} and {} written ({} lines)",
        out.join("deepidv_raw.rs").display(),
        SNAPSHOT.path,
        surface.lines().count()
    );
    ExitCode::SUCCESS
}

/// A committed listing of a public API, kept up to date by `cargo xtask <command>`.
pub(crate) struct Snapshot {
    /// The xtask command that writes it.
    pub command: &'static str,
    /// What it lists, for messages ("the generated public API").
    pub what: &'static str,
    /// The file, relative to the workspace root.
    pub path: &'static str,
}

impl Snapshot {
    /// Compares `surface` with the committed file: success when equal, else the removed (`-`) and
    /// added (`+`) lines and what to run, and failure.
    pub(crate) fn check(&self, root: &Path, surface: &str) -> ExitCode {
        let Snapshot {
            command,
            what,
            path,
        } = self;
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        if committed == surface {
            println!("{command}: {what} matches {path}");
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
            "{command}: {what} differs from {path}; run `cargo xtask {command}` and commit it"
        );
        ExitCode::FAILURE
    }

    /// Writes `surface` to the committed file; on failure says why and returns exit code 2.
    pub(crate) fn write(&self, root: &Path, surface: &str) -> Result<(), ExitCode> {
        let file = root.join(self.path);
        std::fs::write(&file, surface).map_err(|e| {
            eprintln!("{}: cannot write {}: {e}", self.command, file.display());
            ExitCode::from(2)
        })
    }
}

/// Builds deepidv-raw and returns the generated file in its `OUT_DIR`.
pub(crate) fn generated_file(root: &Path) -> Result<PathBuf, String> {
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
    Ok(sorted(lines))
}

/// The lines of a snapshot: sorted, without duplicates, each ending in a newline.
pub(crate) fn sorted(mut lines: Vec<String>) -> String {
    lines.sort();
    lines.dedup();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

pub(crate) fn is_public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// Tokens as compact text: `:: std :: string :: String` becomes `::std::string::String`.
pub(crate) fn text(tokens: &impl ToTokens) -> String {
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

/// `#[non_exhaustive]`, as a mark.
const NON_EXHAUSTIVE: &str = "#[non_exhaustive]";

/// The attributes that change what a user can do with an item, as marks for the start of its
/// lines: `#[cfg(..)]`, `#[doc(hidden)]`, `#[non_exhaustive]`, in the item's order.
pub(crate) fn marks(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut marks = Vec::new();
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("non_exhaustive") {
            marks.push(NON_EXHAUSTIVE.to_owned());
        } else if let syn::Meta::List(list) = &attr.meta {
            if path.is_ident("cfg") {
                marks.push(format!("#[cfg({})]", text(&list.tokens)));
            } else if path.is_ident("doc") && list.tokens.to_string() == "hidden" {
                marks.push("#[doc(hidden)]".to_owned());
            }
        }
    }
    marks
}

/// The marks of an item that also hold for its fields, variants and methods: all but
/// `#[non_exhaustive]`.
pub(crate) fn inherited(outer: &[String], attrs: &[syn::Attribute]) -> Vec<String> {
    let mut all = outer.to_vec();
    all.extend(marks(attrs).into_iter().filter(|m| m != NON_EXHAUSTIVE));
    all
}

/// Marks as the start of a line: each once, each followed by a space.
pub(crate) fn prefix(outer: &[String], attrs: &[syn::Attribute]) -> String {
    let mut all = outer.to_vec();
    all.extend(marks(attrs));
    let mut seen = Vec::new();
    for mark in all {
        if !seen.contains(&mark) {
            seen.push(mark);
        }
    }
    seen.iter().map(|mark| format!("{mark} ")).collect()
}

/// `struct PATH<..>` and a `field` line per public field. `outer` are the marks the struct
/// inherits (its module's `cfg`, say).
pub(crate) fn struct_lines(
    model: &syn::ItemStruct,
    path: &str,
    outer: &[String],
    lines: &mut Vec<String>,
) {
    let name = format!("{path}{}", text(&model.generics));
    lines.push(format!("{}struct {name}", prefix(outer, &model.attrs)));
    let inner = inherited(outer, &model.attrs);
    for (index, field) in model.fields.iter().enumerate() {
        if !is_public(&field.vis) {
            continue;
        }
        let field_name = field
            .ident
            .as_ref()
            .map_or_else(|| index.to_string(), ToString::to_string);
        lines.push(format!(
            "{}field {name}.{field_name}: {}",
            prefix(&inner, &field.attrs),
            text(&field.ty)
        ));
    }
}

/// `enum PATH<..>` and a `variant` line per variant, with its fields and discriminant.
pub(crate) fn enum_lines(
    choice: &syn::ItemEnum,
    path: &str,
    outer: &[String],
    lines: &mut Vec<String>,
) {
    lines.push(format!(
        "{}enum {path}{}",
        prefix(outer, &choice.attrs),
        text(&choice.generics)
    ));
    let inner = inherited(outer, &choice.attrs);
    for variant in &choice.variants {
        let discriminant = variant
            .discriminant
            .as_ref()
            .map(|(_, value)| format!(" = {}", text(value)))
            .unwrap_or_default();
        lines.push(format!(
            "{}variant {path}::{}{}{discriminant}",
            prefix(&inner, &variant.attrs),
            variant.ident,
            fields_text(&variant.fields)
        ));
    }
}

/// A variant's fields without their attributes (docs, `#[source]`): `(T, U)` or `{ a: T }`.
fn fields_text(fields: &syn::Fields) -> String {
    match fields {
        syn::Fields::Unit => String::new(),
        syn::Fields::Unnamed(unnamed) => {
            let types: Vec<String> = unnamed.unnamed.iter().map(|f| text(&f.ty)).collect();
            format!("({})", types.join(", "))
        }
        syn::Fields::Named(named) => {
            let fields: Vec<String> = named
                .named
                .iter()
                .map(|f| {
                    let name = f
                        .ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    format!("{name}: {}", text(&f.ty))
                })
                .collect();
            format!(" {{ {} }}", fields.join(", "))
        }
    }
}

/// `type PATH<..> = T`.
pub(crate) fn alias_line(alias: &syn::ItemType, path: &str, outer: &[String]) -> String {
    format!(
        "{}type {path}{} = {}",
        prefix(outer, &alias.attrs),
        text(&alias.generics),
        text(&alias.ty)
    )
}

/// `fn PATH: fn name(..) -> T`: the signature as written, under the name a user calls it by.
pub(crate) fn fn_line(function: &syn::ItemFn, path: &str, outer: &[String]) -> String {
    format!(
        "{}fn {path}: {}",
        prefix(outer, &function.attrs),
        text(&function.sig)
    )
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
                struct_lines(model, &format!("{prefix}{}", model.ident), &[], lines);
            }
            syn::Item::Enum(choice) if is_public(&choice.vis) => {
                enum_lines(choice, &format!("{prefix}{}", choice.ident), &[], lines);
            }
            syn::Item::Type(alias) if is_public(&alias.vis) => {
                lines.push(alias_line(alias, &format!("{prefix}{}", alias.ident), &[]));
            }
            syn::Item::Fn(function) if is_public(&function.vis) => {
                lines.push(fn_line(
                    function,
                    &format!("{prefix}{}", function.sig.ident),
                    &[],
                ));
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
