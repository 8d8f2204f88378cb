//! Webhooks: which events the mock sends, to which endpoints, how each delivery is attempted and
//! retried, and the journal of attempts.
//!
//! An event is emitted while the state is locked (so events are numbered in the order the
//! sessions changed); its deliveries, one per endpoint, run as tokio tasks and never hold the
//! state's lock. Deliveries of one session's events to one endpoint are chained: each waits for
//! the one before it to finish (delivered or given up).

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::http::{HeaderValue, Request, Uri, header, uri::Scheme};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde::{Serialize, Serializer};
use serde_json::Value;
use tokio::{
    net::TcpStream,
    runtime::Handle,
    sync::{oneshot, watch},
    task::AbortHandle,
};

use crate::{journal::JOURNAL_CAP, limits, model::timestamp};

/// The header carrying the signing secret.
const SIGNATURE_HEADER: &str = "deepidv-signature";

/// An event DeepIDV sends to webhook endpoints (`docs/contract.md`, "Webhooks").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `session.created`: a session was created (`POST /v1/sessions`).
    #[serde(rename = "session.created")]
    SessionCreated,
    /// `session.status.submitted`: the applicant finished ([`MockServer::submit`](
    /// crate::MockServer::submit), `POST /__mock/sessions/{id}/submit`).
    #[serde(rename = "session.status.submitted")]
    SessionSubmitted,
    /// `session.status.verified`: the session was set to VERIFIED (update-status).
    #[serde(rename = "session.status.verified")]
    SessionVerified,
    /// `session.status.rejected`: the session was set to REJECTED (update-status).
    #[serde(rename = "session.status.rejected")]
    SessionRejected,
    /// `session.status.failed`: the checks could not complete ([`MockServer::fail`](
    /// crate::MockServer::fail), `POST /__mock/sessions/{id}/fail`).
    #[serde(rename = "session.status.failed")]
    SessionFailed,
}

impl WebhookEvent {
    /// The event's name on the wire, the envelope's `type`, such as `session.status.verified`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::SessionCreated => "session.created",
            WebhookEvent::SessionSubmitted => "session.status.submitted",
            WebhookEvent::SessionVerified => "session.status.verified",
            WebhookEvent::SessionRejected => "session.status.rejected",
            WebhookEvent::SessionFailed => "session.status.failed",
        }
    }

    /// The event a decision (`new_status`) sends, if any (VOIDED sends none).
    pub(crate) fn for_decision(status: &str) -> Option<Self> {
        match status {
            "VERIFIED" => Some(WebhookEvent::SessionVerified),
            "REJECTED" => Some(WebhookEvent::SessionRejected),
            _ => None,
        }
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt to deliver a webhook event to one endpoint, as
/// [`MockServer::webhook_deliveries`](crate::MockServer::webhook_deliveries) and
/// `GET /__mock/webhooks` report it. An entry is journaled when the attempt ends (answered, failed
/// or timed out).
///
/// In JSON the durations are in milliseconds (`retry_in_millis`, whole; `duration_millis`, to the
/// microsecond, such as `0.412`) and `sent_at` is a timestamp such as `2025-01-15T10:30:00.000Z`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// Numbers the delivery (one event to one endpoint), from 1 since the start or the last reset;
    /// every attempt of a delivery has the same number.
    pub delivery: u64,
    /// The event, the envelope's `type`.
    pub event: WebhookEvent,
    /// The session the event is about (the envelope's `data.id`).
    pub session_id: String,
    /// The endpoint's URL, as configured.
    pub url: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The HTTP status answered, or `None` when no answer came (see [`error`](Self::error)).
    pub status: Option<u16>,
    /// Why no answer came (connection refused, timeout, connection closed), or `None` when one
    /// came.
    pub error: Option<String>,
    /// Whether the answer was a 2xx: the delivery is done.
    pub delivered: bool,
    /// The wait before the next attempt, or `None` when this was the last (delivered, or the
    /// attempts are used up).
    #[serde(rename = "retry_in_millis", serialize_with = "optional_millis")]
    pub retry_in: Option<Duration>,
    /// When the attempt started, by the wall clock (the system's UTC time, not the mock's
    /// clock, which tests may freeze or move: retries and timeouts run in real time).
    #[serde(serialize_with = "wire_timestamp")]
    pub sent_at: DateTime<Utc>,
    /// How long the attempt took, from connecting to the answer's headers (or the failure).
    #[serde(rename = "duration_millis", serialize_with = "fractional_millis")]
    pub duration: Duration,
}

fn millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds to the microsecond, such as `0.412`.
fn fractional_millis<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1_000_000.0).round() / 1_000.0)
}

