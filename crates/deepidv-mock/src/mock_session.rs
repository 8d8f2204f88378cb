//! [`MockSession`]: a typed, read-only view of one session the mock holds, for tests.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::StoredSession;

/// Where a mock session stands: DeepIDV's documented statuses, and any other text a seed gave
/// ([`SeedSessions::status`](crate::SeedSessions::status) accepts any value).
///
/// Compares with the wire's text, so tests can write either form:
///
/// ```
/// use deepidv_mock::MockSessionStatus;
/// assert_eq!(MockSessionStatus::from_wire("VERIFIED"), MockSessionStatus::Verified);
/// assert_eq!(MockSessionStatus::Verified, "VERIFIED");
/// assert_eq!(MockSessionStatus::from_wire("ON_HOLD").as_str(), "ON_HOLD");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MockSessionStatus {
    /// `PENDING`: created, the applicant has not finished.
    Pending,
    /// `SUBMITTED`: the applicant finished; awaiting a decision.
    Submitted,
    /// `VERIFIED`: decided, accepted.
    Verified,
    /// `REJECTED`: decided, refused.
    Rejected,
    /// `VOIDED`: cancelled (only with [`MockBuilder::accept_voided`](crate::MockBuilder::accept_voided)).
    Voided,
    /// `EXPIRED`: ran out of time ([`MockServer::expire`](crate::MockServer::expire)).
    Expired,
    /// `FAILED`: the checks could not complete ([`MockServer::fail`](crate::MockServer::fail)).
    Failed,
    /// Any other text, kept as stored (a seeded status the mock does not know).
    Other(String),
}

impl MockSessionStatus {
    /// The status a record's `status` text names.
    pub fn from_wire(text: &str) -> Self {
        match text {
            "PENDING" => Self::Pending,
            "SUBMITTED" => Self::Submitted,
            "VERIFIED" => Self::Verified,
            "REJECTED" => Self::Rejected,
            "VOIDED" => Self::Voided,
            "EXPIRED" => Self::Expired,
            "FAILED" => Self::Failed,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The status as the wire writes it, such as `VERIFIED`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::Submitted => "SUBMITTED",
            Self::Verified => "VERIFIED",
            Self::Rejected => "REJECTED",
            Self::Voided => "VOIDED",
            Self::Expired => "EXPIRED",
            Self::Failed => "FAILED",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for MockSessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for MockSessionStatus {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for MockSessionStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One session as the mock holds it, from [`MockServer::session`](crate::MockServer::session): a
/// snapshot taken when it was asked for (later changes do not show in it).
///
/// The accessors read the record the API serves (`session_record`) and the applicant (`user`);
/// [`json`](Self::json) gives the record itself for anything else.
///
/// ```no_run
/// # async fn run() -> Result<(), deepidv_mock::MockError> {
/// use deepidv_mock::{MockServer, MockSessionStatus, SeedSessions};
/// let mock = MockServer::start().await;
/// let ids = mock.seed_sessions(1, SeedSessions::new().status("SUBMITTED"))?;
/// let session = mock.session(&ids[0]).expect("just seeded");
/// assert_eq!(session.status(), &MockSessionStatus::Submitted);
/// assert!(session.has_results());
/// println!("{} {:?}", session.id(), session.json()["analysis_data"]["faceliveness_score"]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MockSession {
    id: String,
    status: MockSessionStatus,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    record: Value,
    applicant: Value,
}

impl MockSession {
    /// A snapshot of `stored`.
    pub(crate) fn from_stored(stored: &StoredSession) -> Self {
        let record = stored.record.clone();
        // The mock writes `updated_at` itself; a value that does not parse falls back to the
        // creation time rather than failing.
        let updated_at = record
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map_or(stored.created, |at| at.with_timezone(&Utc));
        Self {
            id: text(&record, "id").unwrap_or_default().to_owned(),
            status: MockSessionStatus::from_wire(stored.status()),
            created_at: stored.created,
            updated_at,
            applicant: stored.applicant.clone(),
            record,
        }
    }

    /// The session's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the session stands.
    pub fn status(&self) -> &MockSessionStatus {
        &self.status
    }

    /// The caller's reference (`external_id`), if the session has one.
    pub fn external_id(&self) -> Option<&str> {
        text(&self.record, "external_id")
    }

    /// The workflow (`workflow_id`), if the session has one.
    pub fn workflow_id(&self) -> Option<&str> {
        text(&self.record, "workflow_id")
    }

    /// The applicant's first name, as created (or seeded).
    pub fn first_name(&self) -> Option<&str> {
        text(&self.applicant, "first_name")
    }

    /// The applicant's last name.
    pub fn last_name(&self) -> Option<&str> {
        text(&self.applicant, "last_name")
    }

    /// The applicant's email address.
    pub fn email(&self) -> Option<&str> {
        text(&self.applicant, "email")
    }

    /// The applicant's phone number (seeded sessions have none).
    pub fn phone(&self) -> Option<&str> {
        text(&self.applicant, "phone")
    }

    /// When the session was created (`created_at`).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the session last changed (`updated_at`).
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// Whether the record carries the applicant's results (`analysis_data`): true after
    /// [`submit`](crate::MockServer::submit), and for sessions seeded SUBMITTED, VERIFIED or
    /// REJECTED with [`SeedSessions::with_results`](crate::SeedSessions::with_results) on.
    pub fn has_results(&self) -> bool {
        self.record
            .get("analysis_data")
            .is_some_and(Value::is_object)
    }

    /// The record as the API serves it (a retrieve's `session_record`, a list row).
    pub fn json(&self) -> &Value {
        &self.record
    }

    /// The applicant as the API serves it (a retrieve's `user`).
    pub fn applicant_json(&self) -> &Value {
        &self.applicant
    }
}

/// Field `name` of `value`, if it is text.
fn text<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}
