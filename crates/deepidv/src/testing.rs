//! Helpers for testing a service that uses this SDK against a local server (deepidv-mock,
//! wiremock, your own). Behind the `testing` feature; it adds no dependency.
//!
//! ```toml
//! [dev-dependencies]
//! deepidv = { version = "0.1", features = ["testing"] }
//! ```

use std::time::Duration;

use crate::{Client, ClientBuilder, Result};

/// The first retry's delay ceiling in tests: retries happen, quickly.
pub const RETRY_DELAY: Duration = Duration::from_millis(5);
/// Each attempt's timeout in tests: long enough for a loaded CI machine, short enough that a hung
/// test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A builder with test-friendly settings, for adjusting before [`ClientBuilder::build`]: `url` and
/// `api_key`, no client-side rate limit, millisecond retry delays ([`RETRY_DELAY`]), a 10 s
/// attempt timeout ([`TIMEOUT`]). `http://` is accepted for loopback URLs (as always).
///
/// ```
/// let client = deepidv::testing::builder("http://127.0.0.1:12111", "sk_test_1").max_retries(0).build()?;
/// # Ok::<(), deepidv::Error>(())
/// ```
pub fn builder(url: impl Into<String>, api_key: impl Into<String>) -> ClientBuilder {
    Client::builder()
        .api_key(api_key)
        .base_url(url)
        .rate_limit(None)
        .initial_retry_delay(RETRY_DELAY)
        .timeout(TIMEOUT)
}

/// A client with the settings of [`builder`].
///
/// ```
/// let client = deepidv::testing::client("http://127.0.0.1:12111", "sk_test_1")?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:12111");
/// # Ok::<(), deepidv::Error>(())
/// ```
pub fn client(url: impl Into<String>, api_key: impl Into<String>) -> Result<Client> {
    builder(url, api_key).build()
}
