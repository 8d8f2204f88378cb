//! The webhook settings, checked: the endpoints and the retry schedule.

use std::{net::IpAddr, time::Duration};

use axum::http::{HeaderValue, Uri, uri::Scheme};

use super::disorder::Disorder;
use crate::limits;

/// A configured endpoint, checked.
#[derive(Clone, Debug)]
pub(super) struct Endpoint {
    pub(super) url: String,
    pub(super) secret: HeaderValue,
    /// Host name or address to connect to (an IPv6 address without its brackets).
    pub(super) host: String,
    pub(super) port: u16,
    /// The `Host` header.
    pub(super) authority: String,
    pub(super) path_and_query: String,
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
        if !is_loopback_host(authority.host()) {
            return Err(format!(
                "webhook URL {url:?} (MockBuilder::webhook, --webhook-url): plain http:// would \
                 send the signing secret (the deepidv-signature header) in clear to {}, which is \
                 not loopback; the mock sends webhooks only to 127.0.0.0/8, ::1 or localhost",
                authority.host()
            ));
        }
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

/// Whether `host` (as a URL writes it, an IPv6 address in brackets) is a loopback host:
/// `localhost`, an address in 127.0.0.0/8, or `::1` (an IPv4-mapped loopback address included).
fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// The checked webhook settings.
#[derive(Clone, Debug)]
pub(crate) struct WebhookConfig {
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) attempts: u32,
    first_delay: Duration,
    pub(super) timeout: Duration,
    /// Out of order and duplicates; none by default.
    pub(super) disorder: Disorder,
    /// The mock's seed, behind the disorder's draws.
    pub(super) seed: u64,
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
            disorder: Disorder::default(),
            seed: 0,
        })
    }

    /// The same settings, delivering with `disorder`, its draws seeded from `seed`.
    pub(crate) fn with_disorder(self, disorder: Disorder, seed: u64) -> Self {
        Self {
            disorder,
            seed,
            ..self
        }
    }

    /// The wait after failed attempt `attempt` (from 1): the first delay doubled `attempt - 1`
    /// times, at most [`limits::MAX_WEBHOOK_RETRY_DELAY`].
    pub(super) fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first_delay
            .saturating_mul(factor)
            .min(limits::MAX_WEBHOOK_RETRY_DELAY)
    }
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
    fn loopback_hosts_are_localhost_127_8_and_ipv6_one() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.255.0.9",
            "[::1]",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example.com",
            "128.0.0.1",
            "0.0.0.0",
            "[::]",
            "[::ffff:10.0.0.1]",
            "::1x",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
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
        let bare = Endpoint::parse("http://localhost", "s").unwrap();
        assert_eq!((bare.port, bare.path_and_query.as_str()), (80, "/"));
        for (url, secret, expected) in [
            ("https://example.com/hook", "s", "https:// is not supported"),
            ("ftp://example.com/hook", "s", "absolute http:// URL"),
            ("/relative", "s", "absolute http:// URL"),
            ("not a url", "s", "not a valid URL"),
            ("http://user:pw@127.0.0.1/", "s", "credentials"),
            ("http://127.0.0.1/", "", "non-empty visible ASCII"),
            ("http://[::1]/", "with space", "non-empty visible ASCII"),
            ("http://localhost/", "caf\u{e9}", "non-empty visible ASCII"),
            (
                "http://example.com/hook",
                "s",
                "to example.com, which is not loopback",
            ),
            ("http://10.0.0.1:8080/", "s", "not loopback"),
            ("http://[::2]/", "s", "not loopback"),
            ("http://localhost.example.com/", "s", "not loopback"),
            ("http://0.0.0.0/", "s", "not loopback"),
        ] {
            let error = Endpoint::parse(url, secret).unwrap_err();
            assert!(error.contains(expected), "{url} {secret:?}: {error}");
        }
    }
}
