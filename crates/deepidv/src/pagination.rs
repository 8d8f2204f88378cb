//! Walking many sessions: the client-side `status`/`offset` filter ([`Matcher`]) shared by
//! [`Sessions::list`] and [`Sessions::list_all`], and the stream `list_all` returns.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use futures_core::Stream;

use deepidv_raw::types::ListSessionsResponse;

use crate::{
    Error, Result, Session, SessionListParams, SessionStatus, Sessions, Unreadable,
    decode::Decoded, error::Operation, retry::Deadline, validate,
};

/// The most pages one call reads: one [`Sessions::list`], or one [`Sessions::list_all`] stream
/// (5 million sessions at 500 a page). Past it the call fails with [`Error::Decode`]: a server
/// that keeps answering with fresh tokens (empty pages included) must not keep a call, and its
/// memory of the tokens seen, growing for ever.
pub const MAX_PAGES_PER_CALL: u32 = 10_000;

/// The pages one call has read: their count, and the tokens seen (a repeated one is a loop).
#[derive(Debug, Default)]
pub(crate) struct Walk {
    seen: HashSet<String>,
    pages: u32,
}

impl Walk {
    /// Accounts for a page about to be requested from `token`.
    pub(crate) fn next_page(&mut self, token: Option<&str>) -> Result<()> {
        if self.pages == MAX_PAGES_PER_CALL {
            return Err(Self::failure(format!(
                "read {MAX_PAGES_PER_CALL} pages in one call (MAX_PAGES_PER_CALL); stopping instead of paging for ever"
            )));
        }
        self.pages += 1;
        if let Some(token) = token {
            self.seen.insert(token.to_owned());
        }
        Ok(())
    }

    /// Checks the `next_token` a page carried: one the server already gave means a loop.
    pub(crate) fn check_token(&self, next: Option<&str>) -> Result<()> {
        match next {
            Some(next) if self.seen.contains(next) => Err(Self::failure(
                "the server returned a next_token it had already given; stopping instead of looping"
                    .to_owned(),
            )),
            _ => Ok(()),
        }
    }

    fn failure(message: String) -> Error {
        Error::Decode {
            message,
            operation: Operation::ListSessions,
            source: None,
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

/// One page as the stream needs it: the sessions, the next token, and the walk so far (handed
/// back and forth so that the fetch future can own it).
type Fetched = (Result<Decoded<ListSessionsResponse>>, Walk);

/// The most [`Unreadable`] values a stream keeps until they are taken; past it, later ones are only
/// logged (each was logged as it was decoded anyway).
const MAX_KEPT_UNREADABLE: usize = 1_000;
type Fetch = Pin<Box<dyn Future<Output = Fetched> + Send>>;

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
    sessions: Sessions,
    params: SessionListParams,
    page_size: u32,
    matcher: Matcher,
    /// The page being drained.
    current: std::vec::IntoIter<Session>,
    /// The page fetched ahead, once it has arrived.
    ready: Option<Vec<Session>>,
    /// The request for the next page, while it is in flight.
    fetching: Option<Fetch>,
    /// Where the next request starts; `None` once the last page was requested.
    next_token: NextPage,
    /// The pages read so far, while no request holds them.
    walk: Option<Walk>,
    /// A failure to report once the pages before it are drained.
    failed: Option<Error>,
    /// Values of unexpected types in the sessions yielded or about to be, until taken.
    unreadable: Vec<Unreadable>,
    done: bool,
}

enum NextPage {
    First(Option<String>),
    After(String),
    None,
}

impl SessionStream {
    pub(crate) fn new(sessions: Sessions, params: SessionListParams) -> Self {
        let failed = validate::list_params(&params).err();
        Self {
            sessions,
            page_size: params.limit.unwrap_or(validate::MAX_LIMIT),
            matcher: Matcher::new(&params),
            next_token: if failed.is_some() {
                NextPage::None
            } else {
                NextPage::First(params.next_token.clone())
            },
            params,
            current: Vec::new().into_iter(),
            ready: None,
            fetching: None,
            walk: Some(Walk::default()),
            failed,
            unreadable: Vec::new(),
            done: false,
        }
    }

    /// Starts the request for the next page, unless the last page was requested. Called only with
    /// no request in flight, no page waiting and no failure pending: `poll_next` takes those
    /// first, and `poll_fetch` starts the next request only after one came back with an empty page.
    fn start_fetch(&mut self) {
        debug_assert!(
            self.fetching.is_none() && self.ready.is_none() && self.failed.is_none(),
            "a fetch started over another, a waiting page or a pending failure"
        );
        let token = match std::mem::replace(&mut self.next_token, NextPage::None) {
            NextPage::First(token) => token,
            NextPage::After(token) => Some(token),
            NextPage::None => return,
        };
        let (sessions, params, page_size) =
            (self.sessions.clone(), self.params.clone(), self.page_size);
        let mut walk = self.walk.take().unwrap_or_default();
        self.fetching = Some(Box::pin(async move {
            // Each page gets the total timeout afresh: a stream has no end the caller can bound.
            let deadline = Deadline::start(sessions.client().inner());
            let page = sessions
                .page(&params, Some(page_size), token, &mut walk, deadline)
                .await;
            (page, walk)
        }));
    }

    /// Drives the request in flight; files its page (or failure) when it completes. A page the
    /// filter empties is skipped by requesting the next one at once.
    fn poll_fetch(&mut self, cx: &mut Context<'_>) {
        while let Some(fetch) = self.fetching.as_mut() {
            let Poll::Ready((outcome, walk)) = fetch.as_mut().poll(cx) else {
                return;
            };
            self.fetching = None;
            self.walk = Some(walk);
            match outcome {
                Ok(Decoded {
                    value:
                        ListSessionsResponse {
                            sessions: mut page,
                            next_token: next,
                            ..
                        },
                    unreadable,
                }) => {
                    self.matcher.filter(&mut page);
                    let room = MAX_KEPT_UNREADABLE.saturating_sub(self.unreadable.len());
                    self.unreadable.extend(
                        unreadable
                            .into_iter()
                            .filter(|value| {
                                page.iter().any(|session| {
                                    value.session_id.as_deref() == Some(session.id.as_str())
                                })
                            })
                            .take(room),
                    );
                    self.next_token = next.map_or(NextPage::None, NextPage::After);
                    if page.is_empty() {
                        self.start_fetch();
                    } else {
                        self.ready = Some(page);
                    }
                }
                Err(e) => self.failed = Some(e),
            }
        }
    }
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
        std::mem::take(&mut self.unreadable)
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
            .field("params", &self.params)
            .field("in_hand", &self.current.len())
            .field("fetching", &self.fetching.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Stream for SessionStream {
    type Item = Result<Session>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            this.poll_fetch(cx);
            if let Some(session) = this.current.next() {
                return Poll::Ready(Some(Ok(session)));
            }
            if let Some(page) = this.ready.take() {
                this.current = page.into_iter();
                // Ask for the page after it while the caller drains this one.
                this.start_fetch();
                continue;
            }
            if let Some(e) = this.failed.take() {
                this.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            if this.fetching.is_none() {
                this.start_fetch();
                if this.fetching.is_none() {
                    this.done = true;
                    return Poll::Ready(None);
                }
                // Poll the new request once so that it registers for wake-ups.
                continue;
            }
            return Poll::Pending;
        }
    }
}
