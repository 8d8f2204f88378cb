//! Generates the `deepidv-raw` client from `openapi.yaml` with progenitor.
//!
//! This file lives at the workspace root and is linked into `crates/deepidv-raw` (a symlink), so
//! that `cargo package` ships it together with the spec. Steps: parse the spec, run progenitor
//! (builder interface, merged tags, hand-written replacements for the open types), mark every
//! generated model `#[non_exhaustive]`, pretty-print into `OUT_DIR/deepidv_raw.rs` (with progenitor's
//! `ignore` usage sketches turned into `text` blocks).

use std::{env, fs, path::PathBuf};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};

/// Component schemas the generator must not model itself: each maps to a hand-written type in
/// `deepidv-raw` (open enums keep unknown values; the others decode forgivingly).
const REPLACEMENTS: &[(&str, &str, &[TypeImpl])] = &[
    (
        "SessionStatus",
        "crate::SessionStatus",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "SessionType",
        "crate::SessionType",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "SessionProgress",
        "crate::SessionProgress",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "WebhookEventType",
        "crate::WebhookEventType",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    ("Timestamp", "crate::Timestamp", &[TypeImpl::Display]),
    ("Location", "crate::Location", &[]),
    ("MetaData", "crate::MetaData", &[TypeImpl::Default]),
    (
        "ResourceLinks",
        "crate::ResourceLinks",
        &[TypeImpl::Default],
    ),
    // Constrained strings stay plain `String`s: the `deepidv` facade validates them (naming the
    // field) before anything is sent, and the generator's own check would pull in a regex engine.
    (
        "PersonName",
        "::std::string::String",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "PhoneNumber",
        "::std::string::String",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
    (
        "HttpsUrl",
        "::std::string::String",
        &[TypeImpl::Display, TypeImpl::FromStr],
    ),
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let spec_path = manifest_dir.join("openapi.yaml");
    println!("cargo::rerun-if-changed={}", spec_path.display());
    println!("cargo::rerun-if-changed=build.rs");

    let text = fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let spec: openapiv3::OpenAPI = yaml_serde::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not an OpenAPI 3.0 document: {e}",
            spec_path.display()
        )
    });

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote::quote!(crate::Hooks))
        .with_derive("PartialEq");
    for (schema, path, impls) in REPLACEMENTS {
        settings.with_replacement(*schema, *path, impls.iter().copied());
    }

    // progenitor panics on specs it cannot express (e.g. two error body types in one operation)
    // without naming the operation; point at the checker that does.
    let tokens = std::panic::catch_unwind(move || Generator::new(&settings).generate_tokens(&spec))
        .unwrap_or_else(|_| {
            panic!("progenitor panicked on openapi.yaml; run `cargo xtask check-spec` to find the offending operation")
        })
        .unwrap_or_else(|e| panic!("progenitor refused openapi.yaml: {e}"));

    let mut file: syn::File = syn::parse2(tokens).expect("progenitor emits valid Rust");
    mark_models_non_exhaustive(&mut file);

    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("deepidv_raw.rs");
    // progenitor's usage sketches are `ignore` doctests; shown as text they document the same
    // thing without counting as ignored tests.
    let code = prettyplease::unparse(&file).replace("```ignore", "```text");
    fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// Adds `#[non_exhaustive]` to every struct in the generated `types` module, so that a new optional
/// field in the spec is not a breaking change for callers. (The generated code itself builds these
/// structs inside this crate, where the attribute has no effect.)
fn mark_models_non_exhaustive(file: &mut syn::File) {
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        let Some((_, items)) = module.content.as_mut() else {
            continue;
        };
        for item in items {
            if let syn::Item::Struct(model) = item {
                model.attrs.push(syn::parse_quote!(#[non_exhaustive]));
            }
        }
    }
}
