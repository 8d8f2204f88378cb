//! Resilience: limits and budgets, at-most-once create, the fault matrix and a load test, against
//! deepidv-mock. Timing-sensitive, so in a binary of its own; every time bound has a wide margin.

mod at_most_once;
mod fault_matrix;
mod hardening;
mod limits;
mod load;

use std::{future::Future, time::Duration};

use deepidv::ClientBuilder;
use deepidv_mock::{MockOperation, MockServer};

/// A builder for `mock` with the test settings of `deepidv::testing` (fast retries, no
/// client-side limiter).
pub fn builder(mock: &MockServer) -> ClientBuilder {
    deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
}

/// How many requests for `operation` the mock received.
pub fn sent(mock: &MockServer, operation: MockOperation) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

pub fn applicant(external_id: &str) -> deepidv::SessionCreateInput {
    deepidv::SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
        .external_id(external_id)
}

/// Awaits `call`, failing the test if it takes more than 60 s: a regression that loops (a retry
/// budget never spent, a deadline never checked) fails here instead of hanging the suite.
pub async fn within<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call did not finish within 60 s")
}
