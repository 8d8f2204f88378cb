//! The `deepidv` binary, run as a user runs it, against deepidv-mock on loopback. No internet,
//! no real key.

mod common;
mod config;
mod export;
mod misc;
mod readme;
mod sessions;
mod webhooks;
