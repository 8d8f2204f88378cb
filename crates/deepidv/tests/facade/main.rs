//! Integration tests of the `deepidv` facade against real HTTP servers on loopback (wiremock, the
//! deepidv-mock server, and a TLS server for the https test). One test binary, one module per
//! concern.

mod common;

mod agreement;
mod config;
mod decoding;
mod errors;
mod list;
mod list_all;
mod mock;
mod requests;
mod retries;
mod tls;
#[path = "../support/tls_server.rs"]
mod tls_server;
mod validation;
