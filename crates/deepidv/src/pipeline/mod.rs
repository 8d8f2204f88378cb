//! The request pipeline: how one call is executed, on top of parts that each own one concern.
//!
//! ```text
//!   resource (sessions/) ── Pipeline::send(operation, deadline, build-and-send closure)
//!     for each attempt:
//!       Limiter::wait_turn      the rate limit: this client's bucket, or the fleet's
//!       Deadline::run           the call's total timeout around the attempt
//!       Transport::raw          the generated client sends; its hooks buffer and cap the body
//!       BodyToDecode            a large 2xx body is decoded on a blocking thread; a refused one
//!                               again, leaving out unreadable values
//!       Transport::error        any failure becomes an `Error`, without the key
//!       RetryPolicy::decide     wait and try again, or stop
//!     one `tracing` span per call (logging.rs)
//! ```
//!
//! Resources depend on this module, never on [`Client`](crate::Client); `config/` builds the
//! parts and hands them to [`Pipeline::new`].

mod deadline;
mod limiter;
mod retry;
mod transport;

use std::{fmt, future::Future, time::Duration};

use tokio::time::Instant;
use tracing::Instrument;

use deepidv_raw::{ResponseValue, types::ApiError};

pub(crate) use deadline::Deadline;
pub(crate) use limiter::Limiter;
pub(crate) use retry::{RetryDecision, RetryPolicy};
pub(crate) use transport::{Transport, TransportSettings, api_key_header};

use crate::{Error, Result, decode, endpoint::Operation, error, logging, model::Decoded};

/// What one generated request returns.
type RawOutcome<T> = std::result::Result<ResponseValue<T>, progenitor_client::Error<ApiError>>;

/// What happened across the attempts of one call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct History {
    /// Requests sent (or begun).
    pub(crate) attempts: u32,
    /// Whether an attempt failed in a way that leaves open whether the server acted on it.
    pub(crate) ambiguous: bool,
}

/// 2xx bodies larger than this are decoded on a blocking thread, where the work cannot stall the
/// runtime's other tasks: the generated client hands them back undecoded (the `deepidv-raw`
/// hooks' `hand_back_bodies_above`). Decoding 256 KiB of sessions takes 1.0–1.5 ms in a release
/// build (list rows and full records alike); smaller bodies are decoded where they arrive, which
/// spares them a hand-off to another thread (it cost `list_all`'s 139 KB pages about 10%). Only
/// speed depends on these two sizes, which `cargo xtask bench` measures and no test can see.
const DECODE_ON_BLOCKING_THREAD_ABOVE: usize = 262_144; // 256 KiB

/// The same for a body the generated types refused, whose lenient decode may take up to
/// `decode::MAX_PASSES` passes over it.
const DECODE_LENIENTLY_ON_BLOCKING_THREAD_ABOVE: usize = 65_536; // 64 KiB

/// A 2xx body the pipeline decodes itself, and why.
struct BodyToDecode {
    body: bytes::Bytes,
    /// What the generated types said of it; `None`: the hooks handed it back for being large.
    refused: Option<serde_json::Error>,
}

impl BodyToDecode {
    /// The body in `raw`, if it is one: a 2xx the generated types refused, or one the hooks handed
    /// back undecoded with the status `operation` documents for success (any other status stays
    /// unexpected, as the generated code has it). Anything else is returned as it is.
    async fn from_raw(
        raw: progenitor_client::Error<ApiError>,
        operation: Operation,
        span: &tracing::Span,
    ) -> std::result::Result<Self, progenitor_client::Error<ApiError>> {
        match raw {
            progenitor_client::Error::InvalidResponsePayload(body, refused) => Ok(Self {
                body,
                refused: Some(refused),
            }),
            progenitor_client::Error::UnexpectedResponse(response)
                if response.status() == operation.endpoint().success =>
            {
                span.record("status", response.status().as_u16());
                if let Some(id) = error::request_id(response.headers()) {
                    span.record("request_id", id);
                }
                // Already in memory: the hooks read it whole.
                match response.bytes().await {
                    Ok(body) => Ok(Self {
                        body,
                        refused: None,
                    }),
                    Err(e) => Err(progenitor_client::Error::ResponseBodyError(e)),
                }
            }
            other => Err(other),
        }
    }

