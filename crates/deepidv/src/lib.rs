//! Rust SDK for [DeepIDV](https://deepidv.com)'s hosted identity-verification sessions.
//!
//! Create a verification session for an applicant, fetch its results (document OCR, face match,
//! liveness, screening), list sessions, and record a decision.
//!
//! The surface is the official SDK's (`create`, `retrieve`, `list` with `limit`/`offset`/`status`,
//! `update_status`); the wire is DeepIDV's REST API as it really is (snake_case bodies,
//! `next_token` pagination, `PATCH /v1/sessions/{id}/update-status`). Where the API lacks what the
//! surface offers (`offset` and `status` on list) the SDK provides it on top, and says what it
//! costs.
//!
//! ```no_run
//! use deepidv::{Client, SessionCreateInput, SessionListParams, SessionStatusUpdate};
//!
//! # async fn run() -> deepidv::Result<()> {
//! let client = Client::from_env()?; // DEEPIDV_API_KEY, optional DEEPIDV_BASE_URL
//! let sessions = client.sessions();
//!
//! let created = sessions
//!     .create(SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890").external_id("applicant-42"))
//!     .await?;
//! println!("send the applicant to {}", created.session_url);
//!
//! let found = sessions.retrieve(&created.id).await?;
//! println!("status: {}", found.session_record.status);
//!
//! let mine = sessions.list(SessionListParams::new().external_id("applicant-42")).await?;
//! println!("{} session(s) for applicant-42", mine.data.len());
//!
//! sessions.update_status(&created.id, SessionStatusUpdate::Verified).await?;
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! - **Validation**: inputs are checked before sending; a bad one fails with
//!   [`Error::Validation`] naming the field, and nothing is sent.
//! - **Retries**: reads and status updates retry on 429, 5xx, timeouts and network errors. Create
//!   retries only on 429 or when the request never left, because DeepIDV has no idempotency key
//!   and a repeated create invites the applicant twice. See [`Error::is_retryable`], and
//!   [`Sessions::create_once`] for a create that finds a lost attempt's session instead.
//! - **Rate limit**: every clone of a client shares one [`RateLimit`] (24/s, bursts of 30 by
//!   default), just under DeepIDV's documented limit.
//! - **Pagination**: [`Sessions::list_all`] streams every session, one page ahead, in flat memory.
//! - **Logging**: one `tracing` span per call; bodies only on request, redacted.
//! - **Webhooks**: [`webhooks::Webhook`] checks a delivery's signature and reads its event.
//! - **Forgiving decoding**: unknown fields are ignored, unknown enum values are kept
//!   (`Unknown(String)`), `null` equals absent, timestamps are kept as text ([`Timestamp`]). Only
//!   the fields that identify and decide a session can fail a response: any other value of an
//!   unexpected type decodes as absent, is logged (path and expected type, never the value) and
//!   is kept raw in the result's `unreadable` list ([`Unreadable`]).
//! - **Security**: TLS by default, `http://` only to loopback, redirects never followed, the key
//!   marked sensitive and never shown by `Debug` or `Display`.
//!
//! # Features
//!
//! - `rustls` (default): TLS through rustls with aws-lc-rs, reqwest's own default provider (most
//!   programs that use reqwest already compile it), verifying against the platform's trust store.
//!   Nothing process-wide is changed: your program's own reqwest clients work as before.
//! - `rustls-ring` (opt-in, with `default-features = false`): rustls with `ring` instead, which
//!   builds faster and needs no C toolchain for aws-lc-sys. Its cost: reqwest is then built with
//!   `rustls-no-provider` for the whole program, so building the first [`Client`] installs `ring`
//!   as the process-wide default crypto provider (unless one is installed), and a reqwest client
//!   your program builds before that, with no provider of its own, panics. Install a provider at
//!   the top of `main` (`rustls::crypto::ring::default_provider().install_default()`) if you choose it.
//! - `native-tls`: TLS through the platform's library (OpenSSL, Schannel, Security.framework).
//! - `testing`: the `deepidv::testing` module, a client with test-friendly settings for your own tests (no extra
//!   dependency; enable it in `[dev-dependencies]`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
// docs.rs (see Cargo.toml) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Bottom to top: each module imports only those above it in this list (docs/architecture.md).
mod client;
mod config;
mod coordinator;
mod decode;
mod endpoint;
mod error;
#[cfg(feature = "redis")]
mod fleet;
mod input;
mod logging;
pub mod model;
mod pagination;
mod pipeline;
mod rate_limit;
mod sessions;
mod sync;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod text;
mod validate;
pub mod webhooks;

pub use client::Client;
pub use config::{
    API_KEY_ENV, BASE_URL_ENV, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_INITIAL_RETRY_DELAY, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
};
pub use endpoint::Operation;
pub use error::{BoxError, Error, ErrorResponse};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use fleet::{DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT};
pub use input::{SessionCreateInput, SessionListParams, SessionStatusUpdate};
pub use model::{
    Location, MetaData, PaginatedResponse, Session, SessionCreateResult, SessionProgress,
    SessionRetrieveResult, SessionStatus, SessionType, Timestamp, Unreadable, User,
};
pub use pagination::MAX_PAGES_PER_CALL;
pub use rate_limit::RateLimit;
pub use sessions::{CreateOutcome, SessionStream, Sessions};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The HTTP client library the SDK uses, for [`ClientBuilder::http_client_builder`].
pub use reqwest;

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