fn optional_millis<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => millis(duration, serializer),
        None => serializer.serialize_none(),
    }
}

fn wire_timestamp<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&timestamp(*at))
}

/// A configured endpoint, checked.
#[derive(Clone, Debug)]
struct Endpoint {
    url: String,
    secret: HeaderValue,
    /// Host name or address to connect to (an IPv6 address without its brackets).
    host: String,
    port: u16,
    /// The `Host` header.
    authority: String,
    path_and_query: String,
}

impl Endpoint {
    fn parse(url: &str, secret: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| {
            format!(
                "webhook URL {url:?} is not a valid URL ({e}); give an absolute http:// URL, \
                     such as http://127.0.0.1:8080/webhooks"
            )
        })?;
        match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTP => {}
            Some(scheme) if *scheme == Scheme::HTTPS => {
                return Err(format!(
                    "webhook URL {url:?}: https:// is not supported, the mock delivers over plain \
                     HTTP; give an http:// URL (a local receiver)"
                ));
            }
            _ => {
                return Err(format!(
                    "webhook URL {url:?} must be an absolute http:// URL, such as \
                     http://127.0.0.1:8080/webhooks"
                ));
            }
        }
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(|| format!("webhook URL {url:?} has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "webhook URL {url:?}: credentials in the URL (user@host) are not supported"
            ));
        }
        if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "the webhook secret for {url} must be non-empty visible ASCII without spaces \
                 (DeepIDV's look like whsec_...)"
            ));
        }
        let secret = HeaderValue::from_str(secret)
            .map_err(|_| format!("the webhook secret for {url} is not a valid header value"))?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_owned();
        Ok(Self {
            url: url.to_owned(),
            secret,
            host,
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            path_and_query: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }
}

/// The checked webhook settings.
#[derive(Clone, Debug)]
pub(crate) struct WebhookConfig {
    endpoints: Vec<Endpoint>,
    attempts: u32,
    first_delay: Duration,
    timeout: Duration,
}

impl WebhookConfig {
    /// Checks the builder's settings against [`limits`]; the message names the setting and its
    /// range.
    pub(crate) fn new(
        endpoints: &[(String, String)],
        attempts: u32,
        first_delay: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        if endpoints.len() > limits::MAX_WEBHOOK_ENDPOINTS {
            return Err(format!(
                "at most {} webhook endpoints are supported (got {})",
                limits::MAX_WEBHOOK_ENDPOINTS,
                endpoints.len()
            ));
        }
        if !limits::WEBHOOK_ATTEMPTS.contains(&attempts) {
            return Err(format!(
                "webhook attempts must be from {} to {} (got {attempts})",
                limits::WEBHOOK_ATTEMPTS.start(),
                limits::WEBHOOK_ATTEMPTS.end()
            ));
        }
        if first_delay > limits::MAX_WEBHOOK_RETRY_DELAY {
            return Err(format!(
                "the webhook retry delay must be at most {} ms (one hour) (got {} ms)",
                limits::MAX_WEBHOOK_RETRY_DELAY.as_millis(),
                first_delay.as_millis()
            ));
        }
        if !(limits::MIN_WEBHOOK_TIMEOUT..=limits::MAX_WEBHOOK_TIMEOUT).contains(&timeout) {
            return Err(format!(
                "the webhook timeout must be from {} ms to {} ms (five minutes) (got {} ms)",
                limits::MIN_WEBHOOK_TIMEOUT.as_millis(),
                limits::MAX_WEBHOOK_TIMEOUT.as_millis(),
                timeout.as_millis()
            ));
        }
        let endpoints = endpoints
            .iter()
            .map(|(url, secret)| Endpoint::parse(url, secret))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            endpoints,
            attempts,
            first_delay,
            timeout,
        })
    }

    /// The wait after failed attempt `attempt` (from 1): the first delay doubled `attempt - 1`
    /// times, at most [`limits::MAX_WEBHOOK_RETRY_DELAY`].
    fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first_delay
            .saturating_mul(factor)
            .min(limits::MAX_WEBHOOK_RETRY_DELAY)
    }
}

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
}

impl Webhooks {
    pub(crate) fn new(config: WebhookConfig, runtime: Handle) -> Self {
        Self {
            config: Arc::new(config),
            runtime,
            hub: Arc::new(Hub {
                inner: Mutex::new(Inner::default()),
                changed: watch::Sender::new(0),
            }),
        }
    }

