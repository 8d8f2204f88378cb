//! Client-side rate limiting: a token bucket shared by every clone of a [`Client`](crate::Client),
//! so that a busy service slows itself down instead of collecting 429s.

use std::{sync::Mutex, time::Duration};

use tokio::time::Instant;

/// How fast a client may send requests: `per_second` on average, in bursts of up to `burst`.
///
/// The default ([`RateLimit::DEFAULT`], 24 a second, bursts of 30) stays a little under DeepIDV's
/// documented limit (25 a second, bursts of 35) so that clock skew does not produce 429s. Every
/// attempt counts, retries included.
///
/// ```
/// use deepidv::RateLimit;
/// let limit = RateLimit::per_second(10).burst(20);
/// let client = deepidv::Client::builder().api_key("sk_live_example").rate_limit(Some(limit)).build()?;
/// let unlimited = deepidv::Client::builder().api_key("sk_live_example").rate_limit(None).build()?;
/// # Ok::<(), deepidv::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    per_second: u32,
    burst: u32,
}

impl RateLimit {
    /// 24 requests a second, bursts of 30: just under DeepIDV's documented 25/s, burst 35.
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: 24,
        burst: 30,
    };

    /// `n` requests a second on average, with bursts of `n`.
    pub fn per_second(n: u32) -> Self {
        Self {
            per_second: n,
            burst: n,
        }
    }

    /// Allows bursts of up to `m` requests.
    #[must_use]
    pub fn burst(mut self, m: u32) -> Self {
        self.burst = m;
        self
    }

    /// The average rate, in requests a second.
    pub fn rate(&self) -> u32 {
        self.per_second
    }

    /// The largest burst.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }
}

/// The shared bucket. Each request reserves a token, possibly one not yet refilled, and waits
/// until its turn: callers queue in order without polling each other awake.
#[derive(Debug)]
pub(crate) struct Bucket {
    limit: RateLimit,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Tokens available; negative when requests are queued for future tokens.
    tokens: f64,
    refilled_at: Instant,
}

impl Bucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            state: Mutex::new(State {
                tokens: f64::from(limit.burst),
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Reserves a token and returns when the request may be sent at `Instant`, or the wait
    /// needed if it would end after `deadline`, without reserving.
    pub(crate) fn reserve(&self, deadline: Option<Instant>) -> Result<Instant, Duration> {
        let rate = f64::from(self.limit.per_second);
        let now = Instant::now();
        // A poisoned lock only means another caller panicked between two float updates.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let refill = now.duration_since(state.refilled_at).as_secs_f64() * rate;
        state.tokens = (state.tokens + refill).min(f64::from(self.limit.burst));
        state.refilled_at = now;
        let wait = if state.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - state.tokens) / rate)
        };
        let at = now + wait;
        if deadline.is_some_and(|deadline| at > deadline) {
            return Err(wait);
        }
        state.tokens -= 1.0;
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate() {
        let bucket = Bucket::new(RateLimit::per_second(10).burst(3));
        let start = Instant::now();
        let times: Vec<Duration> = (0..6)
            .map(|_| bucket.reserve(None).unwrap() - start)
            .collect();
        assert_eq!(&times[..3], &[Duration::ZERO; 3]);
        let ms = |d: Duration| d.as_millis();
        assert_eq!(
            times[3..].iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            [100, 200, 300]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_refuses_a_late_turn_without_reserving() {
        let bucket = Bucket::new(RateLimit::per_second(1).burst(1));
        bucket.reserve(None).unwrap();
        let deadline = Instant::now() + Duration::from_millis(500);
        assert!(bucket.reserve(Some(deadline)).is_err());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(bucket.reserve(Some(Instant::now())).is_ok());
    }
}
