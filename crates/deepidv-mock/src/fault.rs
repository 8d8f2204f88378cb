//! Faults: what the mock does instead of (or around) answering normally.

use std::time::Duration;

use serde::Deserialize;

use crate::Operation;

/// A fault to inject, with which requests it applies to. Build one with the constructors, narrow
/// it with [`on`](Fault::on), and bound it with [`times`](Fault::times) or
/// [`probability`](Fault::probability) (by default it applies once).
///
/// ```
/// use std::time::Duration;
/// use deepidv_mock::{Fault, Operation};
/// let rate_limited = Fault::status(429).header("retry-after", "1").times(2);
/// let proxy_error = Fault::status(502).body("text/html", "<html><body>Bad Gateway</body></html>");
/// let slow = Fault::delay(Duration::from_secs(5)).on(Operation::RetrieveSession);
/// let lost_answer = Fault::process_then_drop().on(Operation::CreateSession);
/// let flaky = Fault::drop_connection().probability(0.2).times(u32::MAX);
/// ```
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// Only requests for this operation; all API requests when `None`.
    #[serde(default)]
    pub operation: Option<Operation>,
    /// How many more requests it applies to.
    #[serde(default = "once")]
    pub remaining: u32,
    /// The chance (0–1) that a matching request gets it; `None` means always.
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
        /// The HTTP status.
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
        /// The wait, in milliseconds.
        millis: u64,
    },
    /// Process and send the headers at once, then wait this long before the body.
    SlowBody {
        /// The wait, in milliseconds.
        millis: u64,
    },
    /// Close the connection without processing or answering.
    DropConnection,
    /// Process, send the headers and the first half of the body, then close the connection.
    DropMidBody,
    /// Answer 200 with a JSON body of this many bytes, without processing.
    Oversized {
        /// The body's size.
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

    /// Answer `status` (empty body) instead of processing.
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status {
            status,
            headers: Vec::new(),
            content_type: None,
            body: String::new(),
        })
    }

    /// Wait `delay` before processing and answering.
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay {
            millis: delay.as_millis().try_into().unwrap_or(u64::MAX),
        })
    }

    /// Send the headers at once and the body after `delay`.
    pub fn slow_body(delay: Duration) -> Self {
        Self::new(FaultKind::SlowBody {
            millis: delay.as_millis().try_into().unwrap_or(u64::MAX),
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

    /// Answer 200 with a `bytes`-long body.
    pub fn oversized(bytes: usize) -> Self {
        Self::new(FaultKind::Oversized { bytes })
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
    pub fn on(mut self, operation: Operation) -> Self {
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
    /// generator; combine with [`times`](Self::times) to bound how often.
    #[must_use]
    pub fn probability(mut self, chance: f64) -> Self {
        self.probability = Some(chance.clamp(0.0, 1.0));
        self
    }

    /// The kind's name, for the request journal.
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
