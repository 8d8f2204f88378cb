//! The mock's clock: real time by default; frozen or shifted by tests so that `created_at` and
//! expiry are under control.

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// Real time plus an offset.
    Real { offset: Duration },
    /// A fixed instant that moves only when told.
    Frozen(DateTime<Utc>),
}

impl Default for Clock {
    fn default() -> Self {
        Clock::Real {
            offset: Duration::zero(),
        }
    }
}

impl Clock {
    /// The current time, to the millisecond (the precision of the API's timestamps and of list
    /// cursors).
    pub fn now(&self) -> DateTime<Utc> {
        let now = match self {
            Clock::Real { offset } => DateTime::<Utc>::from(std::time::SystemTime::now()) + *offset,
            Clock::Frozen(at) => *at,
        };
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    pub fn advance(&mut self, by: Duration) {
        match self {
            Clock::Real { offset } => *offset += by,
            Clock::Frozen(at) => *at += by,
        }
    }
}
