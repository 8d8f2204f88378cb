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
    /// Creates a session at most once, even when the answer is lost.
    ///
    /// Sends the create. Only after an ambiguous failure (a timeout or lost connection after
    /// sending, a 5xx, a success answer that cannot be read) does it look for a session with the
    /// input's `external_id` among the key owner's sessions: if there is one, the newest is returned
    /// as [`CreateOutcome::Existing`]; if there is none, the create is sent again (every attempt
    /// counts against `max_retries`). Before looking it waits the retry delay, to give the list a
    /// moment to show a session the lost attempt created.
    ///
    /// - `external_id` is required (a validation error otherwise, and nothing is sent), and it must
    ///   be unique per intended session: an older session with the same reference would be taken
    ///   for this one.
    /// - `Existing` carries the session, not its hosted-page URL, which the API returns only in
    ///   the create answer. The applicant already has the link in the invitation (if invitations
    ///   were on). If you need the URL yourself, void that session in the DeepIDV console and create
    ///   again with a new `external_id`.
    /// - If the lookup itself fails, the create's error is returned: whether the session exists is
    ///   then unknown, and [`Error::is_retryable`] is false.
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
                let mut lock = self.coordinator.lock(&external_id).await?;
                let outcome = self
                    .create_holding_lock(&mut lock, &body, &external_id, deadline)
                    .await;
                lock.release().await;
                outcome
            })
            .await
    }

    /// `create_once` holding the lock for its `external_id`: act on what the calls before did,
    /// then create and record the outcome for the calls behind.
    async fn create_holding_lock(
        &self,
        lock: &mut CreateLock<'_>,
        body: &types::CreateSessionRequest,
        external_id: &str,
        deadline: Deadline,
    ) -> Result<CreateOutcome> {
        match lock.previous().await {
            Previous::Created(id) => {
                let found = self.retrieve_within(&id, deadline).await?;
                return Ok(CreateOutcome::Existing(found.session_record));
            }
            Previous::MaybeSent => {
                if let Some(existing) = self.find(external_id, deadline).await? {
                    lock.record(Previous::Created(existing.id.clone())).await;
                    return Ok(CreateOutcome::Existing(existing));
                }
            }
            Previous::Nothing => {}
        }
        // From here until the outcome is known, a cancelled call leaves "maybe sent" behind for
        // the next one.
        lock.record(Previous::MaybeSent).await;
        let outcome = self.create_or_find(body, external_id, deadline).await;
        match &outcome {
            Ok(CreateOutcome::Created(created)) => {
                lock.record(Previous::Created(created.id.clone())).await;
            }
            Ok(CreateOutcome::Existing(existing)) => {
                lock.record(Previous::Created(existing.id.clone())).await;
            }
            Err(_) => {}
        }
        outcome
    }

    /// `create_once`'s loop: create; after an ambiguous failure, wait, look the session up, and
    /// create again only if it is not there.
    async fn create_or_find(
        &self,
        body: &types::CreateSessionRequest,
        external_id: &str,
        deadline: Deadline,
    ) -> Result<CreateOutcome> {
        let retry = self.pipeline.retry_policy();
        let mut attempts = 0;
        let mut round = 0;
        loop {
            let (outcome, history) = self.send_create(body, deadline).await;
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
    /// An earlier attempt whose answer was lost had created it; this is the session (the newest
    /// with the input's `external_id`).
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
