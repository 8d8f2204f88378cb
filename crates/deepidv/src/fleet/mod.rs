//! Fleet mode (the `redis` feature): every client built with the same API key and the same Redis
//! shares one rate-limit bucket and one `create_once` per `external_id`, across processes.
//!
//! - `bucket.rs`: the shared rate-limit bucket (a GCRA on Redis's clock, `scripts/reserve.lua`).
//! - `lock.rs`: `create_once`'s lock per `external_id`, a lease its holder renews, and its
//!   record of what was done.
//! - `connection.rs`: the connection, every operation's timeout, and outages.
//! - `keys.rs`: key names, `{prefix}:{keyed digest}:...`: HMAC-SHA256 digests keyed by a key
//!   derived from the API key, never the key or an `external_id` in clear. Every key expires on
//!   its own.
//! - Every Redis operation has a short timeout. When Redis is unreachable or slow the client
//!   falls back to its own bucket and its in-process single-flight (fail-open; one WARN per
//!   outage, one INFO when Redis answers again), or, with `redis_fail_closed(true)`, fails the
//!   call with `Error::Coordination`.

mod bucket;
mod connection;
mod keys;
mod lock;

use std::{fmt, time::Duration};

use connection::{Connection, Unavailable};
use keys::KeyNames;
pub(crate) use lock::{FleetLock, LockError};

use crate::{Error, text};

/// How long each Redis operation may take by default.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// The shortest lease of `create_once`'s lock: a process that dies holding it blocks the other
/// replicas' `create_once` for that `external_id` at most this long (or twice the attempt
/// timeout, if longer).
pub(crate) const MIN_LEASE: Duration = Duration::from_secs(30);
/// The key prefix by default.
pub const DEFAULT_REDIS_PREFIX: &str = "deepidv";

/// What fleet mode is configured with.
#[derive(Clone, Debug)]
pub(crate) struct FleetConfig {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    pub(crate) fail_closed: bool,
    /// `create_once`'s lock lease, when not the default.
    pub(crate) lease: Option<Duration>,
}

impl FleetConfig {
    /// The configuration `ClientBuilder::redis(url)` starts from.
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            fail_closed: false,
            lease: None,
        }
    }
}

/// The shared state of one client's fleet mode.
pub(crate) struct Fleet {
    connection: Connection,
    names: KeyNames,
    fail_closed: bool,
    /// How long `create_once`'s lock lasts unless its holder renews it.
    lease: Duration,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("namespace", &self.names.namespace())
            .field("timeout", &self.connection.timeout())
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// Checks the configuration; connects on first use. `lease` must be at least twice one
    /// attempt's timeout (a holder sends only while half a lease is left).
    pub(crate) fn new(config: FleetConfig, api_key: &str, lease: Duration) -> Result<Self, Error> {
        // A secret in the wrong slot must not reach a message, a key name or `Debug`.
        if text::looks_like_secret(&config.url) || config.url.contains(api_key) {
            return Err(Error::config(
                "the redis URL looks like an API key, not a URL (it is not shown)",
            ));
        }
        if text::looks_like_secret(&config.prefix) || config.prefix.contains(api_key) {
            return Err(Error::config(
                "redis_prefix looks like an API key, not a name (it is not shown)",
            ));
        }
        let client = redis::Client::open(config.url.as_str()).map_err(|e| {
            Error::config(format!(
                "redis URL is not usable: {}",
                text::one_line(&e.to_string())
            ))
        })?;
        if config.prefix.is_empty() || config.prefix.contains(char::is_whitespace) {
            return Err(Error::config(
                "redis_prefix must be non-empty and without whitespace",
            ));
        }
        if config.timeout.is_zero() {
            return Err(Error::config("redis_timeout must be greater than zero"));
        }
        Ok(Self {
            connection: Connection::new(client, config.timeout, config.fail_closed),
            names: KeyNames::new(&config.prefix, api_key)
                .map_err(|_| Error::config("the API key cannot key fleet mode's digests"))?,
            fail_closed: config.fail_closed,
            lease,
        })
    }

    /// Whether calls fail instead of falling back when Redis cannot be used.
    pub(crate) fn fail_closed(&self) -> bool {
        self.fail_closed
    }

    /// The error a fail-closed client returns.
    pub(crate) fn refusal(&self, why: &Unavailable) -> Error {
        Error::Coordination {
            message: format!("Redis could not be used ({why}); redis_fail_closed is on"),
        }
    }

    fn key(&self, suffix: &str) -> String {
        self.names.key(suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_contain_the_api_key() {
        let fleet = Fleet::new(
            FleetConfig {
                url: "redis://127.0.0.1:1".into(),
                prefix: "deepidv".into(),
                timeout: DEFAULT_REDIS_TIMEOUT,
                fail_closed: false,
                lease: None,
            },
            "sk_live_secret_key",
            Duration::from_secs(60),
        )
        .unwrap();
        let key = fleet.key("rate");
        let shown = format!("{fleet:?}");
        assert!(
            shown.contains("timeout: 250ms") && !shown.contains("sk_live"),
            "{shown}"
        );
        assert!(
            key.starts_with("deepidv:") && !key.contains("sk_live"),
            "{key}"
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        let config = |url: &str, prefix: &str| FleetConfig {
            url: url.into(),
            prefix: prefix.into(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            fail_closed: false,
            lease: None,
        };
        for (url, prefix) in [
            ("http://x", "deepidv"),
            ("not a url", "deepidv"),
            ("redis://127.0.0.1", ""),
        ] {
            assert!(
                matches!(
                    Fleet::new(config(url, prefix), "k", Duration::from_secs(1)),
                    Err(Error::Config { .. })
                ),
                "{url} {prefix}"
            );
        }
    }
}
