//! Text that leaves the SDK (error messages, logs): one bounded line, without the API key, without
//! the values a decoder quotes. Every module that writes such text uses these, so that a scrub or a
//! cut is written once.

use reqwest::header::{HeaderMap, HeaderValue};

/// The longest message kept, in characters (a proxy's HTML page is not a message).
pub(crate) const MAX_MESSAGE_CHARS: usize = 300;

/// `text` as one bounded line without `secret`: scrubbed first, so that a key straddling the cut
/// cannot leave a prefix behind.
pub(crate) fn scrubbed(text: &str, secret: &str) -> String {
    one_line(&redact(text, secret))
}

/// A decoder's message without the values it quotes: serde writes the unexpected value in double
/// quotes (`invalid type: string "Jane", expected ...`), and a response value is applicant data.
/// Field names (in backticks) and positions stay.
pub(crate) fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"…\"");
        // Skip to the closing quote; the value is written with `{:?}`, so `\"` is inside it.
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
    }
    out
}

/// Replaces `secret` in every string and member name of `value`; tells whether there was one.
pub(crate) fn redact_json(value: &mut serde_json::Value, secret: &str) -> bool {
    use serde_json::Value;
    if secret.is_empty() {
        return false;
    }
    match value {
        Value::String(text) if text.contains(secret) => {
            *text = redact(text, secret);
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |found, item| redact_json(item, secret) | found),
        Value::Object(map) => {
            let mut found = false;
            if map.keys().any(|name| name.contains(secret)) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(name, member)| (redact(&name, secret), member))
                    .collect();
                found = true;
            }
            map.values_mut()
                .fold(found, |found, member| redact_json(member, secret) | found)
        }
        _ => false,
    }
}

/// `headers` with every value that contains `secret` replaced by a sensitive `[redacted]`.
pub(crate) fn redact_headers(mut headers: HeaderMap, secret: &str) -> HeaderMap {
    if secret.is_empty() {
        return headers;
    }
    for value in headers.values_mut() {
        if value
            .as_bytes()
            .windows(secret.len())
            .any(|window| window == secret.as_bytes())
        {
            let mut redacted = HeaderValue::from_static("[redacted]");
            redacted.set_sensitive(true);
            *value = redacted;
        }
    }
    headers
}

/// `text` with every occurrence of `secret` replaced.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() || !text.contains(secret) {
        return text.to_owned();
    }
    text.replace(secret, "[redacted]")
}

/// One line of at most [`MAX_MESSAGE_CHARS`] characters: control characters become spaces and runs
/// of whitespace collapse.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE_CHARS + 3));
    let mut chars = 0;
    let mut last_space = false;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        if chars == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        last_space = c == ' ';
        out.push(c);
        chars += 1;
    }
    out.trim_end().to_owned()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Why `value` cannot be a secret (an API key, a webhook signing secret), if it cannot: secrets
/// are printable ASCII without surrounding whitespace, and anything else (a pasted newline, a
/// non-ASCII look-alike) is a mistake that would otherwise surface as a confusing refusal.
pub(crate) fn secret_problem(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() {
        Some("is empty")
    } else if value.trim() != value {
        Some("has leading or trailing whitespace")
    } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
        Some("contains characters other than printable ASCII")
    } else {
        None
    }
}

/// Whether `value` looks like a secret (an API key, a webhook signing secret) rather than the
/// URL or name expected where it was given: DeepIDV-style prefixes (`sk_`, `whsec_`), or one long
/// token of letters, digits, `_` and `-` with nothing that a URL or a name would have.
pub(crate) fn looks_like_secret(value: &str) -> bool {
    let value = value.trim();
    let token = |min: usize| {
        value.len() >= min
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let prefixed = ["sk_", "pk_", "whsec_"]
        .iter()
        .any(|prefix| value.starts_with(prefix));
    // A prefix and a few characters, or a token longer than any name the SDK takes.
    token(if prefixed { 6 } else { 24 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_scrubbed_before_the_line_is_cut() {
        let secret = "sk_live_0123456789abcdef";
        // The key straddles the 300-character cut.
        let text = format!("{}{secret} tail", "x".repeat(MAX_MESSAGE_CHARS - 10));
        let line = scrubbed(&text, secret);
        assert!(!line.contains("sk_live_0"), "{line}");
        assert!(line.ends_with('…'));
    }

    #[test]
    fn decoder_messages_lose_the_values_they_quote() {
        let e = serde_json::from_str::<u32>(r#""Jane Smith""#).unwrap_err();
        let message = without_quoted_values(&e.to_string());
        assert!(!message.contains("Jane"), "{message}");
        assert!(message.contains("invalid type: string"), "{message}");
        let missing =
            serde_json::from_str::<std::collections::HashMap<String, u32>>(r#"{"a": "Jane\"Q"}"#)
                .unwrap_err();
        let message = without_quoted_values(&missing.to_string());
        assert!(
            !message.contains("Jane") && !message.contains('Q'),
            "{message}"
        );
        assert!(message.contains("expected u32"), "{message}");
    }

    #[test]
    fn secrets_are_told_from_urls_and_names() {
        for secret in [
            "sk_live_SECRET123",
            "sk_test_1",
            " whsec_abc123 ",
            "AbCdEf0123456789-_xyzXYZ0",
        ] {
            assert!(looks_like_secret(secret), "{secret}");
        }
        for not_secret in [
            "https://api.deepidv.com",
            "http://127.0.0.1:8080",
            "api.deepidv.com",
            "deepidv",
            "payments-kyc",
            "sk_",
            "redis://127.0.0.1/0",
        ] {
            assert!(!looks_like_secret(not_secret), "{not_secret}");
        }
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
    }
}
