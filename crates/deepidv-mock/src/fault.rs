//! Faults: what the mock does instead of (or around) answering normally, and the queue of those
//! injected and not yet used up ([`Faults`]). `fault_layer.rs` applies them.

use std::time::Duration;

use serde::Deserialize;

use crate::{MockOperation, limits};

/// A fault to inject, with which requests it applies to. Build one with the constructors, narrow
/// it with [`on`](Fault::on), and bound it with [`times`](Fault::times) or
/// [`probability`](Fault::probability) (by default it applies once).
///
/// ```
/// use std::time::Duration;
/// use deepidv_mock::{Fault, MockOperation};
/// let rate_limited = Fault::status(429).header("retry-after", "1").times(2);
/// let proxy_error = Fault::status(502).body("text/html", "<html><body>Bad Gateway</body></html>");
/// let slow = Fault::delay(Duration::from_secs(5)).on(MockOperation::RetrieveSession);
/// let lost_answer = Fault::process_then_drop().on(MockOperation::CreateSession);
/// let flaky = Fault::drop_connection().probability(0.2).times(u32::MAX);
/// ```
///
/// Values past the bounds in [`limits`](crate::limits) are clamped to them (a delay of a day
/// waits an hour; a 1 GiB `oversized` body is 256 MiB); the HTTP control API refuses them with a
/// 400 instead.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// Only requests for this operation; all API requests when `None`.
    #[serde(default)]
    pub operation: Option<MockOperation>,
    /// How many more requests it applies to.
    #[serde(default = "once")]
    pub remaining: u32,
    /// The chance (0–1) that a matching request gets it; `None` means always. Values outside
    /// 0–1 are clamped to it when the fault is injected, and NaN counts as 0 (never).
    #[serde(default)]
    pub probability: Option<f64>,
}

fn once() -> u32 {
    1
}

/// What a [`Fault`] does.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status, headers and body without processing the request.
    Status {
        /// The HTTP status; one outside [`FAULT_STATUSES`](crate::limits::FAULT_STATUSES)
        /// (100–599) is answered as 500.
        status: u16,
        /// Extra headers.
        #[serde(default)]
        headers: Vec<(String, String)>,
        /// The `Content-Type` of `body`.
        #[serde(default)]
        content_type: Option<String>,
        /// The body.
        #[serde(default)]
        body: String,
    },
    /// Wait this long before processing and answering (headers come late).
    Delay {
        /// The wait, in milliseconds; at most [`MAX_FAULT_DELAY`](crate::limits::MAX_FAULT_DELAY)
        /// (one hour) is waited.
        millis: u64,
    },
    /// Process and send the headers at once, then wait this long before the body.
    SlowBody {
        /// The wait, in milliseconds; at most [`MAX_FAULT_DELAY`](crate::limits::MAX_FAULT_DELAY)
        /// (one hour) is waited.
        millis: u64,
    },
    /// Close the connection without processing or answering.
    DropConnection,
    /// Process, send the headers and the first half of the body, then close the connection.
    DropMidBody,
    /// Answer 200 with a JSON body of this many bytes, without processing.
    Oversized {
        /// The body's size; at most [`MAX_OVERSIZED_BYTES`](crate::limits::MAX_OVERSIZED_BYTES)
        /// (256 MiB) are sent, and at least the 14 bytes of `{"padding":""}`.
        bytes: usize,
    },
    /// Process the request (a create creates, and invites), then close the connection without
    /// answering: the client cannot know it succeeded.
    ProcessThenDrop,
}

