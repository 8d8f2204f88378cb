//! [`MockServer`]: starting, controlling and stopping the mock; the connection loop that applies
//! faults and keeps the request journal.

use std::{
    collections::HashSet,
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderValue, Request, Response, StatusCode, header},
};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use tower::ServiceExt;

use crate::{
    Fault, FaultKind, Invite, Operation, RecordedRequest, SeedSessions, api,
    clock::Clock,
    control, limits,
    model::timestamp,
    rate_limit::RateLimit,
    state::{Shared, State},
    store::{ApplicantStep, KeyState, Settings, Store},
    webhook::{WebhookConfig, WebhookDelivery, Webhooks},
};

/// The largest request body the mock reads.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The demo keys used when none are configured.
const DEMO_LIVE_KEY: &str = "sk_mock_live_4eC39HqLyjWDarjtT1zdp7dc";
const DEMO_SANDBOX_KEY: &str = "sk_mock_sandbox_BQokikJOvBiI2HlWgH4olfQ2";

/// An API key the mock accepts, and who owns it.
///
/// ```
/// use deepidv_mock::ApiKey;
/// let key = ApiKey::live("sk_test_owner").user("usr_owner").organization("org_acme");
/// let colleague = ApiKey::live("sk_test_colleague").user("usr_colleague").organization("org_acme");
/// let sandbox = ApiKey::sandbox("sk_sandbox_1");
/// ```
#[derive(Clone, Debug)]
pub struct ApiKey {
    key: String,
    sandbox: bool,
    user_id: Option<String>,
    organization_id: Option<String>,
}

impl ApiKey {
    /// A live key: reads and writes.
    pub fn live(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            sandbox: false,
            user_id: None,
            organization_id: None,
        }
    }

    /// A sandbox key: reads only, with synthetic sessions.
    pub fn sandbox(key: impl Into<String>) -> Self {
        Self {
            sandbox: true,
            ..Self::live(key)
        }
    }

    /// The owning user's id (default: derived from the key's position).
    #[must_use]
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The owning organization's id (default `org_mock`).
    #[must_use]
    pub fn organization(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }
}

/// Configures a [`MockServer`].
///
/// ```no_run
/// # async fn run() -> Result<(), deepidv_mock::MockError> {
/// use std::time::Duration;
/// use deepidv_mock::{ApiKey, MockServer};
/// let mock = MockServer::builder()
///     .key(ApiKey::live("sk_test_a"))
///     .key(ApiKey::sandbox("sk_sandbox_a"))
///     .workflow("wf_onboarding")
///     .rate_limit(true)
///     .accept_voided(true)
///     .strict_transitions(true)
///     .location_as_object(true)
///     .control_token("s3cret-token")
///     .seed(42)
///     .webhook("http://127.0.0.1:8080/webhooks", "whsec_test_secret")
///     .webhook_retry(3, Duration::from_millis(100))
///     .webhook_timeout(Duration::from_secs(2))
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct MockBuilder {
    keys: Vec<ApiKey>,
    workflows: Vec<String>,
    rate_limit: bool,
    accept_voided: bool,
    strict_transitions: bool,
    location_as_object: bool,
    control_token: Option<String>,
    seed: u64,
    address: SocketAddr,
    /// `(url, secret)` pairs, checked by `start`.
    webhooks: Vec<(String, String)>,
    webhook_attempts: u32,
    webhook_first_delay: Duration,
    webhook_timeout: Duration,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            workflows: vec![
                "wf_abc123".into(),
                "wf_igaming_onboarding".into(),
                "your-workflow-id".into(),
            ],
            rate_limit: false,
            accept_voided: false,
            strict_transitions: false,
            location_as_object: false,
            control_token: None,
            seed: 0x0dee_b1d0,
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            webhooks: Vec::new(),
            webhook_attempts: limits::DEFAULT_WEBHOOK_ATTEMPTS,
            webhook_first_delay: limits::DEFAULT_WEBHOOK_RETRY_DELAY,
            webhook_timeout: limits::DEFAULT_WEBHOOK_TIMEOUT,
        }
    }
}

