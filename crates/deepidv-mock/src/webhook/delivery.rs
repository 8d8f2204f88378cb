//! Running the deliveries: one task per event and endpoint, chained per session, retried on the
//! configured schedule; and the journal of their attempts.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::http::{Request, header};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::{
    net::TcpStream,
    runtime::Handle,
    sync::{oneshot, watch},
    task::AbortHandle,
};

use super::{
    WebhookConfig, WebhookDelivery, WebhookEvent, config::Endpoint, disorder::Draws,
    event::envelope,
};
use crate::journal::JOURNAL_CAP;

/// The header carrying the signing secret.
const SIGNATURE_HEADER: &str = "deepidv-signature";

/// The journal, the deliveries in flight, and the chains that keep one session's events in
/// order per endpoint.
#[derive(Default)]
struct Inner {
    entries: VecDeque<WebhookDelivery>,
    /// Attempts journaled since the start or the last reset, including those the cap dropped.
    journaled: u64,
    /// Deliveries emitted and not yet finished.
    in_flight: u64,
    /// Bumped by reset: a task from an older epoch records nothing.
    epoch: u64,
    /// The last delivery number handed out.
    last_delivery: u64,
    running: HashMap<u64, AbortHandle>,
    /// Per (endpoint, session): the last delivery's number and the signal that it finished.
    tails: HashMap<(usize, String), (u64, oneshot::Receiver<()>)>,
    /// The out-of-order and duplicate draws, made in the order the events happen.
    draws: Draws,
}

impl Inner {
    /// Journals an attempt, dropping the oldest beyond [`JOURNAL_CAP`].
    fn journal(&mut self, entry: WebhookDelivery) {
        if self.entries.len() >= JOURNAL_CAP {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.journaled += 1;
    }
}

/// What the delivery tasks share with the mock.
struct Hub {
    inner: Mutex<Inner>,
    /// Bumped after every change to [`Inner`]'s journal or in-flight count, to wake waiters.
    changed: watch::Sender<u64>,
}

impl Hub {
    /// A poisoned lock is used as is: a delivery task panicking cannot leave the journal in a
    /// state worse than losing an entry.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn notify(&self) {
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
    }
}

/// The mock's webhook sender: emits events, runs deliveries, keeps their journal.
#[derive(Clone)]
pub(crate) struct Webhooks {
    config: Arc<WebhookConfig>,
    runtime: Handle,
    hub: Arc<Hub>,
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("endpoints", &self.config.endpoints.len())
            .finish_non_exhaustive()
    }
}

/// What one delivery task needs.
struct Job {
    config: Arc<WebhookConfig>,
    hub: Arc<Hub>,
    endpoint: usize,
    event: WebhookEvent,
    session_id: String,
    body: Bytes,
    delivery: u64,
    epoch: u64,
    /// How long to wait before the first attempt (out of order only).
    hold: Duration,
    /// Whether this is the second copy of a duplicated delivery.
    duplicate: bool,
}

impl Webhooks {
    pub(crate) fn new(config: WebhookConfig, runtime: Handle) -> Self {
        let inner = Inner {
            draws: Draws::new(config.disorder, config.seed),
            ..Inner::default()
        };
        Self {
            config: Arc::new(config),
            runtime,
            hub: Arc::new(Hub {
                inner: Mutex::new(inner),
                changed: watch::Sender::new(0),
            }),
        }
    }

    /// Sends `event` with `record` as `data` to every endpoint, in the background: once each,
    /// chained after the session's previous delivery there; or, as configured, twice, or held
    /// back and unchained.
    pub(crate) fn emit(&self, event: WebhookEvent, record: &Value) {
        if self.config.endpoints.is_empty() {
            return;
        }
        let session_id = record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let body = Bytes::from(envelope(event, record));
        let in_order = self.config.disorder.in_order();
        let mut inner = self.hub.lock();
        for endpoint in 0..self.config.endpoints.len() {
            let copies = inner.draws.copies();
            for copy in 0..copies {
                inner.last_delivery += 1;
                inner.in_flight += 1;
                let delivery = inner.last_delivery;
                let hold = inner.draws.hold();
                let (done, finished) = oneshot::channel();
                let previous = if in_order {
                    inner
                        .tails
                        .insert((endpoint, session_id.clone()), (delivery, finished))
                        .map(|(_, finished)| finished)
                } else {
                    None
                };
                let job = Job {
                    config: self.config.clone(),
                    hub: self.hub.clone(),
                    endpoint,
                    event,
                    session_id: session_id.clone(),
                    body: body.clone(),
                    delivery,
                    epoch: inner.epoch,
                    hold,
                    duplicate: copy > 0,
                };
                // The task cannot finish (and look for its entry) before the entry is in: it
                // needs this lock to finish.
                let task = self.runtime.spawn(deliver(job, previous, done));
                inner.running.insert(delivery, task.abort_handle());
            }
        }
        drop(inner);
        self.hub.notify();
    }

