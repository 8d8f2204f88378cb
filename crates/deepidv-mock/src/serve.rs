//! Serving connections: the accept loop, each connection's hyper service, and the control
//! token check.

use std::{fmt, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Request, Response, StatusCode, header},
    middleware,
};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::{
    api, control,
    fault_layer::{self, CloseConnection},
    state::Shared,
};

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

/// What requests are served by: the API, with the fault layer around its routes and its 404
/// fallback, and the control API, with its own fallback. Which one serves a request depends on its
/// path alone (see [`handle`]), so a control request is never journaled nor faulted.
#[derive(Clone)]
pub(crate) struct Routers {
    api: Router,
    control: Router,
}

impl Routers {
    pub fn new(shared: &Arc<Shared>) -> Self {
        let api = api::router()
            .fallback(api::not_found)
            .layer(middleware::from_fn_with_state(
                shared.clone(),
                fault_layer::inject,
            ))
            .with_state(shared.clone());
        let control = Router::new()
            .nest("/__mock", control::router())
            .fallback(api::not_found)
            .with_state(shared.clone());
        Self { api, control }
    }
}

/// Serves every connection `listener` accepts, until the task running it is aborted.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, routers: Routers) {
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
        let routers = routers.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(shared.clone(), routers.clone(), request)
            });
            // A connection ending badly (a client gone, a fault) is not the mock's problem.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// One request. A path under `/__mock` (any path starting so) is the control API's, behind the
/// control token if there is one; any other is the API's, and an answer marked
/// [`CloseConnection`] becomes an error, on which hyper closes the connection without answering.
async fn handle(
    shared: Arc<Shared>,
    routers: Routers,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Dropped> {
    let router = if request.uri().path().starts_with("/__mock") {
        if let Some(token) = shared.control_token()
            && !bearer_matches(request.headers(), token)
        {
            return Ok(unauthorized());
        }
        routers.control
    } else {
        routers.api
    };
    let response = router.oneshot(request).await;
    let response = response.unwrap_or_else(|never| match never {});
    if response.extensions().get::<CloseConnection>().is_some() {
        return Err(Dropped);
    }
    Ok(response)
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
