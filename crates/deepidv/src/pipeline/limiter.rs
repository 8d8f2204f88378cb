//! [`Limiter`]: each attempt's turn under the client-side rate limit, from this client's own
//! bucket or, in fleet mode, from the bucket every replica shares in Redis.

use std::fmt;

use tokio::time::Instant;

use super::deadline::Deadline;
use crate::{RateLimit, Result, endpoint::Operation, rate_limit::Bucket};

/// Where an attempt's turn comes from: nowhere (no limit), this client's bucket, or (fleet mode)
/// the shared bucket, with this client's bucket as the fallback while Redis cannot be used.
pub(crate) struct Limiter {
    local: Option<Bucket>,
    #[cfg(feature = "redis")]
    shared: Option<std::sync::Arc<crate::fleet::Fleet>>,
}

/// The limit, not the bucket's state.
impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.local.as_ref().map(Bucket::limit).fmt(f)
    }
}

impl Limiter {
    /// A limiter for `limit` (`None`: no limit), kept in this process.
    pub(crate) fn local(limit: Option<RateLimit>) -> Self {
        Self {
            local: limit.map(Bucket::new),
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// The same limit, shared through `fleet` by every replica.
    #[cfg(feature = "redis")]
    pub(crate) fn shared(mut self, fleet: std::sync::Arc<crate::fleet::Fleet>) -> Self {
        self.shared = Some(fleet);
        self
    }

    /// Waits for this attempt's turn, or fails when the turn would come after `deadline`
    /// (`ambiguous`: whether an earlier attempt of the call may have reached the server). A turn
    /// given up before it comes (the call was cancelled) is handed back.
    pub(crate) async fn wait_turn(
        &self,
        operation: Operation,
        deadline: Deadline,
        ambiguous: bool,
    ) -> Result<()> {
        let Some(bucket) = &self.local else {
            return Ok(());
        };
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.shared {
            match fleet.reserve(bucket.limit(), deadline.remaining()).await {
                Ok(Some((wait, turn))) => {
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
        let Ok(turn) = bucket.reserve(deadline.at()) else {
            return Err(deadline.passed(operation, ambiguous));
        };
        // Not even a timer when the turn is now: a timer would cost a tick.
        if turn.at() > Instant::now() {
            tokio::time::sleep_until(turn.at()).await;
        }
        turn.taken();
        Ok(())
    }
}
