//! [`Coordinator`]: who may run the create of `create_once` for one `external_id`, and what the
//! calls before it did. In this process the in-process single-flight decides; in fleet mode the
//! fleet's lock in Redis decides across replicas too, behind the same [`CreateLock`].

mod in_process;
pub(crate) mod previous;

use in_process::{InProcessLock, InProcessLocks};
pub(crate) use previous::Previous;

use crate::Result;

/// The create coordinator every clone of a client shares.
#[derive(Debug, Default)]
pub(crate) struct Coordinator {
    local: InProcessLocks,
    /// Fleet mode: the lock shared through Redis.
    #[cfg(feature = "redis")]
    fleet: Option<std::sync::Arc<crate::fleet::Fleet>>,
}

impl Coordinator {
    /// Coordinates with the other replicas through `fleet` too.
    #[cfg(feature = "redis")]
    pub(crate) fn with_fleet(fleet: std::sync::Arc<crate::fleet::Fleet>) -> Self {
        Self {
            local: InProcessLocks::default(),
            fleet: Some(fleet),
        }
    }

    /// The fleet it coordinates through, for `Debug`.
    #[cfg(feature = "redis")]
    pub(crate) fn fleet(&self) -> Option<&crate::fleet::Fleet> {
        self.fleet.as_deref()
    }

    /// Waits for this process's calls with `external_id`, then (fleet mode) for the other
    /// replicas'. If Redis never answered this call, the call goes on with this process's
    /// single-flight alone, or fails when the client is configured to fail closed; once another
    /// replica was seen holding the lock, it never goes on alone (see `fleet/lock.rs`).
    pub(crate) async fn lock(&self, external_id: &str) -> Result<CreateLock<'_>> {
        let local = self.local.acquire(external_id).await;
        #[cfg(feature = "redis")]
        let fleet = match &self.fleet {
            Some(fleet) => match fleet.lock(external_id).await {
                Ok(lock) => Some(lock),
                Err(crate::fleet::LockError::Unsettled(why)) => return Err(fleet.unsettled(&why)),
                Err(crate::fleet::LockError::Unavailable(why)) if fleet.fail_closed() => {
                    return Err(fleet.refusal(&why));
                }
                Err(crate::fleet::LockError::Unavailable(_)) => None,
            },
            None => None,
        };
        Ok(CreateLock {
            local,
            #[cfg(feature = "redis")]
            fleet,
        })
    }
}

/// The right to run the create for one `external_id`: in this process (every clone of the
/// client), and, in fleet mode, across every replica.
pub(crate) struct CreateLock<'a> {
    local: InProcessLock<'a>,
    #[cfg(feature = "redis")]
    fleet: Option<crate::fleet::FleetLock<'a>>,
}

impl CreateLock<'_> {
    /// Runs `work` holding the lock: in fleet mode its lease is renewed beside it for as long
    /// as it runs.
    pub(crate) async fn hold_during<T>(&self, work: impl Future<Output = T>) -> T {
        #[cfg(feature = "redis")]
        if let Some(lock) = &self.fleet {
            use std::task::Poll;
            let mut work = std::pin::pin!(work);
            let mut keep = std::pin::pin!(lock.keep());
            return std::future::poll_fn(|cx| {
                if let Poll::Ready(outcome) = work.as_mut().poll(cx) {
                    return Poll::Ready(outcome);
                }
                match keep.as_mut().poll(cx) {
                    Poll::Ready(never) => match never {},
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
        }
        work.await
    }

    /// Whether a create may be sent now (fleet mode: the lease is still this call's and lasts
    /// longer than an attempt); [`Error::Coordination`](crate::Error::Coordination) if not.
    pub(crate) fn check(&self) -> Result<()> {
        #[cfg(feature = "redis")]
        if let Some(lock) = &self.fleet {
            lock.check()?;
        }
        Ok(())
    }

    /// What the calls before this one did: the fleet's record when there is one (it knows other
    /// replicas' calls), else this process's.
    pub(crate) async fn previous(&self) -> Previous {
        #[cfg(feature = "redis")]
        if let Some(lock) = &self.fleet
            && let Ok(previous) = lock.previous().await
            && previous != Previous::Nothing
        {
            return previous;
        }
        self.local.previous()
    }

    /// Records what this call did, for the calls waiting behind it, here and in the fleet.
    pub(crate) async fn record(&self, previous: Previous) {
        #[cfg(feature = "redis")]
        if let Some(lock) = &self.fleet {
            // Unrecorded (Redis did not answer, or the lease was lost): a waiter then finds no
            // record and looks the session up itself before creating.
            let _ = lock.record(&previous).await;
        }
        self.local.record(previous);
    }

    /// Lets the next call in (the fleet's lock is released now; this process's on drop).
    pub(crate) async fn release(self) {
        #[cfg(feature = "redis")]
        if let Some(lock) = self.fleet {
            lock.release().await;
        }
    }
}