impl Fault {
    fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            operation: None,
            remaining: 1,
            probability: None,
        }
    }

    /// Answer `status` (empty body) instead of processing. A status outside 100–599 is answered
    /// as 500.
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status {
            status,
            headers: Vec::new(),
            content_type: None,
            body: String::new(),
        })
    }

    /// Wait `delay` before processing and answering; at most one hour
    /// ([`MAX_FAULT_DELAY`](crate::limits::MAX_FAULT_DELAY)).
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay {
            millis: bounded_millis(delay),
        })
    }

    /// Send the headers at once and the body after `delay`; at most one hour
    /// ([`MAX_FAULT_DELAY`](crate::limits::MAX_FAULT_DELAY)).
    pub fn slow_body(delay: Duration) -> Self {
        Self::new(FaultKind::SlowBody {
            millis: bounded_millis(delay),
        })
    }

    /// Close the connection before answering, without processing.
    pub fn drop_connection() -> Self {
        Self::new(FaultKind::DropConnection)
    }

    /// Process, then close the connection halfway through the body.
    pub fn drop_mid_body() -> Self {
        Self::new(FaultKind::DropMidBody)
    }

    /// Answer 200 with a `bytes`-long body; at most 256 MiB
    /// ([`MAX_OVERSIZED_BYTES`](crate::limits::MAX_OVERSIZED_BYTES)).
    pub fn oversized(bytes: usize) -> Self {
        Self::new(FaultKind::Oversized {
            bytes: bytes.min(limits::MAX_OVERSIZED_BYTES),
        })
    }

    /// Process, then close the connection without answering.
    pub fn process_then_drop() -> Self {
        Self::new(FaultKind::ProcessThenDrop)
    }

    /// Adds a response header (for [`Fault::status`]).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let FaultKind::Status { headers, .. } = &mut self.kind {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// Sets the body and its content type (for [`Fault::status`]).
    #[must_use]
    pub fn body(mut self, content_type: impl Into<String>, text: impl Into<String>) -> Self {
        if let FaultKind::Status {
            content_type: ct,
            body,
            ..
        } = &mut self.kind
        {
            *ct = Some(content_type.into());
            *body = text.into();
        }
        self
    }

    /// Applies only to `operation`.
    #[must_use]
    pub fn on(mut self, operation: MockOperation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Applies to the next `n` matching requests.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = n;
        self
    }

    /// Applies to each matching request with this chance (0–1), drawn from the mock's seeded
    /// generator; combine with [`times`](Self::times) to bound how often. A chance outside 0–1 is
    /// clamped to it; NaN counts as 0 (never).
    #[must_use]
    pub fn probability(mut self, chance: f64) -> Self {
        self.probability = Some(bounded_chance(chance));
        self
    }

    /// This fault with every value inside [`limits`](crate::limits): what the mock stores, even
    /// for a fault whose public fields were changed after it was built.
    pub(crate) fn bounded(mut self) -> Self {
        match &mut self.kind {
            FaultKind::Delay { millis } | FaultKind::SlowBody { millis } => {
                *millis = (*millis).min(bounded_millis(limits::MAX_FAULT_DELAY));
            }
            FaultKind::Oversized { bytes } => *bytes = (*bytes).min(limits::MAX_OVERSIZED_BYTES),
            FaultKind::Status { .. }
            | FaultKind::DropConnection
            | FaultKind::DropMidBody
            | FaultKind::ProcessThenDrop => {}
        }
        self.probability = self.probability.map(bounded_chance);
        self
    }

    /// The kind's name, for the request journal and the control API.
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            FaultKind::Status { .. } => "status",
            FaultKind::Delay { .. } => "delay",
            FaultKind::SlowBody { .. } => "slow_body",
            FaultKind::DropConnection => "drop_connection",
            FaultKind::DropMidBody => "drop_mid_body",
            FaultKind::Oversized { .. } => "oversized",
            FaultKind::ProcessThenDrop => "process_then_drop",
        }
    }
}

/// The faults injected and not yet used up, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pending: Vec<Fault>,
}

impl Faults {
    /// Adds `fault` after the others.
    pub fn push(&mut self, fault: Fault) {
        self.pending.push(fault);
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// The first fault that applies to a request for `operation`, used up by one. A fault with a
    /// probability draws from `rng` when it is reached, so the draws depend only on the seed and
    /// the requests.
    pub fn take(
        &mut self,
        operation: Option<MockOperation>,
        rng: &mut fastrand::Rng,
    ) -> Option<Fault> {
        let index = self.pending.iter().position(|fault| {
            fault.remaining > 0
                && fault.operation.is_none_or(|only| Some(only) == operation)
                && fault.probability.is_none_or(|chance| rng.f64() < chance)
        })?;
        let fault = &mut self.pending[index];
        fault.remaining -= 1;
        let taken = fault.clone();
        if fault.remaining == 0 {
            self.pending.remove(index);
        }
        Some(taken)
    }
}

/// `delay` in milliseconds, at most [`limits::MAX_FAULT_DELAY`].
fn bounded_millis(delay: Duration) -> u64 {
    delay
        .min(limits::MAX_FAULT_DELAY)
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX)
}

/// `chance` within 0–1; NaN is 0.
fn bounded_chance(chance: f64) -> f64 {
    if chance.is_nan() {
        0.0
    } else {
        chance.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_past_the_limits_are_clamped() {
        let millis = |fault: Fault| match fault.kind {
            FaultKind::Delay { millis } | FaultKind::SlowBody { millis } => millis,
            _ => unreachable!(),
        };
        assert_eq!(millis(Fault::delay(Duration::MAX)), 3_600_000);
        assert_eq!(millis(Fault::slow_body(Duration::MAX)), 3_600_000);
        assert_eq!(millis(Fault::delay(Duration::from_millis(250))), 250);
        let mut changed = Fault::delay(Duration::ZERO);
        changed.kind = FaultKind::SlowBody { millis: u64::MAX };
        assert_eq!(millis(changed.bounded()), 3_600_000);

        let bytes = |fault: Fault| match fault.kind {
            FaultKind::Oversized { bytes } => bytes,
            _ => unreachable!(),
        };
        assert_eq!(bytes(Fault::oversized(usize::MAX)), 256 * 1024 * 1024);
        let mut changed = Fault::oversized(10);
        changed.kind = FaultKind::Oversized { bytes: usize::MAX };
        assert_eq!(bytes(changed.bounded()), 256 * 1024 * 1024);

        assert_eq!(
            Fault::status(503).probability(f64::NAN).probability,
            Some(0.0)
        );
        assert_eq!(Fault::status(503).probability(7.0).probability, Some(1.0));
        assert_eq!(Fault::status(503).probability(-1.0).probability, Some(0.0));
        let mut changed = Fault::status(503);
        changed.probability = Some(f64::INFINITY);
        assert_eq!(changed.bounded().probability, Some(1.0));
    }
}
