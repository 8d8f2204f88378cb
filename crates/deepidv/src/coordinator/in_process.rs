//! The in-process single-flight of `create_once`: within one client (every clone), calls with the
//! same `external_id` run one at a time, and each learns what the ones before it did, so two
//! concurrent calls never both create.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::previous::Previous;
use crate::sync::lock;

/// The locks in progress, by `external_id`. An entry lives while some call holds or waits for it.
#[derive(Debug, Default)]
pub(crate) struct InProcessLocks {
    slots: Mutex<HashMap<String, Arc<AsyncMutex<Previous>>>>,
}

impl InProcessLocks {
    /// Waits until no other call with `external_id` is running, then holds its lock until the
    /// returned lock is dropped (also when the call is cancelled).
    pub(crate) async fn acquire(&self, external_id: &str) -> InProcessLock<'_> {
        let slot = Arc::clone(self.lock().entry(external_id.to_owned()).or_default());
        let guard = slot.lock_owned().await;
        InProcessLock {
            locks: self,
            external_id: external_id.to_owned(),
            guard: Some(guard),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<AsyncMutex<Previous>>>> {
        lock(&self.slots)
    }
}

/// The right to run the create for one `external_id`.
pub(crate) struct InProcessLock<'a> {
    locks: &'a InProcessLocks,
    external_id: String,
    guard: Option<OwnedMutexGuard<Previous>>,
}

impl InProcessLock<'_> {
    /// What the calls before this one did.
    pub(crate) fn previous(&self) -> Previous {
        self.guard.as_deref().cloned().unwrap_or_default()
    }

    /// Records what this call did, for the calls waiting behind it.
    pub(crate) fn record(&mut self, previous: Previous) {
        if let Some(guard) = self.guard.as_deref_mut() {
            *guard = previous;
        }
    }
}

impl Drop for InProcessLock<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut slots = self.locks.lock();
        // Only the map holds the slot: nobody runs or waits for this id any more.
        if slots
            .get(&self.external_id)
            .is_some_and(|slot| Arc::strong_count(slot) == 1)
        {
            slots.remove(&self.external_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_call_sees_what_the_earlier_did_and_the_entry_goes_when_nobody_waits() {
        let locks = Arc::new(InProcessLocks::default());
        let mut first = locks.acquire("job-1").await;
        assert_eq!(first.previous(), Previous::Nothing);
        let second = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { locks.acquire("job-1").await.previous() })
        };
        tokio::task::yield_now().await;
        first.record(Previous::Created("s1".into()));
        drop(first);
        assert_eq!(second.await.unwrap(), Previous::Created("s1".into()));
        assert!(locks.lock().is_empty());
        // With nobody waiting, the record is gone: a later call starts afresh.
        assert_eq!(locks.acquire("job-1").await.previous(), Previous::Nothing);
    }

    #[tokio::test]
    async fn calls_with_the_same_id_wait_for_each_other() {
        let locks = Arc::new(InProcessLocks::default());
        let first = locks.acquire("job-1").await;
        let blocked = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { locks.acquire("job-1").await.previous() })
        };
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished());
        // Another id does not wait.
        drop(locks.acquire("job-2").await);
        drop(first);
        assert_eq!(blocked.await.unwrap(), Previous::Nothing);
        assert!(locks.lock().is_empty());
    }
}