    /// The journal, oldest first.
    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.hub.lock().entries.iter().cloned().collect()
    }

    /// Stops every delivery and forgets the journal.
    pub(crate) fn reset(&self) {
        let mut inner = self.hub.lock();
        for (_, task) in inner.running.drain() {
            task.abort();
        }
        let epoch = inner.epoch.wrapping_add(1);
        let draws = inner.draws.restarted();
        *inner = Inner {
            epoch,
            draws,
            ..Inner::default()
        };
        drop(inner);
        self.hub.notify();
    }

    /// Stops every delivery (the mock is going away); the journal stays.
    pub(crate) fn stop(&self) {
        let mut inner = self.hub.lock();
        for (_, task) in inner.running.drain() {
            task.abort();
        }
        inner.tails.clear();
    }

    /// Waits until `done` holds of the journal, or `timeout` passes; then returns the journal.
    /// `what` describes the wait, for the error.
    pub(crate) async fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Progress) -> bool,
    ) -> Result<Vec<WebhookDelivery>, String> {
        let mut changes = self.hub.changed.subscribe();
        let wait = async {
            loop {
                {
                    let inner = self.hub.lock();
                    let progress = Progress {
                        journaled: inner.journaled,
                        in_flight: inner.in_flight,
                    };
                    if done(&progress) {
                        return Ok(inner.entries.iter().cloned().collect());
                    }
                }
                if changes.changed().await.is_err() {
                    return Err(());
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(entries)) => Ok(entries),
            Ok(Err(())) | Err(_) => {
                let inner = self.hub.lock();
                Err(format!(
                    "waited {} ms for {what}: {} attempts journaled, {} deliveries in flight",
                    timeout.as_millis(),
                    inner.journaled,
                    inner.in_flight
                ))
            }
        }
    }
}

/// How far the deliveries are, for [`Webhooks::wait_until`].
pub(crate) struct Progress {
    /// Attempts journaled since the start or reset.
    pub journaled: u64,
    /// Deliveries not yet finished.
    pub in_flight: u64,
}

/// One delivery: its attempts, in turn, after the delivery before it (same endpoint and
/// session) finished.
async fn deliver(job: Job, previous: Option<oneshot::Receiver<()>>, done: oneshot::Sender<()>) {
    if let Some(previous) = previous {
        // An error means the previous task was stopped: nothing to wait for.
        let _ = previous.await;
    }
    if !job.hold.is_zero() {
        tokio::time::sleep(job.hold).await;
    }
    let config = &job.config;
    let endpoint = &config.endpoints[job.endpoint];
    for attempt in 1..=config.attempts {
        let sent_at = DateTime::<Utc>::from(std::time::SystemTime::now());
        let started = Instant::now();
        let outcome = post(endpoint, job.body.clone(), config.timeout).await;
        let duration = started.elapsed();
        let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
        let retry_in =
            (!delivered && attempt < config.attempts).then(|| config.delay_after(attempt));
        let (status, error) = match outcome {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        let entry = WebhookDelivery {
            delivery: job.delivery,
            duplicate: job.duplicate,
            event: job.event,
            session_id: job.session_id.clone(),
            url: endpoint.url.clone(),
            attempt,
            status,
            error,
            delivered,
            retry_in,
            sent_at,
            duration,
        };
        {
            let mut inner = job.hub.lock();
            if inner.epoch != job.epoch {
                return;
            }
            inner.journal(entry);
        }
        job.hub.notify();
        match retry_in {
            Some(wait) => tokio::time::sleep(wait).await,
            None => break,
        }
    }
    {
        let mut inner = job.hub.lock();
        if inner.epoch == job.epoch {
            inner.in_flight = inner.in_flight.saturating_sub(1);
            inner.running.remove(&job.delivery);
            let key = (job.endpoint, job.session_id.clone());
            if inner
                .tails
                .get(&key)
                .is_some_and(|(last, _)| *last == job.delivery)
            {
                inner.tails.remove(&key);
            }
        }
    }
    let _ = done.send(());
    job.hub.notify();
}

/// One attempt: a new connection, one `POST`, the answer's status; at most `timeout` in all.
async fn post(endpoint: &Endpoint, body: Bytes, timeout: Duration) -> Result<u16, String> {
    match tokio::time::timeout(timeout, exchange(endpoint, body)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

async fn exchange(endpoint: &Endpoint, body: Bytes) -> Result<u16, String> {
    let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", endpoint.authority))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let request = Request::post(endpoint.path_and_query.as_str())
        .header(header::HOST, endpoint.authority.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "deepidv-mock webhooks")
        .header(SIGNATURE_HEADER, endpoint.secret.clone())
        .body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let answer = sender.send_request(request);
    tokio::pin!(answer);
    let mut connection = Box::pin(connection);
    let response = tokio::select! {
        biased;
        response = &mut answer => response,
        ended = &mut connection => {
            // The connection ended: with it gone, the answer is either there (it came first)
            // or cancelled.
            drop(connection);
            match answer.await {
                Ok(response) => Ok(response),
                Err(e) => match ended {
                    Err(ended) => Err(ended),
                    Ok(()) => Err(e),
                },
            }
        }
    };
    response
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("no answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_keeps_the_last_10_000_attempts_and_counts_them_all() {
        let mut inner = Inner::default();
        for attempt in 1..=10_005 {
            inner.journal(WebhookDelivery {
                delivery: 1,
                duplicate: false,
                event: WebhookEvent::SessionCreated,
                session_id: "s".into(),
                url: "http://127.0.0.1/".into(),
                attempt,
                status: Some(500),
                error: None,
                delivered: false,
                retry_in: None,
                sent_at: DateTime::UNIX_EPOCH,
                duration: Duration::ZERO,
            });
        }
        assert_eq!((inner.entries.len(), inner.journaled), (10_000, 10_005));
        assert_eq!(inner.entries.front().map(|e| e.attempt), Some(6));
    }
}
