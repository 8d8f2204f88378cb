//! [`KeyNames`]: the names of fleet mode's Redis keys. They name HMAC-SHA256 digests, never the
//! API key or an applicant's reference: someone who can read Redis (a shared instance, a backup,
//! `MONITOR`) but has no API key cannot tell which `external_id`s are being created, even for ids
//! as guessable as `customer-123`. Every replica holds the API key, so all derive the same names.

use hmac::{Hmac, KeyInit, Mac, digest::InvalidLength};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the digests are keyed with is derived, not the API key itself, so that the key is
/// used for one purpose here.
const DERIVATION_LABEL: &[u8] = b"deepidv-rs fleet key names v1";
/// Hex characters kept of each digest: 128 bits.
const NAME_HEX_LEN: usize = 32;

/// Names keys under one prefix and one API key's namespace.
pub(super) struct KeyNames {
    keyed: HmacSha256,
    namespace: String,
}

impl KeyNames {
    pub(super) fn new(prefix: &str, api_key: &str) -> Result<Self, InvalidLength> {
        let derived = mac(api_key.as_bytes(), DERIVATION_LABEL)?;
        let mut names = Self {
            keyed: HmacSha256::new_from_slice(&derived)?,
            namespace: String::new(),
        };
        names.namespace = format!("{prefix}:{}", names.digest("namespace"));
        Ok(names)
    }

    /// `{prefix}:{namespace digest}:{suffix}`.
    pub(super) fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.namespace)
    }

    /// The namespace, for `Debug` (a digest, never the key).
    pub(super) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A keyed digest of `text` in hex.
    pub(super) fn digest(&self, text: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(text.as_bytes());
        let mut hex = hex(&mac.finalize().into_bytes());
        hex.truncate(NAME_HEX_LEN);
        hex
    }
}

/// HMAC-SHA256 of `message` under `key` (HMAC takes keys of any length, so the error is
/// never seen; it is passed on rather than assumed away).
fn mac(key: &[u8], message: &[u8]) -> Result<Vec<u8>, InvalidLength> {
    let mut mac = HmacSha256::new_from_slice(key)?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_keyed_digests_that_reveal_neither_the_key_nor_the_id() {
        let names = KeyNames::new("deepidv", "sk_live_secret_key").unwrap();
        let key = names.key(&format!("once:{}:lock", names.digest("customer-123")));
        assert!(key.starts_with("deepidv:"), "{key}");
        assert!(
            !key.contains("sk_live") && !key.contains("customer"),
            "{key}"
        );
        // Keyed: the same id under another API key gets another name, and an unkeyed hash of the
        // id (what a dictionary attack would try) is not it.
        let other = KeyNames::new("deepidv", "sk_live_other_key").unwrap();
        assert_ne!(names.digest("customer-123"), other.digest("customer-123"));
        assert_ne!(names.namespace(), other.namespace());
        assert_eq!(
            names.digest("customer-123"),
            KeyNames::new("x", "sk_live_secret_key")
                .unwrap()
                .digest("customer-123")
        );
        assert_eq!(names.digest("a").len(), NAME_HEX_LEN);
        assert_ne!(names.digest("a"), names.digest("b"));
        // RFC 4231 test case 2, through the same code: the digest is HMAC-SHA256.
        assert_eq!(
            hex(&mac(b"Jefe", b"what do ya want for nothing?").unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
