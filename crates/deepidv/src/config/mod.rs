//! [`ClientBuilder`]: everything a [`Client`](crate::Client) is configured with, checked when it is built.

use std::{fmt, time::Duration};

use reqwest::Url;

mod base_url;
#[cfg(feature = "redis")]
mod fleet;

use crate::{
    Error, RateLimit, Result,
    coordinator::Coordinator,
    pipeline::{Limiter, Pipeline, RetryPolicy, Transport, TransportSettings, api_key_header},
    text,
};

/// DeepIDV's API host; the same for sandbox and live keys (the key decides).
pub const DEFAULT_BASE_URL: &str = "https://api.deepidv.com";
/// How long one attempt may take, from sending to the last byte of the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a failed call is tried again (when its failure is retryable).
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The ceiling of the first retry's random delay; it doubles per retry, up to 30 s.
pub const DEFAULT_INITIAL_RETRY_DELAY: Duration = Duration::from_millis(500);
/// How long establishing a connection (TCP and TLS) may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response body read: 16 MiB, far above a 500-session page.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = deepidv_raw::DEFAULT_MAX_BODY_BYTES;

/// The environment variable [`Client::from_env`](crate::Client::from_env) reads the API key from.
pub const API_KEY_ENV: &str = "DEEPIDV_API_KEY";
/// The environment variable [`Client::from_env`](crate::Client::from_env) reads an optional base URL from.
pub const BASE_URL_ENV: &str = "DEEPIDV_BASE_URL";

/// Configures a [`Client`](crate::Client). Start from [`Client::builder`](crate::Client::builder).
///
/// ```
/// use std::time::Duration;
/// let client = deepidv::Client::builder()
///     .api_key("sk_live_example")
///     .timeout(Duration::from_secs(10))
///     .max_retries(2)
///     .build()?;
/// # Ok::<(), deepidv::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Duration,
    max_retries: u32,
    initial_retry_delay: Duration,
    http: Option<reqwest::ClientBuilder>,
    allow_insecure_http: bool,
    rate_limit: Option<RateLimit>,
    total_timeout: Option<Duration>,
    connect_timeout: Duration,
    max_response_bytes: usize,
    log_bodies: bool,
    #[cfg(feature = "redis")]
    fleet: Option<crate::fleet::FleetConfig>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            initial_retry_delay: DEFAULT_INITIAL_RETRY_DELAY,
            http: None,
            allow_insecure_http: false,
            rate_limit: Some(RateLimit::DEFAULT),
            total_timeout: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            log_bodies: false,
            #[cfg(feature = "redis")]
            fleet: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("ClientBuilder");
        f.field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url.as_deref().map(shown))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("initial_retry_delay", &self.initial_retry_delay)
            .field("http_client_builder", &self.http.is_some())
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("rate_limit", &self.rate_limit)
            .field("total_timeout", &self.total_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("log_bodies", &self.log_bodies);
        #[cfg(feature = "redis")]
        f.field(
            "redis",
            &self
                .fleet
                .as_ref()
                .map(|fleet| (shown(&fleet.prefix), fleet.timeout, fleet.fail_closed)),
        );
        f.finish()
    }
}

