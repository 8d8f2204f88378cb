//! The control API under `/__mock/`: what [`MockServer`](crate::MockServer)'s methods do, over
//! HTTP, for the binary.
//!
//! | request | effect |
//! |---|---|
//! | `GET /__mock` | this list, as JSON |
//! | `POST /__mock/reset` | forget sessions, journals and faults |
//! | `GET /__mock/requests` | the request journal |
//! | `GET /__mock/invites` | the invitation journal |
//! | `POST /__mock/faults` | add a fault: `{"kind": {"type": "status", "status": 429}, "operation": "createSession", "remaining": 2}` |
//! | `DELETE /__mock/faults` | remove every fault |
//! | `POST /__mock/seed` | `{"count": 100, "status": "VERIFIED", "workflow_id": "…", "external_id_prefix": "…", "owner_key": "…", "spacing_millis": 1000}` |
//! | `POST /__mock/sessions/{id}/submit` (`fail`, `expire`) | move a session through the applicant's flow |
//! | `POST /__mock/clock/advance` | `{"seconds": 3600}` |
//! | `POST /__mock/keys/{key}/no-funds` | `{"enabled": true}` |

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Fault, SeedSessions, server::Shared, state::ApplicantStep};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/reset", post(reset))
        .route("/requests", get(requests))
        .route("/invites", get(invites))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/seed", post(seed))
        .route("/sessions/{id}/{step}", post(advance_session))
        .route("/clock/advance", post(advance_clock))
        .route("/keys/{key}/no-funds", post(no_funds))
}

fn done() -> Response {
    Json(json!({"ok": true})).into_response()
}

fn refused(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

async fn index() -> Json<Value> {
    Json(json!({
        "reset": "POST /__mock/reset",
        "requests": "GET /__mock/requests",
        "invites": "GET /__mock/invites",
        "add_fault": "POST /__mock/faults {kind: {type: status|delay|slow_body|drop_connection|drop_mid_body|oversized|process_then_drop, ...}, operation?, remaining?, probability?}",
        "clear_faults": "DELETE /__mock/faults",
        "seed": "POST /__mock/seed {count, status?, workflow_id?, external_id_prefix?, owner_key?, spacing_millis?}",
        "applicant": "POST /__mock/sessions/{id}/submit|fail|expire",
        "clock": "POST /__mock/clock/advance {seconds}",
        "no_funds": "POST /__mock/keys/{key}/no-funds {enabled}",
    }))
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().reset();
    done()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().requests.clone()).into_response()
}

async fn invites(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().invites.clone()).into_response()
}

async fn add_fault(State(shared): State<Arc<Shared>>, Json(fault): Json<Fault>) -> Response {
    shared.lock().faults.push(fault);
    done()
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().faults.clear();
    done()
}

#[derive(Deserialize)]
struct Seed {
    count: usize,
    status: Option<String>,
    workflow_id: Option<String>,
    external_id_prefix: Option<String>,
    owner_key: Option<String>,
    spacing_millis: Option<u64>,
}

async fn seed(State(shared): State<Arc<Shared>>, Json(request): Json<Seed>) -> Response {
    let options = SeedSessions {
        status: request.status,
        workflow_id: request.workflow_id,
        external_id_prefix: request.external_id_prefix,
        owner_key: request.owner_key,
        spacing: request.spacing_millis.map(Duration::from_millis),
    };
    match shared.lock().seed(request.count, &options) {
        Ok(ids) => Json(json!({ "ids": ids })).into_response(),
        Err(e) => refused(e),
    }
}

async fn advance_session(
    State(shared): State<Arc<Shared>>,
    Path((id, step)): Path<(String, String)>,
) -> Response {
    let step = match step.as_str() {
        "submit" => ApplicantStep::Submit,
        "fail" => ApplicantStep::Fail,
        "expire" => ApplicantStep::Expire,
        other => return refused(format!("unknown step {other}; use submit, fail or expire")),
    };
    match shared.lock().advance_session(&id, step) {
        Ok(()) => done(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    Json(request): Json<Advance>,
) -> Response {
    shared
        .lock()
        .clock
        .advance(chrono::Duration::seconds(request.seconds));
    done()
}

#[derive(Deserialize)]
struct NoFunds {
    enabled: bool,
}

async fn no_funds(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    Json(request): Json<NoFunds>,
) -> Response {
    let mut state = shared.lock();
    match state.keys.iter_mut().find(|k| k.key == key) {
        Some(found) => {
            found.no_funds = request.enabled;
            done()
        }
        None => refused(format!("unknown key {key}")),
    }
}
