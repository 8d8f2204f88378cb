//! The four operations over HTTP: authentication, then the rules in `state.rs`.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch},
};

use crate::{
    state::Shared,
    store::{Failure, FailureBody, Outcome},
};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/sessions", get(list).post(create))
        .route("/v1/sessions/{id}", get(retrieve))
        .route("/v1/sessions/{id}/update-status", patch(update_status))
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
