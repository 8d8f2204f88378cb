//! The control API under `/__mock/`: what [`MockServer`](crate::MockServer)'s methods do, over
//! HTTP, for the binary.
//!
//! | request | effect |
//! |---|---|
//! | `GET /__mock` | this list, as JSON, with the operations, the fault kinds and their fields |
//! | `POST /__mock/reset` | forget sessions, journals and faults |
//! | `GET /__mock/requests` | the request journal |
//! | `GET /__mock/invites` | the invitation journal |
//! | `GET /__mock/webhooks` | the webhook delivery journal, one entry per attempt ([`WebhookDelivery`](crate::WebhookDelivery)) |
//! | `POST /__mock/faults` | add a fault: `{"kind": {"type": "status", "status": 429}, "operation": "createSession", "remaining": 2}` |
//! | `DELETE /__mock/faults` | remove every fault |
//! | `POST /__mock/seed` | `{"count": 100, "status": "VERIFIED", "workflow_id": "…", "external_id_prefix": "…", "owner_key": "…", "spacing_millis": 1000, "with_results": true}`; `with_results` (default true) gives finished sessions results, as [`SeedSessions::with_results`](crate::SeedSessions::with_results) |
//! | `POST /__mock/sessions/{id}/submit` (`fail`, `expire`) | move a session through the applicant's flow |
//! | `POST /__mock/clock/advance` | `{"seconds": 3600}` |
//! | `POST /__mock/keys/{key}/no-funds` | `{"enabled": true}` |
//!
//! Every input is checked before anything changes; a value of the wrong type or outside its
//! range (see [`limits`](crate::limits)) is answered 400 `{"error": "…"}`, naming the field and
//! its allowed range:
//!
//! | field | allowed |
//! |---|---|
//! | `seconds` | integer, −3,155,760,000 to 3,155,760,000 (100 years), and the clock must stay within 1970-01-01T00:00:00.000Z to 9998-12-31T23:59:59.999Z |
//! | `count` | integer, 0 to 100,000 |
//! | `spacing_millis` | integer, 0 to 86,400,000 (one day) |
//! | `with_results` | `true` or `false` (default `true`) |
//! | `kind.status` | integer, 100 to 599 |
//! | `kind.millis` (`delay`, `slow_body`) | integer, 0 to 3,600,000 (one hour) |
//! | `kind.bytes` (`oversized`) | integer, 0 to 268,435,456 (256 MiB) |
//! | `kind.headers` | `[[name, value], …]`, valid HTTP header names and values |
//! | `remaining` | integer, 1 to 4,294,967,295 (default 1) |
//! | `probability` | number, 0 to 1 (default: always) |
//! | `operation` | `createSession`, `retrieveSession`, `listSessions`, `updateSessionStatus` (or as Rust writes them: `CreateSession`, …) |
//!
//! With a control token configured ([`MockBuilder::control_token`](crate::MockBuilder::control_token),
//! `--control-token`), every request here needs `Authorization: Bearer <token>`, or gets 401.

use std::{ops::RangeInclusive, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Map, Value, json};

use crate::{
    Fault, FaultKind, MockOperation, SeedSessions, limits, state::Shared, store::ApplicantStep,
};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/reset", post(reset))
        .route("/requests", get(requests))
        .route("/invites", get(invites))
        .route("/webhooks", get(webhooks))
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
    let operations: Vec<Value> = MockOperation::ALL
        .iter()
        .map(|operation| json!({"name": operation.as_str(), "rust": format!("{operation:?}")}))
        .collect();
    Json(json!({
        "operations": operations,
        "fault_kinds": {
            "status": {"status": "integer (required)", "headers": "[[name, value], …]", "content_type": "string", "body": "string"},
            "delay": {"millis": "integer (required): before the headers"},
            "slow_body": {"millis": "integer (required): between the headers and the body"},
            "drop_connection": {},
            "drop_mid_body": {},
            "oversized": {"bytes": "integer (required)"},
            "process_then_drop": {},
        },
        "fault_fields": {
            "kind": "object: {type: <a fault kind>, …its fields}",
            "operation": "an operation's name (either spelling); absent: every request",
            "remaining": "integer: how many requests it applies to (default 1)",
            "probability": "number: the chance it applies to a request (default: always)",
        },
        "reset": "POST /__mock/reset",
        "requests": "GET /__mock/requests",
        "invites": "GET /__mock/invites",
        "webhooks": "GET /__mock/webhooks",
        "add_fault": "POST /__mock/faults {kind: {type: status|delay|slow_body|drop_connection|drop_mid_body|oversized|process_then_drop, ...}, operation?, remaining?, probability?}",
        "clear_faults": "DELETE /__mock/faults",
        "seed": "POST /__mock/seed {count, status?, workflow_id?, external_id_prefix?, owner_key?, spacing_millis?, with_results?}",
        "applicant": "POST /__mock/sessions/{id}/submit|fail|expire",
        "clock": "POST /__mock/clock/advance {seconds}",
        "no_funds": "POST /__mock/keys/{key}/no-funds {enabled}",
        "limits": {
            "seconds": format!("-{0} to {0} (100 years); the clock stays within {1}", limits::MAX_CLOCK_ADVANCE_SECONDS, limits::clock_range_text()),
            "count": format!("0 to {}", limits::MAX_SEED_COUNT),
            "spacing_millis": format!("0 to {} (one day)", limits::MAX_SEED_SPACING.as_millis()),
            "kind.status": format!("{} to {}", limits::FAULT_STATUSES.start(), limits::FAULT_STATUSES.end()),
            "kind.millis": format!("0 to {} (one hour)", limits::MAX_FAULT_DELAY.as_millis()),
            "kind.bytes": format!("0 to {} (256 MiB)", limits::MAX_OVERSIZED_BYTES),
            "remaining": format!("1 to {}", u32::MAX),
            "probability": "0 to 1",
        },
    }))
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().reset();
    done()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().journal().requests().to_vec()).into_response()
}

