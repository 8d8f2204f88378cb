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
/// until its turn: callers queue in order without polling each other awake. A reservation that
/// is dropped before its turn comes (the caller gave up: a timeout, `select!`, a dropped handler)
/// hands its token back, so cancelled callers never eat the turns of the ones that stay.
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

/// A reserved turn: send at [`ReservedTurn::at`]. Dropped before [`ReservedTurn::taken`] is called, the token
/// goes back to the bucket.
#[derive(Debug)]
#[must_use = "dropping a turn gives its token back"]
pub(crate) struct ReservedTurn<'a> {
    bucket: &'a Bucket,
    at: Instant,
    pending: bool,
}

impl ReservedTurn<'_> {
    /// When the request may be sent.
    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    /// The request was sent: the token is spent.
    pub(crate) fn taken(mut self) {
        self.pending = false;
    }
}

impl Drop for ReservedTurn<'_> {
    fn drop(&mut self) {
        if self.pending {
            self.bucket.give_back();
        }
    }
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

    /// The limit it keeps.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Reserves a token and returns the turn it gives, or the wait needed if the turn would come
    /// after `deadline`, without reserving.
    pub(crate) fn reserve(&self, deadline: Option<Instant>) -> Result<ReservedTurn<'_>, Duration> {
        let rate = f64::from(self.limit.per_second);
        let mut state = self.lock();
        // Read after taking the lock: a caller that waited for it must not move `refilled_at`
        // backwards (and so count the same interval twice).
        let now = Instant::now();
        self.refill(&mut state, now);
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
        Ok(ReservedTurn {
            bucket: self,
            at,
            pending: true,
        })
    }

    /// Returns the token of a turn that was never used.
    fn give_back(&self) {
        let mut state = self.lock();
        self.refill(&mut state, Instant::now());
        state.tokens = (state.tokens + 1.0).min(f64::from(self.limit.burst));
    }

    /// Adds the tokens earned since the last refill, up to the burst.
    fn refill(&self, state: &mut State, now: Instant) {
        if now > state.refilled_at {
            let earned = now.duration_since(state.refilled_at).as_secs_f64()
                * f64::from(self.limit.per_second);
            state.tokens = (state.tokens + earned).min(f64::from(self.limit.burst));
            state.refilled_at = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
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
            .map(|_| {
                let turn = bucket.reserve(None).unwrap();
                let at = turn.at();
                turn.taken();
                at - start
            })
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
        bucket.reserve(None).unwrap().taken();
        let deadline = Instant::now() + Duration::from_millis(500);
        assert!(bucket.reserve(Some(deadline)).is_err());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(bucket.reserve(Some(Instant::now())).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_dropped_before_it_comes_gives_its_token_back() {
        let bucket = Bucket::new(RateLimit::per_second(1).burst(1));
        // 100 callers queue for a turn and give up (their turns are 1 s to 100 s away).
        let turns: Vec<_> = (0..100).map(|_| bucket.reserve(None).unwrap()).collect();
        assert_eq!(turns[99].at() - Instant::now(), Duration::from_secs(99));
        drop(turns);
        tokio::time::advance(Duration::from_millis(10)).await;
        // The next caller waits for one refill at most, not for the 100 abandoned turns.
        let next = bucket.reserve(None).unwrap();
        assert!(next.at() - Instant::now() <= Duration::from_secs(1));
        next.taken();
    }

    #[tokio::test(start_paused = true)]
    async fn a_taken_turn_keeps_its_token_and_refunds_stop_at_the_burst() {
        let bucket = Bucket::new(RateLimit::per_second(1).burst(2));
        bucket.reserve(None).unwrap().taken();
        bucket.reserve(None).unwrap().taken();
        // Both tokens spent: the next turn is a second away.
        let third = bucket.reserve(None).unwrap();
        assert_eq!(third.at() - Instant::now(), Duration::from_secs(1));
        drop(third);
        // Dropping an unused turn never lifts the bucket over its burst.
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(bucket.reserve(None).unwrap());
        for _ in 0..2 {
            let turn = bucket.reserve(None).unwrap();
            assert_eq!(turn.at(), Instant::now());
            turn.taken();
        }
        assert_eq!(
            bucket.reserve(None).unwrap().at() - Instant::now(),
            Duration::from_secs(1)
        );
    }
}