    /// Decodes the body as `T`, leaving out unreadable values when the whole does not decode,
    /// within `deadline` (past it: [`Error::Timeout`]; the request was answered, so it counts as
    /// sent). Large bodies are decoded on a blocking thread.
    async fn decode<T>(self, operation: Operation, deadline: Deadline) -> Result<Decoded<T>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let stop_at = deadline.at().map(Instant::into_std);
        let shape = operation.endpoint().shape;
        let large = self.body.len()
            > if self.refused.is_some() {
                DECODE_LENIENTLY_ON_BLOCKING_THREAD_ABOVE
            } else {
                DECODE_ON_BLOCKING_THREAD_ABOVE
            };
        let Self { body, refused } = self;
        let decode = move || {
            let refused = match refused {
                Some(refused) => refused,
                None => match serde_json::from_slice::<T>(&body) {
                    Ok(value) => return Ok(Decoded::whole(value)),
                    Err(refused) => refused,
                },
            };
            decode::bytes_leaving_out_unreadable::<T>(operation, shape, &body, &refused, stop_at)
        };
        let outcome = if large {
            let decoding = async {
                tokio::task::spawn_blocking(decode)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::undecodable(
                            operation,
                            "decoding the body stopped unexpectedly",
                        ))
                    })
            };
            // The deadline ends the wait; a lenient decode itself stops at its next pass.
            deadline.run(operation, true, decoding).await
        } else {
            decode()
        };
        match outcome {
            Err(Error::Decode { .. }) if deadline.at().is_some_and(|at| Instant::now() >= at) => {
                Err(deadline.passed(operation, true))
            }
            outcome => outcome,
        }
    }
}

/// Asked before every attempt whether it may be sent (`create_once` asks its coordinator).
pub(crate) type MaySend<'a> = &'a (dyn Fn() -> Result<()> + Sync);

/// Every attempt may be sent: the [`MaySend`] of calls that answer to nobody else.
pub(crate) fn always() -> Result<()> {
    Ok(())
}

/// Executes calls: every clone of a client shares one.
pub(crate) struct Pipeline {
    transport: Transport,
    limiter: Limiter,
    retry: RetryPolicy,
    total_timeout: Option<Duration>,
    /// Whether bodies are logged (redacted) at TRACE.
    log_bodies: bool,
}

impl Pipeline {
    pub(crate) fn new(
        transport: Transport,
        limiter: Limiter,
        retry: RetryPolicy,
        total_timeout: Option<Duration>,
        log_bodies: bool,
    ) -> Self {
        Self {
            transport,
            limiter,
            retry,
            total_timeout,
            log_bodies,
        }
    }

