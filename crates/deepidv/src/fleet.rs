//! Fleet mode (the `redis` feature): every client built with the same API key and the same Redis
//! shares one rate-limit bucket and one `create_once` per `external_id`, across processes.
//!
//! - The bucket is a GCRA kept in one Redis key and updated by one Lua script per request, on
//!   Redis's clock (`TIME`), so replicas never race or disagree about time. A turn that is given
//!   up before it comes (a cancelled call) is handed back by a second script.
//! - `create_once` takes a lock per `external_id` (`SET NX PX`, released only by its holder with a
//!   compare-and-delete script) and keeps a short-lived record of what was done (a create that
//!   may have been sent, or the session created), so that a waiting replica returns the session
//!   instead of creating another, without a list call.
//! - Keys are `{prefix}:{hash of the API key}:...` (never the key, never an `external_id` in
//!   clear), and every one expires on its own.
//! - Every Redis operation has a short timeout. When Redis is unreachable or slow the client
//!   falls back to its own bucket and its in-process single-flight (fail-open; one WARN per
//!   outage, one INFO when Redis answers again), or, with `redis_fail_closed(true)`, fails the
//!   call with [`Error::Coordination`].

use std::{
    fmt,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{AsyncCommands, aio::ConnectionManager};
use tokio::{sync::OnceCell, time::Instant};

use crate::{Error, RateLimit, single_flight::Flight};

/// How long each Redis operation may take by default.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// The key prefix by default.
pub const DEFAULT_REDIS_PREFIX: &str = "deepidv";
/// How long a `create_once` record lives: long enough for every replica racing on one job.
const RECORD_TTL: Duration = Duration::from_secs(600);
/// How often a replica waiting for another's `create_once` looks again.
const LOCK_POLL: Duration = Duration::from_millis(25);
/// After a failed connection, how long calls skip Redis before trying it again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Takes a turn: returns the microseconds to wait, or `-1 - wait` when the wait would exceed
/// `ARGV[3]` (then nothing is reserved). GCRA: the key holds the theoretical arrival time.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local max_wait = tonumber(ARGV[3])
if max_wait >= 0 and wait > max_wait then return -1 - wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return wait
";

/// Hands back a turn that was never used.
const REFUND: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local earlier = tat - tonumber(ARGV[1])
if earlier <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', earlier), 'PX', math.ceil((earlier - now) / 1000) + 1000)
return 1
";

/// Deletes the lock only if this holder still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Why Redis could not be used for a call.
#[derive(Debug)]
pub(crate) struct Unavailable(String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What fleet mode is configured with.
#[derive(Clone, Debug)]
pub(crate) struct FleetConfig {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    pub(crate) fail_closed: bool,
}

/// The shared state of one client's fleet mode.
pub(crate) struct Fleet {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    namespace: String,
    timeout: Duration,
    fail_closed: bool,
    lock_ttl: Duration,
    /// Whether an outage was reported and not yet its end.
    degraded: AtomicBool,
    /// While set and in the future, calls skip Redis (it just failed to connect).
    skip_until: Mutex<Option<Instant>>,
    /// The reservation script, hashed once (it is sent by hash, `EVALSHA`).
    reserve_script: redis::Script,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// Checks the configuration; connects on first use. `lock_ttl` must outlast one call.
    pub(crate) fn new(
        config: FleetConfig,
        api_key: &str,
        lock_ttl: Duration,
    ) -> Result<Self, Error> {
        let client = redis::Client::open(config.url.as_str()).map_err(|e| {
            Error::config(format!(
                "redis URL is not usable: {}",
                crate::error::one_line(&e.to_string())
            ))
        })?;
        if config.prefix.is_empty() || config.prefix.contains(char::is_whitespace) {
            return Err(Error::config(
                "redis_prefix must be non-empty and without whitespace",
            ));
        }
        if config.timeout.is_zero() {
            return Err(Error::config("redis_timeout must be greater than zero"));
        }
        Ok(Self {
            client,
            connection: OnceCell::new(),
            namespace: format!("{}:{}", config.prefix, digest(api_key)),
            timeout: config.timeout,
            fail_closed: config.fail_closed,
            lock_ttl,
            degraded: AtomicBool::new(false),
            skip_until: Mutex::new(None),
            reserve_script: redis::Script::new(RESERVE),
        })
    }

    /// Whether calls fail instead of falling back when Redis cannot be used.
    pub(crate) fn fail_closed(&self) -> bool {
        self.fail_closed
    }

    /// The error a fail-closed client returns.
    pub(crate) fn refusal(&self, why: &Unavailable) -> Error {
        Error::Coordination {
            message: format!("Redis could not be used ({why}); redis_fail_closed is on"),
        }
    }

    /// Runs one Redis operation with the timeout, keeping track of outages.
    async fn run<T, F, Fut>(&self, operation: F) -> Result<T, Unavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.lock_skip().is_some_and(|until| Instant::now() < until) {
            return Err(Unavailable("Redis failed moments ago".to_owned()));
        }
        let connection = self
            .connection
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
                if e.is_connection_refusal() || e.is_io_error() || e.is_timeout() {
                    *self.skip_until.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(Instant::now() + RECONNECT_AFTER);
                }
                Err(self.outage(e.to_string()))
            }
            Err(_) => Err(self.outage(format!("no answer within {:?}", self.timeout))),
        }
    }

    fn lock_skip(&self) -> Option<Instant> {
        *self.skip_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a failure; the first of an outage is logged.
    fn outage(&self, why: String) -> Unavailable {
        let why = crate::error::one_line(&why);
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %why,
                fail_closed = self.fail_closed,
                "Redis is unreachable or slow: the rate limit and create_once are this process's own until it answers"
            );
        }
        Unavailable(why)
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.namespace)
    }

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
    pub(crate) fn refund_later(&self, limit: RateLimit) {
        self.script_later(REFUND, self.key("rate"), interval_micros(limit).to_string());
    }

    /// Runs `script` on `key` with `arg` in the background, best effort: for the clean-up of a
    /// cancelled call, which cannot await (a lost refund costs one turn; a lost release, the
    /// lock's expiry).
    fn script_later(&self, script: &'static str, key: String, arg: String) {
        let (Some(mut connection), Ok(runtime)) = (
            self.connection.get().cloned(),
            tokio::runtime::Handle::try_current(),
        ) else {
            return;
        };
        let timeout = self.timeout;
        runtime.spawn(async move {
            let _ = tokio::time::timeout(
                timeout,
                redis::Script::new(script)
                    .key(key)
                    .arg(arg)
                    .invoke_async::<i64>(&mut connection),
            )
            .await;
        });
    }

    /// Waits until no other replica runs `create_once` for `external_id`, then holds its lock.
    pub(crate) async fn board(&self, external_id: &str) -> Result<FleetSeat<'_>, Unavailable> {
        let id = digest(external_id);
        let lock = self.key(&format!("once:{id}:lock"));
        let record = self.key(&format!("once:{id}:flight"));
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let ttl = u64::try_from(self.lock_ttl.as_millis()).unwrap_or(u64::MAX);
        loop {
            let (lock_key, value) = (lock.clone(), token.clone());
            let taken: bool = self
                .run(|mut connection| async move {
                    let answer: Option<String> = redis::cmd("SET")
                        .arg(&lock_key)
                        .arg(&value)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl)
                        .query_async(&mut connection)
                        .await?;
                    Ok(answer.is_some())
                })
                .await?;
            if taken {
                return Ok(FleetSeat {
                    fleet: self,
                    lock,
                    record,
                    token,
                    released: false,
                });
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }
}