async fn invites(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().journal().invites().to_vec()).into_response()
}

async fn webhooks(State(shared): State<Arc<Shared>>) -> Response {
    let journal = shared.lock().store().webhook_deliveries();
    Json(journal).into_response()
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match object(&body).and_then(|fields| fault(&fields)) {
        Ok(fault) => {
            shared.lock().faults_mut().push(fault);
            done()
        }
        Err(message) => refused(message),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().faults_mut().clear();
    done()
}

async fn seed(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = object(&body).and_then(|fields| {
        let count = integer(&fields, "count", 0..=limits::MAX_SEED_COUNT as i64)?
            .ok_or_else(|| range_message("count", &(0..=limits::MAX_SEED_COUNT as i64)))?;
        let spacing_millis = integer(
            &fields,
            "spacing_millis",
            0..=limits::MAX_SEED_SPACING.as_millis() as i64,
        )?;
        let options = SeedSessions {
            status: text(&fields, "status")?,
            workflow_id: text(&fields, "workflow_id")?,
            external_id_prefix: text(&fields, "external_id_prefix")?,
            owner_key: text(&fields, "owner_key")?,
            spacing: spacing_millis.map(|millis| Duration::from_millis(millis.unsigned_abs())),
            results: boolean(&fields, "with_results")?,
        };
        let count = usize::try_from(count).map_err(|e| format!("count: {e}"))?;
        Ok((count, options))
    });
    let (count, options) = match request {
        Ok(request) => request,
        Err(message) => return refused(message),
    };
    match shared.lock().store_mut().seed(count, &options) {
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
    match shared.lock().store_mut().advance_session(&id, step) {
        Ok(()) => done(),
        Err(e) => refused(e),
    }
}

async fn advance_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let max = limits::MAX_CLOCK_ADVANCE_SECONDS;
    let seconds = object(&body).and_then(|fields| {
        integer(&fields, "seconds", -max..=max)
            .map_err(|e| format!("{e} (100 years)"))?
            .ok_or_else(|| format!("{} (100 years)", range_message("seconds", &(-max..=max))))
    });
    let seconds = match seconds {
        Ok(seconds) => seconds,
        Err(message) => return refused(message),
    };
    match shared
        .lock()
        .store_mut()
        .advance_time(chrono::Duration::seconds(seconds))
    {
        Ok(()) => done(),
        Err(e) => refused(format!("seconds {seconds} refused: {e}")),
    }
}

async fn no_funds(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let enabled = object(&body).and_then(|fields| match fields.get("enabled") {
        Some(Value::Bool(enabled)) => Ok(*enabled),
        _ => Err("enabled must be true or false".to_owned()),
    });
    let enabled = match enabled {
        Ok(enabled) => enabled,
        Err(message) => return refused(message),
    };
    match shared.lock().store_mut().set_no_funds(&key, enabled) {
        Ok(()) => done(),
        Err(e) => refused(e),
    }
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("the body must be a JSON object".to_owned()),
        Err(e) => Err(format!("the body is not valid JSON: {e}")),
    }
}

fn range_message(name: &str, range: &RangeInclusive<i64>) -> String {
    format!(
        "{name} must be an integer from {} to {}",
        range.start(),
        range.end()
    )
}

/// Field `name`, an integer within `range`, if present and not null.
fn integer(
    fields: &Map<String, Value>,
    name: &str,
    range: RangeInclusive<i64>,
) -> Result<Option<i64>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| format!("{}, not {value}", range_message(name, &range))),
    }
}

/// Field `name`, a string, if present and not null.
fn text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(format!("{name} must be a string, not {other}")),
    }
}

