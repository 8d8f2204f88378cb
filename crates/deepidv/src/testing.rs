//! Helpers for testing a service that uses this SDK: clients for a local server (deepidv-mock,
//! wiremock, your own) and the SDK's errors for your own test doubles. Behind the `testing`
//! feature; it adds no dependency.
//!
//! ```toml
//! [dev-dependencies]
//! deepidv = { version = "0.2", features = ["testing"] }
//! ```

use std::time::Duration;

use reqwest::{StatusCode, Url, header::HeaderMap};

use crate::{Client, ClientBuilder, Error, ErrorResponse, Operation, Result};

/// The first retry's delay ceiling in tests: retries happen, quickly.
pub const RETRY_DELAY: Duration = Duration::from_millis(5);
/// Each attempt's timeout in tests: long enough for a loaded CI machine, short enough that a hung
/// test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A builder with test-friendly settings: no client-side rate limit, millisecond retry delays
/// ([`RETRY_DELAY`]), a 10 s attempt timeout ([`TIMEOUT`]). Set the server and the key by name,
/// then adjust what else you need before [`ClientBuilder::build`]. `http://` is accepted for
/// loopback URLs (as always).
///
/// ```
/// let client = deepidv::testing::builder()
///     .base_url("http://127.0.0.1:12111")
///     .api_key("sk_test_1")
///     .max_retries(0)
///     .build()?;
/// # Ok::<(), deepidv::Error>(())
/// ```
pub fn builder() -> ClientBuilder {
    Client::builder()
        .rate_limit(None)
        .initial_retry_delay(RETRY_DELAY)
        .timeout(TIMEOUT)
}

/// A client with the settings of [`builder`] for the server at `base_url` with `api_key`. The URL
/// is typed, so the two arguments cannot be swapped without the compiler noticing.
///
/// ```
/// let url = "http://127.0.0.1:12111".parse()?;
/// let client = deepidv::testing::client(url, "sk_test_1")?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:12111");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client(base_url: Url, api_key: impl Into<String>) -> Result<Client> {
    builder()
        .base_url(base_url.as_str())
        .api_key(api_key)
        .build()
}

/// The error a call gets when the server answers `status` with `body`: classified as the SDK
/// classifies real answers (400 [`Error::Validation`], 401 [`Error::Authentication`], 402, 403,
/// 404, 429 [`Error::RateLimit`] with any `retry-after` in `headers`, anything else
/// [`Error::Api`]), with the message read from the body as from a real one.
///
/// ```
/// use deepidv::{Error, Operation, testing};
/// let e = testing::api_error(Operation::RetrieveSession, 404, r#"{"error":"Session not found"}"#);
/// assert!(matches!(e, Error::NotFound { .. }));
/// assert_eq!(e.message(), "Session not found");
/// ```
pub fn api_error(operation: Operation, status: u16, body: &str) -> Error {
    api_error_with_headers(operation, status, HeaderMap::new(), body)
}

/// [`api_error`] with response headers (`retry-after`, `x-request-id`, ...).
///
/// ```
/// use deepidv::{Operation, testing};
/// let mut headers = deepidv::reqwest::header::HeaderMap::new();
/// headers.insert("retry-after", "7".parse().unwrap());
/// let e = testing::api_error_with_headers(Operation::ListSessions, 429, headers, "");
/// assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
/// ```
pub fn api_error_with_headers(
    operation: Operation,
    status: u16,
    headers: HeaderMap,
    body: &str,
) -> Error {
    let status = StatusCode::from_u16(status).map_or(500, |status| status.as_u16());
    Error::from_response(ErrorResponse::new(
        operation,
        status,
        headers,
        body.as_bytes(),
        "",
    ))
}

/// The error of input the SDK refused before sending: `field` names it.
///
/// ```
/// let e = deepidv::testing::validation_error("phone", "is not in E.164 format");
/// assert_eq!(e.to_string(), "invalid phone: is not in E.164 format (nothing was sent)");
/// ```
pub fn validation_error(field: &str, message: &str) -> Error {
    Error::invalid(field, message)
}

/// An attempt that ran out of time; `maybe_sent` says whether the request may have reached the
/// server (for a create, the session may then exist).
///
/// ```
/// use deepidv::{Operation, testing};
/// let e = testing::timeout_error(Operation::CreateSession, true);
/// assert!(e.is_ambiguous() && !e.is_retryable());
/// ```
pub fn timeout_error(operation: Operation, maybe_sent: bool) -> Error {
    Error::Timeout {
        message: "the attempt timed out (a test double)".to_owned(),
        operation,
        maybe_sent,
    }
}

/// A connection that failed; `maybe_sent` as for [`timeout_error`].
///
/// ```
/// use deepidv::{Operation, testing};
/// let e = testing::network_error(Operation::RetrieveSession, false);
/// assert!(e.is_retryable());
/// ```
pub fn network_error(operation: Operation, maybe_sent: bool) -> Error {
    Error::Network {
        message: "the connection failed (a test double)".to_owned(),
        operation,
        maybe_sent,
        source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
    }
}

/// A success answer whose body did not fit the contract (for a create, the session may exist).
///
/// ```
/// use deepidv::{Operation, testing};
/// let e = testing::decode_error(Operation::CreateSession, "$.id does not fit the contract");
/// assert!(e.is_ambiguous());
/// ```
pub fn decode_error(operation: Operation, message: &str) -> Error {
    Error::undecodable(operation, message)
}
