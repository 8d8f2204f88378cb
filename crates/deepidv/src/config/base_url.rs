//! The base URL: checked (https, or http to loopback), normalised, and never quoted with its
//! credentials, nor at all when it may be a key pasted into the wrong slot.

use reqwest::Url;

use crate::{
    Error, Result,
    text::{self, one_line},
};

/// The base URL without a trailing slash, checked, and whether it is a loopback address.
/// Messages quote it only once it parsed as a URL with a host, and then without any credentials
/// it carries: a value that is not a URL may be a secret pasted into the wrong slot (the API key,
/// most often), so only its length is told.
pub(super) fn checked(raw: &str, allow_insecure_http: bool) -> Result<(String, bool)> {
    let unshown = || format!("its {} characters are not shown", raw.chars().count());
    if text::looks_like_secret(raw) {
        return Err(Error::config(format!(
            "base_url looks like an API key, not a URL ({}; are the key and the URL swapped?)",
            unshown()
        )));
    }
    let url = Url::parse(raw.trim()).map_err(|e| {
        Error::config(format!(
            "base_url is not an absolute URL: {e} ({})",
            unshown()
        ))
    })?;
    if !url.has_host() {
        return Err(Error::config(format!(
            "base_url is not an http(s) URL with a host ({})",
            unshown()
        )));
    }
    let text = &one_line(without_credentials(&url).as_str());
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "base_url `{text}` must not contain credentials (they were left out of this message)"
        )));
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || loopback => {}
        "http" => {
            return Err(Error::config(format!(
                "base_url `{text}` uses http to a non-loopback host; the API key would travel in clear text \
                 (use https, or allow_insecure_http(true) inside a trusted network)"
            )));
        }
        other => {
            return Err(Error::config(format!(
                "base_url `{text}` has scheme `{other}`; use https"
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::config(format!("base_url `{text}` has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "base_url `{text}` must not have a query or fragment"
        )));
    }
    Ok((url.as_str().trim_end_matches('/').to_owned(), loopback))
}

/// `url` with its userinfo removed.
fn without_credentials(url: &Url) -> Url {
    let mut url = url.clone();
    // Fails only for URLs that cannot have credentials, which then have none to remove.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        assert_eq!(
            checked("https://api.deepidv.com/", false).unwrap().0,
            "https://api.deepidv.com"
        );
        assert_eq!(
            checked("https://proxy.example/deepidv/", false).unwrap().0,
            "https://proxy.example/deepidv"
        );
        assert_eq!(
            checked("http://127.0.0.1:8080", false).unwrap().0,
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            checked("http://[::1]:8080/", false).unwrap().0,
            "http://[::1]:8080"
        );
        assert_eq!(
            checked("http://localhost:8080", false).unwrap().0,
            "http://localhost:8080"
        );
    }

    #[test]
    fn unsafe_or_malformed_base_urls_are_refused() {
        for bad in [
            "api.deepidv.com",
            "ftp://api.deepidv.com",
            "http://api.deepidv.com",
            "https://user:pw@api.deepidv.com",
            "https://api.deepidv.com/?x=1",
            "http://10.0.0.1",
        ] {
            assert!(
                matches!(checked(bad, false), Err(Error::Config { .. })),
                "{bad}"
            );
        }
        assert!(checked("http://10.0.0.1", true).is_ok());
    }

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        for (url, loopback) in [
            ("http://127.0.0.1:8080", true),
            ("http://[::1]:8080", true),
            ("http://LOCALHOST:1", true),
            ("https://api.deepidv.com", false),
            ("http://10.0.0.1", false),
        ] {
            assert_eq!(checked(url, true).unwrap().1, loopback, "{url}");
        }
    }

    #[test]
    fn messages_never_repeat_credentials() {
        for bad in [
            "http://user:hunter2@10.0.0.1",
            "https://user:hunter2@api.deepidv.com",
            "ftp://user:hunter2@api.deepidv.com",
            "user:hunter2@api.deepidv.com",
            "https://user:hunter2@api.deepidv.com/?q=1",
        ] {
            let message = checked(bad, false).unwrap_err().to_string();
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("user:"), "{message}");
        }
    }
}
