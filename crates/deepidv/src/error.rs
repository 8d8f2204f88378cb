//! [`Error`]: every way a call can fail, as one `#[non_exhaustive]` enum.
//!
//! HTTP failures keep the whole answer ([`ErrorResponse`]: status, headers, body) whatever the body
//! is: DeepIDV's JSON error, the plain-text 402, or an HTML page from a proxy. `Display` is one
//! bounded line and never contains the API key.

use std::{fmt, time::Duration};

use reqwest::{StatusCode, header::HeaderMap};

/// A boxed error kept as the `source()` of transport and decoding failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The longest message kept, in characters (a proxy's HTML page is not a message).
const MAX_MESSAGE_CHARS: usize = 300;
/// The most body text an [`ErrorResponse`] keeps, in bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

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
        let may_exist = if operation.is_repeatable() {
            ""
        } else {
            "; the session may have been created"
        };
        Error::Decode {
            message: format!(
                "{}{may_exist}",
                one_line(&without_quoted_values(&message.to_string()))
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

/// Translates what the generated client returned into an [`Error`]. Every non-2xx answer arrives
/// here as `UnexpectedResponse` with its body buffered (the `deepidv-raw` hooks see to that), so
/// one function reads every error body.
pub(crate) async fn from_raw(
    operation: Operation,
    raw: progenitor_client::Error<deepidv_raw::types::ApiError>,
    secret: &str,
) -> Error {
    use progenitor_client::Error as Raw;
    let may_exist = if operation.is_repeatable() {
        ""
    } else {
        "; the session may have been created"
    };
    match raw {
        Raw::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => return from_transport(operation, e, secret),
            };
            if status.is_success() {
                return Error::Decode {
                    message: format!(
                        "HTTP {} is not the documented 200{may_exist}",
                        status.as_u16()
                    ),
                    operation,
                    source: None,
                };
            }
            Error::from_response(ErrorResponse::new(
                operation,
                status.as_u16(),
                headers,
                &body,
                secret,
            ))
        }
        Raw::ErrorResponse(value) => {
            let status = value.status().as_u16();
            let headers = value.headers().clone();
            let body = serde_json::to_vec(value.as_ref()).unwrap_or_default();
            Error::from_response(ErrorResponse::new(
                operation, status, headers, &body, secret,
            ))
        }
        Raw::InvalidResponsePayload(_, e) => Error::Decode {
            message: format!(
                "the body does not fit the contract: {}{may_exist}",
                one_line(&without_quoted_values(&e.to_string()))
            ),
            operation,
            source: Some(Box::new(e)),
        },
        Raw::CommunicationError(e) | Raw::ResponseBodyError(e) | Raw::InvalidUpgrade(e) => {
            from_transport(operation, e, secret)
        }
        // Produced before anything is handed to reqwest; the facade validates first, so this is
        // a value the generated builders refused.
        Raw::InvalidRequest(message) => Error::Validation {
            field: None,
            message: scrubbed(&message, secret),
            response: None,
        },
        Raw::Custom(message) => Error::Decode {
            message: scrubbed(&message, secret),
            operation,
            source: None,
        },
    }
}

/// A reqwest failure: a timeout, a connection that could not be made, one lost on the way, or a
/// body over the size cap.
fn from_transport(operation: Operation, e: reqwest::Error, secret: &str) -> Error {
    if let Some(too_large) = find_source::<deepidv_raw::BodyTooLarge>(&e) {
        let may_exist = if operation.is_repeatable() {
            ""
        } else {
            "; the session may have been created"
        };
        return Error::Decode {
            message: format!("{too_large}{may_exist}"),
            operation,
            source: Some(Box::new(e)),
        };
    }
    let maybe_sent = !e.is_connect();
    // reqwest's message names the URL, never headers; scrubbed all the same.
    let message = scrubbed(&error_chain(&e), secret);
    if e.is_builder() {
        Error::Config {
            message,
            source: Some(Box::new(e)),
        }
    } else if e.is_timeout() {
        Error::Timeout {
            message,
            operation,
            maybe_sent,
        }
    } else {
        Error::Network {
            message,
            operation,
            maybe_sent,
            source: Box::new(e),
        }
    }
}