impl fmt::Debug for MockBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockBuilder")
            .field("keys", &self.keys.len())
            .field("workflows", &self.workflows)
            .field("rate_limit", &self.rate_limit)
            .field("accept_voided", &self.accept_voided)
            .field("strict_transitions", &self.strict_transitions)
            .field("location_as_object", &self.location_as_object)
            .field(
                "control_token",
                &self.control_token.as_ref().map(|_| "[redacted]"),
            )
            .field("seed", &self.seed)
            .field("address", &self.address)
            .field(
                "webhooks",
                &self
                    .webhooks
                    .iter()
                    .map(|(url, _)| (url.as_str(), "[redacted]"))
                    .collect::<Vec<_>>(),
            )
            .field("webhook_attempts", &self.webhook_attempts)
            .field("webhook_first_delay", &self.webhook_first_delay)
            .field("webhook_timeout", &self.webhook_timeout)
            .finish()
    }
}

impl MockBuilder {
    /// Accepts `key`. Without any, the mock accepts one demo live key and one demo sandbox key.
    pub fn key(mut self, key: ApiKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds a known workflow id (creates naming another are 404). Known by default: `wf_abc123`,
    /// `wf_igaming_onboarding`, `your-workflow-id` (the ids in DeepIDV's published examples).
    pub fn workflow(mut self, workflow_id: impl Into<String>) -> Self {
        self.workflows.push(workflow_id.into());
        self
    }

    /// Limits each key to 25 requests a second with bursts of 35, like the live API (default
    /// off; the binary turns it on).
    pub fn rate_limit(mut self, on: bool) -> Self {
        self.rate_limit = on;
        self
    }

    /// Accepts `new_status: VOIDED` (default: refused with 400, since DeepIDV documents only
    /// VERIFIED and REJECTED; whether the live API refuses VOIDED is not documented).
    pub fn accept_voided(mut self, accept: bool) -> Self {
        self.accept_voided = accept;
        self
    }

    /// Refuses (400) a decision (VERIFIED or REJECTED) on a session the applicant has not
    /// finished or that can no longer be decided: PENDING, EXPIRED and VOIDED. Default off: DeepIDV
    /// documents no such rule, so by default any session may be decided.
    pub fn strict_transitions(mut self, strict: bool) -> Self {
        self.strict_transitions = strict;
        self
    }

    /// Serves a session's `location` as an object `{"country": "Canada"}`, the shape of one
    /// documentation example (DeepIDV's retrieve reference). Default off: `location` is a string
    /// (`"Canada"`), as DeepIDV's published schema and its sandbox give it.
    pub fn location_as_object(mut self, as_object: bool) -> Self {
        self.location_as_object = as_object;
        self
    }

    /// Requires every control request (`/__mock/*`) to carry `Authorization: Bearer <token>`;
    /// others get 401. Without a token the control API is open, which
    /// [`start`](Self::start) allows only on a loopback address. The token must be non-empty
    /// visible ASCII (no spaces). [`MockServer`]'s own methods never need it.
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Seeds the generator behind ids, scenarios and probabilistic faults (same seed, same run).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Listens on `address` (default `127.0.0.1` on a free port). An address other than
    /// loopback needs a [`control_token`](Self::control_token).
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Delivers every webhook event to `url`, with `secret` as the `deepidv-signature` header
    /// (repeatable: each endpoint gets every event). See [Webhooks](crate#webhooks) for the
    /// events, the body and the retries.
    ///
    /// `url` must be `http://` (the mock does not speak TLS; DeepIDV itself requires HTTPS),
    /// with a host and without credentials; `secret` must be non-empty visible ASCII (DeepIDV's
    /// start with `whsec_`); at most [`MAX_WEBHOOK_ENDPOINTS`](crate::limits::MAX_WEBHOOK_ENDPOINTS)
    /// (16) endpoints. [`start`](Self::start) checks these and fails with a message naming the
    /// URL.
    pub fn webhook(mut self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.webhooks.push((url.into(), secret.into()));
        self
    }

    /// How webhook deliveries retry: at most `attempts` attempts (default 5), waiting
    /// `first_delay` (default 1 s) after the first failed one and doubling each time (by
    /// default 1, 2, 4, 8 s). A failed attempt is a non-2xx answer, a connection error or a
    /// [timeout](Self::webhook_timeout).
    ///
    /// `attempts` must be within [`WEBHOOK_ATTEMPTS`](crate::limits::WEBHOOK_ATTEMPTS) (1–20)
    /// and `first_delay` at most [`MAX_WEBHOOK_RETRY_DELAY`](crate::limits::MAX_WEBHOOK_RETRY_DELAY)
    /// (one hour), which also caps the doubled waits; [`start`](Self::start) fails otherwise.
    pub fn webhook_retry(mut self, attempts: u32, first_delay: Duration) -> Self {
        self.webhook_attempts = attempts;
        self.webhook_first_delay = first_delay;
        self
    }

    /// How long one webhook attempt waits, from connecting to the answer's headers, before it
    /// counts as failed (default 10 s, DeepIDV's documented timeout). It must be from
    /// [`MIN_WEBHOOK_TIMEOUT`](crate::limits::MIN_WEBHOOK_TIMEOUT) (1 ms) to
    /// [`MAX_WEBHOOK_TIMEOUT`](crate::limits::MAX_WEBHOOK_TIMEOUT) (five minutes);
    /// [`start`](Self::start) fails otherwise.
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhook_timeout = timeout;
        self
    }

