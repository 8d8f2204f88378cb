//! [`Sessions::create_once`]: a create that returns the session a lost attempt created instead of
//! creating a second one.

use deepidv_raw::types;

use super::Sessions;
use crate::{
    Error, Result, Session, SessionCreateInput, SessionListParams,
    coordinator::{CreateLock, Previous},
    endpoint::Operation,
    model::SessionCreateResult,
    pipeline::Deadline,
    validate,
};

impl Sessions {
    /// Creates a session at most once per `external_id`, even when an answer is lost, a
    /// worker restarts, or several replicas run the same job.
    ///
    /// **At most one session per `external_id`, across restarts and replicas, as far as
    /// DeepIDV's list shows it.** Before creating, it looks for a session with the input's
    /// `external_id` (one list call, `GET /v1/sessions?external_id=…&limit=1`): if there is one,
    /// the newest is returned as [`CreateOutcome::Existing`] and nothing is created. So a job
    /// queue that delivers a job again after a worker crashed mid-create, or a second process
    /// with no memory of the first, finds the session instead of inviting the applicant twice.
    /// Only then does it create. After an ambiguous failure (a timeout or lost connection after
    /// sending, a 5xx, a success answer that cannot be read) it waits the retry delay (to give
    /// the list a moment to show a session the lost attempt created) and looks again; if there is
    /// none, the create is sent again (every attempt counts against `max_retries`). DeepIDV has
    /// no idempotency key: a list that lags behind a create made moments before by another
    /// process is the gap left, which the coordination below closes for calls that overlap.
    ///
    /// Concurrent calls for one `external_id` queue behind each other: in this client (every
    /// clone), and in fleet mode ([`ClientBuilder::redis`](crate::ClientBuilder::redis)) across
    /// replicas, under a lease the holder renews while its call runs. A holder that cannot renew
    /// its lease stops before its next attempt with [`Error::Coordination`], and a replica that
    /// saw another hold the lock never goes on without it (see the fleet mode section of the
    /// README).
    ///
    /// - `external_id` is required (a validation error otherwise, and nothing is sent), and it must
    ///   be unique per intended session: an older session with the same reference is taken for
    ///   this one.
    /// - The look-up costs one list request before every create (measured against deepidv-mock
    ///   on loopback: the README's "create_once" figures).
    /// - A look-up that fails before the create returns its error, and nothing is created.
    /// - `Existing` carries the session, not its hosted-page URL, which the API returns only in
    ///   the create answer. The applicant already has the link in the invitation (if invitations
    ///   were on). If you need the URL yourself, void that session in the DeepIDV console and create
    ///   again with a new `external_id`.
    /// - If a look-up after an ambiguous failure fails, the create's error is returned: whether the
    ///   session exists is then unknown, and [`Error::is_retryable`] is false.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
    /// use deepidv::{CreateOutcome, SessionCreateInput};
    /// let input = SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890").external_id("customer-42");
    /// match sessions.create_once(input).await? {
    ///     CreateOutcome::Created(created) => println!("send the applicant to {}", created.session_url),
    ///     CreateOutcome::Existing(session) => println!("already invited: {}", session.id),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create_once(&self, input: SessionCreateInput) -> Result<CreateOutcome> {
        let Some(external_id) = input.external_id.clone() else {
            return Err(Error::invalid(
                "external_id",
                "is required by create_once: it is how a lost create is found again",
            ));
        };
        validate::create_input(&input)?;
        let body = input.to_wire()?;
        self.pipeline.log_request(&body);
        let deadline = self.pipeline.deadline();
        deadline
            .run(Operation::CreateSession, true, async {
                // Concurrent calls for one external_id in this client (and, in fleet mode, in
                // every replica) queue here; each sees what the one before it did.
                let lock = self.coordinator.lock(&external_id).await?;
                let outcome = lock
                    .hold_during(self.create_holding_lock(&lock, &body, &external_id, deadline))
                    .await;
                lock.release().await;
                outcome
            })
            .await
    }

    /// `create_once` holding the lock for its `external_id`: act on what the calls before did,
    /// look, then create and record the outcome for the calls behind.
    async fn create_holding_lock(
        &self,
        lock: &CreateLock<'_>,
        body: &types::CreateSessionRequest,
        external_id: &str,
        deadline: Deadline,
    ) -> Result<CreateOutcome> {
        if let Previous::Created(id) = lock.previous().await {
            let found = self.retrieve_within(&id, deadline).await?;
            return Ok(CreateOutcome::Existing(found.session_record));
        }
        // Look before creating: a session a call this process never knew of created (a worker
        // that crashed after sending, another client) is found here.
        if let Some(existing) = self.find(external_id, deadline).await? {
            lock.record(Previous::Created(existing.id.clone())).await;
            return Ok(CreateOutcome::Existing(existing));
        }
        // From here until the outcome is known, a cancelled call leaves "maybe sent" behind for
        // the next one.
        lock.record(Previous::MaybeSent).await;
        let outcome = self.create_or_find(lock, body, external_id, deadline).await;
        if let Ok(outcome) = &outcome {
            lock.record(Previous::Created(outcome.session_id().to_owned()))
                .await;
        }
        outcome
    }

    /// `create_once`'s loop: create (each attempt only while `lock` allows it); after an
    /// ambiguous failure, wait, look the session up, and create again only if it is not there.
    async fn create_or_find(
        &self,
        lock: &CreateLock<'_>,
        body: &types::CreateSessionRequest,
        external_id: &str,
        deadline: Deadline,
    ) -> Result<CreateOutcome> {
        let retry = self.pipeline.retry_policy();
        let may_send = || lock.check();
        let mut attempts = 0;
        let mut round = 0;
        loop {
            let (outcome, history) = self.send_create(body, deadline, &may_send).await;
            attempts += history.attempts;
            let error = match outcome {
                Ok(created) => return Ok(CreateOutcome::Created(created.into())),
                Err(error) if error.is_ambiguous() => error,
                Err(error) => return Err(error),
            };
            deadline
                .sleep(Operation::CreateSession, retry.backoff_ceiling(round))
                .await?;
            round += 1;
            match self.find(external_id, deadline).await {
                Ok(Some(existing)) => return Ok(CreateOutcome::Existing(existing)),
                Ok(None) => {}
                Err(_) => return Err(error),
            }
            if attempts > retry.max_retries() {
                return Err(error);
            }
        }
    }

    /// The newest session with `external_id`, if there is one.
    async fn find(&self, external_id: &str, deadline: Deadline) -> Result<Option<Session>> {
        let lookup = SessionListParams::new()
            .external_id(external_id.to_owned())
            .limit(1);
        let page = self.list_within(lookup, deadline).await?;
        Ok(page.data.into_iter().next())
    }
}

/// What [`Sessions::create_once`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "the official SDK's surface names `Existing(Session)`; one value per create"
)]
pub enum CreateOutcome {
    /// This call created the session.
    Created(SessionCreateResult),
    /// A session with the input's `external_id` was there already (created by an earlier call,
    /// another process, or an attempt whose answer was lost); this is it (the newest with that
    /// `external_id`). Nothing was created.
    Existing(Session),
}

impl CreateOutcome {
    /// The session's id, whether this call created it or found it.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions, input: deepidv::SessionCreateInput) -> deepidv::Result<()> {
    /// let outcome = sessions.create_once(input).await?;
    /// println!("session {}", outcome.session_id());
    /// # Ok(()) }
    /// ```
    pub fn session_id(&self) -> &str {
        match self {
            CreateOutcome::Created(created) => &created.id,
            CreateOutcome::Existing(session) => &session.id,
        }
    }
}
