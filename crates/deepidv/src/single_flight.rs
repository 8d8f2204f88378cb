//! Single-flight for [`Sessions::create_once`](crate::Sessions::create_once): within one client
//! (every clone), calls with the same `external_id` run one at a time, and each learns what the
//! ones before it did, so two concurrent calls never both create.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// What the calls so far did for one `external_id`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Flight {
    /// Nothing that could have created a session.
    #[default]
    Idle,
    /// A create was sent and its fate is unknown (its caller gave up, or it failed ambiguously):
    /// look before creating.
    MaybeSent,
    /// This session was created (or found) for it.
    Created(String),
}

/// The flights in progress, by `external_id`. An entry lives while some call holds or waits for it.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    slots: Mutex<HashMap<String, Arc<AsyncMutex<Flight>>>>,
}

impl Flights {
    /// Waits until no other call with `external_id` is running, then holds the flight until the
    /// returned seat is dropped (also when the call is cancelled).
    pub(crate) async fn board(&self, external_id: &str) -> Seat<'_> {
        let slot = Arc::clone(self.lock().entry(external_id.to_owned()).or_default());
        let guard = slot.lock_owned().await;
        Seat {
            flights: self,
            external_id: external_id.to_owned(),
            guard: Some(guard),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<AsyncMutex<Flight>>>> {
        // The map is only ever left consistent: a poisoned lock is still usable.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The right to run the create for one `external_id`.
pub(crate) struct Seat<'a> {
    flights: &'a Flights,
    external_id: String,
    guard: Option<OwnedMutexGuard<Flight>>,
}

impl Seat<'_> {
    /// What the calls before this one did.
    pub(crate) fn flight(&self) -> Flight {
        self.guard.as_deref().cloned().unwrap_or_default()
    }

    /// Records what this call did, for the calls waiting behind it.
    pub(crate) fn record(&mut self, flight: Flight) {
        if let Some(guard) = self.guard.as_deref_mut() {
            *guard = flight;
        }
    }
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut slots = self.flights.lock();
        // Only the map holds the slot: nobody runs or waits for this id any more.
        if slots
            .get(&self.external_id)
            .is_some_and(|slot| Arc::strong_count(slot) == 1)
        {
            slots.remove(&self.external_id);
        }
    }
}

/// A `create_once` call's place in line: in this process (every clone of the client), and, in
/// fleet mode, across every replica through Redis.
pub(crate) struct Boarding<'a> {
    local: Seat<'a>,
    #[cfg(feature = "redis")]
    fleet: Option<crate::fleet::FleetSeat<'a>>,
}

impl<'a> Boarding<'a> {
    /// Waits for this process's calls, then (fleet mode) for the other replicas'. If Redis cannot
    /// be used, the call goes on with this process's single-flight alone, or fails when the
    /// client is configured to fail closed.
    pub(crate) async fn board(
        client: &'a crate::client::ClientInner,
        external_id: &str,
    ) -> crate::Result<Self> {
        let local = client.flights.board(external_id).await;
        #[cfg(feature = "redis")]
        let fleet = match &client.fleet {
            Some(fleet) => match fleet.board(external_id).await {
                Ok(seat) => Some(seat),
                Err(why) if fleet.fail_closed() => return Err(fleet.refusal(&why)),
                Err(_) => None,
            },
            None => None,
        };
        Ok(Self {
            local,
            #[cfg(feature = "redis")]
            fleet,
        })
    }

    /// What the calls before this one did: the fleet's record when there is one (it knows other
    /// replicas' calls), else this process's.
    pub(crate) async fn flight(&self) -> Flight {
        #[cfg(feature = "redis")]
        if let Some(seat) = &self.fleet
            && let Ok(flight) = seat.flight().await
            && flight != Flight::Idle
        {
            return flight;
        }
        self.local.flight()
    }

    /// Records what this call did, for the calls waiting behind it, here and in the fleet.
    pub(crate) async fn record(&mut self, flight: Flight) {
        #[cfg(feature = "redis")]
        if let Some(seat) = &self.fleet {
            // Fail-open: an unrecorded flight only means a waiter looks the session up itself.
            let _ = seat.record(&flight).await;
        }
        self.local.record(flight);
    }

    /// Lets the next call in (the fleet's lock is released now; this process's on drop).
    pub(crate) async fn leave(self) {
        #[cfg(feature = "redis")]
        if let Some(seat) = self.fleet {
            seat.leave().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_call_sees_what_the_earlier_did_and_the_entry_goes_when_nobody_waits() {
        let flights = Arc::new(Flights::default());
        let mut first = flights.board("job-1").await;
        assert_eq!(first.flight(), Flight::Idle);
        let second = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move { flights.board("job-1").await.flight() })
        };
        tokio::task::yield_now().await;
        first.record(Flight::Created("s1".into()));
        drop(first);
        assert_eq!(second.await.unwrap(), Flight::Created("s1".into()));
        assert!(flights.lock().is_empty());
        // With nobody waiting, the record is gone: a later call starts afresh.
        assert_eq!(flights.board("job-1").await.flight(), Flight::Idle);
    }

    #[tokio::test]
    async fn calls_with_the_same_id_wait_for_each_other() {
        let flights = Arc::new(Flights::default());
        let first = flights.board("job-1").await;
        let blocked = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move { flights.board("job-1").await.flight() })
        };
        tokio::task::yield_now().await;
        assert!(!blocked.is_finished());
        // Another id does not wait.
        drop(flights.board("job-2").await);
        drop(first);
        assert_eq!(blocked.await.unwrap(), Flight::Idle);
        assert!(flights.lock().is_empty());
    }
}