/// The first error of type `T` in `e`'s `source()` chain.
fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// `e` and its sources, joined with `: ` (reqwest's own message alone is often just
/// "error sending request").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

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

/// The four operations of the sessions API, as named in errors.
///
/// ```
/// assert_eq!(deepidv::Operation::ListSessions.to_string(), "listSessions");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v1/sessions`.
    CreateSession,
    /// `GET /v1/sessions/{id}`.
    RetrieveSession,
    /// `GET /v1/sessions`.
    ListSessions,
    /// `PATCH /v1/sessions/{id}/update-status`.
    UpdateSessionStatus,
}

impl Operation {
    /// The operation's id in the API reference, such as `createSession`.
    ///
    /// ```
    /// assert_eq!(deepidv::Operation::CreateSession.as_str(), "createSession");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateSession => "createSession",
            Operation::RetrieveSession => "retrieveSession",
            Operation::ListSessions => "listSessions",
            Operation::UpdateSessionStatus => "updateSessionStatus",
        }
    }

    /// The HTTP method.
    pub(crate) fn method(self) -> &'static str {
        match self {
            Operation::CreateSession => "POST",
            Operation::RetrieveSession | Operation::ListSessions => "GET",
            Operation::UpdateSessionStatus => "PATCH",
        }
    }

    /// The path, with `{id}` for the session id (never the id itself).
    pub(crate) fn path_template(self) -> &'static str {
        match self {
            Operation::CreateSession | Operation::ListSessions => "/v1/sessions",
            Operation::RetrieveSession => "/v1/sessions/{id}",
            Operation::UpdateSessionStatus => "/v1/sessions/{id}/update-status",
        }
    }

    /// Whether sending the request twice has the same effect as sending it once. Create is the
    /// one operation that is not: DeepIDV has no idempotency key for sessions.
    pub(crate) fn is_repeatable(self) -> bool {
        !matches!(self, Operation::CreateSession)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-success HTTP answer, kept whole: status, headers, body (up to 16 KiB of text) and the
/// validation `hints` if the body had any.
///
/// `Display` is the short form used inside [`Error`]'s message: `retrieveSession, HTTP 404`.
///
/// ```no_run
/// # async fn run(sessions: deepidv::Sessions) {
/// if let Err(e) = sessions.retrieve("a1b2c3d4").await {
///     if let Some(answer) = e.response() {
///         println!("HTTP {} from {}: {}", answer.status(), answer.operation(), answer.body());
///         println!("request id: {:?}", answer.headers().get("x-request-id"));
///     }
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ErrorResponse {
    operation: Operation,
    status: u16,
    headers: HeaderMap,
    body: String,
    hints: Vec<serde_json::Value>,
    message: String,
}

impl ErrorResponse {
    /// Reads a buffered answer. `secret` (the API key) is removed from everything kept.
    pub(crate) fn new(
        operation: Operation,
        status: u16,
        headers: HeaderMap,
        body: &[u8],
        secret: &str,
    ) -> Self {
        let text = String::from_utf8_lossy(body);
        let mut text = redact(&text, secret);
        let mut json = serde_json::from_str::<serde_json::Value>(&text).ok();
        // JSON escapes (`\/`, `\u00..`) can hide the key from the search above and give it back
        // to whoever reads the body as JSON: then the body kept is the decoded value, redacted.
        if let Some(value) = json.as_mut()
            && redact_json(value, secret)
        {
            text = value.to_string();
        }
        let headers = redact_headers(headers, secret);
        // Members are read one by one: an oddly typed member (`"message": [...]`) must not hide
        // the others, as decoding the whole body into one type would.
        let parsed = json.filter(serde_json::Value::is_object);
        let member = |name: &str| {
            let value = parsed.as_ref()?.get(name)?.as_str()?.trim();
            (!value.is_empty()).then(|| value.to_owned())
        };
        let message = match member("message")
            .or_else(|| member("error"))
            .or_else(|| member("detail"))
        {
            // Redacted again: JSON escapes (`\/`, `\u00..`) can hide the key from the first pass.
            Some(message) => scrubbed(&message, secret),
            None if !text.trim().is_empty() => one_line(text.trim()),
            None => format!("HTTP {status}"),
        };
        let hints = parsed
            .as_ref()
            .and_then(|body| body.get("hints"))
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        Self {
            operation,
            status,
            headers,
            body: truncate(&text, MAX_BODY_BYTES).to_owned(),
            hints,
            message,
        }
    }

    /// The operation that was answered.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response headers (a request id, `Retry-After`, a redirect's `Location`, ...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as text (lossily decoded, at most 16 KiB), whatever its content type.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The answer's request id, if it carried one (see [`Error::request_id`]).
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// The validation hints of a JSON error body (`{"message": ..., "hints": [...]}`); empty when
    /// there were none. Their shape is not documented, so they are raw JSON.
    pub fn hints(&self) -> &[serde_json::Value] {
        &self.hints
    }

    fn message(&self) -> String {
        self.message.clone()
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, HTTP {}", self.operation, self.status)
    }
}

/// The headers a request id may come in, most specific first: DeepIDV's own if it sends one, then
/// those of the AWS gateways in front of it.
const REQUEST_ID_HEADERS: [&str; 4] = [
    "x-request-id",
    "x-amzn-requestid",
    "apigw-requestid",
    "x-amz-apigw-id",
];

/// The first request id among `headers`, if it is printable text.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        (!value.is_empty()).then_some(value)
    })
}

