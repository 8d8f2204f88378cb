//! What the SDK tells `tracing`: one span per call, retries as DEBUG events, and (only when
//! [`ClientBuilder::log_bodies`](crate::ClientBuilder::log_bodies) is on) bodies as TRACE events,
//! truncated and with applicant data and file links redacted. The API key is never logged: it
//! travels only in a header marked sensitive, and headers are not logged.

use serde_json::Value;
use tracing::field::Empty;

use crate::{client::ClientInner, error::Operation};

/// The longest body text logged, in bytes.
const MAX_LOGGED_BODY: usize = 2 * 1024;

/// Keys whose values identify the applicant or grant access to their documents; their values are
/// replaced, at any depth, before a body is logged.
const REDACTED_KEYS: &[&str] = &[
    "first_name",
    "last_name",
    "firstName",
    "lastName",
    "email",
    "phone",
    "name",
    "birth_date",
    "date_of_birth",
    "id_extracted_text",
    "detect_face_data",
    "address",
    "street_address",
    "mailing_address",
    "formatted_address",
    "situs_address",
    "owner_names",
    "owner1_full_name",
    "owner2_full_name",
    "buyer_name",
    "seller_name",
    "title_search_data",
    "custom_form_data",
    "applicantSubmissionIp",
    "applicant_submission_ip",
    "applicantSubmissionLocation",
    "applicant_submission_location",
    "applicantSubmissionLocationDetails",
    "applicant_submission_location_details",
    "latitude",
    "longitude",
    "resource_links",
    "session_url",
    "redirect_url",
    "redirectUrl",
    "document_key",
    "document_analysis",
];

/// The span of one call: its operation, HTTP method and path template; attempts, the last status,
/// the duration and why it was retried are recorded as they happen.
pub(crate) fn call_span(operation: Operation) -> tracing::Span {
    tracing::info_span!(
        "deepidv",
        operation = operation.as_str(),
        method = operation.method(),
        path = operation.path_template(),
        attempt = Empty,
        status = Empty,
        retry_reason = Empty,
        outcome = Empty,
        duration_ms = Empty,
    )
}

/// Logs `body` at TRACE, redacted and truncated, if the client logs bodies.
pub(crate) fn body_if(client: &ClientInner, direction: &'static str, body: &impl serde::Serialize) {
    if !client.log_bodies || !tracing::enabled!(tracing::Level::TRACE) {
        return;
    }
    let Ok(mut value) = serde_json::to_value(body) else {
        return;
    };
    redact(&mut value);
    let mut text = value.to_string();
    if text.len() > MAX_LOGGED_BODY {
        let mut end = MAX_LOGGED_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("…(truncated)");
    }
    tracing::trace!(direction, body = %text, "body");
}

/// Replaces the values of [`REDACTED_KEYS`] at any depth.
fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                if REDACTED_KEYS.contains(&key.as_str()) {
                    if !member.is_null() {
                        *member = Value::String("[redacted]".to_owned());
                    }
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
