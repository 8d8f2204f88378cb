//! Everything the mock knows, behind the one lock its tasks share: the store (sessions and the
//! API's rules), the journals, and the faults waiting for requests.

use std::sync::{Mutex, MutexGuard};

use crate::{
    Fault, MockOperation,
    fault::Faults,
    journal::Journal,
    store::{Outcome, Store},
};

/// What the server's tasks share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The bearer token `/__mock/*` requests must carry, if one was configured.
    control_token: Option<String>,
}

impl Shared {
    pub fn new(state: State, control_token: Option<String>) -> Self {
        Self {
            state: Mutex::new(state),
            control_token,
        }
    }

    /// The state. A panic while it was held cannot leave it half-updated in a way that matters
    /// more than failing every later request would, so a poisoned lock is used as is.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn control_token(&self) -> Option<&str> {
        self.control_token.as_deref()
    }
}

/// The store, the journals and the faults. What involves more than one of them is here; the
/// rest is reached through [`store`](Self::store), [`journal`](Self::journal) and
/// [`faults_mut`](Self::faults_mut).
pub(crate) struct State {
    store: Store,
    journal: Journal,
    faults: Faults,
}

impl State {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            journal: Journal::default(),
            faults: Faults::default(),
        }
    }

    /// Back to the state at start: no sessions, journals, faults or webhook deliveries (those
    /// under way stop); time and generator reset.
    pub fn reset(&mut self) {
        self.store.reset();
        self.journal = Journal::default();
        self.faults.clear();
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn journal_mut(&mut self) -> &mut Journal {
        &mut self.journal
    }

    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    /// The first fault that applies to a request for `operation`, used up by one; its
    /// probability is drawn from the store's generator.
    pub fn take_fault(&mut self, operation: Option<MockOperation>) -> Option<Fault> {
        self.faults.take(operation, self.store.rng())
    }

    /// A create with key number `key`; the invitations it would send go to the journal.
    pub fn create(&mut self, key: usize, body: &[u8]) -> Outcome {
        self.store.create(key, body, &mut self.journal)
    }
}
