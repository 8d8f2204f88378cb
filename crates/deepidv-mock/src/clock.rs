//! The mock's clock: real time by default; frozen or shifted by tests so that `created_at` and
//! expiry are under control. It stays within [`limits::clock_range`](crate::limits), so that
//! nothing computed from it can overflow.

use chrono::{DateTime, Duration, Utc};

use crate::limits;

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

fn real_now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

impl Clock {
    /// The current time, to the millisecond (the precision of the API's timestamps and of list
    /// cursors).
    pub fn now(&self) -> DateTime<Utc> {
        let now = match self {
            Clock::Real { offset } => real_now()
                .checked_add_signed(*offset)
                .unwrap_or_else(|| limits::clock_range().1),
            Clock::Frozen(at) => *at,
        };
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    /// A clock frozen at `at`, moved into the clock's range.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Clock::Frozen(limits::clamp_to_clock(at))
    }

    /// Moves the clock by `by`, unless that would take it out of its range (then it is unchanged).
    pub fn advance(&mut self, by: Duration) -> Result<(), String> {
        let (earliest, latest) = limits::clock_range();
        let moved = self
            .now()
            .checked_add_signed(by)
            .filter(|at| (earliest..=latest).contains(at));
        if moved.is_none() {
            return Err(format!(
                "the clock would leave its range ({})",
                limits::clock_range_text()
            ));
        }
        match self {
            Clock::Real { offset } => {
                *offset = offset
                    .checked_add(&by)
                    .ok_or_else(|| "the clock's offset would overflow".to_owned())?;
            }
            Clock::Frozen(at) => {
                *at = at
                    .checked_add_signed(by)
                    .ok_or_else(|| "the clock would overflow".to_owned())?;
            }
        }
        Ok(())
    }

    /// Moves the clock by `by`, stopping at the end of its range.
    pub fn advance_saturating(&mut self, by: Duration) {
        if self.advance(by).is_ok() {
            return;
        }
        let (earliest, latest) = limits::clock_range();
        let bound = if by < Duration::zero() {
            earliest
        } else {
            latest
        };
        match self {
            Clock::Real { offset } => *offset = bound.signed_duration_since(real_now()),
            Clock::Frozen(at) => *at = bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_out_of_range_are_refused_or_saturate() {
        let (earliest, latest) = limits::clock_range();
        let mut clock = Clock::default();
        assert!(clock.advance(Duration::MAX).is_err());
        assert!(clock.advance(Duration::MIN).is_err());
        clock.advance_saturating(Duration::MAX);
        assert!(clock.now() >= latest - Duration::minutes(1));
        clock.advance_saturating(Duration::MIN);
        assert!(clock.now() <= earliest + Duration::minutes(1));

        let mut frozen = Clock::frozen(DateTime::<Utc>::MAX_UTC);
        assert_eq!(frozen.now(), latest);
        frozen.advance_saturating(Duration::MIN);
        assert_eq!(frozen.now(), earliest);
        assert!(frozen.advance(Duration::milliseconds(-1)).is_err());
        assert_eq!(frozen.now(), earliest, "a refused move changes nothing");
    }
}
