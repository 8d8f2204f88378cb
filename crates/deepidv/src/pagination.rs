//! Following `next_token`: the pages one call has read ([`PagesRead`], which stops loops), and
//! [`Pages`], the stream of items behind every `list_all`, generic over the item type so that a
//! second listable resource needs no copy. A resource describes how to fetch one page
//! ([`PageSource`]); the stream does the rest (one page ahead, flat memory, errors once).

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_core::Stream;

use crate::{Error, Result, Unreadable, endpoint::Operation, sync::lock};

/// The most pages one call reads: one [`Sessions::list`](crate::Sessions::list), or one
/// [`Sessions::list_all`](crate::Sessions::list_all) stream (5 million sessions at 500 a page).
/// Past it the call fails with [`Error::Decode`]: a server that keeps answering with fresh tokens
/// (empty pages included) must not keep a call, and its memory of the tokens seen, growing for
/// ever.
pub const MAX_PAGES_PER_CALL: u32 = 10_000;

/// The most [`Unreadable`] values a stream keeps until they are taken; past it, later ones are only
/// logged (each was logged as it was decoded anyway).
const MAX_KEPT_UNREADABLE: usize = 1_000;

/// The pages one call has read: their count, and the tokens seen (a repeated one is a loop).
#[derive(Debug)]
pub(crate) struct PagesRead {
    operation: Operation,
    seen: HashSet<String>,
    pages: u32,
}

