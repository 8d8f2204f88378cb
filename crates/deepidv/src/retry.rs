//! Retries: which failures are tried again, and how long to wait in between.
//!
//! Policy (sessions-contract §9.5–6): retryable failures ([`Error::is_retryable`]) are tried again
//! up to `max_retries` times. The wait before retry `n` (from 0) is the server's `Retry-After` when
//! it sent one of at most 60 s, otherwise a random duration between zero and
//! `min(initial_delay · 2ⁿ, 30 s)` ("full jitter", so that many clients do not retry in step). A
//! `Retry-After` longer than 60 s ends the retries: the error carries it for the caller to act on.

use std::{future::Future, time::Duration};

use tokio::time::Instant;
use tracing::Instrument;

use deepidv_raw::{ResponseValue, types::ApiError};

use crate::{
    Error, Result,
    client::ClientInner,
    decode::{self, Decoded, Shape},
    error::{self, Operation, from_raw},
    logging,
};

/// The longest a backoff delay grows.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest `Retry-After` the client waits for itself.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How many times to retry and how long to wait.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    max_retries: u32,
    initial_delay: Duration,
}

impl RetryPolicy {
    pub(crate) fn new(max_retries: u32, initial_delay: Duration) -> Self {
        Self {
            max_retries,
            initial_delay,
        }
    }

    /// The wait before retry number `retry` (0-based) after `error`, or `None` when the error
    /// should not be retried at all.
    fn delay(&self, retry: u32, error: &Error) -> Option<Duration> {
        if retry >= self.max_retries || !error.is_retryable() {
            return None;
        }
        match error.retry_after() {
            Some(wait) if wait <= MAX_RETRY_AFTER => Some(wait),
            Some(_) => None,
            None => Some(full_jitter(self.backoff_ceiling(retry))),
        }
    }

    /// How many retries a call may make.
    pub(crate) fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest backoff before retry `retry`: `min(initial_delay · 2^retry, 30 s)`.
    pub(crate) fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.initial_delay.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// A uniformly random duration in `[0, ceiling]`.
fn full_jitter(ceiling: Duration) -> Duration {
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// What happened across the attempts of one call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct History {
    /// Requests sent (or begun).
    pub(crate) attempts: u32,
    /// Whether an attempt failed in a way that leaves open whether the server acted on it.
    pub(crate) ambiguous: bool,
}

/// When one public call must be finished: [`ClientBuilder::total_timeout`](crate::ClientBuilder::total_timeout)
/// from the moment the call started, or never. Taken once per public call and handed down to every
/// request it makes (each page of a list, the lookups of `create_once`, the reconciliation read of
/// `update_status`), so that the bound covers the whole call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    total: Duration,
}

impl Deadline {
    /// The deadline of a call starting now. A total timeout too large for the clock means none.
    pub(crate) fn start(client: &ClientInner) -> Self {
        let total = client.total_timeout.unwrap_or(Duration::MAX);
        Self {
            at: client
                .total_timeout
                .and_then(|total| Instant::now().checked_add(total)),
            total,
        }
    }

    /// The time left, if there is a deadline.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn remaining(self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether waiting `wait` from now still ends before the deadline.
    pub(crate) fn allows(self, wait: Duration) -> bool {
        self.at
            .is_none_or(|at| Instant::now().checked_add(wait).is_some_and(|end| end < at))
    }

    /// Runs `work` until the deadline; past it, the call fails with [`Error::Timeout`].
    /// `maybe_sent` says whether a request may have reached the server by then.
    pub(crate) async fn bound<T>(
        self,
        operation: Operation,
        maybe_sent: bool,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.at {
            Some(at) => match tokio::time::timeout_at(at, work).await {
                Ok(outcome) => outcome,
                Err(_) => Err(self.passed(operation, maybe_sent)),
            },
            None => work.await,
        }
    }

