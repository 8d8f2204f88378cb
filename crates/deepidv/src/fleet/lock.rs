//! The fleet's lock per `external_id`, a **lease**: taken with a token (`scripts/acquire.lua`),
//! renewed by its holder for as long as its call runs (`scripts/renew.lua`, every third of the
//! lease), released only by its holder (`scripts/release.lua`, compare-and-delete). Beside it, a
//! short-lived record of what the holders did (a create that may have been sent, or the session
//! created), written only while the writer still holds the lock (`scripts/record.lua`: fencing),
//! so that a waiting replica returns the session instead of creating another, without a list call.
//!
//! The rules that keep one session per `external_id` when Redis stalls or a process dies:
//! - a holder sends a create only while its lease is certain to last longer than the attempt
//!   ([`FleetLock::check`]); if it cannot renew, it stops with `Error::Coordination`;
//! - a waiter that has seen the lock held never falls back to the local path: it waits for the
//!   lease to end or its deadline, or fails with `Error::Coordination`;
//! - a token that may hold the lock without a call behind it (a `SET` whose answer was lost, a
//!   release that failed, a cancelled call) is deleted in the background, retried until Redis
//!   answers: compare-and-delete is idempotent.

use std::{
    convert::Infallible,
    sync::{
        LazyLock, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

use super::{Fleet, connection::Unavailable};
use crate::{Error, coordinator::previous::Previous, sync::lock};

/// How long a `create_once` record lives: long enough for every replica racing on one job.
const RECORD_TTL: Duration = Duration::from_secs(600);
/// How often a replica waiting for another's `create_once` looks again.
const LOCK_POLL: Duration = Duration::from_millis(25);
/// How soon a renewal that got no answer is tried again.
const RENEW_RETRY: Duration = Duration::from_millis(100);
// Each hashed once: Redis is sent the hash (`EVALSHA`), and the source only when it lacks it.
static ACQUIRE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("scripts/acquire.lua")));
static RENEW: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("scripts/renew.lua")));
static RECORD: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("scripts/record.lua")));
/// Deletes the lock only if this holder still holds it.
static RELEASE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("scripts/release.lua")));

/// Why the fleet's lock could not be taken.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Redis did not answer before anyone was seen holding the lock: the call may go on with
    /// this process's single-flight (fail-open), unless the client fails closed.
    Unavailable(Unavailable),
    /// Another replica was seen holding the lock and Redis stopped answering for a whole lease
    /// after that: going on could create a second session, so the call fails.
    Unsettled(Unavailable),
}

impl Fleet {
    /// Waits until no other replica runs `create_once` for `external_id`, then holds its lease.
    pub(crate) async fn lock(&self, external_id: &str) -> Result<FleetLock<'_>, LockError> {
        // One hash tag for both keys: a Redis Cluster keeps them in one slot, as the scripts
        // that touch both need.
        let id = self.names.digest(external_id);
        let lock_key = self.key(&format!("once:{{{id}}}:lock"));
        let record = self.key(&format!("once:{{{id}}}:record"));
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let lease = millis(self.lease).to_string();
        let mut orphan = Orphan {
            fleet: self,
            lock: &lock_key,
            token: &token,
            maybe_taken: false,
        };
        let mut last_seen_held: Option<Instant> = None;
        loop {
            let sent_at = Instant::now();
            let answer = self
                .connection
                .script(&ACQUIRE, &[&lock_key], &[&token, &lease])
                .await;
            match answer {
                Ok(1) => {
                    orphan.maybe_taken = false;
                    return Ok(FleetLock {
                        fleet: self,
                        lock: lock_key.clone(),
                        record,
                        token: token.clone(),
                        valid_until: Mutex::new(sent_at + self.lease),
                        lost: AtomicBool::new(false),
                        released: false,
                    });
                }
                Ok(_) => last_seen_held = Some(Instant::now()),
                Err(why) => {
                    // The script may have run and its answer been lost: this token may hold
                    // the lock now, and `orphan` deletes it if this call does not go on to hold it.
                    orphan.maybe_taken = true;
                    match last_seen_held {
                        None => return Err(LockError::Unavailable(why)),
                        Some(seen) if seen.elapsed() >= self.lease => {
                            return Err(LockError::Unsettled(why));
                        }
                        // Another replica holds it or held it moments ago: falling back to the
                        // local path now could create beside it. Keep waiting.
                        Some(_) => {}
                    }
                }
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    /// The error of a call that could not be sure it alone creates.
    pub(crate) fn unsettled(&self, why: &Unavailable) -> Error {
        Error::Coordination {
            message: format!(
                "another replica holds create_once's lock for this external_id and Redis stopped \
                 answering ({why}); nothing was sent, to never create beside it"
            ),
        }
    }
}

/// A token that may hold a lock without a call behind it; dropped while `maybe_taken`, it
/// deletes the lock in the background if the token holds it.
struct Orphan<'a> {
    fleet: &'a Fleet,
    lock: &'a str,
    token: &'a str,
    maybe_taken: bool,
}

impl Drop for Orphan<'_> {
    fn drop(&mut self) {
        if self.maybe_taken {
            self.fleet
                .release_later(self.lock.to_owned(), self.token.to_owned());
        }
    }
}

