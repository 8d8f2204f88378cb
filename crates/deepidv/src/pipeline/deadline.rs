//! [`Deadline`]: when one public call must be finished.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

use crate::{Error, Result, endpoint::Operation};

/// When one public call must be finished: [`ClientBuilder::total_timeout`](crate::ClientBuilder::total_timeout)
/// from the moment the call started, or never. Taken once per public call and handed down to every
/// request it makes (each page of a list, the lookups of `create_once`, the reconciliation read of
/// `update_status`), so that the bound covers the whole call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    total: Duration,
}

impl Deadline {
    /// The deadline of a call starting now that may take `total` (none: no deadline). A total
    /// timeout too large for the clock means none.
    pub(crate) fn start(total: Option<Duration>) -> Self {
        Self {
            at: total.and_then(|total| Instant::now().checked_add(total)),
            total: total.unwrap_or(Duration::MAX),
        }
    }

    /// The instant it falls, if there is one.
    pub(crate) fn at(self) -> Option<Instant> {
        self.at
    }

    /// The time left, if there is a deadline.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn remaining(self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether waiting `wait` from now still ends before the deadline.
    pub(crate) fn allows(self, wait: Duration) -> bool {
        self.at
            .is_none_or(|at| Instant::now().checked_add(wait).is_some_and(|end| end < at))
    }

    /// Runs `work` until the deadline; past it, the call fails with [`Error::Timeout`].
    /// `maybe_sent` says whether a request may have reached the server by then.
    pub(crate) async fn run<T>(
        self,
        operation: Operation,
        maybe_sent: bool,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.at {
            Some(at) => match tokio::time::timeout_at(at, work).await {
                Ok(outcome) => outcome,
                Err(_) => Err(self.passed(operation, maybe_sent)),
            },
            None => work.await,
        }
    }

    /// Sleeps for `wait`, or fails with [`Error::Timeout`] if the deadline comes first.
    pub(crate) async fn sleep(self, operation: Operation, wait: Duration) -> Result<()> {
        if !self.allows(wait) {
            return Err(self.passed(operation, true));
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// The error for a call that ran out of its total timeout.
    pub(crate) fn passed(self, operation: Operation, maybe_sent: bool) -> Error {
        Error::Timeout {
            message: format!(
                "the call did not finish within its total timeout of {:?}",
                self.total
            ),
            operation,
            maybe_sent,
        }
    }
}
