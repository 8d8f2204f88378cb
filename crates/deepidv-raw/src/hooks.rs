//! [`Hooks`]: what the generated client runs around every request.
//!
//! - `pre` removes the `api-version` header progenitor adds (DeepIDV documents no version header).
//! - `exec` enforces the body cap ([`Hooks::max_body_bytes`]) and reads the whole body of a
//!   non-2xx answer before the generated code sees it, so that
//! - `post` can hand every non-2xx answer back as `Error::UnexpectedResponse` with its status,
//!   headers and body intact, whatever the body is (DeepIDV's JSON error, a plain-text 402, an HTML
//!   page from a proxy). Without it a listed error status whose body is not the JSON error would
//!   lose its status (progenitor's `InvalidResponsePayload`). Callers decode error bodies
//!   themselves, in one place.
//!
//! - With [`Hooks::hand_back_bodies_above`] set, a 2xx body larger than that is not decoded by the
//!   generated code either: `post` hands it back as `Error::UnexpectedResponse` too (its 2xx
//!   status says which case it is), so that the caller can decode it where a long decode does not
//!   stall the async runtime (the `deepidv` crate does so on a blocking thread). Off by default.
//!
//! A 2xx answer whose declared length fits the cap (and the hand-back size) passes through
//! untouched. One that is larger,
//! or of unknown length and larger once read, comes back with a body that fails with
//! [`BodyTooLarge`] when the generated code reads it: `exec` can only return a `reqwest::Error`,
//! which it cannot create, so the failure travels in the body.
//!
//! A rebuilt response keeps status, version, headers and extensions; its `url()` is reqwest's
//! placeholder (the original URL is private to reqwest), which nothing here reads.

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

/// The default body cap: 16 MiB, far above a 500-session list page.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// State the generated [`Client`](crate::Client) carries for its hooks.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Hooks {
    /// The largest response body read, in bytes.
    pub max_body_bytes: usize,
    /// 2xx bodies larger than this many bytes are handed back undecoded, as
    /// `Error::UnexpectedResponse` with their 2xx status and the whole body; `None` (the default):
    /// the generated code decodes every body.
    pub hand_back_bodies_above: Option<usize>,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            hand_back_bodies_above: None,
        }
    }
}

impl Hooks {
    /// Hooks with the default behaviour.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the body cap.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Hands 2xx bodies larger than `bytes` back undecoded (see
    /// [`hand_back_bodies_above`](Self::hand_back_bodies_above)), for the caller to decode where
    /// the work cannot stall the runtime.
    #[must_use]
    pub fn hand_back_bodies_above(mut self, bytes: usize) -> Self {
        self.hand_back_bodies_above = Some(bytes);
        self
    }
}

/// A response body over the cap. Found in the `source()` chain of the error the read produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The cap, in bytes.
    pub limit: usize,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body is larger than the {}-byte limit",
            self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}

/// The buffered body, kept in the rebuilt response's extensions for `post`.
#[derive(Clone)]
struct BufferedBody(Bytes);

impl ClientHooks<Hooks> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove("api-version");
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let limit = self.inner().max_body_bytes;
        let hand_back_above = self.inner().hand_back_bodies_above;
        let mut response = self.client().execute(request).await?;
        let status = response.status();
        let declared = response
            .content_length()
            .and_then(|length| usize::try_from(length).ok());
        let decoded_here = hand_back_above.map_or(limit, |above| above.min(limit));
        if status.is_success() && declared.is_some_and(|length| length <= decoded_here) {
            // The generated code reads it; hyper holds it to its declared length.
            return Ok(response);
        }
        let version = response.version();
        // Taken, not cloned: the original response is consumed for its body right after.
        let headers = std::mem::take(response.headers_mut());
        let mut extensions = std::mem::take(response.extensions_mut());
        // A success answer over the cap: the same head, a body whose read fails.
        let refused = |headers, extensions| {
            let failing = reqwest::Body::wrap_stream(Fails(Some(BodyTooLarge { limit })));
            Ok(rebuild(status, version, headers, extensions, failing))
        };
        if status.is_success() && declared.is_some_and(|length| length > limit) {
            return refused(headers, extensions);
        }
        // Read whole into one buffer of the declared size (capped), not grown chunk by chunk.
        let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > limit {
                if status.is_success() {
                    return refused(headers, extensions);
                }
                // An error answer keeps its status; the part read is plenty for a message.
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        if !status.is_success() || hand_back_above.is_some_and(|above| body.len() > above) {
            extensions.insert(BufferedBody(body.clone()));
        }
        Ok(rebuild(
            status,
            version,
            headers,
            extensions,
            reqwest::Body::from(body),
        ))
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let Ok(response) = result else { return Ok(()) };
        let buffered = response.extensions().get::<BufferedBody>();
        // A 2xx goes on to the generated code unless `exec` kept it to hand back.
        if response.status().is_success() && buffered.is_none() {
            return Ok(());
        }
        let body = buffered.map(|b| b.0.clone()).unwrap_or_default();
        Err(Error::UnexpectedResponse(rebuild(
            response.status(),
            response.version(),
            response.headers().clone(),
            response.extensions().clone(),
            reqwest::Body::from(body),
        )))
    }
}

fn rebuild(
    status: reqwest::StatusCode,
    version: reqwest::Version,
    headers: reqwest::header::HeaderMap,
    extensions: http::Extensions,
    body: reqwest::Body,
) -> reqwest::Response {
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    *rebuilt.extensions_mut() = extensions;
    reqwest::Response::from(rebuilt)
}

/// A body stream whose first read fails.
struct Fails(Option<BodyTooLarge>);

impl futures_core::Stream for Fails {
    type Item = Result<Bytes, BodyTooLarge>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Err))
    }
}
