//! [`Sessions::list`] and [`Sessions::list_all`]: one page from the server, the client-side
//! `status`/`offset` the API does not have ([`Matcher`]), and the stream of every session.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures_core::Stream;

use super::Sessions;
use crate::{
    Result, Session, SessionListParams, SessionStatus, Unreadable,
    endpoint::Operation,
    model::PaginatedResponse,
    pagination::{Fetch, Page, PageSource, Pages, PagesRead},
    pipeline::Deadline,
    validate,
};

/// The page size the server uses when none is given.
const DEFAULT_LIMIT: u32 = 50;

impl Sessions {
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
    /// `next_token` the server already gave fails with [`Error::Decode`](crate::Error::Decode) instead of looping, as
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
        self.list_within(params, self.pipeline.deadline()).await
    }

    pub(super) async fn list_within(
        &self,
        params: SessionListParams,
        deadline: Deadline,
    ) -> Result<PaginatedResponse<Session>> {
        validate::list_params(&params)?;
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        let mut walk = PagesRead::new(Operation::ListSessions);
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
                data: page.items,
                total: None,
                has_more: page.next_token.is_some(),
                limit,
                offset: 0,
                next_token: page.next_token,
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
            for session in page.items {
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
            unreadable.extend(
                page.unreadable.into_iter().filter(|value| {
                    value.belongs_to(kept.iter().map(|session| session.id.as_str()))
                }),
            );
            match page.next_token {
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
        let invalid = validate::list_params(&params).err();
        let first_token = params.next_token.clone();
        let source = SessionPages {
            sessions: self.clone(),
            page_size: params.limit.unwrap_or(validate::MAX_LIMIT),
            matcher: Matcher::new(&params),
            params,
        };
        SessionStream {
            pages: Pages::new(source, Operation::ListSessions, first_token, invalid),
        }
    }

    /// One page from the server, following pages that are empty but carry a token. Fails on a
    /// token the server already gave, or past [`MAX_PAGES_PER_CALL`](crate::MAX_PAGES_PER_CALL)
    /// pages (`walk` counts those of this call).
    async fn page(
        &self,
        params: &SessionListParams,
        limit: Option<u32>,
        mut token: Option<String>,
        walk: &mut PagesRead,
        deadline: Deadline,
    ) -> Result<Page<Session>> {
        loop {
            walk.next_page(token.as_deref())?;
            let page = self
                .pipeline
                .send(Operation::ListSessions, deadline, |raw| {
                    let mut request = params.filter_request(raw.list_sessions());
                    if let Some(limit) = limit {
                        request = request.limit(limit);
                    }
                    if let Some(token) = &token {
                        request = request.next_token(token.clone());
                    }
                    request.send()
                })
                .await?;
            walk.check_token(page.value.next_token.as_deref())?;
            match &page.value.next_token {
                Some(next) if page.value.sessions.is_empty() => token = Some(next.clone()),
                _ => {
                    return Ok(Page {
                        items: page.value.sessions,
                        next_token: page.value.next_token,
                        unreadable: page.unreadable,
                    });
                }
            }
        }
    }
}

/// Applies a list's `status` filter, then skips `offset` matches: the part of `list` the API
/// does not have.
pub(crate) struct Matcher {
    status: Option<SessionStatus>,
    to_skip: u32,
}

impl Matcher {
    pub(crate) fn new(params: &SessionListParams) -> Self {
        Self {
            status: params.status.clone(),
            to_skip: params.offset.unwrap_or(0),
        }
    }

    /// Whether `session` is returned: it has the status asked for, and the offset is used up.
    pub(crate) fn keep(&mut self, session: &Session) -> bool {
        if self
            .status
            .as_ref()
            .is_some_and(|status| &session.status != status)
        {
            return false;
        }
        if self.to_skip > 0 {
            self.to_skip -= 1;
            return false;
        }
        true
    }

    /// Keeps the sessions of `page` that [`keep`](Self::keep) accepts, in place.
    pub(crate) fn filter(&mut self, page: &mut Vec<Session>) {
        if self.status.is_some() || self.to_skip > 0 {
            page.retain(|session| self.keep(session));
        }
    }
}

/// How [`SessionStream`] fetches its pages.
struct SessionPages {
    sessions: Sessions,
    params: SessionListParams,
    page_size: u32,
    matcher: Matcher,
}

impl PageSource for SessionPages {
    type Item = Session;

    fn fetch(&self, token: Option<String>, mut walk: PagesRead) -> Fetch<Session> {
        let (sessions, params, page_size) =
            (self.sessions.clone(), self.params.clone(), self.page_size);
        Box::pin(async move {
            // Each page gets the total timeout afresh: a stream has no end the caller can bound.
            let deadline = sessions.pipeline.deadline();
            let page = sessions
                .page(&params, Some(page_size), token, &mut walk, deadline)
                .await;
            (page, walk)
        })
    }

    fn filter(&mut self, page: &mut Vec<Session>) {
        self.matcher.filter(page);
    }

    fn id(session: &Session) -> &str {
        &session.id
    }
}

/// The sessions of [`Sessions::list_all`], one at a time: a [`Stream`] of `Result<Session>`, with
/// [`next`](Self::next) and [`try_collect`](Self::try_collect) of its own so that the common cases
/// need neither `pin!` nor `futures::StreamExt`.
///
/// The next page is requested as soon as the caller starts on the current one, and that request
/// makes progress each time the stream is polled. Everything runs in the caller's task: no task
/// is spawned, pages are not handed between threads, and dropping the stream drops the request in
/// flight. At most two pages are held: the one being drained and the one fetched ahead. After an
/// error (yielded once) or the last session, it yields `None`.
///
/// ```no_run
/// # async fn run(sessions: deepidv::Sessions) -> deepidv::Result<()> {
/// use deepidv::{SessionListParams, SessionStatus};
///
/// let mut verified = sessions.list_all(SessionListParams::new().status(SessionStatus::Verified));
/// while let Some(session) = verified.next().await {
///     println!("{} verified", session?.id);
/// }
/// let everything: Vec<deepidv::Session> = sessions.list_all(SessionListParams::new()).try_collect().await?;
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing until it is polled"]
pub struct SessionStream {
    pages: Pages<SessionPages>,
}

impl SessionStream {
    /// The next session, `None` at the end; an error ends the stream.
    pub async fn next(&mut self) -> Option<Result<Session>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The values of unexpected types found so far in the sessions of the pages read (see
    /// [`Unreadable`]; its `session_id` names the row), taken out of the stream. At most 1,000 are
    /// kept between two calls; each was also logged as a WARN when it was decoded.
    pub fn take_unreadable(&mut self) -> Vec<Unreadable> {
        self.pages.take_unreadable()
    }

    /// Every remaining session, or the first error.
    pub async fn try_collect(mut self) -> Result<Vec<Session>> {
        let mut all = Vec::new();
        while let Some(session) = self.next().await {
            all.push(session?);
        }
        Ok(all)
    }
}

impl std::fmt::Debug for SessionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStream")
            .field("params", &self.pages.source().params)
            .field("in_hand", &self.pages.in_hand())
            .field("fetching", &self.pages.is_fetching())
            .field("done", &self.pages.is_done())
            .finish_non_exhaustive()
    }
}

impl Stream for SessionStream {
    type Item = Result<Session>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().pages).poll_next(cx)
    }
}
