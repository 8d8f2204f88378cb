//! The shared bucket: a GCRA kept in one Redis key and updated by one Lua script per request, on
//! Redis's clock (`TIME`), so replicas never race or disagree about time. A turn that is given up
//! before it comes (a cancelled call) is handed back by a second script.

use std::time::Duration;

use super::{
    Fleet,
    connection::{Repeat, Unavailable},
};
use crate::RateLimit;

/// Takes a turn (see the script's header).
pub(super) const RESERVE: &str = include_str!("scripts/reserve.lua");
/// Hands back a turn that was never used.
const REFUND: &str = include_str!("scripts/refund.lua");

impl Fleet {
    /// Takes a turn from the shared bucket: the wait before sending, or `Ok(None)` when the
    /// turn would come after `max_wait` (nothing is reserved then).
    pub(crate) async fn reserve(
        &self,
        limit: RateLimit,
        max_wait: Option<Duration>,
    ) -> Result<Option<Duration>, Unavailable> {
        let interval = interval_micros(limit);
        let max_wait = max_wait.map_or(-1, |wait| {
            i64::try_from(wait.as_micros()).unwrap_or(i64::MAX)
        });
        let key = self.key("rate");
        let script = &self.reserve_script;
        let answer: i64 = self
            .connection
            .run(|mut connection| async move {
                script
                    .key(key)
                    .arg(interval)
                    .arg(limit.burst_size())
                    .arg(max_wait)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Ok((answer >= 0).then(|| Duration::from_micros(answer.unsigned_abs())))
    }

    /// Hands back, in the background, the turn of a call cancelled while it waited.
    fn refund_later(&self, limit: RateLimit) {
        self.connection.script_later(
            REFUND,
            self.key("rate"),
            interval_micros(limit).to_string(),
            Repeat::Once,
        );
    }
}

/// A turn taken from the shared bucket; dropped before [`SharedTurn::taken`] (the call was
/// cancelled while it waited), it is handed back.
pub(crate) struct SharedTurn<'a> {
    fleet: &'a Fleet,
    limit: RateLimit,
    pending: bool,
}

impl<'a> SharedTurn<'a> {
    pub(crate) fn new(fleet: &'a Fleet, limit: RateLimit) -> Self {
        Self {
            fleet,
            limit,
            pending: true,
        }
    }

    /// The request was sent: the turn is spent.
    pub(crate) fn taken(mut self) {
        self.pending = false;
    }
}

impl Drop for SharedTurn<'_> {
    fn drop(&mut self) {
        if self.pending {
            self.fleet.refund_later(self.limit);
        }
    }
}

/// One turn's length in microseconds.
fn interval_micros(limit: RateLimit) -> u64 {
    1_000_000 / u64::from(limit.rate().max(1))
}
