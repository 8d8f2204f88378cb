//! Serving connections: the accept loop, each connection's hyper service, and the control
//! token check.

use std::{fmt, sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderValue, Request, Response, StatusCode, header},
};
use futures_util::{StreamExt, stream};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::{FaultKind, Operation, RecordedRequest, api, limits, state::Shared};

/// The largest request body the mock reads.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Why a connection was closed without an answer (a fault did it).
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// How long the accept loop waits after a failed `accept` (out of file descriptors, say), so
/// that a persistent error does not spin a core: 5 ms, doubling up to 1 s, back to 5 ms after a
/// connection is accepted.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// The wait after a failure.
    fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, router: Router) {
    // Connections live in this set, so stopping the loop (dropping the server) closes them too.
    let mut connections = tokio::task::JoinSet::new();
    let mut backoff = Backoff::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(_) => {
                // The pending connection stays queued; waiting lets whatever ran out recover
                // (connections closing free descriptors) without spinning.
                while connections.try_join_next().is_some() {}
                tokio::time::sleep(backoff.failed()).await;
                continue;
            }
        };
        let shared = shared.clone();
        let router = router.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(shared.clone(), router.clone(), request)
            });
            // A connection ending badly (a client gone, a fault) is not the mock's problem.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(
    shared: Arc<Shared>,
    router: Router,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Dropped> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if path.starts_with("/__mock") {
        if let Some(token) = shared.control_token()
            && !bearer_matches(&parts.headers, token)
        {
            return Ok(unauthorized());
        }
        let response = router
            .oneshot(Request::from_parts(parts, Body::new(body)))
            .await;
        return Ok(response.unwrap_or_else(|never| match never {}));
    }

    let body = match http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(api::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "Request body too large"}).to_string(),
            ));
        }
    };
    let operation = Operation::of(&parts.method, &path);
    let fault = shared.lock().take_fault(operation);
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_owned),
        operation,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if name == "x-api-key" {
                    "[redacted]".to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.to_string(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: None,
        fault: fault.as_ref().map(|f| f.name().to_owned()),
    };
    // Journaled on arrival (a client that gives up early still shows in it); the status is
    // filled in when the answer goes out.
    let entry = shared.lock().journal_mut().record_request(recorded);
    let process = |parts, body: Bytes| async {
        let response = router
            .clone()
            .oneshot(Request::from_parts(parts, Body::from(body)))
            .await;
        response.unwrap_or_else(|never| match never {})
    };

    let outcome = match fault.map(|f| f.kind) {
        None => Ok(process(parts, body).await),
        Some(FaultKind::Status {
            status,
            headers,
            content_type,
            body,
        }) => Ok(canned(status, &headers, content_type.as_deref(), body)),
        Some(FaultKind::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(process(parts, body).await)
        }
        Some(FaultKind::SlowBody { millis }) => {
            let (head, full) = buffered(process(parts, body).await).await;
            let delayed = stream::once(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok::<Bytes, std::io::Error>(full)
            });
            Ok(Response::from_parts(head, Body::from_stream(delayed)))
        }
        Some(FaultKind::DropMidBody) => {
            let (head, full) = buffered(process(parts, body).await).await;
            let half = full.slice(..full.len() / 2);
            // The pause lets the headers and the first half reach the client before the cut.
            let cut = stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other(
                    "connection dropped by an injected fault",
                ))
            });
            let broken = stream::once(async { Ok(half) }).chain(cut);
            Ok(Response::from_parts(head, Body::from_stream(broken)))
        }
        Some(FaultKind::Oversized { bytes }) => Ok(oversized(bytes)),
        Some(FaultKind::DropConnection) => Err(Dropped),
        Some(FaultKind::ProcessThenDrop) => {
            let _processed = process(parts, body).await;
            Err(Dropped)
        }
    };
    if let Ok(response) = &outcome {
        shared
            .lock()
            .journal_mut()
            .record_status(entry, response.status().as_u16());
    }
    outcome
}

/// A response's head (with its full length declared) and its whole body.
async fn buffered(response: Response<Body>) -> (axum::http::response::Parts, Bytes) {
    let (mut head, body) = response.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    (head, full)
}

/// The answer of a [`FaultKind::Status`] fault.
fn canned(
    status: u16,
    headers: &[(String, String)],
    content_type: Option<&str>,
    body: String,
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status)
        .ok()
        .filter(|s| limits::FAULT_STATUSES.contains(&s.as_u16()))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(content_type) = content_type.and_then(|ct| HeaderValue::from_str(ct).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The answer of an [`FaultKind::Oversized`] fault: `{"padding":"xxx…"}`, `bytes` long (at most
/// [`limits::MAX_OVERSIZED_BYTES`]), streamed in chunks so that it is never held in memory whole.
fn oversized(bytes: usize) -> Response<Body> {
    const CHUNK: usize = 64 * 1024;
    static PADDING: [u8; CHUNK] = [b'x'; CHUNK];
    const OPEN: &[u8] = br#"{"padding":""#;
    const CLOSE: &[u8] = br#""}"#;
    let padding = bytes
        .min(limits::MAX_OVERSIZED_BYTES)
        .saturating_sub(OPEN.len() + CLOSE.len());
    let total = OPEN.len() + padding + CLOSE.len();
    let chunks = (0..padding.div_ceil(CHUNK)).map(move |i| {
        let size = (padding - i * CHUNK).min(CHUNK);
        Ok::<Bytes, std::io::Error>(Bytes::from_static(&PADDING[..size]))
    });
    let body = stream::iter(
        std::iter::once(Ok(Bytes::from_static(OPEN)))
            .chain(chunks)
            .chain(std::iter::once(Ok(Bytes::from_static(CLOSE)))),
    );
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    response
}

/// Whether `headers` carry `Authorization: Bearer <token>` (the scheme in any case), compared
/// in constant time.
fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (scheme, given) = value.split_at(space);
    let given = given.trim_ascii_start();
    scheme.eq_ignore_ascii_case(b"bearer") && same_secret(given, token.as_bytes())
}

/// `given == expected`, in time that depends only on the lengths.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let difference = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| std::hint::black_box(acc | (a ^ b)));
    difference == 0
}

/// The answer to a control request without the right token.
fn unauthorized() -> Response<Body> {
    let mut response = api::json(
        StatusCode::UNAUTHORIZED,
        json!({"error": "the control API needs the header Authorization: Bearer <control token>"})
            .to_string(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"deepidv-mock control\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::new();
        let waits: Vec<u128> = (0..10).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(5));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"token", b"token"));
        assert!(!same_secret(b"token", b"tokem"));
        assert!(!same_secret(b"token", b"token2"));
        assert!(!same_secret(b"", b"token"));
    }
}