    /// Binds and starts serving.
    ///
    /// Fails, without binding, on an address other than loopback without a
    /// [`control_token`](Self::control_token) (anyone who can reach the port could otherwise
    /// control the mock), with an empty token or one that is not visible ASCII, or with webhook
    /// settings out of their bounds (see [`webhook`](Self::webhook),
    /// [`webhook_retry`](Self::webhook_retry), [`webhook_timeout`](Self::webhook_timeout)).
    /// Must run inside a tokio runtime, which then runs the mock and its webhook deliveries.
    pub async fn start(self) -> Result<MockServer, MockError> {
        if let Some(token) = &self.control_token
            && (token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(MockError(
                "the control token must be non-empty visible ASCII, without spaces".into(),
            ));
        }
        if !is_loopback(self.address.ip()) && self.control_token.is_none() {
            return Err(MockError(format!(
                "refusing to listen on {} without a control token: anyone who can reach it \
                 could control the mock (set MockBuilder::control_token, or listen on loopback)",
                self.address
            )));
        }
        let webhooks = WebhookConfig::new(
            &self.webhooks,
            self.webhook_attempts,
            self.webhook_first_delay,
            self.webhook_timeout,
        )
        .map_err(MockError)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| MockError("the mock must be started inside a tokio runtime".into()))?;
        let webhooks = Webhooks::new(webhooks, runtime);
        let listener = TcpListener::bind(self.address)
            .await
            .map_err(|e| MockError(format!("cannot listen on {}: {e}", self.address)))?;
        let address = listener
            .local_addr()
            .map_err(|e| MockError(e.to_string()))?;
        let configured = if self.keys.is_empty() {
            vec![
                ApiKey::live(DEMO_LIVE_KEY),
                ApiKey::sandbox(DEMO_SANDBOX_KEY),
            ]
        } else {
            self.keys
        };
        let rate_limit = self.rate_limit.then(RateLimit::default);
        let now = Clock::default().now();
        let keys: Vec<KeyState> = configured
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let user_id = key
                    .user_id
                    .clone()
                    .unwrap_or_else(|| format!("usr_mock_{i}"));
                KeyState::new(
                    key.key.clone(),
                    key.sandbox,
                    json!({
                        "id": user_id,
                        "email": format!("{user_id}@sender.example.com"),
                        "first_name": "Mock",
                        "last_name": format!("Sender {i}"),
                        "phone": "+15550000000",
                        "created_at": timestamp(now),
                        "updated_at": timestamp(now),
                    }),
                    key.organization_id
                        .clone()
                        .unwrap_or_else(|| "org_mock".into()),
                    rate_limit,
                )
            })
            .collect();
        let settings = Settings {
            rate_limit,
            accept_voided: self.accept_voided,
            strict_transitions: self.strict_transitions,
            location_as_object: self.location_as_object,
            workflows: self.workflows.into_iter().collect::<HashSet<_>>(),
            seed: self.seed,
            session_url_base: "https://verify.mock.deepidv.invalid/session".into(),
        };
        let store = Store::new(settings, keys, webhooks.clone());
        let shared = Arc::new(Shared::new(State::new(store), self.control_token));
        let router = api::router()
            .nest("/__mock", control::router())
            .fallback(not_found)
            .with_state(shared.clone());
        let task = tokio::spawn(accept_loop(listener, shared.clone(), router));
        Ok(MockServer {
            url: format!("http://{address}"),
            live_key: configured
                .iter()
                .find(|k| !k.sandbox)
                .map(|k| k.key.clone()),
            sandbox_key: configured.iter().find(|k| k.sandbox).map(|k| k.key.clone()),
            shared,
            webhooks,
            task,
        })
    }
}

