//! The deepidv SDK's runnable examples live in `examples/` beside this file; run them from the
//! workspace root with `cargo run --example quickstart`, `cargo run --example webhook_receiver`
//! or `cargo run --example contract`. This library is empty: a package needs a target of its own.

#![forbid(unsafe_code)]