/// A turn taken from the shared bucket; dropped before [`FleetTurn::taken`] (the call was
/// cancelled while it waited), it is handed back.
pub(crate) struct FleetTurn<'a> {
    fleet: &'a Fleet,
    limit: RateLimit,
    pending: bool,
}

impl<'a> FleetTurn<'a> {
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

impl Drop for FleetTurn<'_> {
    fn drop(&mut self) {
        if self.pending {
            self.fleet.refund_later(self.limit);
        }
    }
}

/// The fleet-wide right to run the create for one `external_id`.
pub(crate) struct FleetSeat<'a> {
    fleet: &'a Fleet,
    lock: String,
    record: String,
    token: String,
    released: bool,
}

impl FleetSeat<'_> {
    /// What the replicas before this one did.
    pub(crate) async fn flight(&self) -> Result<Flight, Unavailable> {
        let record = self.record.clone();
        let value: Option<String> = self
            .fleet
            .run(|mut connection| async move { connection.get(record).await })
            .await?;
        Ok(match value.as_deref() {
            Some("maybe") => Flight::MaybeSent,
            Some(text) => match text.strip_prefix("created:") {
                Some(id) if !id.is_empty() => Flight::Created(id.to_owned()),
                _ => Flight::MaybeSent,
            },
            None => Flight::Idle,
        })
    }

    /// Records what this call did, for the replicas waiting behind it.
    pub(crate) async fn record(&self, flight: &Flight) -> Result<(), Unavailable> {
        let record = self.record.clone();
        let ttl = u64::try_from(RECORD_TTL.as_millis()).unwrap_or(u64::MAX);
        let value = match flight {
            Flight::Idle => None,
            Flight::MaybeSent => Some("maybe".to_owned()),
            Flight::Created(id) => Some(format!("created:{id}")),
        };
        self.fleet
            .run(|mut connection| async move {
                match value {
                    Some(value) => connection.pset_ex::<_, _, ()>(record, value, ttl).await,
                    None => connection.del::<_, ()>(record).await,
                }
            })
            .await
    }

    /// Releases the lock (only if this call still holds it).
    pub(crate) async fn leave(mut self) {
        self.released = true;
        let (lock, token) = (self.lock.clone(), self.token.clone());
        let _ = self
            .fleet
            .run(|mut connection| async move {
                redis::Script::new(RELEASE)
                    .key(lock)
                    .arg(token)
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await;
    }
}

impl Drop for FleetSeat<'_> {
    fn drop(&mut self) {
        if !self.released {
            // A cancelled call: release in the background; the lock's expiry is the backstop.
            self.fleet
                .script_later(RELEASE, self.lock.clone(), self.token.clone());
        }
    }
}