/// A running mock. Dropping it stops the server, closes its connections and stops the webhook
/// deliveries under way.
pub struct MockServer {
    url: String,
    live_key: Option<String>,
    sandbox_key: Option<String>,
    shared: Arc<Shared>,
    webhooks: Webhooks,
    task: JoinHandle<()>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
        self.webhooks.stop();
    }
}

/// A control call that could not be done (an unknown session id, a port in use, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockError(String);

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MockError {}

impl MockServer {
    /// Starts a mock with the defaults: loopback, a free port, a demo live key and a demo sandbox
    /// key, no rate limit.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound (use [`MockServer::builder`] to handle that).
    pub async fn start() -> MockServer {
        match MockServer::builder().start().await {
            Ok(mock) => mock,
            Err(e) => panic!("deepidv-mock could not start: {e}"),
        }
    }

    /// Starts configuring a mock.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first live key (the demo key unless keys were configured).
    ///
    /// # Panics
    ///
    /// If only sandbox keys were configured.
    pub fn api_key(&self) -> &str {
        self.live_key
            .as_deref()
            .unwrap_or_else(|| panic!("this mock has no live key"))
    }

    /// The first sandbox key, if any.
    pub fn sandbox_key(&self) -> Option<&str> {
        self.sandbox_key.as_deref()
    }

    /// Adds `n` sessions directly (no HTTP, no rate limit, no invites), spaced one second apart
    /// by default and ending at the mock's current time. Returns their ids, oldest first.
    ///
    /// Fails, adding nothing, for more than [`MAX_SEED_COUNT`](crate::limits::MAX_SEED_COUNT)
    /// (100,000) sessions, a spacing over
    /// [`MAX_SEED_SPACING`](crate::limits::MAX_SEED_SPACING) (one day), or an unknown owner key.
    pub fn seed_sessions(&self, n: usize, options: SeedSessions) -> Result<Vec<String>, MockError> {
        self.shared
            .lock()
            .store_mut()
            .seed(n, &options)
            .map_err(MockError)
    }

