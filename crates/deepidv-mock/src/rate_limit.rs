//! A token bucket per API key: `rate` tokens a second, at most `burst` saved up.

use std::time::Instant;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

/// DeepIDV's documented limit: 25 requests a second, bursts of 35.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RateLimit {
    pub rate: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            rate: 25.0,
            burst: 35.0,
        }
    }
}

impl RateLimit {
    pub fn full_bucket(&self) -> Bucket {
        Bucket {
            tokens: self.burst,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub fn take(&self, bucket: &mut Bucket) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal() {
        let limit = RateLimit {
            rate: 0.001,
            burst: 3.0,
        };
        let mut bucket = limit.full_bucket();
        assert!((0..3).all(|_| limit.take(&mut bucket)));
        assert!(!limit.take(&mut bucket));
    }
}
