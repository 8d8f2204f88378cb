//! Fleet mode's settings (feature `redis`): the builder's `redis*` setters, and the checks that
//! turn them into the shared [`Fleet`].

use std::{sync::Arc, time::Duration};

use super::ClientBuilder;
use crate::{
    Error, Result,
    fleet::{Fleet, FleetConfig, MIN_LEASE},
};

impl ClientBuilder {
    /// Fleet mode (feature `redis`): every client built with this API key and this Redis, in
    /// any process, shares one rate-limit bucket (this client's [`RateLimit`](crate::RateLimit)) and one
    /// [`create_once`](crate::Sessions::create_once) per `external_id`. `url` is a Redis URL
    /// (`redis://host:6379/0`, `rediss://...`, `redis+unix:///path/redis.sock`); a malformed one
    /// fails [`build`](Self::build) with [`Error::Config`].
    ///
    /// When Redis is unreachable or slower than [`redis_timeout`](Self::redis_timeout), calls
    /// fall back to this client's own bucket and single-flight (one WARN per outage) and go back to
    /// Redis when it answers; [`redis_fail_closed`](Self::redis_fail_closed) makes them fail
    /// instead. Keys are `{prefix}:{digest}:...` (HMAC-SHA256 digests keyed by a key derived from
    /// the API key: neither the key nor an `external_id` can be read from them) and expire on
    /// their own.
    ///
    /// ```
    /// let client = deepidv::Client::builder()
    ///     .api_key("sk_live_example")
    ///     .redis("redis://127.0.0.1:6379/0")
    ///     .build()?;
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        match &mut self.fleet {
            Some(fleet) => fleet.url = url,
            None => self.fleet = Some(FleetConfig::new(url)),
        }
        self
    }

    /// The prefix of fleet mode's Redis keys; default `deepidv`.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().redis("redis://127.0.0.1/").redis_prefix("payments-kyc");
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        if let Some(fleet) = &mut self.fleet {
            fleet.prefix = prefix.into();
        }
        self
    }

    /// How long one Redis operation may take before fleet mode treats Redis as down for that
    /// call; default 250 ms.
    ///
    /// ```
    /// let builder = deepidv::Client::builder()
    ///     .redis("redis://127.0.0.1/")
    ///     .redis_timeout(std::time::Duration::from_millis(100));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        if let Some(fleet) = &mut self.fleet {
            fleet.timeout = timeout;
        }
        self
    }

    /// When Redis cannot be used, fail calls with [`Error::Coordination`] (nothing is sent)
    /// instead of falling back to this process's own limit and single-flight; default false.
    ///
    /// ```
    /// let builder = deepidv::Client::builder().redis("redis://127.0.0.1/").redis_fail_closed(true);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_fail_closed(mut self, fail_closed: bool) -> Self {
        if let Some(fleet) = &mut self.fleet {
            fleet.fail_closed = fail_closed;
        }
        self
    }

    /// How long `create_once`'s fleet lock lasts unless its holder renews it; default twice
    /// [`timeout`](Self::timeout), at least 30 s. The holder renews it every third of the lease
    /// while its call runs, so a long call (retries, `Retry-After` waits) keeps it; a replica that
    /// dies holding it blocks the others' `create_once` for that `external_id` at most this long.
    /// A holder sends a create only while half a lease is left, so it must be at least twice the
    /// attempt [`timeout`](Self::timeout) ([`build`](Self::build) fails otherwise).
    ///
    /// ```
    /// let builder = deepidv::Client::builder()
    ///     .redis("redis://127.0.0.1/")
    ///     .redis_lock_lease(std::time::Duration::from_secs(90));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_lock_lease(mut self, lease: Duration) -> Self {
        if let Some(fleet) = &mut self.fleet {
            fleet.lease = Some(lease);
        }
        self
    }
}

/// Checks fleet mode's settings against the attempt `timeout`; connects nothing yet.
pub(super) fn build(config: FleetConfig, timeout: Duration, api_key: &str) -> Result<Arc<Fleet>> {
    // create_once's lock is a lease its holder renews while the call runs; a holder sends only
    // while half a lease is left, so half a lease must outlast one attempt.
    let shortest = timeout.saturating_mul(2);
    let lease = match config.lease {
        Some(lease) if lease < shortest => {
            return Err(Error::config(format!(
                "redis_lock_lease ({lease:?}) must be at least twice the timeout ({shortest:?})"
            )));
        }
        Some(lease) => lease,
        None => shortest.max(MIN_LEASE),
    }
    .min(Duration::from_secs(24 * 3600));
    Ok(Arc::new(Fleet::new(config, api_key, lease)?))
}
