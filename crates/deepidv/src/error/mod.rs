//! [`Error`]: every way a call can fail, as one `#[non_exhaustive]` enum.
//!
//! HTTP failures keep the whole answer ([`ErrorResponse`]: status, headers, body) whatever the body
//! is: DeepIDV's JSON error, the plain-text 402, or an HTML page from a proxy. `Display` is one
//! bounded line and never contains the API key.

use std::{fmt, time::Duration};

use reqwest::StatusCode;

use crate::{endpoint::Operation, text};

mod response;
mod translate;

pub use response::ErrorResponse;
pub(crate) use response::{parse_retry_after, request_id};
pub(crate) use translate::from_raw;

/// A boxed error kept as the `source()` of transport and decoding failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a call failed.
///
/// Match on the variant for the kind of failure; the accessors ([`Error::status`],
/// [`Error::retry_after`], [`Error::is_retryable`], [`Error::message`]) answer the common questions
/// for every variant.
///
/// ```
/// # async fn run(sessions: deepidv::Sessions) {
/// match sessions.retrieve("a1b2c3d4").await {
///     Ok(found) => println!("{}", found.session_record.status),
///     Err(deepidv::Error::NotFound { .. }) => println!("no such session"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => println!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused: by the SDK before anything was sent (`field` names it, `response` is
    /// `None`), or by the server with HTTP 400 (`response` holds the answer, with any `hints`).
    #[non_exhaustive]
    #[error("{}", describe_validation(field.as_deref(), message, response.as_deref()))]
    Validation {
        /// The input field at fault, when the SDK found the problem.
        field: Option<String>,
        /// What is wrong.
        message: String,
        /// The server's answer, when the server refused the request.
        response: Option<Box<ErrorResponse>>,
    },
    /// HTTP 401: the API key is not valid.
    #[non_exhaustive]
    #[error("authentication failed ({response}): {message}")]
    Authentication {
        /// The server's explanation.
        message: String,
        /// The server's answer.
        response: Box<ErrorResponse>,
    },
    /// HTTP 402: the organization has no funds or no subscription for this.
    #[non_exhaustive]
    #[error("insufficient funds ({response}): {message}")]
    InsufficientFunds {
        /// The server's explanation.
        message: String,
        /// The server's answer.
        response: Box<ErrorResponse>,
    },
    /// HTTP 403: the key may not do this (a missing key, a sandbox key used for a write, or
    /// another organization's session).
    #[non_exhaustive]
    #[error("not authorized ({response}): {message}")]
    Authorization {
        /// The server's explanation.
        message: String,
        /// The server's answer.
        response: Box<ErrorResponse>,
    },
    /// HTTP 404: no such session (or, for create, no such workflow).
    #[non_exhaustive]
    #[error("not found ({response}): {message}")]
    NotFound {
        /// The server's explanation.
        message: String,
        /// The server's answer.
        response: Box<ErrorResponse>,
    },
    /// HTTP 429: over the rate limit, after the retries the client is configured for.
    #[non_exhaustive]
    #[error("rate limited ({response}): {message}")]
    RateLimit {
        /// The server's explanation.
        message: String,
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
        /// The server's answer.
        response: Box<ErrorResponse>,
    },
    /// Any other non-success status, redirects (which are never followed) included.
    #[non_exhaustive]
    #[error("API error ({response}): {message}")]
    Api {
        /// The server's explanation, or `HTTP <status>`.
        message: String,
        /// The server's answer.
        response: Box<ErrorResponse>,
    },
    /// An attempt took longer than the configured per-attempt timeout (after any retries).
    #[non_exhaustive]
    #[error("timed out ({operation}): {message}")]
    Timeout {
        /// What timed out.
        message: String,
        /// The operation that was running.
        operation: Operation,
        /// Whether the request may have reached the server (false when it timed out connecting).
        maybe_sent: bool,
    },
    /// The connection failed (after any retries).
    #[non_exhaustive]
    #[error("network error ({operation}): {message}")]
    Network {
        /// What failed.
        message: String,
        /// The operation that was running.
        operation: Operation,
        /// Whether the request may have reached the server (false when no connection was made).
        maybe_sent: bool,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// A success answer whose body does not fit the contract. For create, the session may exist.
    #[non_exhaustive]
    #[error("unexpected response ({operation}): {message}")]
    Decode {
        /// What did not fit.
        message: String,
        /// The operation that was running.
        operation: Operation,
        /// The decoder's error, if there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// Fleet mode (`redis` feature) with `redis_fail_closed(true)`: Redis could not be used, so
    /// the call was not sent.
    #[non_exhaustive]
    #[error("coordination failed: {message}")]
    Coordination {
        /// What failed.
        message: String,
    },
    /// The client's configuration was refused when it was built.
    #[non_exhaustive]
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
        /// The underlying error, if there was one.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// The HTTP status the server answered with, if the failure was an HTTP answer.
    ///
    /// ```
    /// let e = deepidv::Client::builder().build().unwrap_err();
    /// assert_eq!(e.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.response().map(ErrorResponse::status)
    }

    /// How long the server asked to wait before trying again (`Retry-After`, in seconds or as an
    /// HTTP date), on any HTTP failure that carried one.
    ///
    /// ```
    /// let e = deepidv::Client::builder().build().unwrap_err();
    /// assert_eq!(e.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimit { retry_after, .. } => *retry_after,
            _ => self.response().and_then(|r| parse_retry_after(r.headers())),
        }
    }

    /// Whether trying the same call again could succeed, for the operation that failed.
    ///
    /// Reads and status updates are retryable on 429, 5xx, timeouts and network errors. A create is
    /// retryable only on 429 or when the request certainly never reached the server, because
    /// DeepIDV has no idempotency key: repeating an ambiguous create can create a second session
    /// and invite the applicant twice.
    ///
    /// ```
    /// let e = deepidv::Client::builder().build().unwrap_err();
    /// assert!(!e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimit { .. } | Error::Coordination { .. } => true,
            Error::Api { response, .. } => {
                response.operation().is_repeatable()
                    && StatusCode::from_u16(response.status()).is_ok_and(|s| s.is_server_error())
            }
            Error::Timeout {
                operation,
                maybe_sent,
                ..
            }
            | Error::Network {
                operation,
                maybe_sent,
                ..
            } => operation.is_repeatable() || !maybe_sent,
            _ => false,
        }
    }

    /// The explanation alone: the server's `message`, `error` or `detail`, or the SDK's own.
    ///
    /// ```
    /// let e = deepidv::Client::builder().build().unwrap_err();
    /// assert!(e.message().contains("api_key"));
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Error::Validation { message, .. }
            | Error::Authentication { message, .. }
            | Error::InsufficientFunds { message, .. }
            | Error::Authorization { message, .. }
            | Error::NotFound { message, .. }
            | Error::RateLimit { message, .. }
            | Error::Api { message, .. }
            | Error::Timeout { message, .. }
            | Error::Network { message, .. }
            | Error::Decode { message, .. }
            | Error::Coordination { message, .. }
            | Error::Config { message, .. } => message,
        }
    }

    /// The request id the server (or a gateway in front of it) gave the answer, for failures that
    /// were HTTP answers carrying one: the first of `x-request-id`, `x-amzn-requestid`,
    /// `apigw-requestid` and `x-amz-apigw-id`. Quote it when you ask DeepIDV about a call.
    ///
    /// ```
    /// let e = deepidv::Client::builder().build().unwrap_err();
    /// assert_eq!(e.request_id(), None);
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.response().and_then(ErrorResponse::request_id)
    }

    /// The server's answer, for failures that were HTTP answers.
    ///
    /// ```
    /// let e = deepidv::Client::builder().build().unwrap_err();
    /// assert!(e.response().is_none());
    /// ```
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self {
            Error::Validation { response, .. } => response.as_deref(),
            Error::Authentication { response, .. }
            | Error::InsufficientFunds { response, .. }
            | Error::Authorization { response, .. }
            | Error::NotFound { response, .. }
            | Error::RateLimit { response, .. }
            | Error::Api { response, .. } => Some(response),
            _ => None,
        }
    }

    /// Whether the request may have reached the server and been acted on although the call
    /// failed: a timeout or lost connection after sending, a 5xx, or a success answer that could
    /// not be read. For a create, the session may then exist: look it up by `external_id` (as
    /// [`Sessions::create_once`](crate::Sessions::create_once) does) before creating again. A
    /// validation error, a 4xx, or a connection that was never made are not ambiguous.
    ///
    /// ```
    /// # async fn run(sessions: deepidv::Sessions, input: deepidv::SessionCreateInput) {
    /// match sessions.create(input).await {
    ///     Ok(created) => println!("created {}", created.id),
    ///     Err(e) if e.is_ambiguous() => println!("may exist: look it up before creating again"),
    ///     Err(e) => println!("not created: {e}"),
    /// }
    /// # }
    /// ```
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Timeout { maybe_sent, .. } | Error::Network { maybe_sent, .. } => *maybe_sent,
            Error::Api { response, .. } => response.status() >= 500,
            Error::Decode { .. } => true,
            _ => false,
        }
    }

    /// A short name of the kind of failure, for logs (never the message, which may repeat
    /// input).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Error::Validation { .. } => "validation",
            Error::Authentication { .. } => "authentication",
            Error::InsufficientFunds { .. } => "insufficient_funds",
            Error::Authorization { .. } => "authorization",
            Error::NotFound { .. } => "not_found",
            Error::RateLimit { .. } => "rate_limit",
            Error::Api { .. } => "api",
            Error::Timeout { .. } => "timeout",
            Error::Network { .. } => "network",
            Error::Decode { .. } => "decode",
            Error::Coordination { .. } => "coordination",
            Error::Config { .. } => "config",
        }
    }

    /// A client-side validation failure naming `field`.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Validation {
            field: Some(field.to_owned()),
            message: message.into(),
            response: None,
        }
    }

    /// A success answer whose body cannot be read; for a create, the session may exist.
    pub(crate) fn undecodable(operation: Operation, message: impl fmt::Display) -> Self {
        Error::Decode {
            message: format!(
                "{}{}",
                text::one_line(&text::without_quoted_values(&message.to_string())),
                may_exist(operation)
            ),
            operation,
            source: None,
        }
    }

    /// A configuration failure.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            source: None,
        }
    }

    /// A non-success HTTP answer, classified by status.
    pub(crate) fn from_response(response: ErrorResponse) -> Self {
        let message = response.message();
        let response = Box::new(response);
        match response.status() {
            400 => Error::Validation {
                field: None,
                message,
                response: Some(response),
            },
            401 => Error::Authentication { message, response },
            402 => Error::InsufficientFunds { message, response },
            403 => Error::Authorization { message, response },
            404 => Error::NotFound { message, response },
            429 => Error::RateLimit {
                message,
                retry_after: parse_retry_after(response.headers()),
                response,
            },
            _ => Error::Api { message, response },
        }
    }
}

/// The one-line text of a validation failure.
fn describe_validation(
    field: Option<&str>,
    message: &str,
    response: Option<&ErrorResponse>,
) -> String {
    match (field, response) {
        (_, Some(response)) => format!("invalid request ({response}): {message}"),
        (Some(field), None) => format!("invalid {field}: {message} (nothing was sent)"),
        (None, None) => format!("invalid request: {message} (nothing was sent)"),
    }
}

/// What a failure after sending adds to its message when the operation creates something: the
/// caller must look before creating again.
pub(crate) fn may_exist(operation: Operation) -> &'static str {
    if operation.is_repeatable() {
        ""
    } else {
        "; the session may have been created"
    }
}