/// `Retry-After` as a duration: delay-seconds or an HTTP date (a date in the past is zero). A
/// number too large to hold is [`Duration::MAX`]; anything else is no `Retry-After`.
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Delay-seconds too large for a u64 are still a delay, and far longer than any the client
        // waits for itself.
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// `text` as one bounded line without `secret`: scrubbed first, so that a key straddling the cut
/// cannot leave a prefix behind.
pub(crate) fn scrubbed(text: &str, secret: &str) -> String {
    one_line(&redact(text, secret))
}

/// A decoder's message without the values it quotes: serde writes the unexpected value in double
/// quotes (`invalid type: string "Jane", expected ...`), and a response value is applicant data.
/// Field names (in backticks) and positions stay.
pub(crate) fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"…\"");
        // Skip to the closing quote; the value is written with `{:?}`, so `\"` is inside it.
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
    }
    out
}

/// Replaces `secret` in every string and member name of `value`; tells whether there was one.
fn redact_json(value: &mut serde_json::Value, secret: &str) -> bool {
    use serde_json::Value;
    if secret.is_empty() {
        return false;
    }
    match value {
        Value::String(text) if text.contains(secret) => {
            *text = redact(text, secret);
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| redact_json(item, secret) | found),
        Value::Object(map) => {
            let mut found = false;
            if map.keys().any(|name| name.contains(secret)) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(name, member)| (redact(&name, secret), member))
                    .collect();
                found = true;
            }
            map.values_mut()
                .fold(found, |found, member| redact_json(member, secret) | found)
        }
        _ => false,
    }
}

/// `headers` with every value that contains `secret` replaced by a sensitive `[redacted]`.
fn redact_headers(mut headers: HeaderMap, secret: &str) -> HeaderMap {
    if secret.is_empty() {
        return headers;
    }
    for value in headers.values_mut() {
        if value
            .as_bytes()
            .windows(secret.len())
            .any(|window| window == secret.as_bytes())
        {
            let mut redacted = reqwest::header::HeaderValue::from_static("[redacted]");
            redacted.set_sensitive(true);
            *value = redacted;
        }
    }
    headers
}

/// `text` with every occurrence of `secret` replaced.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() || !text.contains(secret) {
        return text.to_owned();
    }
    text.replace(secret, "[redacted]")
}

