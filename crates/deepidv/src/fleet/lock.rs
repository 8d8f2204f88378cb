//! The fleet's lock per `external_id` (`SET NX PX`, released only by its holder with a
//! compare-and-delete script) and its short-lived record of what was done (a create that may have
//! been sent, or the session created), so that a waiting replica returns the session instead of
//! creating another, without a list call.

use std::time::Duration;

use redis::AsyncCommands;

use super::{Fleet, connection::Unavailable, digest};
use crate::coordinator::previous::Previous;

/// How long a `create_once` record lives: long enough for every replica racing on one job.
const RECORD_TTL: Duration = Duration::from_secs(600);
/// How often a replica waiting for another's `create_once` looks again.
const LOCK_POLL: Duration = Duration::from_millis(25);
/// Deletes the lock only if this holder still holds it.
const RELEASE: &str = include_str!("scripts/release.lua");

impl Fleet {
    /// Waits until no other replica runs `create_once` for `external_id`, then holds its lock.
    pub(crate) async fn lock(&self, external_id: &str) -> Result<FleetLock<'_>, Unavailable> {
        let id = digest(external_id);
        let lock = self.key(&format!("once:{id}:lock"));
        let record = self.key(&format!("once:{id}:flight"));
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let ttl = u64::try_from(self.lock_ttl.as_millis()).unwrap_or(u64::MAX);
        loop {
            let (lock_key, value) = (lock.clone(), token.clone());
            let taken: bool = self
                .connection
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
                return Ok(FleetLock {
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

/// The fleet-wide right to run the create for one `external_id`.
pub(crate) struct FleetLock<'a> {
    fleet: &'a Fleet,
    lock: String,
    record: String,
    token: String,
    released: bool,
}

impl FleetLock<'_> {
    /// What the replicas before this one did.
    pub(crate) async fn previous(&self) -> Result<Previous, Unavailable> {
        let record = self.record.clone();
        let value: Option<String> = self
            .fleet
            .connection
            .run(|mut connection| async move { connection.get(record).await })
            .await?;
        Ok(match value.as_deref() {
            Some("maybe") => Previous::MaybeSent,
            Some(text) => match text.strip_prefix("created:") {
                Some(id) if !id.is_empty() => Previous::Created(id.to_owned()),
                _ => Previous::MaybeSent,
            },
            None => Previous::Nothing,
        })
    }

    /// Records what this call did, for the replicas waiting behind it.
    pub(crate) async fn record(&self, previous: &Previous) -> Result<(), Unavailable> {
        let record = self.record.clone();
        let ttl = u64::try_from(RECORD_TTL.as_millis()).unwrap_or(u64::MAX);
        let value = match previous {
            Previous::Nothing => None,
            Previous::MaybeSent => Some("maybe".to_owned()),
            Previous::Created(id) => Some(format!("created:{id}")),
        };
        self.fleet
            .connection
            .run(|mut connection| async move {
                match value {
                    Some(value) => connection.pset_ex::<_, _, ()>(record, value, ttl).await,
                    None => connection.del::<_, ()>(record).await,
                }
            })
            .await
    }

    /// Releases the lock (only if this call still holds it).
    pub(crate) async fn release(mut self) {
        self.released = true;
        let (lock, token) = (self.lock.clone(), self.token.clone());
        let _ = self
            .fleet
            .connection
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

impl Drop for FleetLock<'_> {
    fn drop(&mut self) {
        if !self.released {
            // A cancelled call: release in the background; the lock's expiry is the backstop.
            self.fleet
                .connection
                .script_later(RELEASE, self.lock.clone(), self.token.clone());
        }
    }
}
