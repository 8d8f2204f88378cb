//! The shared bucket: a GCRA kept in one Redis key and updated by one Lua script per request, on
//! Redis's clock (`TIME`), so replicas never race or disagree about time. Each reservation is
//! noted under its own short-lived key, so that a turn given up before it comes (a cancelled
//! call, or a reservation whose answer was lost: Redis ran it after the client stopped waiting)
//! is handed back exactly once by a second script, however often that one runs.

use std::{sync::LazyLock, time::Duration};

use super::{Fleet, connection::Unavailable};
use crate::RateLimit;

/// Takes a turn (see the script's header).
static RESERVE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("scripts/reserve.lua")));
/// Hands back a turn that was never used.
static REFUND: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("scripts/refund.lua")));
/// How long a refund is tried again while Redis does not answer.
const REFUND_TRIES_FOR: Duration = Duration::from_secs(10);

impl Fleet {
    /// Takes a turn from the shared bucket: the wait before sending and the turn (hand it in
    /// with [`SharedTurn::taken`] once the request goes), or `Ok(None)` when the turn would come
    /// after `max_wait` (nothing is reserved then). If Redis does not answer, a reservation it
    /// may still carry out is handed back in the background.
    pub(crate) async fn reserve(
        &self,
        limit: RateLimit,
        max_wait: Option<Duration>,
    ) -> Result<Option<(Duration, SharedTurn<'_>)>, Unavailable> {
        let interval = interval_micros(limit);
        let max_wait = max_wait.map_or(-1, |wait| {
            i64::try_from(wait.as_micros()).unwrap_or(i64::MAX)
        });
        // Handed back when dropped before `taken`: also when this future is dropped while Redis
        // has the script, or when its answer does not come.
        let turn = SharedTurn {
            fleet: self,
            limit,
            reservation: self.key(&format!(
                "rate:turn:{:016x}{:016x}",
                fastrand::u64(..),
                fastrand::u64(..)
            )),
            pending: true,
        };
        let answer = self
            .connection
            .script(
                &RESERVE,
                &[&self.key("rate"), &turn.reservation],
                &[
                    &interval.to_string(),
                    &limit.burst_size().to_string(),
                    &max_wait.to_string(),
                ],
            )
            .await?;
        if answer < 0 {
            turn.taken();
            return Ok(None);
        }
        Ok(Some((Duration::from_micros(answer.unsigned_abs()), turn)))
    }
}

/// A turn taken from the shared bucket; dropped before [`SharedTurn::taken`] (the call was
/// cancelled while it waited, or Redis's answer was lost), it is handed back.
pub(crate) struct SharedTurn<'a> {
    fleet: &'a Fleet,
    limit: RateLimit,
    /// The reservation's own key.
    reservation: String,
    pending: bool,
}

impl SharedTurn<'_> {
    /// The request was sent: the turn is spent.
    pub(crate) fn taken(mut self) {
        self.pending = false;
    }
}

impl Drop for SharedTurn<'_> {
    fn drop(&mut self) {
        if self.pending {
            // Idempotent (the reservation's key goes with the first refund): tried until Redis
            // answers.
            self.fleet.connection.script_later(
                &REFUND,
                vec![
                    self.fleet.key("rate"),
                    std::mem::take(&mut self.reservation),
                ],
                vec![interval_micros(self.limit).to_string()],
                REFUND_TRIES_FOR,
            );
        }
    }
}

/// One turn's length in microseconds.
fn interval_micros(limit: RateLimit) -> u64 {
    1_000_000 / u64::from(limit.rate().max(1))
}
