//! What the mock stores and what its journals hold.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One of the four operations of the sessions API, as the mock's faults and journal name them.
///
/// Named apart from the facade's `deepidv::Operation` (the same four operations, on the client's
/// side) so that a test using both crates needs no renaming import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum MockOperation {
    /// `POST /v1/sessions`.
    CreateSession,
    /// `GET /v1/sessions/{id}`.
    RetrieveSession,
    /// `GET /v1/sessions`.
    ListSessions,
    /// `PATCH /v1/sessions/{id}/update-status`.
    UpdateSessionStatus,
}

impl MockOperation {
    /// Every operation, in the API reference's order.
    pub const ALL: [MockOperation; 4] = [
        MockOperation::CreateSession,
        MockOperation::RetrieveSession,
        MockOperation::ListSessions,
        MockOperation::UpdateSessionStatus,
    ];

    /// The operation's id in the API reference (`createSession`), as the journal and the control
    /// API write it.
    ///
    /// ```
    /// assert_eq!(deepidv_mock::MockOperation::CreateSession.as_str(), "createSession");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            MockOperation::CreateSession => "createSession",
            MockOperation::RetrieveSession => "retrieveSession",
            MockOperation::ListSessions => "listSessions",
            MockOperation::UpdateSessionStatus => "updateSessionStatus",
        }
    }

    /// The operation named `name`, as the API reference writes it (`createSession`) or as Rust
    /// does (`CreateSession`).
    ///
    /// ```
    /// use deepidv_mock::MockOperation;
    /// assert_eq!(MockOperation::from_name("CreateSession"), Some(MockOperation::CreateSession));
    /// assert_eq!(MockOperation::from_name("listSessions"), Some(MockOperation::ListSessions));
    /// ```
    pub fn from_name(name: &str) -> Option<MockOperation> {
        MockOperation::ALL
            .into_iter()
            .find(|operation| operation.as_str().eq_ignore_ascii_case(name))
    }
}

/// A request the mock received on the API (control requests under `/__mock/` are not recorded).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, percent-encoded as received.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The operation the method and path name, if any.
    pub operation: Option<MockOperation>,
    /// Request headers; the `x-api-key` value is replaced by `[redacted]`.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The status answered, or `None` when a fault dropped the connection before the headers.
    pub status: Option<u16>,
    /// The fault applied to this request, if any (its kind's name).
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How an invitation would have been delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// An email to the applicant.
    Email,
    /// A text message to the applicant's phone.
    Sms,
}

/// An invitation a create would have sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Invite {
    /// The session it invites to.
    pub session_id: String,
    /// Email or SMS.
    pub channel: Channel,
    /// The address or number.
    pub to: String,
    /// The session's `external_id`, if it had one.
    pub external_id: Option<String>,
}

/// How [`MockServer::seed_sessions`](crate::MockServer::seed_sessions) fills the sessions it adds.
///
/// ```
/// let seed = deepidv_mock::SeedSessions::new().status("VERIFIED").workflow_id("wf_abc123");
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SeedSessions {
    /// Status of every session; by default they cycle through PENDING, SUBMITTED, VERIFIED,
    /// REJECTED, EXPIRED and FAILED.
    pub status: Option<String>,
    /// Workflow of every session.
    pub workflow_id: Option<String>,
    /// `external_id` prefix: session `i` gets `{prefix}{i}`.
    pub external_id_prefix: Option<String>,
    /// The key whose owner sends the sessions; the first configured key by default.
    pub owner_key: Option<String>,
    /// Time between consecutive sessions' `created_at`, ending at the mock's current time; one
    /// second by default.
    pub spacing: Option<std::time::Duration>,
    /// Whether sessions in a state the applicant has finished carry results, as after
    /// [`MockServer::submit`](crate::MockServer::submit): SUBMITTED, VERIFIED and REJECTED
    /// sessions get `analysis_data`, `meta_data`, `uploads`, `location`, `submitted_at` and
    /// resource links (the status is kept), FAILED sessions the failed attempts that
    /// [`MockServer::fail`](crate::MockServer::fail) records. PENDING, EXPIRED, VOIDED and
    /// unknown statuses get none. `None` (the default) means on; see
    /// [`with_results`](Self::with_results) for the memory it costs.
    pub results: Option<bool>,
}

impl SeedSessions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`status`](Self::status).
    #[must_use]
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Sets [`workflow_id`](Self::workflow_id).
    #[must_use]
    pub fn workflow_id(mut self, workflow_id: impl Into<String>) -> Self {
        self.workflow_id = Some(workflow_id.into());
        self
    }

    /// Sets [`external_id_prefix`](Self::external_id_prefix).
    #[must_use]
    pub fn external_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.external_id_prefix = Some(prefix.into());
        self
    }

    /// Sets [`owner_key`](Self::owner_key).
    #[must_use]
    pub fn owner_key(mut self, key: impl Into<String>) -> Self {
        self.owner_key = Some(key.into());
        self
    }

    /// Sets [`spacing`](Self::spacing).
    #[must_use]
    pub fn spacing(mut self, spacing: std::time::Duration) -> Self {
        self.spacing = Some(spacing);
        self
    }

    /// Sets [`results`](Self::results): whether finished sessions carry results (default on,
    /// like [`submit`](crate::MockServer::submit)).
    ///
    /// **Memory**: a session with results holds a copy of DeepIDV's published reference record,
    /// about 18 KB of JSON and about 100 KB of memory once parsed (measured: 10,000 sessions
    /// seeded SUBMITTED grew the process by about 1 GB with results, 38 MB without, about 4 KB
    /// each). Seeding the maximum, 100,000 finished sessions, with results would take about
    /// 10 GB; list pages carry the results too (a page of 500 is about 9 MB of JSON). Turn
    /// results off to seed many sessions cheaply; the default cycle of statuses gives results to
    /// half of the sessions.
    ///
    /// ```
    /// // 100,000 sessions for paging tests, without results.
    /// let seed = deepidv_mock::SeedSessions::new().status("VERIFIED").with_results(false);
    /// ```
    #[must_use]
    pub fn with_results(mut self, on: bool) -> Self {
        self.results = Some(on);
        self
    }
}

/// A stored session: the record as the API shows it, plus what the mock needs to scope and sort.
#[derive(Clone, Debug)]
pub(crate) struct StoredSession {
    /// Insertion order; breaks ties between equal `created_at`.
    pub seq: u64,
    pub created: DateTime<Utc>,
    pub organization_id: String,
    pub sender_user_id: String,
    /// The `session_record` object.
    pub record: Value,
    /// The applicant (`user`).
    pub applicant: Value,
    /// The sender (`sender_user`).
    pub sender: Value,
    /// Presigned-looking links to uploads, filled when the applicant submits.
    pub resource_links: serde_json::Map<String, Value>,
}

impl StoredSession {
    pub fn status(&self) -> &str {
        self.record["status"].as_str().unwrap_or_default()
    }
}

/// ISO-8601 with milliseconds and `Z`, as DeepIDV writes timestamps.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
