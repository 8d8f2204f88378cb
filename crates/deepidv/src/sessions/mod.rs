//! [`Sessions`]: the sessions resource. This file holds create, retrieve and update_status;
//! `create_once.rs` the create that never invites twice; `list.rs` the list, its emulation of
//! `offset`/`status`, and `list_all`'s stream.

mod create_once;
mod list;

use std::{fmt, sync::Arc};

use deepidv_raw::types;

pub use create_once::CreateOutcome;
pub use list::SessionStream;

use crate::{
    Error, Result, SessionCreateInput, SessionStatus, SessionStatusUpdate,
    coordinator::Coordinator,
    endpoint::Operation,
    model::{Decoded, SessionCreateResult, SessionRetrieveResult},
    pipeline::{Deadline, History, MaySend, Pipeline, always},
    validate,
};

/// The sessions API. Get one from [`Client::sessions`](crate::Client::sessions); it is cheap to clone and can be moved into
/// tasks (it owns a handle to the client). Every returned future is `Send`.
///
/// Every call validates its input first (an invalid call sends nothing and fails with
/// [`Error::Validation`] naming the field) and retries retryable failures
/// ([`Error::is_retryable`]).
///
/// ```
/// let sessions = deepidv::Client::new("sk_live_example")?.sessions();
/// let in_a_task = sessions.clone();
/// # let _ = async move { in_a_task.retrieve("a1b2c3d4").await };
/// # Ok::<(), deepidv::Error>(())
/// ```
#[derive(Clone)]
pub struct Sessions {
    pipeline: Arc<Pipeline>,
    coordinator: Arc<Coordinator>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = f.debug_struct("Sessions");
        self.pipeline.debug_fields(&mut shown);
        shown.finish()
    }
}

impl Sessions {
    pub(crate) fn new(pipeline: Arc<Pipeline>, coordinator: Arc<Coordinator>) -> Self {
        Self {
            pipeline,
            coordinator,
        }
    }

    /// Creates a session and (unless turned off) invites the applicant by email and SMS:
    /// `POST /v1/sessions`.
    ///
    /// DeepIDV has no idempotency key, so this is retried only when the request certainly never
    /// reached the server (no connection could be made) or was refused with 429. After any other
    /// failure the session may exist: look it up with
    /// [`list`](Self::list)`(SessionListParams::new().external_id(..))` before creating again.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
    /// use deepidv::SessionCreateInput;
    /// let created = sessions
    ///     .create(SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890").external_id("applicant-42"))
    ///     .await?;
    /// println!("send the applicant to {}", created.session_url);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, input: SessionCreateInput) -> Result<SessionCreateResult> {
        validate::create_input(&input)?;
        let body = input.to_wire()?;
        self.pipeline.log_request(&body);
        let (outcome, _) = self
            .send_create(&body, self.pipeline.deadline(), &always)
            .await;
        outcome.map(SessionCreateResult::from)
    }

    /// Sends one create (with the retries a create allows), each attempt only if `may_send`
    /// allows it: the one place a create request is built.
    async fn send_create(
        &self,
        body: &types::CreateSessionRequest,
        deadline: Deadline,
        may_send: MaySend<'_>,
    ) -> (Result<Decoded<types::CreateSessionResponse>>, History) {
        self.pipeline
            .send_tracked(Operation::CreateSession, deadline, may_send, |raw| {
                raw.create_session().body(body.clone()).send()
            })
            .await
    }

    /// Fetches a session with its results, applicant, sender and file links:
    /// `GET /v1/sessions/{id}`. The id is percent-encoded into the path.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
    /// let found = sessions.retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890").await?;
    /// if let Some(analysis) = &found.session_record.analysis_data {
    ///     println!("face match: {:?}", analysis.compare_faces_data.as_ref().and_then(|c| c.face_match_confidence));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn retrieve(&self, session_id: &str) -> Result<SessionRetrieveResult> {
        self.retrieve_within(session_id, self.pipeline.deadline())
            .await
    }

    async fn retrieve_within(
        &self,
        session_id: &str,
        deadline: Deadline,
    ) -> Result<SessionRetrieveResult> {
        validate::session_id(session_id)?;
        self.pipeline
            .send(Operation::RetrieveSession, deadline, |raw| {
                raw.retrieve_session().id(session_id).send()
            })
            .await
            .map(SessionRetrieveResult::from)
    }

    /// Records a decision on a session: `PATCH /v1/sessions/{id}/update-status` with
    /// `{"new_status": ...}`. Returns the updated record as a retrieve result without `user`,
    /// `sender_user` or `resource_links` (the endpoint returns only the record).
    ///
    /// Setting a status twice is harmless, so this is retried like a read. If a retry is refused
    /// with a 4xx after an attempt whose answer was lost, the session is fetched, and the call
    /// succeeds if its status is already the one asked for. DeepIDV documents only VERIFIED and
    /// REJECTED; a VOIDED the server refuses fails with [`Error::Validation`] naming `new_status`.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
    /// use deepidv::SessionStatusUpdate;
    /// let updated = sessions.update_status("a1b2c3d4-e5f6-7890-abcd-ef1234567890", SessionStatusUpdate::Verified).await?;
    /// assert_eq!(updated.session_record.status, deepidv::SessionStatus::Verified);
    /// # Ok(()) }
    /// ```
    pub async fn update_status(
        &self,
        session_id: &str,
        status: SessionStatusUpdate,
    ) -> Result<SessionRetrieveResult> {
        validate::session_id(session_id)?;
        let body = types::UpdateSessionStatusRequest::builder()
            .new_status(deepidv_raw::SessionStatus::from(status));
        let deadline = self.pipeline.deadline();
        let (outcome, history) = self
            .pipeline
            .send_tracked(Operation::UpdateSessionStatus, deadline, &always, |raw| {
                raw.update_session_status()
                    .id(session_id)
                    .body(body.clone())
                    .send()
            })
            .await;
        match outcome {
            Ok(updated) => Ok(SessionRetrieveResult::from(updated)),
            // The one value of the surface the REST reference does not list: say which input
            // the server refused.
            Err(Error::Validation {
                field: None,
                message,
                response: Some(response),
            }) if status == SessionStatusUpdate::Voided => Err(Error::Validation {
                field: Some("new_status".to_owned()),
                message: format!(
                    "{message} (DeepIDV documents only VERIFIED and REJECTED; void the session in the Admin Console)"
                ),
                response: Some(response),
            }),
            // A refusal that can mean "already in that state", after an attempt whose fate is
            // unknown: that attempt may have set the status, and a second decision be refused.
            // Never after 401/402/403/404, which say nothing about the session's state.
            Err(error) if history.ambiguous && refuses_state(&error) => {
                match self.retrieve_within(session_id, deadline).await {
                    Ok(found) if found.session_record.status == SessionStatus::from(status) => Ok(
                        SessionRetrieveResult::record_only(found.session_record, found.unreadable),
                    ),
                    _ => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }
}

/// Whether a refusal of a status update can mean that the session already has a decision: a 400,
/// 409 or 422 (DeepIDV documents 400 for a refused status).
fn refuses_state(error: &Error) -> bool {
    matches!(error.status(), Some(400 | 409 | 422))
}
