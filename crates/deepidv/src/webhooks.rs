//! Receiving DeepIDV's webhooks: check the signature, then read the event.
//!
//! DeepIDV POSTs `{"type": "<event>", "data": <session record>}` to the endpoint configured in its
//! console, with a `deepidv-signature` header whose value **is** the endpoint's signing secret
//! (`whsec_...`): there is no HMAC over the body and no timestamp. [`Webhook::verify`] compares
//! that header with your secret in constant time, refuses oversized bodies before parsing, and
//! decodes the event with the same leaf-tolerant rules as
//! [`Sessions::retrieve`](crate::Sessions::retrieve).
//!
//! ```no_run
//! use deepidv::webhooks::{EventType, Webhook, WebhookError};
//!
//! # fn handle(headers: &deepidv::reqwest::header::HeaderMap, body: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! let hook = Webhook::new(std::env::var("DEEPIDV_WEBHOOK_SECRET")?)?;
//! let event = match hook.verify(headers, body) {
//!     Ok(event) => event,
//!     // Answer 401: not from DeepIDV.
//!     Err(WebhookError::MissingSignature | WebhookError::InvalidSignature) => return Ok(()),
//!     // Answer 400 (or 413): DeepIDV will retry, and the error says what was wrong.
//!     Err(e) => return Err(e.into()),
//! };
//! match event.event_type {
//!     EventType::SessionStatusSubmitted => println!("{} is ready for a decision", event.data.id),
//!     EventType::SessionStatusVerified => println!("{} verified", event.data.id),
//!     EventType::Unknown(other) => println!("an event this SDK does not know: {other}"),
//!     _ => {}
//! }
//! # Ok(()) }
//! ```
//!
//! # Security
//!
//! - The signature is a bearer secret: anyone who sees one delivery can forge the next. Serve the
//!   endpoint over HTTPS only and never log the `deepidv-signature` header.
//! - **If the secret leaks, replace it and never keep accepting it.** DeepIDV's docs say that
//!   resetting a secret invalidates the old one at once, so there is nothing to wait for: reset it
//!   in the console and deploy the new one alone. [`Webhook::with_secrets`] is for *planned*
//!   rotations only (deploy the new secret beside the old, then reset), never for a leak.
//! - An event's [`data`](WebhookEvent::data) is unauthenticated content: the signature proves
//!   only that the sender knew the secret, not that the record is DeepIDV's. Before acting on a
//!   decision (or anything that costs money or trust), read the session as DeepIDV has it now
//!   with [`Sessions::retrieve_event_session`](crate::Sessions::retrieve_event_session), as
//!   `crates/deepidv-examples/examples/webhook_receiver.rs` does.
//! - Deliveries can repeat (DeepIDV retries on any non-2xx answer and after a 10 s timeout, and
//!   a retried delivery may follow a successful one whose answer was lost). Handle them
//!   idempotently: deduplicate by session id and event type, as DeepIDV's docs show.
//! - Answer 2xx fast and do the work afterwards: a slow answer is retried.
//! - DeepIDV documents no order of deliveries: a `session.status.verified` may arrive before the
//!   `session.status.submitted` of the same session. Another reason to act on the retrieved
//!   session rather than on the order of events.

use std::fmt;

use reqwest::header::HeaderMap;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::{
    Error, Result, Session, Unreadable, decode,
    endpoint::{Operation, ResponseShape},
    text,
};

/// What a webhook delivery reports: `session.created`, `session.status.submitted`, ... An open
/// enumeration: a type DeepIDV adds later is [`EventType::Unknown`]. [`EventType::as_str`] and
/// `Display` give the wire string.
///
/// ```
/// use deepidv::webhooks::EventType;
/// assert_eq!(EventType::SessionStatusVerified.as_str(), "session.status.verified");
/// assert_eq!(EventType::from("session.archived"), EventType::Unknown("session.archived".into()));
/// ```
pub use deepidv_raw::WebhookEventType as EventType;

/// The header that carries the signing secret.
pub const SIGNATURE_HEADER: &str = "deepidv-signature";

/// The largest body [`Webhook::verify`] reads by default: 1 MiB, far above a session record.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Whether `signature` is `secret`, in constant time whatever the signature's length: every byte
/// of the secret is compared (with the signature's bytes, repeated when it is shorter), so the
/// time taken depends on the secret's length alone, which no signature can change, and says
/// nothing of how long the secret is or how much of it a guess got right.
fn is_secret(secret: &[u8], signature: &[u8]) -> subtle::Choice {
    let same_length = (secret.len() as u64).ct_eq(&(signature.len() as u64));
    secret
        .iter()
        .enumerate()
        .fold(same_length, |same, (i, byte)| {
            let guessed = match signature.len() {
                0 => 0,
                len => signature[i % len],
            };
            same & byte.ct_eq(&guessed)
        })
}

