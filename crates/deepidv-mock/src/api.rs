//! The four operations over HTTP: authentication, then the rules in `store/`. Its routes are
//! also how the fault layer tells which operation a request is for ([`operation`]).

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get, patch},
};

use crate::{
    MockOperation,
    state::Shared,
    store::{Failure, FailureBody, Outcome},
};

// The routes: `router` serves them, and `operation` reads them back from `MatchedPath`.
const SESSIONS: &str = "/v1/sessions";
const SESSION: &str = "/v1/sessions/{id}";
const UPDATE_STATUS: &str = "/v1/sessions/{id}/update-status";
/// Not the API's: answered 404 like any unknown path. It has a route only so that a `POST` or
/// `GET` of it is journaled, and faulted, as a create or a list, as the mock always did.
const SESSIONS_SLASH: &str = "/v1/sessions/";

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(SESSIONS, get(list).post(create))
        .route(SESSION, get(retrieve))
        .route(UPDATE_STATUS, patch(update_status))
        .route(SESSIONS_SLASH, any(not_found))
}

/// The operation of a request to `route` (a route's template, as [`axum::extract::MatchedPath`]
/// gives it) with `method`; `None` for anything else, `HEAD` included.
pub(crate) fn operation(method: &Method, route: &str) -> Option<MockOperation> {
    match (method.as_str(), route) {
        ("POST", SESSIONS | SESSIONS_SLASH) => Some(MockOperation::CreateSession),
        ("GET", SESSIONS | SESSIONS_SLASH) => Some(MockOperation::ListSessions),
        ("GET", SESSION) => Some(MockOperation::RetrieveSession),
        ("PATCH", UPDATE_STATUS) => Some(MockOperation::UpdateSessionStatus),
        _ => None,
    }
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-api-key").and_then(|v| v.to_str().ok())
}

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = shared.lock();
    respond(
        state
            .store_mut()
            .authenticate(api_key(&headers), true)
            .and_then(|key| state.create(key, &body)),
    )
}

async fn retrieve(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = shared.lock();
    let store = state.store_mut();
    respond(
        store
            .authenticate(api_key(&headers), false)
            .and_then(|key| store.retrieve(key, &id)),
    )
}

async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut state = shared.lock();
    let store = state.store_mut();
    respond(
        store
            .authenticate(api_key(&headers), false)
            .and_then(|key| store.list(key, query.as_deref())),
    )
}

async fn update_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut state = shared.lock();
    let store = state.store_mut();
    respond(
        store
            .authenticate(api_key(&headers), true)
            .and_then(|key| store.update_status(key, &id, &body)),
    )
}

pub(crate) fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(body) => json(StatusCode::OK, body.to_string()),
        Err(failure) => failure_response(failure),
    }
}

pub(crate) fn failure_response(Failure { status, body }: Failure) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        FailureBody::Json(body) => json(status, body.to_string()),
        FailureBody::Text(text) => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response(),
    }
}

pub(crate) fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The answer to a path no route knows.
pub(crate) async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({"error": "Not found"}).to_string(),
    )
}