    /// The deadline of a public call starting now.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::start(self.total_timeout)
    }

    /// The retry policy, for calls that repeat on their own terms (`create_once`).
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Logs a request body at TRACE, redacted, if the client logs bodies.
    pub(crate) fn log_request(&self, body: &impl serde::Serialize) {
        if self.log_bodies {
            logging::body("request", body);
        }
    }

    /// Sends `attempt(raw client)` until it succeeds, fails for good, runs out of retries or
    /// reaches `deadline`. Each attempt first waits for its turn from the limiter.
    pub(crate) async fn send<'a, T, F, Fut>(
        &'a self,
        operation: Operation,
        deadline: Deadline,
        attempt: F,
    ) -> Result<Decoded<T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
        F: FnMut(&'a deepidv_raw::Client) -> Fut,
        Fut: Future<Output = RawOutcome<T>>,
    {
        self.send_tracked(operation, deadline, &always, attempt)
            .await
            .0
    }

    /// [`send`](Self::send), also telling what happened on the way, and asking `may_send`
    /// before every attempt (after its turn came): its error ends the call, with nothing more
    /// sent. The call runs in its own `tracing` span.
    pub(crate) async fn send_tracked<'a, T, F, Fut>(
        &'a self,
        operation: Operation,
        deadline: Deadline,
        may_send: MaySend<'_>,
        attempt: F,
    ) -> (Result<Decoded<T>>, History)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
        F: FnMut(&'a deepidv_raw::Client) -> Fut,
        Fut: Future<Output = RawOutcome<T>>,
    {
        let span = logging::call_span(operation);
        let started = Instant::now();
        let (outcome, history) = self
            .attempts(operation, deadline, may_send, attempt, &span)
            .instrument(span.clone())
            .await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        span.record(
            "outcome",
            outcome.as_ref().map_or_else(Error::kind, |_| "ok"),
        );
        (outcome, history)
    }

    async fn attempts<'a, T, F, Fut>(
        &'a self,
        operation: Operation,
        deadline: Deadline,
        may_send: MaySend<'_>,
        mut attempt: F,
        span: &tracing::Span,
    ) -> (Result<Decoded<T>>, History)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
        F: FnMut(&'a deepidv_raw::Client) -> Fut,
        Fut: Future<Output = RawOutcome<T>>,
    {
        let mut history = History::default();
        let mut retries = 0;
        loop {
            if let Err(error) = self
                .limiter
                .wait_turn(operation, deadline, history.ambiguous)
                .await
            {
                return (Err(error), history);
            }
            if let Err(error) = may_send() {
                return (Err(error), history);
            }
            history.attempts += 1;
            span.record("attempt", history.attempts);
            let raw = self.transport.raw();
            let outcome = deadline.run(operation, true, async { Ok(attempt(raw).await) });
            let error = match outcome.await {
                Ok(Ok(value)) => {
                    span.record("status", value.status().as_u16());
                    if let Some(id) = error::request_id(value.headers()) {
                        span.record("request_id", id);
                    }
                    let value = value.into_inner();
                    self.log_response(&value);
                    return (Ok(Decoded::whole(value)), history);
                }
                // A 2xx whose body is large, or which the generated types refuse: decoded here,
                // leaving out values of unexpected types outside the identifying fields.
                Ok(Err(raw)) => match BodyToDecode::from_raw(raw, operation, span).await {
                    Ok(body) => match body.decode::<T>(operation, deadline).await {
                        Ok(decoded) => {
                            self.log_response(&decoded.value);
                            return (Ok(decoded), history);
                        }
                        Err(error) => error,
                    },
                    Err(raw) => self.transport.error(operation, raw).await,
                },
                Err(timeout) => {
                    history.ambiguous = true;
                    return (Err(timeout), history);
                }
            };
            if let Some(status) = error.status() {
                span.record("status", status);
            }
            if let Some(id) = error.request_id() {
                span.record("request_id", id);
            }
            history.ambiguous |= error.is_ambiguous();
            match self.retry.decide(retries, &error) {
                RetryDecision::RetryAfter(wait) if deadline.allows(wait) => {
                    span.record("retry_reason", error.kind());
                    tracing::debug!(
                        attempt = history.attempts,
                        reason = error.kind(),
                        status = error.status(),
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                _ => return (Err(error), history),
            }
        }
    }

    fn log_response(&self, body: &impl serde::Serialize) {
        if self.log_bodies {
            logging::body("response", body);
        }
    }

    /// The base URL requests go to, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// Adds what the pipeline is configured with to a `Debug` view (never the key).
    pub(crate) fn debug_fields(&self, shown: &mut fmt::DebugStruct<'_, '_>) {
        shown
            .field("base_url", &self.transport.base_url())
            .field("api_key", &"[redacted]")
            .field("timeout", &self.transport.timeout())
            .field("retry", &self.retry)
            .field("rate_limit", &self.limiter)
            .field("total_timeout", &self.total_timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deepidv_raw::types::ListSessionsResponse;

    /// A list page with one value the generated types refuse (a number where a string goes).
    const ONE_UNREADABLE: &[u8] =
        br#"{"sessions":[{"id":"s1","status":"VERIFIED","organization_id":7}],"next_token":null}"#;

    fn refused() -> BodyToDecode {
        BodyToDecode {
            body: bytes::Bytes::from_static(ONE_UNREADABLE),
            refused: serde_json::from_slice::<ListSessionsResponse>(ONE_UNREADABLE).err(),
        }
    }

    #[tokio::test]
    async fn a_refused_body_is_decoded_leaving_out_what_cannot_be_read() {
        let decoded = refused()
            .decode::<ListSessionsResponse>(Operation::ListSessions, Deadline::start(None))
            .await
            .unwrap();
        assert_eq!(decoded.value.sessions.len(), 1);
        assert_eq!(decoded.unreadable.len(), 1);
    }

    /// The deadline passed before the body could be decoded: the call ends as a timeout (it was
    /// answered, so it counts as sent), not as a body that cannot be read.
    #[tokio::test]
    async fn a_decode_the_deadline_stopped_is_a_timeout() {
        let deadline = Deadline::start(Some(Duration::from_nanos(1)));
        tokio::time::sleep(Duration::from_millis(2)).await;
        let outcome = refused()
            .decode::<ListSessionsResponse>(Operation::ListSessions, deadline)
            .await;
        assert!(
            matches!(outcome, Err(Error::Timeout { .. })),
            "{:?}",
            outcome.err()
        );
    }
}