/// Field `name`, a boolean, if present and not null.
fn boolean(fields: &Map<String, Value>, name: &str) -> Result<Option<bool>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(on)) => Ok(Some(*on)),
        Some(other) => Err(format!("{name} must be true or false, not {other}")),
    }
}

/// A fault, checked field by field.
fn fault(fields: &Map<String, Value>) -> Result<Fault, String> {
    let kind = match fields.get("kind") {
        Some(Value::Object(kind)) => kind,
        _ => return Err("kind must be an object such as {\"type\": \"drop_connection\"}".into()),
    };
    let kind = fault_kind(kind)?;
    let operation = match text(fields, "operation")?.as_deref() {
        None => None,
        Some(name) => Some(MockOperation::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = MockOperation::ALL.iter().map(|o| o.as_str()).collect();
            format!(
                "operation must be one of {} (or as Rust writes them, CreateSession, ...), not {name:?}",
                names.join(", ")
            )
        })?),
    };
    let remaining = integer(fields, "remaining", 1..=i64::from(u32::MAX))?
        .map(u32::try_from)
        .transpose()
        .map_err(|e| format!("remaining: {e}"))?
        .unwrap_or(1);
    let probability = match fields.get("probability") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_f64()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| format!("probability must be a number from 0 to 1, not {value}"))?,
        ),
    };
    let mut fault = Fault::drop_connection().times(remaining);
    fault.kind = kind;
    fault.operation = operation;
    fault.probability = probability;
    Ok(fault)
}

/// Field `kind.{name}`, a required integer within `range`; `note` explains the range.
fn kind_integer(
    kind: &Map<String, Value>,
    name: &str,
    range: RangeInclusive<i64>,
    note: &str,
) -> Result<i64, String> {
    integer(kind, name, range.clone())
        .map_err(|e| format!("kind.{e}{note}"))?
        .ok_or_else(|| format!("kind.{}{note}", range_message(name, &range)))
}

fn fault_kind(kind: &Map<String, Value>) -> Result<FaultKind, String> {
    let millis = || -> Result<u64, String> {
        let range = 0..=limits::MAX_FAULT_DELAY.as_millis() as i64;
        Ok(kind_integer(kind, "millis", range, " (one hour)")?.unsigned_abs())
    };
    let kind_name = text(kind, "type").map_err(|e| format!("kind.{e}"))?;
    Ok(match kind_name.as_deref() {
        Some("status") => {
            let range = i64::from(*limits::FAULT_STATUSES.start())
                ..=i64::from(*limits::FAULT_STATUSES.end());
            let status = kind_integer(kind, "status", range, "")?;
            let status = u16::try_from(status).map_err(|e| format!("kind.status: {e}"))?;
            let headers = headers(kind.get("headers"))?;
            let content_type = text(kind, "content_type").map_err(|e| format!("kind.{e}"))?;
            if let Some(content_type) = &content_type {
                HeaderValue::from_str(content_type).map_err(|_| {
                    format!("kind.content_type {content_type:?} is not a valid header value")
                })?;
            }
            let body = text(kind, "body")
                .map_err(|e| format!("kind.{e}"))?
                .unwrap_or_default();
            FaultKind::Status {
                status,
                headers,
                content_type,
                body,
            }
        }
        Some("delay") => FaultKind::Delay { millis: millis()? },
        Some("slow_body") => FaultKind::SlowBody { millis: millis()? },
        Some("drop_connection") => FaultKind::DropConnection,
        Some("drop_mid_body") => FaultKind::DropMidBody,
        Some("oversized") => {
            let range = 0..=limits::MAX_OVERSIZED_BYTES as i64;
            let bytes = kind_integer(kind, "bytes", range, " (256 MiB)")?;
            FaultKind::Oversized {
                bytes: usize::try_from(bytes).map_err(|e| format!("kind.bytes: {e}"))?,
            }
        }
        Some("process_then_drop") => FaultKind::ProcessThenDrop,
        other => {
            return Err(format!(
                "kind.type must be one of status, delay, slow_body, drop_connection, \
                 drop_mid_body, oversized, process_then_drop, not {other:?}"
            ));
        }
    })
}

/// `kind.headers`: `[[name, value], …]` with valid names and values.
fn headers(value: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    let invalid = || "kind.headers must be a list of [name, value] pairs of strings".to_owned();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let pairs = value.as_array().ok_or_else(invalid)?;
    pairs
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(name), Value::String(value)]) => {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("kind.headers: {name:?} is not a valid header name"))?;
                HeaderValue::from_str(value).map_err(|_| {
                    format!("kind.headers: the value of {name:?} is not a valid header value")
                })?;
                Ok((name.clone(), value.clone()))
            }
            _ => Err(invalid()),
        })
        .collect()
}