/// One line of at most [`MAX_MESSAGE_CHARS`] characters: control characters become spaces and runs
/// of whitespace collapse.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE_CHARS + 3));
    let mut chars = 0;
    let mut last_space = false;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        if chars == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        last_space = c == ' ';
        out.push(c);
        chars += 1;
    }
    out.trim_end().to_owned()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> ErrorResponse {
        ErrorResponse::new(
            Operation::RetrieveSession,
            status,
            HeaderMap::new(),
            body.as_bytes(),
            "sk_live_secret",
        )
    }

    #[test]
    fn message_precedence_is_message_error_detail_text_status() {
        assert_eq!(
            answer(400, r#"{"message":"m","error":"e","detail":"d"}"#).message,
            "m"
        );
        assert_eq!(
            answer(400, r#"{"message":"  ","error":"e","detail":"d"}"#).message,
            "e"
        );
        assert_eq!(answer(401, r#"{"detail":"d"}"#).message, "d");
        assert_eq!(
            answer(402, "Insufficient funds or subscription.\n").message,
            "Insufficient funds or subscription."
        );
        assert_eq!(answer(500, "  ").message, "HTTP 500");
        // An oddly typed member does not hide the others.
        let odd = answer(
            400,
            r#"{"message":["a","b"],"error":"Bad Request","hints":{"x":1}}"#,
        );
        assert_eq!(odd.message, "Bad Request");
        assert!(odd.hints().is_empty());
        let hinted = answer(400, r#"{"message":"m","hints":[{"path":["phone"]}]}"#);
        assert_eq!(hinted.hints().len(), 1);
    }

    #[test]
    fn messages_are_one_bounded_line() {
        let long = format!("<html>\n<body>{}</body></html>", "x".repeat(2000));
        let message = answer(502, &long).message;
        assert!(!message.contains('\n'));
        assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn the_key_is_redacted_from_message_and_body() {
        let kept = answer(401, r#"{"error":"Invalid API key sk_live_secret"}"#);
        assert_eq!(kept.message, "Invalid API key [redacted]");
        assert!(!kept.body().contains("sk_live_secret"));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let parsed = parse_retry_after(&headers).unwrap();
        assert!(
            parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120),
            "{parsed:?}"
        );
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
        for absent in ["-5", "1.5", "", "5 s", "0x10"] {
            headers.insert("retry-after", absent.parse().unwrap());
            assert_eq!(parse_retry_after(&headers), None, "{absent:?}");
        }
        // Larger than a u64: longer than any wait, not absent.
        headers.insert("retry-after", "99999999999999999999999".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::MAX));
    }

    #[test]
    fn the_key_is_scrubbed_before_the_line_is_cut() {
        let secret = "sk_live_0123456789abcdef";
        // The key straddles the 300-character cut.
        let text = format!("{}{secret} tail", "x".repeat(MAX_MESSAGE_CHARS - 10));
        let line = scrubbed(&text, secret);
        assert!(!line.contains("sk_live_0"), "{line}");
        assert!(line.ends_with('…'));
        let kept = answer(
            401,
            &format!(r#"{{"error":"{} sk_live_secret"}}"#, "y".repeat(295)),
        );
        assert!(!kept.message.contains("sk_live"), "{}", kept.message);
    }

    #[test]
    fn decoder_messages_lose_the_values_they_quote() {
        let e = serde_json::from_str::<u32>(r#""Jane Smith""#).unwrap_err();
        let message = without_quoted_values(&e.to_string());
        assert!(!message.contains("Jane"), "{message}");
        assert!(message.contains("invalid type: string"), "{message}");
        let missing =
            serde_json::from_str::<std::collections::HashMap<String, u32>>(r#"{"a": "Jane\"Q"}"#)
                .unwrap_err();
        let message = without_quoted_values(&missing.to_string());
        assert!(
            !message.contains("Jane") && !message.contains('Q'),
            "{message}"
        );
        assert!(message.contains("expected u32"), "{message}");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
    }
}
