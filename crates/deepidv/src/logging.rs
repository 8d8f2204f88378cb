//! What the SDK tells `tracing`: one span per call, retries as DEBUG events, and (only when
//! [`ClientBuilder::log_bodies`](crate::ClientBuilder::log_bodies) is on) bodies as TRACE events,
//! truncated, with every value redacted but those of a short allowlist of non-personal keys. The API key is never logged: it
//! travels only in a header marked sensitive, and headers are not logged.

use serde_json::Value;
use tracing::field::Empty;

use crate::{endpoint::Operation, text};

/// The longest body text logged, in bytes.
const MAX_LOGGED_BODY: usize = 2 * 1024;

/// The keys whose values are logged as they are, at any depth: identifiers of sessions and
/// accounts, states, kinds, timestamps, scores and counts. Every other string or number is
/// replaced by `[redacted]` (an allowlist: a field DeepIDV adds later is redacted until it is
/// listed here). Booleans and nulls are kept: they say what happened, not who it happened to.
const LOGGED_KEYS: &[&str] = &[
    // identifiers: DeepIDV's, and the caller's own reference (`external_id`), which is what logs
    // are searched by
    "id",
    "external_id",
    "externalId",
    "workflowId",
    "organization_id",
    "user_id",
    "sender_user_id",
    "workflow_id",
    "permalink_id",
    "bank_statement_request_id",
    "deep_sign_id",
    "face_liveness_session_id",
    "next_token",
    // states and kinds
    "status",
    "new_status",
    "type",
    "session_progress",
    "workflow_steps",
    "severity",
    // timestamps
    "created_at",
    "updated_at",
    "submitted_at",
    "expires_at",
    "timestamp",
    "analysis_timestamp",
    "failedAt",
    "declinedAt",
    // scores and counts
    "faceliveness_score",
    "face_match_confidence",
    "confidence",
    "score",
    "overall_risk_score",
    "total_hits",
    "documents_analyzed",
    "documents_with_signals",
    "failedAttempts",
    "limit",
    "expiresInHours",
];

/// The span of one call: its operation, HTTP method and path template; attempts, the last status
/// and request id, the duration and why it was retried are recorded as they happen.
pub(crate) fn call_span(operation: Operation) -> tracing::Span {
    tracing::info_span!(
        "deepidv",
        operation = operation.as_str(),
        method = operation.endpoint().method,
        path = operation.endpoint().path,
        attempt = Empty,
        status = Empty,
        request_id = Empty,
        retry_reason = Empty,
        outcome = Empty,
        duration_ms = Empty,
    )
}

/// Logs `body` at TRACE, redacted and truncated (the caller checks that the client logs bodies).
pub(crate) fn body(direction: &'static str, body: &impl serde::Serialize) {
    if !tracing::enabled!(tracing::Level::TRACE) {
        return;
    }
    let Ok(mut value) = serde_json::to_value(body) else {
        return;
    };
    redact(&mut value);
    let text = value.to_string();
    let kept = text::truncate(&text, MAX_LOGGED_BODY);
    if kept.len() < text.len() {
        tracing::trace!(direction, body = %format_args!("{kept}…(truncated)"), "body");
    } else {
        tracing::trace!(direction, body = %text, "body");
    }
}

/// The value of a listed key: its scalars (and lists of them) are kept, but a listed name over an
/// object (a `type` that is a record) vouches for nothing inside it.
fn keep_scalars(value: &mut Value) {
    match value {
        Value::Object(_) => redact(value),
        Value::Array(items) => items.iter_mut().for_each(keep_scalars),
        _ => {}
    }
}

/// Replaces every string and number outside [`LOGGED_KEYS`], at any depth.
fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                if LOGGED_KEYS.contains(&key.as_str()) {
                    keep_scalars(member);
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(_) | Value::Number(_) => *value = Value::String("[redacted]".to_owned()),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The string values of `value`: those under listed keys (and the keys), and all others.
    fn strings<'a>(
        value: &'a Value,
        listed: bool,
        allowed: &mut HashSet<&'a str>,
        others: &mut HashSet<&'a str>,
    ) {
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    // Keys are kept (they are the schema's, or categories and slot names).
                    allowed.insert(key);
                    let listed = LOGGED_KEYS.contains(&key.as_str()) && !member.is_object();
                    strings(member, listed, allowed, others);
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|item| strings(item, listed && !item.is_object(), allowed, others)),
            Value::String(text) if listed => {
                allowed.insert(text);
            }
            Value::String(text) => {
                others.insert(text);
            }
            _ => {}
        }
    }

    #[test]
    fn the_published_record_logs_no_string_outside_the_allowlist() {
        let record: Value = serde_json::from_str(include_str!(
            "../tests/fixtures/retrieve-session.response.json"
        ))
        .unwrap();
        let (mut allowed, mut others) = (HashSet::new(), HashSet::new());
        strings(&record, false, &mut allowed, &mut others);
        let mut logged = record.clone();
        redact(&mut logged);
        let text = logged.to_string();
        let hidden: Vec<_> = others.difference(&allowed).collect();
        assert!(hidden.len() > 50, "the record has personal strings to hide");
        for value in hidden {
            let quoted = Value::String((*value).to_owned()).to_string();
            assert!(!text.contains(&quoted), "{quoted} was kept");
        }
        for value in &allowed {
            let quoted = Value::String((*value).to_owned()).to_string();
            assert!(text.contains(&quoted), "{quoted} was redacted");
        }
    }

    #[test]
    fn applicant_data_is_redacted_at_any_depth() {
        let mut body = serde_json::json!({
            "session_record": {"id": "s1", "status": "VERIFIED", "analysis_data": {"id_analysis_data": {"id_extracted_text": [{"value": "JOHN"}]}}},
            "user": {"email": "a@b.co", "first_name": "John", "phone": null},
            "resource_links": {"id_front": "https://s3/..."}
        });
        redact(&mut body);
        let text = body.to_string();
        for secret in ["JOHN", "a@b.co", "John", "https://s3"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("\"status\":\"VERIFIED\""));
        assert_eq!(body["user"]["phone"], Value::Null);
    }

    #[test]
    fn only_listed_keys_keep_their_values() {
        let mut body = serde_json::json!({
            "id": "s1",
            "a_field_added_later": "Jane",
            "analysis_data": {"face_match_confidence": 97.5, "latitude": 43.6, "id_matches_selfie": true},
            "type": {"nested": "secret"},
            "status": [{"note": "secret"}, "PENDING"],
            "workflow_steps": ["ID_VERIFICATION"],
            "custom_form_data": [{"question": "Q", "answer": ["a", "b"], "type": "multi"}],
        });
        redact(&mut body);
        assert_eq!(
            body,
            serde_json::json!({
                "id": "s1",
                "a_field_added_later": "[redacted]",
                "analysis_data": {"face_match_confidence": 97.5, "latitude": "[redacted]", "id_matches_selfie": true},
                "type": {"nested": "[redacted]"},
                "status": [{"note": "[redacted]"}, "PENDING"],
                "workflow_steps": ["ID_VERIFICATION"],
                "custom_form_data": [{"question": "[redacted]", "answer": ["[redacted]", "[redacted]"], "type": "multi"}],
            })
        );
    }
}
