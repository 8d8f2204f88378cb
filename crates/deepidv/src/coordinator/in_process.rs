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

/// The locks in use, by `external_id`. An entry lives exactly as long as some call holds or waits
/// for it: every call counts itself in from the moment it asks (before it waits) and out when it
/// ends, finished or cancelled, so abandoned waits leave nothing behind.
#[derive(Debug, Default)]
pub(crate) struct InProcessLocks {
    slots: Mutex<HashMap<String, Slot>>,
}

/// One `external_id`'s lock, the record behind it, and how many calls use it.
#[derive(Debug)]
struct Slot {
    users: usize,
    state: Arc<AsyncMutex<Previous>>,
}

impl InProcessLocks {
    /// Waits until no other call with `external_id` is running, then holds its lock until the
    /// returned lock is dropped (also when the call is cancelled).
    pub(crate) async fn acquire(&self, external_id: &str) -> InProcessLock<'_> {
        let user = SlotUser::new(self, external_id);
        let guard = Arc::clone(&user.state).lock_owned().await;
        InProcessLock {
            guard: Mutex::new(guard),
            _user: user,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        lock(&self.slots)
    }
}

/// A call counted in on one slot; dropped, it counts itself out and removes the slot when it
/// was the last user.
struct SlotUser<'a> {
    locks: &'a InProcessLocks,
    external_id: String,
    state: Arc<AsyncMutex<Previous>>,
}

impl<'a> SlotUser<'a> {
    fn new(locks: &'a InProcessLocks, external_id: &str) -> Self {
        let mut slots = locks.lock();
        let slot = slots.entry(external_id.to_owned()).or_insert_with(|| Slot {
            users: 0,
            state: Arc::default(),
        });
        slot.users += 1;
        Self {
            locks,
            external_id: external_id.to_owned(),
            state: Arc::clone(&slot.state),
        }
    }
}

impl Drop for SlotUser<'_> {
    fn drop(&mut self) {
        let mut slots = self.locks.lock();
        if let Some(slot) = slots.get_mut(&self.external_id) {
            slot.users -= 1;
            if slot.users == 0 {
                slots.remove(&self.external_id);
            }
        }
    }
}

/// The right to run the create for one `external_id`.
pub(crate) struct InProcessLock<'a> {
    // Declared first, so dropped first: the next call gets the lock before this one counts out.
    // In a `Mutex` so that recording needs no `&mut`: the fleet lock's renewal runs beside the
    // call and borrows the same `CreateLock`.
    guard: Mutex<OwnedMutexGuard<Previous>>,
    _user: SlotUser<'a>,
}

impl InProcessLock<'_> {
    /// What the calls before this one did.
    pub(crate) fn previous(&self) -> Previous {
        lock(&self.guard).clone()
    }

    /// Records what this call did, for the calls waiting behind it.
    pub(crate) fn record(&self, previous: Previous) {
        **lock(&self.guard) = previous;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_call_sees_what_the_earlier_did_and_the_entry_goes_when_nobody_waits() {
        let locks = Arc::new(InProcessLocks::default());
        let first = locks.acquire("job-1").await;
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

    /// Polls `future` once, as an executor would before the call is cancelled.
    fn poll_once<F: Future + Unpin>(future: &mut F) -> std::task::Poll<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::pin::Pin::new(future).poll(&mut cx)
    }

    #[tokio::test]
    async fn cancelled_waiters_leave_nothing_behind() {
        let locks = Arc::new(InProcessLocks::default());
        let first = locks.acquire("job-1").await;
        // Thousands of calls give up while they wait (a timeout, a dropped handler), for this id
        // and for ids nobody holds.
        for i in 0..5_000 {
            let id = if i % 2 == 0 {
                "job-1".to_owned()
            } else {
                format!("job-{i}")
            };
            let mut waiting = Box::pin(locks.acquire(&id));
            let polled = poll_once(&mut waiting);
            if i % 2 == 0 {
                assert!(polled.is_pending());
            }
        }
        assert_eq!(locks.lock().len(), 1, "only the held id");
        // One more gives up after the holder has left but before it took its turn.
        let mut late = Box::pin(locks.acquire("job-1"));
        assert!(poll_once(&mut late).is_pending());
        first.record(Previous::Created("s1".into()));
        drop(first);
        drop(late);
        assert!(locks.lock().is_empty());
        // A later call behaves as if none of them had been.
        assert_eq!(locks.acquire("job-1").await.previous(), Previous::Nothing);
        assert!(locks.lock().is_empty());
    }
}
