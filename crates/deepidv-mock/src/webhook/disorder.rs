//! How deliveries may depart from the default (each event once, one session's events in order):
//! held back a random time and unchained, or sent twice. Every draw comes from a generator seeded
//! from the mock's seed, in the order the events happen, so a seed fixes the draws of a run.

use std::time::Duration;

use crate::limits;

/// Mixed into the mock's seed so that the webhook draws do not repeat the store's.
const SALT: u64 = 0x7765_6268_6f6f_6b73;

/// The checked out-of-order and duplicate settings; the default is neither.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Disorder {
    /// Out of order: each delivery is held back up to this long and not chained after the one
    /// before it. `None`: in order.
    hold: Option<Duration>,
    /// The chance that a delivery is sent a second time (0 to 1).
    duplicates: f64,
}

impl Disorder {
    /// Checks the builder's settings; the message names the setting and its range.
    pub(crate) fn new(hold: Option<Duration>, duplicates: f64) -> Result<Self, String> {
        if let Some(hold) = hold
            && hold > limits::MAX_WEBHOOK_HOLD
        {
            return Err(format!(
                "the webhook out-of-order hold must be at most {} ms (one hour) (got {} ms)",
                limits::MAX_WEBHOOK_HOLD.as_millis(),
                hold.as_millis()
            ));
        }
        if !(0.0..=1.0).contains(&duplicates) {
            return Err(format!(
                "the webhook duplicate probability must be from 0 to 1 (got {duplicates})"
            ));
        }
        Ok(Self { hold, duplicates })
    }

    /// Whether one session's deliveries are chained (each after the one before it).
    pub(super) fn in_order(&self) -> bool {
        self.hold.is_none()
    }
}

/// The generator behind the draws, and the settings it draws for.
#[derive(Debug)]
pub(super) struct Draws {
    disorder: Disorder,
    seed: u64,
    rng: fastrand::Rng,
}

impl Default for Draws {
    fn default() -> Self {
        Self::new(Disorder::default(), 0)
    }
}

impl Draws {
    pub(super) fn new(disorder: Disorder, seed: u64) -> Self {
        Self {
            disorder,
            seed,
            rng: fastrand::Rng::with_seed(seed ^ SALT),
        }
    }

    /// The same settings, the generator back at its start (a reset).
    pub(super) fn restarted(&self) -> Self {
        Self::new(self.disorder, self.seed)
    }

    /// How many times one event goes to one endpoint: 1, or 2 when drawn a duplicate. Nothing is
    /// drawn when duplicates are off, so turning them on changes no other draw's place.
    pub(super) fn copies(&mut self) -> usize {
        match self.disorder.duplicates {
            p if p <= 0.0 => 1,
            p if p >= 1.0 => 2,
            p => 1 + usize::from(self.rng.f64() < p),
        }
    }

    /// How long a delivery waits before its first attempt: from zero to the hold, uniformly, to
    /// the millisecond; zero when in order.
    pub(super) fn hold(&mut self) -> Duration {
        match self.disorder.hold {
            None => Duration::ZERO,
            Some(max) => {
                let millis = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
                Duration::from_millis(self.rng.u64(0..=millis))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(Disorder::new(Some(limits::MAX_WEBHOOK_HOLD), 1.0).is_ok());
        assert!(Disorder::new(None, 0.0).is_ok());
        let too_long = Disorder::new(Some(Duration::from_secs(3_601)), 0.0).unwrap_err();
        assert!(too_long.contains("at most 3600000 ms"), "{too_long}");
        for p in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let error = Disorder::new(None, p).unwrap_err();
            assert!(error.contains("from 0 to 1"), "{p}: {error}");
        }
    }

    #[test]
    fn draws_are_fixed_by_the_seed_and_within_bounds() {
        let disorder = Disorder::new(Some(Duration::from_millis(500)), 0.5).unwrap();
        let run = |seed| {
            let mut draws = Draws::new(disorder, seed);
            (0..50)
                .map(|_| (draws.copies(), draws.hold()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let drawn = run(7);
        assert!(
            drawn
                .iter()
                .all(|(_, hold)| *hold <= Duration::from_millis(500))
        );
        assert!(drawn.iter().any(|(copies, _)| *copies == 2));
        assert!(drawn.iter().any(|(copies, _)| *copies == 1));
        let mut used = Draws::new(disorder, 7);
        used.copies();
        let mut again = used.restarted();
        assert_eq!((again.copies(), again.hold()), run(7)[0]);

        let mut default = Draws::new(Disorder::default(), 7);
        assert_eq!((default.copies(), default.hold()), (1, Duration::ZERO));
        let mut always = Draws::new(Disorder::new(None, 1.0).unwrap(), 7);
        assert!((0..20).all(|_| always.copies() == 2));
    }
}