    /// The applicant finishes: the session becomes SUBMITTED with realistic results
    /// (`analysis_data`, `meta_data`, uploads and their links).
    pub fn submit(&self, session_id: &str) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .advance_session(session_id, ApplicantStep::Submit)
            .map_err(MockError)
    }

    /// The checks could not complete: the session becomes FAILED with its failed attempts.
    pub fn fail(&self, session_id: &str) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .advance_session(session_id, ApplicantStep::Fail)
            .map_err(MockError)
    }

    /// The session runs out of time: it becomes EXPIRED.
    pub fn expire(&self, session_id: &str) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .advance_session(session_id, ApplicantStep::Expire)
            .map_err(MockError)
    }

    /// A session's record as the API would show it, if it exists.
    pub fn session(&self, session_id: &str) -> Option<Value> {
        self.shared.lock().store().session(session_id)
    }

    /// How many sessions the mock holds.
    pub fn session_count(&self) -> usize {
        self.shared.lock().store().session_count()
    }

    /// Adds a fault; faults are tried in the order they were added. Values past the
    /// [`limits`](crate::limits) are clamped to them (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults_mut().push(fault.bounded());
    }

    /// Removes every fault not yet used up.
    pub fn clear_faults(&self) {
        self.shared.lock().faults_mut().clear();
    }

    /// Every API request received so far (up to the last 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().journal().requests().to_vec()
    }

    /// How many API requests arrived since the start (or the last reset), including those the
    /// journal's cap no longer holds.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().journal().request_count()
    }

    /// Every invitation creates would have sent (up to the last 10,000), oldest first.
    pub fn invites(&self) -> Vec<Invite> {
        self.shared.lock().journal().invites().to_vec()
    }

    /// Answers creates made with `key` with 402 `Insufficient funds or subscription.` while
    /// `enabled`.
    pub fn set_no_funds(&self, key: &str, enabled: bool) -> Result<(), MockError> {
        self.shared
            .lock()
            .store_mut()
            .set_no_funds(key, enabled)
            .map_err(MockError)
    }

    /// The mock's current time (what a create now would record as `created_at`).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.lock().store().now()
    }

    /// Stops the clock at `at`; it then moves only with [`advance_time`](Self::advance_time).
    ///
    /// The clock stays between 1970-01-01T00:00:00.000Z and 9998-12-31T23:59:59.999Z
    /// ([`CLOCK_EARLIEST_MILLIS`](crate::limits::CLOCK_EARLIEST_MILLIS),
    /// [`CLOCK_LATEST_MILLIS`](crate::limits::CLOCK_LATEST_MILLIS)): an `at` outside that range
    /// is moved to its nearer end.
    pub fn freeze_time(&self, at: DateTime<Utc>) {
        self.shared.lock().store_mut().freeze_time(at);
    }

    /// Moves the clock forward (or back, with a negative duration). A move that would take it
    /// out of its range (see [`freeze_time`](Self::freeze_time)) stops at the range's end. (Over
    /// HTTP, a move of more than 100 years, or one leaving the range, is refused with a 400.)
    pub fn advance_time(&self, by: chrono::Duration) {
        self.shared.lock().store_mut().advance_time_saturating(by);
    }

    /// Forgets every session, journal entry (webhook deliveries included) and fault, stops the
    /// webhook deliveries under way, and resets the clock and generator.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Every webhook delivery attempt so far (up to the last 10,000), oldest first: one entry
    /// per attempt, journaled when the attempt ends. `GET /__mock/webhooks` serves the same.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.webhooks.deliveries()
    }

    /// Waits until at least `n` webhook delivery attempts have been journaled since the start
    /// (or the last reset), counting those the journal's cap no longer holds; then returns
    /// the journal. Fails when `timeout` passes first, saying how far the deliveries got.
    ///
    /// It waits on the journal itself (no polling), so a test can synchronise on deliveries
    /// instead of sleeping.
    pub async fn wait_for_deliveries(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<WebhookDelivery>, MockError> {
        let wanted = u64::try_from(n).unwrap_or(u64::MAX);
        self.webhooks
            .wait_until(timeout, &format!("{n} webhook attempts"), |progress| {
                progress.journaled >= wanted
            })
            .await
            .map_err(MockError)
    }

    /// Waits until every webhook delivery emitted so far has finished (delivered, or its
    /// attempts used up); then returns the journal. Fails when `timeout` passes first.
    ///
    /// With nothing under way it returns at once, so to wait for the deliveries of a change,
    /// make the change first.
    pub async fn wait_for_webhooks_idle(
        &self,
        timeout: Duration,
    ) -> Result<Vec<WebhookDelivery>, MockError> {
        self.webhooks
            .wait_until(timeout, "the webhook deliveries to finish", |progress| {
                progress.in_flight == 0
            })
            .await
            .map_err(MockError)
    }
}

