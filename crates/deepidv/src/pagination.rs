//! Walking many sessions: the client-side `status`/`offset` filter ([`Matcher`]) shared by
//! [`Sessions::list`] and [`Sessions::list_all`], and the stream `list_all` returns.

use std::{
    collections::HashSet,
    pin::Pin,
    task::{Context, Poll},
};

use futures_core::Stream;
use tokio::{sync::mpsc, task::AbortHandle};

use crate::{Result, Session, SessionListParams, SessionStatus, Sessions, validate};

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
}

/// The stream of [`Sessions::list_all`]: pages come from a task that fetches at most one page
/// ahead of the caller, so memory stays within two pages whatever the total.
pub(crate) struct SessionStream {
    state: State,
}

enum State {
    /// Not polled yet: the task starts on the first poll, inside the caller's runtime.
    Idle {
        sessions: Sessions,
        params: SessionListParams,
    },
    Running {
        pages: mpsc::Receiver<Result<Vec<Session>>>,
        current: std::vec::IntoIter<Session>,
        producer: AbortHandle,
    },
    Done,
}

impl SessionStream {
    pub(crate) fn new(sessions: Sessions, params: SessionListParams) -> Self {
        Self {
            state: State::Idle { sessions, params },
        }
    }
}

impl Stream for SessionStream {
    type Item = Result<Session>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Idle { .. } => {
                    let State::Idle { sessions, params } =
                        std::mem::replace(&mut this.state, State::Done)
                    else {
                        unreachable!("matched Idle above")
                    };
                    // Capacity 1 and `reserve` before each fetch: one page with the caller, at
                    // most one fetched ahead.
                    let (sender, pages) = mpsc::channel(1);
                    let producer = tokio::spawn(produce(sessions, params, sender)).abort_handle();
                    this.state = State::Running {
                        pages,
                        current: Vec::new().into_iter(),
                        producer,
                    };
                }
                State::Running { pages, current, .. } => {
                    if let Some(session) = current.next() {
                        return Poll::Ready(Some(Ok(session)));
                    }
                    match pages.poll_recv(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(page))) => *current = page.into_iter(),
                        Poll::Ready(Some(Err(e))) => {
                            this.state = State::Done;
                            return Poll::Ready(Some(Err(e)));
                        }
                        Poll::Ready(None) => {
                            this.state = State::Done;
                            return Poll::Ready(None);
                        }
                    }
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl Drop for SessionStream {
    /// Dropping the stream stops the page task, even in the middle of a request.
    fn drop(&mut self) {
        if let State::Running { producer, .. } = &self.state {
            producer.abort();
        }
    }
}

/// Fetches pages until the last one, an error, or the stream is dropped.
async fn produce(
    sessions: Sessions,
    params: SessionListParams,
    pages: mpsc::Sender<Result<Vec<Session>>>,
) {
    if let Err(e) = validate::list_params(&params) {
        let _ = pages.send(Err(e)).await;
        return;
    }
    let page_size = params.limit.unwrap_or(validate::MAX_LIMIT);
    let mut matcher = Matcher::new(&params);
    let mut token = params.next_token.clone();
    let mut seen_tokens = HashSet::new();
    loop {
        // Wait until the caller has taken the previous page before fetching the next.
        let Ok(slot) = pages.reserve().await else {
            return;
        };
        match sessions
            .page(&params, Some(page_size), token.take(), &mut seen_tokens)
            .await
        {
            Err(e) => {
                slot.send(Err(e));
                return;
            }
            Ok(page) => {
                let kept: Vec<Session> = page
                    .sessions
                    .into_iter()
                    .filter(|s| matcher.keep(s))
                    .collect();
                if !kept.is_empty() {
                    slot.send(Ok(kept));
                }
                match page.next_token {
                    Some(next) => token = Some(next),
                    None => return,
                }
            }
        }
    }
}
