//! [`ErrorResponse`]: a non-success HTTP answer, kept whole, and what its headers say (request id,
//! `Retry-After`).

use std::{fmt, time::Duration};

use reqwest::header::HeaderMap;

use crate::{
    endpoint::Operation,
    text::{one_line, redact, redact_headers, redact_json, scrubbed, truncate},
};

/// The most body text an [`ErrorResponse`] keeps, in bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

///
/// `Display` is the short form used inside [`Error`](crate::Error)'s message: `retrieveSession, HTTP 404`.
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

    /// The answer's request id, if it carried one (see [`Error::request_id`](crate::Error::request_id)).
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// The validation hints of a JSON error body (`{"message": ..., "hints": [...]}`); empty when
    /// there were none. Their shape is not documented, so they are raw JSON.
    pub fn hints(&self) -> &[serde_json::Value] {
        &self.hints
    }

    pub(super) fn message(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::MAX_MESSAGE_CHARS;

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
    fn a_key_straddling_the_message_cut_leaves_no_prefix() {
        let kept = answer(
            401,
            &format!(r#"{{"error":"{} sk_live_secret"}}"#, "y".repeat(295)),
        );
        assert!(!kept.message.contains("sk_live"), "{}", kept.message);
    }
}
