//! [`Transport`]: the generated client on its HTTP client, with the API key as a sensitive default
//! header, DeepIDV's HTTP policy (no redirects, timeouts, no proxy for loopback), and the
//! translation of what comes back into an [`Error`] without the key.

use std::time::Duration;

use reqwest::{
    header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT},
    redirect,
};

use crate::{Error, Result, endpoint::Operation, error, text};

const USER_AGENT_VALUE: &str = concat!("deepidv-rust/", env!("CARGO_PKG_VERSION"));

/// What the transport is built from; checked by `config/` before it gets here.
pub(crate) struct TransportSettings {
    /// The key, for scrubbing it from what errors repeat.
    pub(crate) api_key: String,
    /// The key as a header, from [`api_key_header`].
    pub(crate) api_key_header: HeaderValue,
    /// The base URL without a trailing slash.
    pub(crate) base_url: String,
    /// Whether the base URL's host is a loopback address.
    pub(crate) loopback: bool,
    /// The caller's HTTP client builder, if any.
    pub(crate) http: Option<reqwest::ClientBuilder>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_response_bytes: usize,
}

/// The generated client, ready to send, and the key it must never repeat.
pub(crate) struct Transport {
    raw: deepidv_raw::Client,
    api_key: String,
    base_url: String,
    timeout: Duration,
}

impl Transport {
    /// Builds the HTTP client and the generated client on it.
    pub(crate) fn new(settings: TransportSettings) -> Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", settings.api_key_header);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));

        install_crypto_provider();
        let mut http = settings.http.unwrap_or_default();
        if settings.loopback {
            // A system proxy (HTTP_PROXY without NO_PROXY) would otherwise receive loopback
            // traffic, API key included, in clear text.
            http = http.no_proxy();
        }
        let http = http
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .user_agent(USER_AGENT_VALUE)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout.min(settings.timeout))
            .build()
            .map_err(|e| Error::Config {
                message: "the HTTP client could not be built".to_owned(),
                source: Some(Box::new(e)),
            })?;
        let hooks = deepidv_raw::Hooks::new()
            .max_body_bytes(settings.max_response_bytes)
            .hand_back_bodies_above(super::DECODE_ON_BLOCKING_THREAD_ABOVE);
        Ok(Self {
            raw: deepidv_raw::Client::new_with_client(&settings.base_url, http, hooks),
            api_key: settings.api_key,
            base_url: settings.base_url,
            timeout: settings.timeout,
        })
    }

    /// The generated client, to build and send one request.
    pub(crate) fn raw(&self) -> &deepidv_raw::Client {
        &self.raw
    }

    /// What the generated client returned, as an [`Error`] without the key.
    pub(crate) async fn error(
        &self,
        operation: Operation,
        raw: progenitor_client::Error<deepidv_raw::types::ApiError>,
    ) -> Error {
        error::from_raw(operation, raw, &self.api_key).await
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How long one attempt may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// The key as a sensitive header value, or why it cannot be one.
pub(crate) fn api_key_header(key: &str) -> Result<HeaderValue> {
    if let Some(problem) = text::secret_problem(key) {
        return Err(Error::config(format!("api_key {problem}")));
    }
    let mut value = HeaderValue::from_str(key)
        .map_err(|_| Error::config("api_key cannot be sent as an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// With the `rustls-ring` feature alone, reqwest has no crypto provider of its own: install
/// `ring` as the process default unless the program already installed one (the feature's
/// documented cost). The default `rustls` feature needs nothing: reqwest carries aws-lc-rs.
fn install_crypto_provider() {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_header_values() {
        assert!(api_key_header("sk_live_abc").unwrap().is_sensitive());
        for bad in ["", "   ", " sk", "sk\n", "sk\u{7f}x", "clé"] {
            assert!(
                matches!(api_key_header(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
    }
}
