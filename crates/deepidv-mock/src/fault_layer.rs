//! Fault injection: a middleware around the API's routes, their 404 fallback included (not
//! around the control API). It reads each request (at most 1 MiB; over that, 413 and nothing
//! else), takes the first fault that applies to the route's operation, journals the request on
//! arrival, and then answers, delays, cuts or drops as the fault says, filling in the journaled
//! status when an answer goes out.
//!
//! An axum router cannot close a connection without answering (its error type is `Infallible`):
//! for [`FaultKind::DropConnection`] and [`FaultKind::ProcessThenDrop`] the middleware answers with
//! [`CloseConnection`] in the response's extensions, and the connection service (`serve.rs`)
//! turns that answer into an error, on which hyper closes the connection.
//!
//! Every answer, a fault's included, leaves through axum's route, which adds `Content-Length`
//! when the body's length is known, `Allow` to a 405 path's answers, and empties answers to HEAD.

use std::{sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Response, StatusCode, header, request::Parts},
    middleware::Next,
};
use futures_util::{StreamExt, stream};
use http_body_util::BodyExt;
use serde_json::json;

use crate::{Fault, FaultKind, MockOperation, RecordedRequest, api, limits, state::Shared};

/// The largest request body the mock reads.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Marks a response that must not be sent: the connection is to be closed instead.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CloseConnection;

/// The middleware, for `axum::middleware::from_fn_with_state` with the mock's [`Shared`].
pub(crate) async fn inject(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return api::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "Request body too large"}).to_string(),
            );
        }
    };
    let operation = parts
        .extensions
        .get::<MatchedPath>()
        .and_then(|route| api::operation(&parts.method, route.as_str()));
    let fault = shared.lock().take_fault(operation);
    // Journaled on arrival (a client that gives up early still shows in it); the status is
    // filled in when the answer goes out.
    let recorded = recorded(&parts, operation, &body, fault.as_ref());
    let entry = shared.lock().journal_mut().record_request(recorded);
    let request = Request::from_parts(parts, Body::from(body));

    let response = match fault.map(|f| f.kind) {
        None => next.run(request).await,
        Some(FaultKind::Status {
            status,
            headers,
            content_type,
            body,
        }) => canned(status, &headers, content_type.as_deref(), body),
        Some(FaultKind::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(FaultKind::SlowBody { millis }) => {
            let (head, full) = buffered(next.run(request).await).await;
            let delayed = stream::once(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok::<Bytes, std::io::Error>(full)
            });
            Response::from_parts(head, Body::from_stream(delayed))
        }
        Some(FaultKind::DropMidBody) => {
            let (head, full) = buffered(next.run(request).await).await;
            let half = full.slice(..full.len() / 2);
            // The pause lets the headers and the first half reach the client before the cut.
            let cut = stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other(
                    "connection dropped by an injected fault",
                ))
            });
            let broken = stream::once(async { Ok(half) }).chain(cut);
            Response::from_parts(head, Body::from_stream(broken))
        }
        Some(FaultKind::Oversized { bytes }) => oversized(bytes),
        Some(FaultKind::DropConnection) => return close_connection(),
        Some(FaultKind::ProcessThenDrop) => {
            let _processed = next.run(request).await;
            return close_connection();
        }
    };
    shared
        .lock()
        .journal_mut()
        .record_status(entry, response.status().as_u16());
    response
}

/// The journal's entry for a request, the `x-api-key` value redacted.
fn recorded(
    parts: &Parts,
    operation: Option<MockOperation>,
    body: &[u8],
    fault: Option<&Fault>,
) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
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
        body: String::from_utf8_lossy(body).into_owned(),
        status: None,
        fault: fault.map(|f| f.name().to_owned()),
    }
}

/// The answer that closes the connection instead of being sent.
fn close_connection() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    response.extensions_mut().insert(CloseConnection);
    response
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
