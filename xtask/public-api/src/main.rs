//! `deepidv-public-api RUSTDOC_JSON`: prints the public API the rustdoc JSON file describes, one
//! sorted item per line, as the `public-api` crate renders it (the listing `cargo public-api`
//! prints). Run by `cargo xtask public-api`, which builds the JSON first.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(json) = std::env::args_os().nth(1) else {
        eprintln!("usage: deepidv-public-api RUSTDOC_JSON");
        return ExitCode::from(2);
    };
    let api = match public_api::Builder::from_rustdoc_json(json)
        // `impl<T> From<T> for T` and the like say nothing about this crate.
        .omit_blanket_impls(true)
        .build()
    {
        Ok(api) => api,
        Err(e) => {
            eprintln!("cannot read the rustdoc JSON: {e}");
            return ExitCode::from(2);
        }
    };
    for item in api.items() {
        println!("{item}");
    }
    ExitCode::SUCCESS
}