/// Checks and reads webhook deliveries for one endpoint. Cheap to clone; share it.
///
/// ```
/// let hook = deepidv::webhooks::Webhook::new("whsec_test_secret")?;
/// # Ok::<(), deepidv::Error>(())
/// ```
#[derive(Clone)]
pub struct Webhook {
    secrets: Vec<Box<[u8]>>,
    max_body_bytes: usize,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl Webhook {
    /// A verifier for the endpoint whose signing secret is `secret` (`whsec_...`, shown once in
    /// DeepIDV's console). Fails with [`Error::Config`] if it is blank, has leading or trailing
    /// whitespace, or could not be an HTTP header value.
    ///
    /// ```
    /// assert!(deepidv::webhooks::Webhook::new(" ").is_err());
    /// ```
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        Self::with_secrets([secret])
    }

    /// A verifier that accepts any of `secrets`: during a rotation, the old one and the new one.
    ///
    /// ```
    /// let hook = deepidv::webhooks::Webhook::with_secrets(["whsec_old", "whsec_new"])?;
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    pub fn with_secrets<S: Into<String>>(secrets: impl IntoIterator<Item = S>) -> Result<Self> {
        let secrets = secrets
            .into_iter()
            .map(|secret| {
                let secret = secret.into();
                if let Some(problem) = text::secret_problem(&secret) {
                    return Err(Error::config(format!("a webhook signing secret {problem}")));
                }
                Ok(secret.into_bytes().into_boxed_slice())
            })
            .collect::<Result<Vec<_>>>()?;
        if secrets.is_empty() {
            return Err(Error::config("no webhook signing secret was given"));
        }
        Ok(Self {
            secrets,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// The largest body accepted; default 1 MiB ([`DEFAULT_MAX_BODY_BYTES`]). A larger one is
    /// refused with [`WebhookError::BodyTooLarge`] before it is parsed.
    ///
    /// ```
    /// let hook = deepidv::webhooks::Webhook::new("whsec_test")?.max_body_bytes(256 * 1024);
    /// # Ok::<(), deepidv::Error>(())
    /// ```
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Checks that a delivery comes from DeepIDV and reads it.
    ///
    /// The `deepidv-signature` header must appear exactly once and equal one of the secrets
    /// byte for byte (compared in constant time; nothing is trimmed: a proxy that alters the
    /// header makes every delivery fail, loudly). Then the body, at most
    /// [`max_body_bytes`](Self::max_body_bytes), is decoded: `data` may be the bare session record
    /// (as DeepIDV's examples show) or the retrieve envelope `{"session_record": ...}`. Only the
    /// event's `type` and the record's `id` and `status` must be readable; other values of
    /// unexpected types decode as absent and are kept in [`WebhookEvent::unreadable`].
    ///
    /// ```
    /// use deepidv::{reqwest::header::HeaderMap, webhooks::{EventType, Webhook}};
    ///
    /// let hook = Webhook::new("whsec_test")?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("deepidv-signature", "whsec_test".parse()?);
    /// let body = br#"{"type":"session.created","data":{"id":"s1","status":"PENDING"}}"#;
    /// let event = hook.verify(&headers, body)?;
    /// assert_eq!(event.event_type, EventType::SessionCreated);
    /// assert_eq!(event.data.id, "s1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> std::result::Result<WebhookEvent, WebhookError> {
        let mut signatures = headers.get_all(SIGNATURE_HEADER).iter();
        let signature = signatures.next().ok_or(WebhookError::MissingSignature)?;
        if signatures.next().is_some() {
            return Err(WebhookError::InvalidSignature);
        }
        // Every secret is compared, so the time taken does not say which one matched.
        let matches = self
            .secrets
            .iter()
            .fold(subtle::Choice::from(0), |found, secret| {
                found | is_secret(secret, signature.as_bytes())
            });
        if !bool::from(matches) {
            return Err(WebhookError::InvalidSignature);
        }
        if body.len() > self.max_body_bytes {
            return Err(WebhookError::BodyTooLarge {
                limit: self.max_body_bytes,
                size: body.len(),
            });
        }
        decode_event(body).map_err(|e| WebhookError::Decode {
            message: e.message().to_owned(),
        })
    }
}

/// A verified webhook delivery.
///
/// ```no_run
/// # fn run(event: deepidv::webhooks::WebhookEvent) {
/// println!("{} for session {} ({})", event.event_type, event.data.id, event.data.status);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// What happened.
    pub event_type: EventType,
    /// The session it happened to. Webhook records can be partial: only `id` and `status` are
    /// sure; retrieve the session for its results.
    pub data: Session,
    /// Values of unexpected types that were decoded as absent (see [`Unreadable`]).
    pub unreadable: Vec<Unreadable>,
}

/// Why a delivery was refused. `Display` never shows the secret or the body.
///
/// ```
/// use deepidv::{reqwest::header::HeaderMap, webhooks::{Webhook, WebhookError}};
/// let hook = Webhook::new("whsec_test")?;
/// let e = hook.verify(&HeaderMap::new(), b"{}").unwrap_err();
/// assert!(matches!(e, WebhookError::MissingSignature));
/// # Ok::<(), deepidv::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `deepidv-signature` header: not a delivery from DeepIDV.
    #[error("the delivery has no deepidv-signature header")]
    MissingSignature,
    /// The `deepidv-signature` header does not match a signing secret (or appears more than once).
    #[error("the delivery's deepidv-signature header does not match the signing secret")]
    InvalidSignature,
    /// The body is larger than [`Webhook::max_body_bytes`].
    #[error("the delivery's body has {size} bytes, more than the {limit} accepted")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
        /// The body's size.
        size: usize,
    },
    /// The body is not a webhook event: not JSON, or its `type`, `data.id` or `data.status` is
    /// unusable.
    #[error("the delivery's body is not a webhook event: {message}")]
    Decode {
        /// What is wrong, on one bounded line, without the body's values.
        message: String,
    },
}

