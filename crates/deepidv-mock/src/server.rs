//! [`MockServer`]: controlling and stopping a running mock, without HTTP.

use std::{fmt, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::{
    Fault, Invite, MockSession, RecordedRequest, SeedSessions,
    state::Shared,
    store::ApplicantStep,
    webhook::{WebhookDelivery, Webhooks},
};

/// A running mock. Dropping it stops the server, closes its connections and stops the webhook
/// deliveries under way.
pub struct MockServer {
    url: String,
    live_key: Option<String>,
    sandbox_key: Option<String>,
    shared: Arc<Shared>,
    webhooks: Webhooks,
    task: JoinHandle<()>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
        self.webhooks.stop();
    }
}

/// A control call that could not be done (an unknown session id, a port in use, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockError(String);

impl MockError {
    pub(crate) fn new(message: String) -> Self {
        Self(message)
    }
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MockError {}

impl MockServer {
    /// A mock serving at `url` on `task`.
    pub(crate) fn new(
        url: String,
        live_key: Option<String>,
        sandbox_key: Option<String>,
        shared: Arc<Shared>,
        webhooks: Webhooks,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            url,
            live_key,
            sandbox_key,
            shared,
            webhooks,
            task,
        }
    }

    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first live key (the demo key unless keys were configured).
    ///
    /// # Panics
    ///
    /// If only sandbox keys were configured.
    pub fn api_key(&self) -> &str {
        self.live_key
            .as_deref()
            .unwrap_or_else(|| panic!("this mock has no live key"))
    }

    /// The first sandbox key, if any.
    pub fn sandbox_key(&self) -> Option<&str> {
        self.sandbox_key.as_deref()
    }

    /// Adds `n` sessions directly (no HTTP, no rate limit, no invites, no webhook events), spaced
    /// one second apart by default and ending at the mock's current time. Returns their ids,
    /// oldest first. Finished ones (SUBMITTED, VERIFIED, REJECTED, FAILED) carry the results
    /// [`submit`](Self::submit) or [`fail`](Self::fail) would give, unless
    /// [`SeedSessions::with_results`] is off (results cost about 100 KB of memory a session).
    ///
    /// Fails, adding nothing, for more than [`MAX_SEED_COUNT`](crate::limits::MAX_SEED_COUNT)
    /// (100,000) sessions, a spacing over
    /// [`MAX_SEED_SPACING`](crate::limits::MAX_SEED_SPACING) (one day), or an unknown owner key.
    pub fn seed_sessions(&self, n: usize, options: SeedSessions) -> Result<Vec<String>, MockError> {
        self.shared
            .lock()
            .store_mut()
            .seed(n, &options)
            .map_err(MockError)
    }

    /// The applicant finishes: the session becomes SUBMITTED with realistic results
    /// (`analysis_data`, `meta_data`, uploads and their links).
    pub fn submit(&self, session_id: &str) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .advance_session(session_id, ApplicantStep::Submit)
            .map_err(MockError)
    }

    /// The checks could not complete: the session becomes FAILED with its failed attempts.
    pub fn fail(&self, session_id: &str) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .advance_session(session_id, ApplicantStep::Fail)
            .map_err(MockError)
    }

    /// The session runs out of time: it becomes EXPIRED.
    pub fn expire(&self, session_id: &str) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .advance_session(session_id, ApplicantStep::Expire)
            .map_err(MockError)
    }

    /// A snapshot of a session, if it exists: its id, status, applicant and timestamps, typed,
    /// and the record as the API would show it ([`MockSession::json`]).
    pub fn session(&self, session_id: &str) -> Option<MockSession> {
        self.shared.lock().store().session(session_id)
    }

    /// How many sessions the mock holds.
    pub fn session_count(&self) -> usize {
        self.shared.lock().store().session_count()
    }

    /// Adds a fault; faults are tried in the order they were added. Values past the
    /// [`limits`](crate::limits) are clamped to them (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults_mut().push(fault.bounded());
    }

    /// Removes every fault not yet used up.
    pub fn clear_faults(&self) {
        self.shared.lock().faults_mut().clear();
    }

    /// Every API request received so far (up to the last 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().journal().requests().to_vec()
    }

    /// How many API requests arrived since the start (or the last reset), including those the
    /// journal's cap no longer holds.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().journal().request_count()
    }

    /// Every invitation creates would have sent (up to the last 10,000), oldest first.
    pub fn invites(&self) -> Vec<Invite> {
        self.shared.lock().journal().invites().to_vec()
    }

    /// Answers creates made with `key` with 402 `Insufficient funds or subscription.` while
    /// `enabled`.
    pub fn set_no_funds(&self, key: &str, enabled: bool) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .set_no_funds(key, enabled)
            .map_err(MockError)
    }

    /// The mock's current time (what a create now would record as `created_at`).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.lock().store().now()
    }

    /// Stops the clock at `at`; it then moves only with [`advance_time`](Self::advance_time).
    ///
    /// The clock stays between 1970-01-01T00:00:00.000Z and 9998-12-31T23:59:59.999Z
    /// ([`CLOCK_EARLIEST_MILLIS`](crate::limits::CLOCK_EARLIEST_MILLIS),
    /// [`CLOCK_LATEST_MILLIS`](crate::limits::CLOCK_LATEST_MILLIS)): an `at` outside that range
    /// is moved to its nearer end.
    pub fn freeze_time(&self, at: DateTime<Utc>) {
        self.shared.lock().store_mut().freeze_time(at);
    }

    /// Moves the clock forward (or back, with a negative duration). A move that would take it
    /// out of its range (see [`freeze_time`](Self::freeze_time)) stops at the range's end. (Over
    /// HTTP, a move of more than 100 years, or one leaving the range, is refused with a 400.)
    pub fn advance_time(&self, by: chrono::Duration) {
        self.shared.lock().store_mut().advance_time_saturating(by);
    }

    /// Forgets every session, journal entry (webhook deliveries included) and fault, stops the
    /// webhook deliveries under way, and resets the clock and generator.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Every webhook delivery attempt so far (up to the last 10,000), oldest first: one entry
    /// per attempt, journaled when the attempt ends. `GET /__mock/webhooks` serves the same.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.webhooks.deliveries()
    }

    /// Waits until at least `n` webhook delivery attempts have been journaled since the start
    /// (or the last reset), counting those the journal's cap no longer holds; then returns
    /// the journal. Fails when `timeout` passes first, saying how far the deliveries got.
    ///
    /// It waits on the journal itself (no polling), so a test can synchronise on deliveries
    /// instead of sleeping.
    pub async fn wait_for_deliveries(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<WebhookDelivery>, MockError> {
        let wanted = u64::try_from(n).unwrap_or(u64::MAX);
        self.webhooks
            .wait_until(timeout, &format!("{n} webhook attempts"), |progress| {
                progress.journaled >= wanted
            })
            .await
            .map_err(MockError)
    }

    /// Waits until every webhook delivery emitted so far has finished (delivered, or its
    /// attempts used up); then returns the journal. Fails when `timeout` passes first.
    ///
    /// With nothing under way it returns at once, so to wait for the deliveries of a change,
    /// make the change first.
    pub async fn wait_for_webhooks_idle(
        &self,
        timeout: Duration,
    ) -> Result<Vec<WebhookDelivery>, MockError> {
        self.webhooks
            .wait_until(timeout, "the webhook deliveries to finish", |progress| {
                progress.in_flight == 0
            })
            .await
            .map_err(MockError)
    }
}
