//! The retry policy, as a pure decision: given a failure and how many retries were made, wait this
//! long and try again, or stop.
//!
//! Policy (`docs/contract.md`, "Retries"): retryable failures ([`Error::is_retryable`]) are tried
//! again up to `max_retries` times. The wait before retry `n` (from 0) is the server's
//! `Retry-After` when it sent one of at most 60 s, otherwise a random duration between zero and
//! `min(initial_delay · 2ⁿ, 30 s)` ("full jitter", so that many clients do not retry in step). A
//! `Retry-After` longer than 60 s ends the retries: the error carries it for the caller to act on.

use std::time::Duration;

use crate::Error;

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

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// The failure is the call's outcome.
    Stop,
}

impl RetryPolicy {
    pub(crate) fn new(max_retries: u32, initial_delay: Duration) -> Self {
        Self {
            max_retries,
            initial_delay,
        }
    }

    /// What to do after `error`, when `retries` retries were made already.
    pub(crate) fn decide(&self, retries: u32, error: &Error) -> RetryDecision {
        if retries >= self.max_retries || !error.is_retryable() {
            return RetryDecision::Stop;
        }
        match error.retry_after() {
            Some(wait) if wait <= MAX_RETRY_AFTER => RetryDecision::RetryAfter(wait),
            Some(_) => RetryDecision::Stop,
            None => RetryDecision::RetryAfter(full_jitter(self.backoff_ceiling(retries))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Operation;

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
        assert_eq!(policy.decide(0, &final_error), RetryDecision::Stop);
        let timeout = Error::Timeout {
            message: String::new(),
            operation: Operation::RetrieveSession,
            maybe_sent: true,
        };
        assert!(matches!(
            policy.decide(0, &timeout),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(policy.decide(1, &timeout), RetryDecision::Stop);
    }
}
