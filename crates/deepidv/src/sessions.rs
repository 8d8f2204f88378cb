//! [`Sessions`]: the four operations, with validation, retries and list emulation.

use deepidv_raw::types;

use crate::{
    Client, Error, Result, Session, SessionCreateInput, SessionListParams, SessionStatus,
    SessionStatusUpdate,
    decode::Decoded,
    error::Operation,
    logging,
    model::{PaginatedResponse, SessionCreateResult, SessionRetrieveResult},
    pagination::{Matcher, SessionStream, Walk},
    retry::{self, Deadline},
    single_flight::{Boarding, Flight},
    validate,
};

/// The page size the server uses when none is given.
const DEFAULT_LIMIT: u32 = 50;

/// The sessions API. Get one from [`Client::sessions`]; it is cheap to clone and can be moved into
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
#[derive(Clone, Debug)]
pub struct Sessions {
    client: Client,
}

impl Sessions {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
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
        let inner = self.client.inner();
        logging::body_if(inner, "request", &body);
        retry::send(
            inner,
            Operation::CreateSession,
            Deadline::start(inner),
            || inner.raw.create_session().body(body.clone()).send(),
        )
        .await
        .map(SessionCreateResult::from)
    }

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
        let inner = self.client.inner();
        logging::body_if(inner, "request", &body);
        let deadline = Deadline::start(inner);
        deadline
            .bound(Operation::CreateSession, true, async {
                // Concurrent calls for one external_id in this client (and, in fleet mode, in
                // every replica) queue here; each sees what the one before it did.
                let mut seat = Boarding::board(inner, &external_id).await?;
                let outcome = self
                    .create_in_line(&mut seat, &body, &external_id, deadline)
                    .await;
                seat.leave().await;
                outcome
            })
            .await
    }

    /// `create_once` with its place in line: act on what the calls before did, then create and
    /// record the outcome for the calls behind.
    async fn create_in_line(
        &self,
        seat: &mut Boarding<'_>,
        body: &types::CreateSessionRequest,
        external_id: &str,
        deadline: Deadline,
    ) -> Result<CreateOutcome> {
        match seat.flight().await {
            Flight::Created(id) => {
                let found = self.retrieve_within(&id, deadline).await?;
                return Ok(CreateOutcome::Existing(found.session_record));
            }
            Flight::MaybeSent => {
                if let Some(existing) = self.find(external_id, deadline).await? {
                    seat.record(Flight::Created(existing.id.clone())).await;
                    return Ok(CreateOutcome::Existing(existing));
                }
            }
            Flight::Idle => {}
        }
        // From here until the outcome is known, a cancelled call leaves "maybe sent" behind for
        // the next one.
        seat.record(Flight::MaybeSent).await;
        let outcome = self.create_or_find(body, external_id, deadline).await;
        match &outcome {
            Ok(CreateOutcome::Created(created)) => {
                seat.record(Flight::Created(created.id.clone())).await;
            }
            Ok(CreateOutcome::Existing(existing)) => {
                seat.record(Flight::Created(existing.id.clone())).await;
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
        let inner = self.client.inner();
        let mut attempts = 0;
        let mut round = 0;
        loop {
            let (outcome, history) =
                retry::send_tracked(inner, Operation::CreateSession, deadline, || {
                    inner.raw.create_session().body(body.clone()).send()
                })
                .await;
            attempts += history.attempts;
            let error = match outcome {
                Ok(created) => return Ok(CreateOutcome::Created(created.into())),
                Err(error) if error.is_ambiguous() => error,
                Err(error) => return Err(error),
            };
            deadline
                .sleep(Operation::CreateSession, inner.retry.backoff_ceiling(round))
                .await?;
            round += 1;
            match self.find(external_id, deadline).await {
                Ok(Some(existing)) => return Ok(CreateOutcome::Existing(existing)),
                Ok(None) => {}
                Err(_) => return Err(error),
            }
            if attempts > inner.retry.max_retries() {
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
        self.retrieve_within(session_id, Deadline::start(self.client.inner()))
            .await
    }

    async fn retrieve_within(
        &self,
        session_id: &str,
        deadline: Deadline,
    ) -> Result<SessionRetrieveResult> {
        validate::session_id(session_id)?;
        let inner = self.client.inner();
        retry::send(inner, Operation::RetrieveSession, deadline, || {
            inner.raw.retrieve_session().id(session_id).send()
        })
        .await
        .map(SessionRetrieveResult::from)
    }

    /// Lists sessions, newest first: `GET /v1/sessions`.
    ///
    /// **Without `offset` and `status`** this is one request. `limit` (1–500, default 50),
    /// `next_token` and the filters go to the server unchanged, and the page's `next_token` comes
    /// back for the next call. DeepIDV reports no total, so `total` is `None`.
    ///
    /// **With `offset` and/or `status`**, which the API does not have, the SDK reads pages of 500
    /// from the start (with the server-side filters), keeps the sessions with that `status`, skips
    /// `offset` of them and returns up to `limit`. `next_token` is then `None`: ask for the next
    /// page with a larger `offset`. This costs one request per 500 sessions read, and the SDK must
    /// read past every session before the ones it returns: `offset = 1000` with a rare status can
    /// read the organization's whole history. Narrow the scan with `start_date`, `external_id` or
    /// `workflow_id` where you can.
    ///
    /// In both modes pages that come back empty but carry a `next_token` are followed, and a
    /// `next_token` the server already gave fails with [`Error::Decode`] instead of looping, as
    /// does reading more than [`MAX_PAGES_PER_CALL`](crate::MAX_PAGES_PER_CALL) pages. A
    /// [`total_timeout`](crate::ClientBuilder::total_timeout) bounds the whole call, every page
    /// included.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
    /// use deepidv::{SessionListParams, SessionStatus};
    /// let mut params = SessionListParams::new().limit(200);
    /// loop {
    ///     let page = sessions.list(params.clone()).await?;
    ///     for session in &page.data {
    ///         println!("{} {}", session.id, session.status);
    ///     }
    ///     match page.next_token {
    ///         Some(token) => params = params.next_token(token),
    ///         None => break,
    ///     }
    /// }
    /// let verified = sessions.list(SessionListParams::new().status(SessionStatus::Verified)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, params: SessionListParams) -> Result<PaginatedResponse<Session>> {
        self.list_within(params, Deadline::start(self.client.inner()))
            .await
    }

    async fn list_within(
        &self,
        params: SessionListParams,
        deadline: Deadline,
    ) -> Result<PaginatedResponse<Session>> {
        validate::list_params(&params)?;
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        let mut walk = Walk::default();
        if !params.is_emulated() {
            let page = self
                .page(
                    &params,
                    params.limit,
                    params.next_token.clone(),
                    &mut walk,
                    deadline,
                )
                .await?;
            return Ok(PaginatedResponse {
                data: page.value.sessions,
                total: None,
                has_more: page.value.next_token.is_some(),
                limit,
                offset: 0,
                next_token: page.value.next_token,
                unreadable: page.unreadable,
            });
        }

        let offset = params.offset.unwrap_or(0);
        let finish = |data, has_more, unreadable| PaginatedResponse {
            data,
            total: None,
            has_more,
            limit,
            offset,
            next_token: None,
            unreadable,
        };
        let mut matcher = Matcher::new(&params);
        let mut data: Vec<Session> = Vec::new();
        let mut unreadable = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .page(
                    &params,
                    Some(validate::MAX_LIMIT),
                    token.take(),
                    &mut walk,
                    deadline,
                )
                .await?;
            let kept_before = data.len();
            let mut more = false;
            for session in page.value.sessions {
                if !matcher.keep(&session) {
                    continue;
                }
                if data.len() == limit as usize {
                    more = true;
                    break;
                }
                data.push(session);
            }
            // Only the unreadable values of the sessions returned.
            let kept = &data[kept_before..];
            unreadable.extend(page.unreadable.into_iter().filter(|value| {
                kept.iter()
                    .any(|session| value.session_id.as_deref() == Some(session.id.as_str()))
            }));
            match page.value.next_token {
                _ if more => return Ok(finish(data, true, unreadable)),
                Some(_) if data.len() == limit as usize => {
                    return Ok(finish(data, true, unreadable));
                }
                Some(next) => token = Some(next),
                None => return Ok(finish(data, false, unreadable)),
            }
        }
    }

    /// Every session matching `params`, as a stream that follows `next_token` to the end.
    ///
    /// `limit` is the page size asked of the server (default 500, the most it serves); cap the
    /// number of items with `.take(n)`. `status` and `offset` apply as in [`list`](Self::list),
    /// and the filters go to the server. The next page is requested as soon as you start on the
    /// current one and progresses each time you poll the stream (never more than one page ahead),
    /// so memory stays within two pages however many sessions there are. Each page is retried like
    /// any read; an error (including invalid `params`, in which case nothing is sent) is yielded
    /// once and ends the stream. Everything runs in the polling task (nothing is spawned), and
    /// dropping the stream stops all work, including a request in flight.
    ///
    /// It is a [`SessionStream`]: a `Stream` (`Send + 'static`) for the `futures` combinators,
    /// with `next()` and `try_collect()` of its own.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
    /// use deepidv::{SessionListParams, SessionStatus};
    ///
    /// let mut verified = sessions.list_all(SessionListParams::new().status(SessionStatus::Verified));
    /// while let Some(session) = verified.next().await {
    ///     let session = session?;
    ///     if let Some(at) = &session.updated_at {
    ///         println!("{} verified at {at}", session.id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self, params: SessionListParams) -> SessionStream {
        SessionStream::new(self.clone(), params)
    }

    /// Records a decision on a session: `PATCH /v1/sessions/{id}/update-status` with
    /// `{"new_status": ...}`. Returns the updated record as a retrieve result without `user`,
    /// `sender_user` or `resource_links` (the endpoint returns only the record).
    ///
    /// Setting a status twice is harmless, so this is retried like a read. If a retry is refused
    /// with a 4xx after an attempt whose answer was lost, the session is fetched, and the call
    /// succeeds if its status is already the one asked for. DeepIDV documents only VERIFIED and
    /// REJECTED; a refused VOIDED surfaces as [`Error::Validation`].
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
        let inner = self.client.inner();
        let deadline = Deadline::start(inner);
        let (outcome, history) =
            retry::send_tracked(inner, Operation::UpdateSessionStatus, deadline, || {
                inner
                    .raw
                    .update_session_status()
                    .id(session_id)
                    .body(body.clone())
                    .send()
            })
            .await;
        match outcome {
            Ok(updated) => Ok(SessionRetrieveResult::from(updated)),
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

    /// One page from the server, following pages that are empty but carry a token. Fails on a
    /// token the server already gave, or past [`MAX_PAGES_PER_CALL`](crate::MAX_PAGES_PER_CALL)
    /// pages (`walk` counts those of this call).
    pub(crate) async fn page(
        &self,
        params: &SessionListParams,
        limit: Option<u32>,
        mut token: Option<String>,
        walk: &mut Walk,
        deadline: Deadline,
    ) -> Result<Decoded<types::ListSessionsResponse>> {
        let inner = self.client.inner();
        loop {
            walk.next_page(token.as_deref())?;
            let page = retry::send(inner, Operation::ListSessions, deadline, || {
                let mut request = inner.raw.list_sessions();
                if let Some(limit) = limit {
                    request = request.limit(limit);
                }
                if let Some(token) = &token {
                    request = request.next_token(token.clone());
                }
                if let Some(date) = &params.start_date {
                    request = request.start_date(date.clone());
                }
                if let Some(date) = &params.end_date {
                    request = request.end_date(date.clone());
                }
                if let Some(whole) = params.by_organization {
                    request = request.by_organization(whole);
                }
                if let Some(id) = &params.external_id {
                    request = request.external_id(id.clone());
                }
                if let Some(id) = &params.workflow_id {
                    request = request.workflow_id(id.clone());
                }
                request.send()
            })
            .await?;
            walk.check_token(page.value.next_token.as_deref())?;
            match &page.value.next_token {
                Some(next) if page.value.sessions.is_empty() => token = Some(next.clone()),
                _ => return Ok(page),
            }
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

/// Whether a refusal of a status update can mean that the session already has a decision: a 400,
/// 409 or 422 (DeepIDV documents 400 for a refused status).
fn refuses_state(error: &Error) -> bool {
    matches!(error.status(), Some(400 | 409 | 422))
}

/// What [`Sessions::create_once`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "the issue's contract names `Existing(Session)`; one value per create"
)]
pub enum CreateOutcome {
    /// This call created the session.
    Created(SessionCreateResult),
    /// An earlier attempt whose answer was lost had created it; this is the session (the newest
    /// with the input's `external_id`).
    Existing(Session),
}