    /// Sleeps for `wait`, or fails with [`Error::Timeout`] if the deadline comes first.
    pub(crate) async fn sleep(self, operation: Operation, wait: Duration) -> Result<()> {
        if !self.allows(wait) {
            return Err(self.passed(operation, true));
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The error for a call that ran out of its total timeout.
    fn passed(self, operation: Operation, maybe_sent: bool) -> Error {
        Error::Timeout {
            message: format!(
                "the call did not finish within its total timeout of {:?}",
                self.total
            ),
            operation,
            maybe_sent,
        }
    }
}

/// Sends `attempt()` until it succeeds, fails for good, runs out of retries or reaches
/// `deadline`. Each attempt first takes its turn from the client's rate limiter.
pub(crate) async fn send<T, F, Fut>(
    client: &ClientInner,
    operation: Operation,
    deadline: Deadline,
    attempt: F,
) -> Result<Decoded<T>>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<ApiError>>>,
{
    send_tracked(client, operation, deadline, attempt).await.0
}

/// [`send`], also telling what happened on the way. The call runs in its own `tracing` span.
pub(crate) async fn send_tracked<T, F, Fut>(
    client: &ClientInner,
    operation: Operation,
    deadline: Deadline,
    attempt: F,
) -> (Result<Decoded<T>>, History)
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<ApiError>>>,
{
    let span = logging::call_span(operation);
    let started = Instant::now();
    let (outcome, history) = attempts(client, operation, deadline, attempt, &span)
        .instrument(span.clone())
        .await;
    span.record("duration_ms", started.elapsed().as_millis() as u64);
    span.record(
        "outcome",
        outcome.as_ref().map_or_else(Error::kind, |_| "ok"),
    );
    (outcome, history)
}

/// Waits for this attempt's turn from the rate limiter: the fleet's shared bucket in fleet mode
/// (falling back to this client's own when Redis cannot be used, unless it fails closed), else
/// this client's. A turn given up before it comes (the call was cancelled) is handed back.
async fn take_turn(
    client: &ClientInner,
    operation: Operation,
    deadline: Deadline,
    ambiguous: bool,
) -> Result<()> {
    let Some(bucket) = &client.rate_limit else {
        return Ok(());
    };
    #[cfg(feature = "redis")]
    if let Some(fleet) = &client.fleet {
        match fleet.reserve(bucket.limit(), deadline.remaining()).await {
            Ok(Some(wait)) => {
                let turn = crate::fleet::FleetTurn::new(fleet, bucket.limit());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                turn.taken();
                return Ok(());
            }
            Ok(None) => return Err(deadline.passed(operation, ambiguous)),
            Err(why) if fleet.fail_closed() => return Err(fleet.refusal(&why)),
            Err(_) => {}
        }
    }
    // Dropped unused (this future cancelled while waiting), the turn returns its token.
    let Ok(turn) = bucket.reserve(deadline.at) else {
        return Err(deadline.passed(operation, ambiguous));
    };
    // Not even a timer when the turn is now: a timer would cost a tick.
    if turn.at() > Instant::now() {
        tokio::time::sleep_until(turn.at()).await;
    }
    turn.taken();
    Ok(())
}

async fn attempts<T, F, Fut>(
    client: &ClientInner,
    operation: Operation,
    deadline: Deadline,
    mut attempt: F,
    span: &tracing::Span,
) -> (Result<Decoded<T>>, History)
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<ApiError>>>,
{
    let mut history = History::default();
    let mut retry = 0;
    loop {
        if let Err(error) = take_turn(client, operation, deadline, history.ambiguous).await {
            return (Err(error), history);
        }
        history.attempts += 1;
        span.record("attempt", history.attempts);
        let outcome = deadline.bound(operation, true, async { Ok(attempt().await) });
        let error = match outcome.await {
            Ok(Ok(value)) => {
                span.record("status", value.status().as_u16());
                if let Some(id) = error::request_id(value.headers()) {
                    span.record("request_id", id);
                }
                logging::body_if(client, "response", value.as_ref());
                return (Ok(Decoded::whole(value.into_inner())), history);
            }
            // A 2xx whose body the generated types refuse: decode it again, leaving out values of
            // unexpected types outside the identifying fields.
            Ok(Err(progenitor_client::Error::InvalidResponsePayload(body, first_error))) => {
                match decode::leniently::<T>(operation, Shape::of(operation), &body, &first_error) {
                    Ok(decoded) => {
                        logging::body_if(client, "response", &decoded.value);
                        return (Ok(decoded), history);
                    }
                    Err(error) => error,
                }
            }
            Ok(Err(raw)) => from_raw(operation, raw, &client.api_key).await,
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
        match client.retry.delay(retry, &error) {
            Some(wait) if deadline.allows(wait) => {
                span.record("retry_reason", error.kind());
                tracing::debug!(
                    attempt = history.attempts,
                    reason = error.kind(),
                    status = error.status(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
                tokio::time::sleep(wait).await;
                retry += 1;
            }
            _ => return (Err(error), history),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_ceiling_doubles_up_to_30_seconds() {
        let policy = RetryPolicy::new(50, Duration::from_millis(500));
        assert_eq!(policy.backoff_ceiling(0), Duration::from_millis(500));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_secs(4));
        assert_eq!(policy.backoff_ceiling(6), Duration::from_secs(30));
        assert_eq!(policy.backoff_ceiling(40), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_the_ceiling() {
        for _ in 0..1000 {
            assert!(full_jitter(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
        assert_eq!(full_jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn no_delay_when_retries_are_exhausted_or_the_error_is_final() {
        let policy = RetryPolicy::new(1, Duration::from_millis(1));
        let final_error = Error::invalid("phone", "bad");
        assert_eq!(policy.delay(0, &final_error), None);
        let timeout = Error::Timeout {
            message: String::new(),
            operation: Operation::RetrieveSession,
            maybe_sent: true,
        };
        assert!(policy.delay(0, &timeout).is_some());
        assert_eq!(policy.delay(1, &timeout), None);
    }
}