    /// Sends `event` with `record` as `data` to every endpoint, in the background.
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
        let mut inner = self.hub.lock();
        for endpoint in 0..self.config.endpoints.len() {
            inner.last_delivery += 1;
            inner.in_flight += 1;
            let delivery = inner.last_delivery;
            let (done, finished) = oneshot::channel();
            let previous = inner
                .tails
                .insert((endpoint, session_id.clone()), (delivery, finished))
                .map(|(_, finished)| finished);
            let job = Job {
                config: self.config.clone(),
                hub: self.hub.clone(),
                endpoint,
                event,
                session_id: session_id.clone(),
                body: body.clone(),
                delivery,
                epoch: inner.epoch,
            };
            // The task cannot finish (and look for its entry) before the entry is in: it needs
            // this lock to finish.
            let task = self.runtime.spawn(deliver(job, previous, done));
            inner.running.insert(delivery, task.abort_handle());
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
        *inner = Inner {
            epoch,
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

/// The body DeepIDV posts: `{"type": …, "data": <session record>}`, `type` first as in the
/// published examples.
fn envelope(event: WebhookEvent, record: &Value) -> String {
    format!(r#"{{"type":"{}","data":{record}}}"#, event.as_str())
}

/// One delivery: its attempts, in turn, after the delivery before it (same endpoint and
/// session) finished.
async fn deliver(job: Job, previous: Option<oneshot::Receiver<()>>, done: oneshot::Sender<()>) {
    if let Some(previous) = previous {
        // An error means the previous task was stopped: nothing to wait for.
        let _ = previous.await;
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

    fn config(attempts: u32, first: Duration) -> WebhookConfig {
        WebhookConfig::new(&[], attempts, first, limits::DEFAULT_WEBHOOK_TIMEOUT).unwrap()
    }

    #[test]
    fn the_default_schedule_is_1_2_4_8_seconds() {
        let config = config(
            limits::DEFAULT_WEBHOOK_ATTEMPTS,
            limits::DEFAULT_WEBHOOK_RETRY_DELAY,
        );
        let waits: Vec<u64> = (1..config.attempts)
            .map(|a| config.delay_after(a).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8]);
    }

    #[test]
    fn waits_stop_growing_at_an_hour_without_overflow() {
        let config = config(
            *limits::WEBHOOK_ATTEMPTS.end(),
            limits::MAX_WEBHOOK_RETRY_DELAY,
        );
        for attempt in [1, 2, 19, 20, 40, u32::MAX] {
            assert_eq!(config.delay_after(attempt), limits::MAX_WEBHOOK_RETRY_DELAY);
        }
        let small = self::config(20, Duration::from_millis(1));
        assert_eq!(small.delay_after(20), Duration::from_millis(1 << 19));
    }

    #[test]
    fn endpoints_are_checked() {
        let ok = Endpoint::parse("http://[::1]:8080/hooks?x=1", "whsec_abc").unwrap();
        assert_eq!(
            (
                ok.host.as_str(),
                ok.port,
                ok.authority.as_str(),
                ok.path_and_query.as_str()
            ),
            ("::1", 8080, "[::1]:8080", "/hooks?x=1")
        );
        let bare = Endpoint::parse("http://example.com", "s").unwrap();
        assert_eq!((bare.port, bare.path_and_query.as_str()), (80, "/"));
        for (url, secret, expected) in [
            ("https://example.com/hook", "s", "https:// is not supported"),
            ("ftp://example.com/hook", "s", "absolute http:// URL"),
            ("/relative", "s", "absolute http:// URL"),
            ("not a url", "s", "not a valid URL"),
            ("http://user:pw@example.com/", "s", "credentials"),
            ("http://example.com/", "", "non-empty visible ASCII"),
            (
                "http://example.com/",
                "with space",
                "non-empty visible ASCII",
            ),
            (
                "http://example.com/",
                "caf\u{e9}",
                "non-empty visible ASCII",
            ),
        ] {
            let error = Endpoint::parse(url, secret).unwrap_err();
            assert!(error.contains(expected), "{url} {secret:?}: {error}");
        }
    }

    #[test]
    fn the_journal_keeps_the_last_10_000_attempts_and_counts_them_all() {
        let mut inner = Inner::default();
        for attempt in 1..=10_005 {
            inner.journal(WebhookDelivery {
                delivery: 1,
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

    #[test]
    fn the_envelope_is_type_then_the_bare_record() {
        let record = serde_json::json!({"id": "s1", "status": "PENDING"});
        let body = envelope(WebhookEvent::SessionCreated, &record);
        assert!(
            body.starts_with(r#"{"type":"session.created","data":{"#),
            "{body}"
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"], record);
    }
}
