//! [`Connection`]: fleet mode's one Redis connection, every operation under a short timeout, and
//! what an outage means (skip Redis for a moment after a failed connection; one WARN per outage,
//! one INFO when Redis answers again).

use std::{
    fmt,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::aio::ConnectionManager;
use tokio::{sync::OnceCell, time::Instant};

use crate::{sync::lock, text};

/// After a failed connection, how long calls skip Redis before trying it again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Why Redis could not be used for a call.
#[derive(Debug)]
pub(crate) struct Unavailable(String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The connection to Redis, made on first use and shared by every call of the client.
pub(crate) struct Connection {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    timeout: Duration,
    fail_closed: bool,
    /// Whether an outage was reported and not yet its end.
    degraded: AtomicBool,
    /// While set and in the future, calls skip Redis (it just failed to connect).
    skip_until: Mutex<Option<Instant>>,
}

impl Connection {
    /// A connection to `client`, made on first use; `fail_closed` only shapes the outage WARN.
    pub(crate) fn new(client: redis::Client, timeout: Duration, fail_closed: bool) -> Self {
        Self {
            client,
            manager: OnceCell::new(),
            timeout,
            fail_closed,
            degraded: AtomicBool::new(false),
            skip_until: Mutex::new(None),
        }
    }

    /// How long one operation may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs one Redis operation with the timeout, keeping track of outages.
    pub(crate) async fn run<T, F, Fut>(&self, operation: F) -> Result<T, Unavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if lock(&self.skip_until).is_some_and(|until| Instant::now() < until) {
            return Err(Unavailable("Redis failed moments ago".to_owned()));
        }
        let connection = self
            .manager
            .get_or_try_init(|| async {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(RECONNECT_AFTER);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .map_err(|e| self.outage(e.to_string()))?
            .clone();
        match tokio::time::timeout(self.timeout, operation(connection)).await {
            Ok(Ok(value)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        "Redis answers again: the rate limit and create_once are shared again"
                    );
                }
                Ok(value)
            }
            Ok(Err(e)) => {
                // Only a Redis that cannot be reached is skipped for a moment: one slow reply
                // (a pause during BGSAVE, an fsync, a failover) says nothing about the next one,
                // and every other call must not give up on Redis because of it.
                if e.is_connection_refusal() || (e.is_io_error() && !e.is_timeout()) {
                    *lock(&self.skip_until) = Some(Instant::now() + RECONNECT_AFTER);
                }
                Err(self.outage(e.to_string()))
            }
            Err(_) => Err(self.outage(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// Notes a failure; the first of an outage is logged.
    fn outage(&self, why: String) -> Unavailable {
        let why = text::one_line(&why);
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %why,
                fail_closed = self.fail_closed,
                "Redis is unreachable or slow: the rate limit and create_once are this process's own until it answers"
            );
        }
        Unavailable(why)
    }

    /// Runs `script` on `keys` with `args` (Lua sees every argument as a string) and returns its
    /// integer answer.
    pub(crate) async fn script(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<i64, Unavailable> {
        self.run(|mut connection| async move {
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(*key);
            }
            for arg in args {
                invocation.arg(*arg);
            }
            invocation.invoke_async(&mut connection).await
        })
        .await
    }

    /// Runs `script` on `keys` with `args` in the background, for the clean-up of a call that
    /// cannot await it (cancelled) or whose own attempt got no answer. The script must be
    /// idempotent (a compare-and-delete, a refund by reservation): it is tried again with a
    /// growing pause until Redis answers or `within` has passed (the keys have expired by then).
    pub(crate) fn script_later(
        &self,
        script: &'static redis::Script,
        keys: Vec<String>,
        args: Vec<String>,
        within: Duration,
    ) {
        let (Some(connection), Ok(runtime)) = (
            self.manager.get().cloned(),
            tokio::runtime::Handle::try_current(),
        ) else {
            return;
        };
        let timeout = self.timeout;
        runtime.spawn(async move {
            let started = Instant::now();
            let mut pause = Duration::ZERO;
            loop {
                let mut connection = connection.clone();
                let mut invocation = script.prepare_invoke();
                for key in &keys {
                    invocation.key(key);
                }
                for arg in &args {
                    invocation.arg(arg);
                }
                let answered =
                    tokio::time::timeout(timeout, invocation.invoke_async::<i64>(&mut connection))
                        .await
                        .is_ok_and(|outcome| outcome.is_ok());
                if answered {
                    return;
                }
                match next_try(started.elapsed(), pause, within) {
                    Some(next) => {
                        tokio::time::sleep(next).await;
                        pause = next;
                    }
                    None => return,
                }
            }
        });
    }
}

/// The first and the longest pause between two tries of a background clean-up.
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(50);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(2);

/// The pause before the next try of a clean-up that began `elapsed` ago and got no answer, after
/// pausing `last` before this try (zero before the first): twice as long each time, at most
/// [`RETRY_PAUSE_MAX`]. `None` when that try would come after `within`.
fn next_try(elapsed: Duration, last: Duration, within: Duration) -> Option<Duration> {
    let pause = (last * 2).clamp(RETRY_PAUSE_FIRST, RETRY_PAUSE_MAX);
    (elapsed + pause < within).then_some(pause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_up_pauses_double_up_to_two_seconds_and_end_with_their_time() {
        let ms = Duration::from_millis;
        let within = Duration::from_secs(10);
        assert_eq!(next_try(ms(0), ms(0), within), Some(ms(50)));
        assert_eq!(next_try(ms(100), ms(50), within), Some(ms(100)));
        assert_eq!(next_try(ms(500), ms(400), within), Some(ms(800)));
        assert_eq!(next_try(ms(3_000), ms(1_600), within), Some(ms(2_000)));
        assert_eq!(next_try(ms(5_000), ms(2_000), within), Some(ms(2_000)));
        // The try would come at 10 s exactly, or later: none.
        assert_eq!(next_try(ms(8_000), ms(2_000), within), None);
        assert_eq!(next_try(ms(9_950), ms(0), within), None);
        assert_eq!(next_try(ms(9_949), ms(0), within), Some(ms(50)));
    }
}