/// One turn's length in microseconds.
fn interval_micros(limit: RateLimit) -> u64 {
    1_000_000 / u64::from(limit.rate().max(1))
}

/// A short hex digest: keys name a hash, never the API key or an applicant's reference.
fn digest(text: &str) -> String {
    let mut hex = sha1_smol::Sha1::from(text).digest().to_string();
    hex.truncate(20);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_contain_the_api_key() {
        let fleet = Fleet::new(
            FleetConfig {
                url: "redis://127.0.0.1:1".into(),
                prefix: "deepidv".into(),
                timeout: DEFAULT_REDIS_TIMEOUT,
                fail_closed: false,
            },
            "sk_live_secret_key",
            Duration::from_secs(60),
        )
        .unwrap();
        let key = fleet.key("rate");
        assert!(
            key.starts_with("deepidv:") && !key.contains("sk_live"),
            "{key}"
        );
        assert_eq!(digest("sk_live_secret_key").len(), 20);
        assert_ne!(digest("a"), digest("b"));
    }

    #[test]
    fn bad_configuration_is_refused() {
        let config = |url: &str, prefix: &str| FleetConfig {
            url: url.into(),
            prefix: prefix.into(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            fail_closed: false,
        };
        for (url, prefix) in [
            ("http://x", "deepidv"),
            ("not a url", "deepidv"),
            ("redis://127.0.0.1", ""),
        ] {
            assert!(
                matches!(
                    Fleet::new(config(url, prefix), "k", Duration::from_secs(1)),
                    Err(Error::Config { .. })
                ),
                "{url} {prefix}"
            );
        }
    }
}