impl PagesRead {
    /// A walk over the pages of `operation`.
    pub(crate) fn new(operation: Operation) -> Self {
        Self {
            operation,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// Accounts for a page about to be requested from `token`.
    pub(crate) fn next_page(&mut self, token: Option<&str>) -> Result<()> {
        if self.pages == MAX_PAGES_PER_CALL {
            return Err(self.failure(format!(
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
            Some(next) if self.seen.contains(next) => Err(self.failure(
                "the server returned a next_token it had already given; stopping instead of looping"
                    .to_owned(),
            )),
            _ => Ok(()),
        }
    }

    fn failure(&self, message: String) -> Error {
        Error::Decode {
            message,
            operation: self.operation,
            source: None,
        }
    }
}

/// One page as the server gave it.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_token: Option<String>,
    pub(crate) unreadable: Vec<Unreadable>,
}

/// A page request in flight: it owns the walk so far and hands it back with the page.
pub(crate) type Fetch<T> = Pin<Box<dyn Future<Output = (Result<Page<T>>, PagesRead)> + Send>>;

/// What a listable resource tells [`Pages`].
pub(crate) trait PageSource: Send + 'static {
    /// What the pages hold.
    type Item: Send + Unpin + 'static;

    /// Requests the page that starts at `token` (the first page: `None`), counting it in `walk`.
    fn fetch(&self, token: Option<String>, walk: PagesRead) -> Fetch<Self::Item>;

    /// Keeps the items of `page` the caller asked for, in place (client-side filters).
    fn filter(&mut self, page: &mut Vec<Self::Item>);

    /// The id an [`Unreadable`] value names its row by.
    fn id(item: &Self::Item) -> &str;
}

/// Where the next request starts.
enum NextPage {
    First(Option<String>),
    After(String),
    None,
}

/// The items of every page, one at a time: a [`Stream`] of `Result<Item>`.
///
/// The next page is requested as soon as the caller starts on the current one, and that request
/// makes progress each time the stream is polled. Everything runs in the caller's task: no task
/// is spawned, pages are not handed between threads, and dropping the stream drops the request in
/// flight. At most two pages are held: the one being drained and the one fetched ahead. After an
/// error (yielded once) or the last item, it yields `None`.
pub(crate) struct Pages<S: PageSource> {
    source: S,
    operation: Operation,
    /// The page being drained.
    current: std::vec::IntoIter<S::Item>,
    /// The page fetched ahead, once it has arrived.
    ready: Option<Vec<S::Item>>,
    /// The request for the next page, while it is in flight.
    fetching: Option<Fetch<S::Item>>,
    /// Whether that request has progress to make: it is polled only then, not once per item
    /// yielded (a poll of an HTTP request that is waiting costs as much as yielding an item).
    fetch_waker: Arc<FetchWaker>,
    /// Where the next request starts; `None` once the last page was requested.
    next_token: NextPage,
    /// The pages read so far, while no request holds them.
    walk: Option<PagesRead>,
    /// A failure to report once the pages before it are drained.
    failed: Option<Error>,
    /// Values of unexpected types in the items yielded or about to be, until taken.
    unreadable: Vec<Unreadable>,
    done: bool,
}

impl<S: PageSource> Pages<S> {
    /// The items of `source`'s pages from `first_token`, or only `invalid` (the parameters were
    /// refused: nothing is sent).
    pub(crate) fn new(
        source: S,
        operation: Operation,
        first_token: Option<String>,
        invalid: Option<Error>,
    ) -> Self {
        Self {
            source,
            operation,
            next_token: if invalid.is_some() {
                NextPage::None
            } else {
                NextPage::First(first_token)
            },
            current: Vec::new().into_iter(),
            ready: None,
            fetching: None,
            fetch_waker: Arc::new(FetchWaker::default()),
            walk: Some(PagesRead::new(operation)),
            failed: invalid,
            unreadable: Vec::new(),
            done: false,
        }
    }

    /// The values of unexpected types found so far in the items of the pages read.
    pub(crate) fn take_unreadable(&mut self) -> Vec<Unreadable> {
        std::mem::take(&mut self.unreadable)
    }

    /// What the pages come from.
    pub(crate) fn source(&self) -> &S {
        &self.source
    }

    /// How many items of the current page are still to be yielded.
    pub(crate) fn in_hand(&self) -> usize {
        self.current.len()
    }

    /// Whether a page request is in flight.
    pub(crate) fn is_fetching(&self) -> bool {
        self.fetching.is_some()
    }

    /// Whether the stream has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.done
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
        let walk = self
            .walk
            .take()
            .unwrap_or_else(|| PagesRead::new(self.operation));
        self.fetching = Some(self.source.fetch(token, walk));
        // A new request is polled at once, so that it is sent and registers for wake-ups.
        self.fetch_waker.woken.store(true, Ordering::Release);
    }

    /// Drives the request in flight; files its page (or failure) when it completes. A page the
    /// filter empties is skipped by requesting the next one at once.
    fn poll_fetch(&mut self) {
        while let Some(fetch) = self.fetching.as_mut() {
            if !self.fetch_waker.woken.swap(false, Ordering::AcqRel) {
                return;
            }
            let waker = Waker::from(Arc::clone(&self.fetch_waker));
            let Poll::Ready((outcome, walk)) =
                fetch.as_mut().poll(&mut Context::from_waker(&waker))
            else {
                return;
            };
            self.fetching = None;
            self.walk = Some(walk);
            match outcome {
                Ok(Page {
                    items: mut page,
                    next_token: next,
                    unreadable,
                }) => {
                    self.source.filter(&mut page);
                    let room = MAX_KEPT_UNREADABLE.saturating_sub(self.unreadable.len());
                    self.unreadable.extend(
                        unreadable
                            .into_iter()
                            .filter(|value| value.belongs_to(page.iter().map(S::id)))
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

impl<S: PageSource> Stream for Pages<S>
where
    S: Unpin,
{
    type Item = Result<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            this.poll_fetch();
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
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
            // Wake this caller when the request makes progress; it may have done so since it
            // was last polled, before the caller's waker was in place.
            this.fetch_waker.wake_on_progress(cx.waker());
            if this.fetch_waker.woken.load(Ordering::Acquire) {
                continue;
            }
            return Poll::Pending;
        }
    }
}

/// The waker the page request is polled with: it notes that the request has progress to make,
/// and wakes the stream's caller if the caller is waiting.
#[derive(Default)]
struct FetchWaker {
    woken: AtomicBool,
    caller: Mutex<Option<Waker>>,
}

impl FetchWaker {
    /// Wakes `caller` when the request makes progress.
    fn wake_on_progress(&self, caller: &Waker) {
        let mut slot = lock(&self.caller);
        if !slot.as_ref().is_some_and(|known| known.will_wake(caller)) {
            *slot = Some(caller.clone());
        }
    }
}

impl Wake for FetchWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(caller) = lock(&self.caller).as_ref() {
            caller.wake_by_ref();
        }
    }
}
