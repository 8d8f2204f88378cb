//! [`Client`]: the configured connection to DeepIDV, cheap to clone and share.

use std::{fmt, sync::Arc, time::Duration};

use crate::{
    ClientBuilder, Error, Result, Sessions, config, rate_limit::Bucket, retry::RetryPolicy,
    single_flight::Flights,
};

/// A configured DeepIDV client. Clone it freely: clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> deepidv::Result<()> {
/// let client = deepidv::Client::new("sk_live_example")?;
/// let found = client.sessions().retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890").await?;
/// println!("{}", found.session_record.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

/// What every clone of a [`Client`] shares.
pub(crate) struct ClientInner {
    pub(crate) raw: deepidv_raw::Client,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit: Option<Bucket>,
    pub(crate) total_timeout: Option<Duration>,
    /// Whether bodies are logged (redacted) at TRACE.
    pub(crate) log_bodies: bool,
    /// Kept to scrub it from anything an error repeats back.
    pub(crate) api_key: String,
    pub(crate) base_url: String,
    pub(crate) timeout: Duration,
    /// `create_once` calls in progress, by `external_id`.
    pub(crate) flights: Flights,
    /// Fleet mode: the rate limit and `create_once` shared through Redis.
    #[cfg(feature = "redis")]
    pub(crate) fleet: Option<crate::fleet::Fleet>,
}

impl Client {
    /// A client for `api_key` with every other setting at its default.
    ///
    /// ```
    /// let client = deepidv::Client::new("sk_live_example")?;
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn new(api_key: impl Into<String>) -> Result<Client> {
        Client::builder().api_key(api_key).build()
    }

    /// Starts configuring a client.
    ///
    /// ```
    /// let client = deepidv::Client::builder().api_key("sk_live_example").max_retries(5).build()?;
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `DEEPIDV_API_KEY` (required) and
    /// `DEEPIDV_BASE_URL` (optional).
    ///
    /// ```no_run
    /// let client = deepidv::Client::from_env()?;
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn from_env() -> Result<Client> {
        let key = std::env::var(config::API_KEY_ENV).map_err(|_| {
            Error::config(format!(
                "{} is not set (or is not UTF-8)",
                config::API_KEY_ENV
            ))
        })?;
        let mut builder = Client::builder().api_key(key);
        match std::env::var(config::BASE_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => builder = builder.base_url(url),
            Ok(_) | Err(std::env::VarError::NotPresent) => {}
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::config(format!(
                    "{} is not UTF-8",
                    config::BASE_URL_ENV
                )));
            }
        }
        builder.build()
    }

    /// The sessions API: create, retrieve, list, update_status.
    ///
    /// ```
    /// let sessions = deepidv::Client::new("sk_live_example")?.sessions();
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn sessions(&self) -> Sessions {
        Sessions::new(self.clone())
    }

    /// The base URL requests go to, without a trailing slash.
    ///
    /// ```
    /// let client = deepidv::Client::new("sk_live_example")?;
    /// assert_eq!(client.base_url(), "https://api.deepidv.com");
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub(crate) fn from_inner(inner: ClientInner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &ClientInner {
        &self.inner
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = f.debug_struct("Client");
        shown
            .field("base_url", &self.inner.base_url)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("rate_limit", &self.inner.rate_limit)
            .field("total_timeout", &self.inner.total_timeout);
        // Whether (and how) the client shares its limits: its key namespace is a hash, never the key.
        #[cfg(feature = "redis")]
        shown.field("fleet", &self.inner.fleet);
        shown.finish()
    }
}