/// Why a connection was closed without an answer (a fault did it).
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// Whether `ip` is a loopback address (an IPv4-mapped IPv6 one included).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// How long the accept loop waits after a failed `accept` (out of file descriptors, say), so
/// that a persistent error does not spin a core: 5 ms, doubling up to 1 s, back to 5 ms after a
/// connection is accepted.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// The wait after a failure.
    fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, router: Router) {
    // Connections live in this set, so stopping the loop (dropping the server) closes them too.
    let mut connections = tokio::task::JoinSet::new();
    let mut backoff = Backoff::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(_) => {
                // The pending connection stays queued; waiting lets whatever ran out recover
                // (connections closing free descriptors) without spinning.
                while connections.try_join_next().is_some() {}
                tokio::time::sleep(backoff.failed()).await;
                continue;
            }
        };
        let shared = shared.clone();
        let router = router.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(shared.clone(), router.clone(), request)
            });
            // A connection ending badly (a client gone, a fault) is not the mock's problem.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(
    shared: Arc<Shared>,
    router: Router,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Dropped> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if path.starts_with("/__mock") {
        if let Some(token) = shared.control_token()
            && !bearer_matches(&parts.headers, token)
        {
            return Ok(unauthorized());
        }
        let response = router
            .oneshot(Request::from_parts(parts, Body::new(body)))
            .await;
        return Ok(response.unwrap_or_else(|never| match never {}));
    }

    let body = match http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(api::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "Request body too large"}).to_string(),
            ));
        }
    };
    let operation = Operation::of(&parts.method, &path);
    let fault = shared.lock().take_fault(operation);
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_owned),
        operation,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if name == "x-api-key" {
                    "[redacted]".to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.to_string(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: None,
        fault: fault.as_ref().map(|f| f.name().to_owned()),
    };
    // Journaled on arrival (a client that gives up early still shows in it); the status is
    // filled in when the answer goes out.
    let entry = shared.lock().journal_mut().record_request(recorded);
    let process = |parts, body: Bytes| async {
        let response = router
            .clone()
            .oneshot(Request::from_parts(parts, Body::from(body)))
            .await;
        response.unwrap_or_else(|never| match never {})
    };

    let outcome = match fault.map(|f| f.kind) {
        None => Ok(process(parts, body).await),
        Some(FaultKind::Status {
            status,
            headers,
            content_type,
            body,
        }) => Ok(canned(status, &headers, content_type.as_deref(), body)),
        Some(FaultKind::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(process(parts, body).await)
        }
        Some(FaultKind::SlowBody { millis }) => {
            let (head, full) = buffered(process(parts, body).await).await;
            let delayed = stream::once(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok::<Bytes, std::io::Error>(full)
            });
            Ok(Response::from_parts(head, Body::from_stream(delayed)))
        }
        Some(FaultKind::DropMidBody) => {
            let (head, full) = buffered(process(parts, body).await).await;
            let half = full.slice(..full.len() / 2);
            // The pause lets the headers and the first half reach the client before the cut.
            let cut = stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other(
                    "connection dropped by an injected fault",
                ))
            });
            let broken = stream::once(async { Ok(half) }).chain(cut);
            Ok(Response::from_parts(head, Body::from_stream(broken)))
        }
        Some(FaultKind::Oversized { bytes }) => Ok(oversized(bytes)),
        Some(FaultKind::DropConnection) => Err(Dropped),
        Some(FaultKind::ProcessThenDrop) => {
            let _processed = process(parts, body).await;
            Err(Dropped)
        }
    };
    if let Ok(response) = &outcome {
        shared
            .lock()
            .journal_mut()
            .record_status(entry, response.status().as_u16());
    }
    outcome
}