impl ClientBuilder {
    /// The API key (required). Sent as the `x-api-key` header, marked sensitive.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().api_key("sk_live_example");
    /// ```
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Where the API lives; default `https://api.deepidv.com`. A trailing slash or a path prefix
    /// (`https://proxy.example/deepidv/`) works. `http://` is accepted only for loopback hosts
    /// unless [`allow_insecure_http`](Self::allow_insecure_http) is set.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().base_url("http://127.0.0.1:12111");
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// How long one attempt may take, from sending to the last byte of the answer; default 30 s.
    /// Retries get a fresh timeout each.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, per_attempt: Duration) -> Self {
        self.timeout = per_attempt;
        self
    }

    /// How many times a retryable failure is tried again; default 3. Zero turns retries off.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().max_retries(0);
    /// ```
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The ceiling of the first retry's random delay; default 500 ms. Retry `n` waits a random time
    /// between zero and `delay · 2ⁿ` (at most 30 s), unless the server sent `Retry-After`.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().initial_retry_delay(std::time::Duration::from_millis(100));
    /// ```
    pub fn initial_retry_delay(mut self, delay: Duration) -> Self {
        self.initial_retry_delay = delay;
        self
    }

    /// Starts the HTTP client from this builder, for proxies, extra root certificates, connection
    /// pools and the like. The SDK still applies its own redirect policy (none are followed),
    /// default headers and timeout on top.
    ///
    /// ```
    /// let http = reqwest::Client::builder().pool_max_idle_per_host(4);
    /// let builder = deepidv::Client::builder().http_client_builder(http);
    /// ```
    pub fn http_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http = Some(builder);
        self
    }

    /// Accepts `http://` base URLs to hosts other than loopback; default false. The API key would
    /// travel in clear text: use this only inside a trusted network.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().allow_insecure_http(true);
    /// ```
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The client-side rate limit, shared by every clone of the client; `None` turns it off.
    /// Default: [`RateLimit::DEFAULT`] (24 requests a second, bursts of 30), just under DeepIDV's
    /// documented limit. Every attempt counts, retries included.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().rate_limit(Some(deepidv::RateLimit::per_second(5)));
    /// ```
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// A deadline for a whole call, retries and their waits included (default: none, so a call
    /// can take up to `timeout × (max_retries + 1)` plus the waits). When it passes, the call
    /// fails with [`Error::Timeout`].
    ///
    /// ```
    /// let builder = deepidv::Client::builder().total_timeout(std::time::Duration::from_secs(60));
    /// ```
    pub fn total_timeout(mut self, deadline: Duration) -> Self {
        self.total_timeout = Some(deadline);
        self
    }

    /// How long establishing a connection (TCP and TLS) may take; default 10 s. A connection that
    /// cannot be made was never sent, so even a create is retried after it.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().connect_timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest response body the client reads; default 16 MiB. A larger answer ends the read
    /// with [`Error::Decode`] instead of growing memory.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().max_response_bytes(4 * 1024 * 1024);
    /// ```
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Logs request and response bodies as `tracing` TRACE events; default false. Even then only
    /// the values of a short allowlist of non-personal keys (ids, status, type, progress,
    /// timestamps, scores, counts, workflow ids) are logged as they are: every other string or
    /// number, including any field DeepIDV adds later, is replaced by `[redacted]`. Bodies are cut
    /// at 2 KiB. The API key is never logged.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().log_bodies(true);
    /// ```
    pub fn log_bodies(mut self, on: bool) -> Self {
        self.log_bodies = on;
        self
    }
}

impl ClientBuilder {
    /// Checks the configuration and builds the parts of a client (`Client` is made from them by
    /// [`build`](Self::build), in `client.rs`, so that the imports point one way).
    pub(crate) fn into_parts(self) -> Result<ClientParts> {
        let api_key = self
            .api_key
            .ok_or_else(|| Error::config("api_key is required (set it or DEEPIDV_API_KEY)"))?;
        let api_key_header = api_key_header(&api_key)?;
        if Url::parse(&api_key).is_ok_and(|url| url.has_host()) {
            return Err(Error::config(
                "api_key looks like a URL, not an API key (are the key and the URL swapped?)",
            ));
        }
        let (base_url, loopback) = base_url::checked(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        if self.timeout.is_zero()
            || self.connect_timeout.is_zero()
            || self.total_timeout.is_some_and(|t| t.is_zero())
        {
            return Err(Error::config("timeouts must be greater than zero"));
        }
        if self
            .rate_limit
            .is_some_and(|limit| limit.rate() == 0 || limit.burst_size() == 0)
        {
            return Err(Error::config(
                "rate_limit needs a rate and a burst of at least 1 (or None for no limit)",
            ));
        }
        if self.max_response_bytes < 1024 {
            return Err(Error::config("max_response_bytes must be at least 1024"));
        }

        #[allow(unused_mut, reason = "fleet mode (feature `redis`) shares both")]
        let (mut limiter, mut coordinator) =
            (Limiter::local(self.rate_limit), Coordinator::default());
        #[cfg(feature = "redis")]
        if let Some(config) = self.fleet {
            let fleet = fleet::build(config, self.timeout, &api_key)?;
            limiter = limiter.shared(std::sync::Arc::clone(&fleet));
            coordinator = Coordinator::with_fleet(fleet);
        }
        let transport = Transport::new(TransportSettings {
            api_key,
            api_key_header,
            base_url,
            loopback,
            http: self.http,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_response_bytes: self.max_response_bytes,
        })?;
        let retry = RetryPolicy::new(self.max_retries, self.initial_retry_delay);
        Ok(ClientParts {
            pipeline: Pipeline::new(
                transport,
                limiter,
                retry,
                self.total_timeout,
                self.log_bodies,
            ),
            coordinator,
        })
    }
}

/// What a client is made of.
pub(crate) struct ClientParts {
    pub(crate) pipeline: Pipeline,
    pub(crate) coordinator: Coordinator,
}

/// `value` as `Debug` shows it: not at all when it looks like a key (one in the wrong slot).
fn shown(value: &str) -> &str {
    if text::looks_like_secret(value) {
        "[not shown: looks like an API key]"
    } else {
        value
    }
}