impl Fleet {
    /// Deletes `lock` if `token` holds it, in the background, retried until Redis answers (or
    /// the lease has surely ended).
    fn release_later(&self, lock: String, token: String) {
        self.connection
            .script_later(&RELEASE, vec![lock], vec![token], self.lease);
    }
}

/// The fleet-wide right to run the create for one `external_id`, for as long as the lease is
/// renewed.
pub(crate) struct FleetLock<'a> {
    fleet: &'a Fleet,
    lock: String,
    record: String,
    token: String,
    /// Until when the lease certainly lasts: the last renewal's send time plus the lease.
    valid_until: Mutex<Instant>,
    /// Another holder has the lock (a renewal found it gone or someone else's).
    lost: AtomicBool,
    released: bool,
}

impl FleetLock<'_> {
    /// Whether a create may be sent now: the lock is still this call's, and its lease lasts
    /// longer than an attempt can (half the lease, which is at least twice the attempt timeout)
    /// even if no renewal succeeds from now on.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::Relaxed) {
            return Err(Error::Coordination {
                message: "create_once's lock for this external_id was lost to another replica \
                          (its lease ran out); nothing more is sent"
                    .to_owned(),
            });
        }
        let remaining = lock(&self.valid_until).saturating_duration_since(Instant::now());
        if remaining < self.fleet.lease / 2 {
            return Err(Error::Coordination {
                message: format!(
                    "create_once's lock for this external_id could not be renewed (Redis did not \
                     answer; {} ms of the lease left); nothing more is sent",
                    remaining.as_millis()
                ),
            });
        }
        Ok(())
    }

    /// Renews the lease every third of it for as long as it is polled (run it beside the call
    /// that holds the lock). Never ends: when the lock is lost it stops renewing and
    /// [`check`](Self::check) refuses from then on.
    pub(crate) async fn keep(&self) -> Infallible {
        let lease = millis(self.fleet.lease).to_string();
        let mut next = after(self.fleet.lease / 3);
        loop {
            tokio::time::sleep_until(next).await;
            let sent_at = Instant::now();
            let answer = self
                .fleet
                .connection
                .script(&RENEW, &[&self.lock], &[&self.token, &lease])
                .await;
            match answer {
                Ok(1) => {
                    *lock(&self.valid_until) = sent_at + self.fleet.lease;
                    next = sent_at + self.fleet.lease / 3;
                }
                Ok(_) => {
                    self.lost.store(true, Ordering::Relaxed);
                    tracing::warn!(
                        "create_once's fleet lock was lost (its lease ran out before it could be \
                         renewed): the call sends no further create"
                    );
                    return std::future::pending().await;
                }
                Err(_) => next = after(RENEW_RETRY),
            }
        }
    }

    /// What the replicas before this one did.
    pub(crate) async fn previous(&self) -> Result<Previous, Unavailable> {
        let record = self.record.clone();
        let value: Option<String> = self
            .fleet
            .connection
            .run(|mut connection| async move {
                redis::cmd("GET")
                    .arg(record)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        // `{holder's token}|{what it did}`.
        let done = value
            .as_deref()
            .map(|value| value.split_once('|').map_or(value, |(_, done)| done));
        Ok(match done {
            Some("maybe") => Previous::MaybeSent,
            Some(text) => match text.strip_prefix("created:") {
                Some(id) if !id.is_empty() => Previous::Created(id.to_owned()),
                _ => Previous::MaybeSent,
            },
            None => Previous::Nothing,
        })
    }

    /// Records what this call did, for the replicas waiting behind it; only while this call
    /// still holds the lock (otherwise the script writes nothing: fencing).
    pub(crate) async fn record(&self, previous: &Previous) -> Result<(), Unavailable> {
        let value = match previous {
            // Nothing is worth recording: a waiter that finds no record looks for itself.
            Previous::Nothing => return Ok(()),
            Previous::MaybeSent => "maybe".to_owned(),
            Previous::Created(id) => format!("created:{id}"),
        };
        self.fleet
            .connection
            .script(
                &RECORD,
                &[&self.lock, &self.record],
                &[&self.token, &value, &millis(RECORD_TTL).to_string()],
            )
            .await
            .map(drop)
    }

    /// Releases the lock (only if this call still holds it); a release Redis does not answer is
    /// tried again in the background.
    pub(crate) async fn release(mut self) {
        self.released = true;
        let answered = self
            .fleet
            .connection
            .script(&RELEASE, &[&self.lock], &[&self.token])
            .await;
        if answered.is_err() {
            self.fleet
                .release_later(self.lock.clone(), self.token.clone());
        }
    }
}

impl Drop for FleetLock<'_> {
    fn drop(&mut self) {
        if !self.released {
            // A cancelled call: release in the background.
            self.fleet
                .release_later(self.lock.clone(), self.token.clone());
        }
    }
}

/// The instant `wait` from now.
fn after(wait: Duration) -> Instant {
    Instant::now() + wait
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
