//! [`Hooks`]: what the generated client runs around every request.
//!
//! - `pre` removes the `api-version` header progenitor adds (DeepIDV documents no version header).
//! - `exec` reads the whole body of a non-2xx answer before the generated code sees it, so that
//! - `post` can hand every non-2xx answer back as `Error::UnexpectedResponse` with its status,
//!   headers and body intact, whatever the body is (DeepIDV's JSON error, a plain-text 402, an HTML
//!   page from a proxy). Without it a listed error status whose body is not the JSON error would
//!   lose its status (progenitor's `InvalidResponsePayload`). Callers decode error bodies
//!   themselves, in one place.
//!
//! The rebuilt response keeps status, version, headers and extensions; its `url()` is reqwest's
//! placeholder (the original URL is private to reqwest), which nothing here reads.

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

/// State the generated [`Client`](crate::Client) carries for its hooks.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Hooks {}

impl Hooks {
    /// Hooks with the default behaviour.
    pub fn new() -> Self {
        Self::default()
    }
}

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
        let mut response = self.client().execute(request).await?;
        let status = response.status();
        if status.is_success() {
            // The generated code reads success bodies itself.
            return Ok(response);
        }
        let version = response.version();
        // Taken, not cloned: the original response is consumed for its body right after.
        let headers = std::mem::take(response.headers_mut());
        let extensions = std::mem::take(response.extensions_mut());
        let body = response.bytes().await?;
        Ok(rebuild(status, version, headers, extensions, body))
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let Ok(response) = result else { return Ok(()) };
        if response.status().is_success() {
            return Ok(());
        }
        let body = response
            .extensions()
            .get::<BufferedBody>()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        Err(Error::UnexpectedResponse(rebuild(
            response.status(),
            response.version(),
            response.headers().clone(),
            response.extensions().clone(),
            body,
        )))
    }
}

fn rebuild(
    status: reqwest::StatusCode,
    version: reqwest::Version,
    headers: reqwest::header::HeaderMap,
    mut extensions: http::Extensions,
    body: Bytes,
) -> reqwest::Response {
    extensions.insert(BufferedBody(body.clone()));
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    *rebuilt.extensions_mut() = extensions;
    reqwest::Response::from(rebuilt)
}
