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
    /// replicas'. If Redis cannot be used, the call goes on with this process's single-flight
    /// alone, or fails when the client is configured to fail closed.
    pub(crate) async fn lock(&self, external_id: &str) -> Result<CreateLock<'_>> {
        let local = self.local.acquire(external_id).await;
        #[cfg(feature = "redis")]
        let fleet = match &self.fleet {
            Some(fleet) => match fleet.lock(external_id).await {
                Ok(lock) => Some(lock),
                Err(why) if fleet.fail_closed() => return Err(fleet.refusal(&why)),
                Err(_) => None,
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
    pub(crate) async fn record(&mut self, previous: Previous) {
        #[cfg(feature = "redis")]
        if let Some(lock) = &self.fleet {
            // Fail-open: an unrecorded outcome only means a waiter looks the session up itself.
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
