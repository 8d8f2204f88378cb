//! The one way the SDK takes a `std` mutex.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, also when a thread panicked while holding it: every mutex of the SDK guards
/// state that each critical section leaves consistent (a map entry, two numbers of a bucket), so a
/// poisoned lock is still usable, and one panic must not make every later call panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
