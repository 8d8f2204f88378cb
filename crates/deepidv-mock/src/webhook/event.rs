//! What a webhook delivery sends (the event and its envelope) and what its journal records.

use std::{fmt, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::model::timestamp;

/// An event DeepIDV sends to webhook endpoints (`docs/contract.md`, "Webhooks").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `session.created`: a session was created (`POST /v1/sessions`).
    #[serde(rename = "session.created")]
    SessionCreated,
    /// `session.status.submitted`: the applicant finished ([`MockServer::submit`](
    /// crate::MockServer::submit), `POST /__mock/sessions/{id}/submit`).
    #[serde(rename = "session.status.submitted")]
    SessionSubmitted,
    /// `session.status.verified`: the session was set to VERIFIED (update-status).
    #[serde(rename = "session.status.verified")]
    SessionVerified,
    /// `session.status.rejected`: the session was set to REJECTED (update-status).
    #[serde(rename = "session.status.rejected")]
    SessionRejected,
    /// `session.status.failed`: the checks could not complete ([`MockServer::fail`](
    /// crate::MockServer::fail), `POST /__mock/sessions/{id}/fail`).
    #[serde(rename = "session.status.failed")]
    SessionFailed,
}

impl WebhookEvent {
    /// The event's name on the wire, the envelope's `type`, such as `session.status.verified`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::SessionCreated => "session.created",
            WebhookEvent::SessionSubmitted => "session.status.submitted",
            WebhookEvent::SessionVerified => "session.status.verified",
            WebhookEvent::SessionRejected => "session.status.rejected",
            WebhookEvent::SessionFailed => "session.status.failed",
        }
    }

    /// The event a decision (`new_status`) sends, if any (VOIDED sends none).
    pub(crate) fn for_decision(status: &str) -> Option<Self> {
        match status {
            "VERIFIED" => Some(WebhookEvent::SessionVerified),
            "REJECTED" => Some(WebhookEvent::SessionRejected),
            _ => None,
        }
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt to deliver a webhook event to one endpoint, as
/// [`MockServer::webhook_deliveries`](crate::MockServer::webhook_deliveries) and
/// `GET /__mock/webhooks` report it. An entry is journaled when the attempt ends (answered, failed
/// or timed out).
///
/// In JSON the durations are in milliseconds (`retry_in_millis`, whole; `duration_millis`, to the
/// microsecond, such as `0.412`) and `sent_at` is a timestamp such as `2025-01-15T10:30:00.000Z`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// Numbers the delivery (one event to one endpoint), from 1 since the start or the last reset;
    /// every attempt of a delivery has the same number.
    pub delivery: u64,
    /// Whether this delivery is the second copy of an event, sent because of
    /// [`MockBuilder::webhook_duplicates`](crate::MockBuilder::webhook_duplicates) (the copy has
    /// its own delivery number; the body is the same).
    pub duplicate: bool,
    /// The event, the envelope's `type`.
    pub event: WebhookEvent,
    /// The session the event is about (the envelope's `data.id`).
    pub session_id: String,
    /// The endpoint's URL, as configured.
    pub url: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The HTTP status answered, or `None` when no answer came (see [`error`](Self::error)).
    pub status: Option<u16>,
    /// Why no answer came (connection refused, timeout, connection closed), or `None` when one
    /// came.
    pub error: Option<String>,
    /// Whether the answer was a 2xx: the delivery is done.
    pub delivered: bool,
    /// The wait before the next attempt, or `None` when this was the last (delivered, or the
    /// attempts are used up).
    #[serde(rename = "retry_in_millis", serialize_with = "optional_millis")]
    pub retry_in: Option<Duration>,
    /// When the attempt started, by the wall clock (the system's UTC time, not the mock's
    /// clock, which tests may freeze or move: retries and timeouts run in real time).
    #[serde(serialize_with = "wire_timestamp")]
    pub sent_at: DateTime<Utc>,
    /// How long the attempt took, from connecting to the answer's headers (or the failure).
    #[serde(rename = "duration_millis", serialize_with = "fractional_millis")]
    pub duration: Duration,
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds to the microsecond, such as `0.412`.
fn fractional_millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1_000_000.0).round() / 1_000.0)
}

fn optional_millis<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => millis(duration, serializer),
        None => serializer.serialize_none(),
    }
}

fn wire_timestamp<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&timestamp(*at))
}

/// The body DeepIDV posts: `{"type": …, "data": <session record>}`, `type` first as in the
/// published examples.
pub(super) fn envelope(event: WebhookEvent, record: &Value) -> String {
    format!(r#"{{"type":"{}","data":{record}}}"#, event.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_type_then_the_bare_record() {
        let record = serde_json::json!({"id": "s1", "status": "PENDING"});
        let body = envelope(WebhookEvent::SessionCreated, &record);
        assert!(
            body.starts_with(r#"{"type":"session.created","data":{"#),
            "{body}"
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"], record);
    }
}
