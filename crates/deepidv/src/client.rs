//! [`Client`]: the configured connection to DeepIDV, cheap to clone and share.

use std::{fmt, sync::Arc};

use crate::{
    ClientBuilder, Error, Result, Sessions, config, coordinator::Coordinator, pipeline::Pipeline,
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
    pipeline: Arc<Pipeline>,
    coordinator: Arc<Coordinator>,
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
        Sessions::new(Arc::clone(&self.pipeline), Arc::clone(&self.coordinator))
    }

    /// The base URL requests go to, without a trailing slash.
    ///
    /// ```
    /// let client = deepidv::Client::new("sk_live_example")?;
    /// assert_eq!(client.base_url(), "https://api.deepidv.com");
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn base_url(&self) -> &str {
        self.pipeline.base_url()
    }
}

impl ClientBuilder {
    /// Checks the configuration and builds the client.
    ///
    /// Fails with [`Error::Config`] on a missing or empty key, a key that cannot be an HTTP header
    /// value, a base URL that is not an absolute http(s) URL (or is `http://` to a non-loopback
    /// host without [`allow_insecure_http`](Self::allow_insecure_http)), a zero timeout, or an HTTP
    /// client that cannot be built.
    ///
    /// ```
    /// let err = deepidv::Client::builder().api_key("").build().unwrap_err();
    /// assert!(matches!(err, deepidv::Error::Config { .. }));
    /// ```
    pub fn build(self) -> Result<Client> {
        let parts = self.into_parts()?;
        Ok(Client {
            pipeline: Arc::new(parts.pipeline),
            coordinator: Arc::new(parts.coordinator),
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = f.debug_struct("Client");
        self.pipeline.debug_fields(&mut shown);
        // Whether (and how) the client shares its limits: its key namespace is a hash, never the key.
        #[cfg(feature = "redis")]
        shown.field("fleet", &self.coordinator.fleet());
        shown.finish()
    }
}