impl crate::Sessions {
    /// The session a webhook event is about, as DeepIDV has it now: one
    /// [`retrieve`](crate::Sessions::retrieve) by the event's session id. An event's `data` is
    /// partial and is content only the signing secret vouches for; act on this instead.
    ///
    /// ```no_run
    /// # async fn run(sessions: deepidv::Sessions, event: deepidv::webhooks::WebhookEvent) -> deepidv::Result<()> {
    /// let current = sessions.retrieve_event_session(&event).await?;
    /// println!("{} is {}", current.session_record.id, current.session_record.status);
    /// # Ok(()) }
    /// ```
    pub async fn retrieve_event_session(
        &self,
        event: &WebhookEvent,
    ) -> Result<crate::SessionRetrieveResult> {
        self.retrieve(&event.data.id).await
    }
}

/// Reads a delivery's body, leaving out unreadable values.
fn decode_event(body: &[u8]) -> Result<WebhookEvent> {
    // The operation only labels errors; webhook errors keep just their message.
    let operation = Operation::RetrieveSession;
    let size = body.len();
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::undecodable(operation, format!("not JSON: {e}")))?;
    // `data` as the retrieve envelope: use the record inside.
    if let Some(record) = value
        .get_mut("data")
        .and_then(|data| data.get_mut("session_record"))
        .filter(|record| record.is_object())
        .map(Value::take)
    {
        value["data"] = record;
    }
    let decoded = decode::value_leaving_out_unreadable::<deepidv_raw::types::WebhookEvent>(
        operation,
        ResponseShape::Event,
        value,
        size,
        None,
    )?;
    Ok(WebhookEvent {
        event_type: decoded.value.type_,
        data: decoded.value.data,
        unreadable: decoded.unreadable,
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderMap;

    use super::{Webhook, WebhookError, is_secret};

    fn signed(secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("deepidv-signature", secret.parse().unwrap());
        headers
    }

    #[test]
    fn debug_shows_how_many_secrets_never_which() {
        let hook = Webhook::with_secrets(["whsec_one", "whsec_two"]).unwrap();
        let shown = format!("{hook:?}");
        assert!(
            shown.contains("Webhook") && shown.contains("[2 redacted]"),
            "{shown}"
        );
        assert!(!shown.contains("whsec"), "{shown}");
    }

    /// The same secret twice (a rotation configured with the new secret already live) still
    /// verifies: a match on either is a match.
    #[test]
    fn a_secret_given_twice_still_verifies() {
        let hook = Webhook::with_secrets(["whsec_same", "whsec_same"]).unwrap();
        let body = br#"{"type":"session.created","data":{"id":"s1","status":"PENDING"}}"#;
        assert!(hook.verify(&signed("whsec_same"), body).is_ok());
    }

    #[test]
    fn a_body_of_exactly_the_limit_is_read_one_byte_more_is_refused() {
        let body = br#"{"type":"session.created","data":{"id":"s1","status":"PENDING"}}"#;
        let hook = Webhook::new("whsec_limit")
            .unwrap()
            .max_body_bytes(body.len());
        assert!(hook.verify(&signed("whsec_limit"), body).is_ok());
        let hook = hook.max_body_bytes(body.len() - 1);
        assert!(matches!(
            hook.verify(&signed("whsec_limit"), body),
            Err(WebhookError::BodyTooLarge { .. })
        ));
    }

    #[test]
    fn only_the_secret_itself_matches_whatever_the_guess_length() {
        let secret = b"whsec_abab";
        assert!(bool::from(is_secret(secret, b"whsec_abab")));
        for guess in [
            &b""[..],
            b"w",
            b"whsec_ab",
            b"whsec_aba",
            b"whsec_abab ",
            b"whsec_ababwhsec_abab",
            b"whsec_abac",
            b"Whsec_abab",
        ] {
            assert!(!bool::from(is_secret(secret, guess)), "{guess:?}");
        }
        assert!(!bool::from(is_secret(b"abab", b"ab")), "a repeated prefix");
        assert!(bool::from(is_secret(b"", b"")));
    }
}