/// A response's head (with its full length declared) and its whole body.
async fn buffered(response: Response<Body>) -> (axum::http::response::Parts, Bytes) {
    let (mut head, body) = response.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    (head, full)
}

/// The answer of a [`FaultKind::Status`] fault.
fn canned(
    status: u16,
    headers: &[(String, String)],
    content_type: Option<&str>,
    body: String,
) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status)
        .ok()
        .filter(|s| limits::FAULT_STATUSES.contains(&s.as_u16()))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(content_type) = content_type.and_then(|ct| HeaderValue::from_str(ct).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The answer of an [`FaultKind::Oversized`] fault: `{"padding":"xxx…"}`, `bytes` long (at most
/// [`limits::MAX_OVERSIZED_BYTES`]), streamed in chunks so that it is never held in memory whole.
fn oversized(bytes: usize) -> Response<Body> {
    const CHUNK: usize = 64 * 1024;
    static PADDING: [u8; CHUNK] = [b'x'; CHUNK];
    const OPEN: &[u8] = br#"{"padding":""#;
    const CLOSE: &[u8] = br#""}"#;
    let padding = bytes
        .min(limits::MAX_OVERSIZED_BYTES)
        .saturating_sub(OPEN.len() + CLOSE.len());
    let total = OPEN.len() + padding + CLOSE.len();
    let chunks = (0..padding.div_ceil(CHUNK)).map(move |i| {
        let size = (padding - i * CHUNK).min(CHUNK);
        Ok::<Bytes, std::io::Error>(Bytes::from_static(&PADDING[..size]))
    });
    let body = stream::iter(
        std::iter::once(Ok(Bytes::from_static(OPEN)))
            .chain(chunks)
            .chain(std::iter::once(Ok(Bytes::from_static(CLOSE)))),
    );
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    response
}

/// Whether `headers` carry `Authorization: Bearer <token>` (the scheme in any case), compared
/// in constant time.
fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (scheme, given) = value.split_at(space);
    let given = given.trim_ascii_start();
    scheme.eq_ignore_ascii_case(b"bearer") && same_secret(given, token.as_bytes())
}

/// `given == expected`, in time that depends only on the lengths.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let difference = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| std::hint::black_box(acc | (a ^ b)));
    difference == 0
}

/// The answer to a control request without the right token.
fn unauthorized() -> Response<Body> {
    let mut response = api::json(
        StatusCode::UNAUTHORIZED,
        json!({"error": "the control API needs the header Authorization: Bearer <control token>"})
            .to_string(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"deepidv-mock control\""),
    );
    response
}

async fn not_found() -> Response<Body> {
    api::json(
        StatusCode::NOT_FOUND,
        json!({"error": "Not found"}).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::new();
        let waits: Vec<u128> = (0..10).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(5));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"token", b"token"));
        assert!(!same_secret(b"token", b"tokem"));
        assert!(!same_secret(b"token", b"token2"));
        assert!(!same_secret(b"", b"token"));
    }

    #[test]
    fn loopback_includes_ipv6_and_mapped_addresses() {
        for loopback in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(loopback.parse().unwrap()), "{loopback}");
        }
        for other in ["0.0.0.0", "::", "192.168.1.10", "::ffff:10.0.0.1"] {
            assert!(!is_loopback(other.parse().unwrap()), "{other}");
        }
    }
}
