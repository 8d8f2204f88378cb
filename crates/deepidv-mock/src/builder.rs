//! Configuring and starting a mock: [`ApiKey`], [`MockBuilder`], and [`MockServer`]'s
//! constructors, which start it through the builder.

use std::{
    collections::HashSet,
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use serde_json::json;
use tokio::net::TcpListener;

use crate::{
    MockError, MockServer,
    clock::Clock,
    limits,
    model::timestamp,
    rate_limit::RateLimit,
    serve,
    state::{Shared, State},
    store::{KeyState, Settings, Store},
    webhook::{Disorder, WebhookConfig, Webhooks},
};

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
    /// Out of order: the longest hold before a delivery's first attempt; `None`: in order.
    webhook_hold: Option<Duration>,
    webhook_duplicates: f64,
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
            webhook_hold: None,
            webhook_duplicates: 0.0,
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
            .field("webhook_hold", &self.webhook_hold)
            .field("webhook_duplicates", &self.webhook_duplicates)
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
    /// `url` must be `http://` (the mock does not speak TLS; DeepIDV itself requires HTTPS) to a
    /// loopback host (`localhost`, 127.0.0.0/8 or `::1`: plain HTTP carries the secret in clear,
    /// so the mock never sends it off the machine), without credentials; `secret` must be non-empty visible ASCII (DeepIDV's
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

    /// Delivers webhook events out of order (default: in order). DeepIDV documents no order of
    /// its deliveries, so a receiver must not rely on one; this lets a test prove it does not.
    ///
    /// Each delivery then waits a time drawn from the mock's [`seed`](Self::seed), from zero to
    /// `max_hold` (to the millisecond), before its first attempt, and no longer waits for the
    /// session's delivery before it: one session's events, and different sessions', arrive in
    /// an order the seed fixes (up to scheduling, for holds less than a few milliseconds apart).
    /// A `max_hold` of zero only unchains them. `max_hold` must be at most
    /// [`MAX_WEBHOOK_HOLD`](crate::limits::MAX_WEBHOOK_HOLD) (one hour); [`start`](Self::start)
    /// fails otherwise. The binary's flag is `--webhook-out-of-order-ms MS`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), deepidv_mock::MockError> {
    /// use std::time::Duration;
    /// let mock = deepidv_mock::MockServer::builder()
    ///     .webhook("http://127.0.0.1:8080/webhooks", "whsec_test_secret")
    ///     .webhook_out_of_order(Duration::from_millis(500))
    ///     .seed(7)
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn webhook_out_of_order(mut self, max_hold: Duration) -> Self {
        self.webhook_hold = Some(max_hold);
        self
    }

    /// Delivers some webhook events twice (default: never). DeepIDV's deliveries can repeat (it
    /// retries after a timeout even when the receiver acted), so a receiver must deduplicate;
    /// this lets a test prove it does.
    ///
    /// Each event is sent to each endpoint a second time with chance `probability`, drawn from
    /// the mock's [`seed`](Self::seed) (1.0: every event twice). The copy is a delivery of its
    /// own (its own number, attempts and retries; [`WebhookDelivery::duplicate`](
    /// crate::WebhookDelivery::duplicate) set) with the same body, sent after the original
    /// finishes, or independently when [out of order](Self::webhook_out_of_order).
    /// `probability` must be from 0 to 1; [`start`](Self::start) fails otherwise. The binary's
    /// flag is `--webhook-duplicates P`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), deepidv_mock::MockError> {
    /// let mock = deepidv_mock::MockServer::builder()
    ///     .webhook("http://127.0.0.1:8080/webhooks", "whsec_test_secret")
    ///     .webhook_duplicates(1.0)
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn webhook_duplicates(mut self, probability: f64) -> Self {
        self.webhook_duplicates = probability;
        self
    }

    /// Binds and starts serving.
    ///
    /// Fails, without binding, on an address other than loopback without a
    /// [`control_token`](Self::control_token) (anyone who can reach the port could otherwise
    /// control the mock), with an empty token or one that is not visible ASCII, or with webhook
    /// settings out of their bounds (see [`webhook`](Self::webhook),
    /// [`webhook_retry`](Self::webhook_retry), [`webhook_timeout`](Self::webhook_timeout),
    /// [`webhook_out_of_order`](Self::webhook_out_of_order),
    /// [`webhook_duplicates`](Self::webhook_duplicates)); a webhook URL that is plain `http://`
    /// to a host other than loopback is refused with a message naming the URL.
    /// Must run inside a tokio runtime, which then runs the mock and its webhook deliveries.
    pub async fn start(self) -> Result<MockServer, MockError> {
        if let Some(token) = &self.control_token
            && (token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(MockError::new(
                "the control token must be non-empty visible ASCII, without spaces".into(),
            ));
        }
        if !is_loopback(self.address.ip()) && self.control_token.is_none() {
            return Err(MockError::new(format!(
                "refusing to listen on {} without a control token: anyone who can reach it \
                 could control the mock (set MockBuilder::control_token, or listen on loopback)",
                self.address
            )));
        }
        let disorder =
            Disorder::new(self.webhook_hold, self.webhook_duplicates).map_err(MockError::new)?;
        let webhooks = WebhookConfig::new(
            &self.webhooks,
            self.webhook_attempts,
            self.webhook_first_delay,
            self.webhook_timeout,
        )
        .map_err(MockError::new)?
        .with_disorder(disorder, self.seed);
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            MockError::new("the mock must be started inside a tokio runtime".into())
        })?;
        let webhooks = Webhooks::new(webhooks, runtime);
        let listener = TcpListener::bind(self.address)
            .await
            .map_err(|e| MockError::new(format!("cannot listen on {}: {e}", self.address)))?;
        let address = listener
            .local_addr()
            .map_err(|e| MockError::new(e.to_string()))?;
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
        let routers = serve::Routers::new(&shared);
        let task = tokio::spawn(serve::accept_loop(listener, shared.clone(), routers));
        Ok(MockServer::new(
            format!("http://{address}"),
            configured
                .iter()
                .find(|k| !k.sandbox)
                .map(|k| k.key.clone()),
            configured.iter().find(|k| k.sandbox).map(|k| k.key.clone()),
            shared,
            webhooks,
            task,
        ))
    }
}

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
}

/// Whether `ip` is a loopback address (an IPv4-mapped IPv6 one included).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

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
