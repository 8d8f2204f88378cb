//! Resilience: limits and budgets, at-most-once create, the fault matrix and a load test, against
//! deepidv-mock. Timing-sensitive, so in a binary of its own; every time bound has a wide margin.

mod at_most_once;
mod fault_matrix;
mod hardening;
mod limits;
mod load;

use std::time::Duration;

use deepidv::{Client, ClientBuilder};
use deepidv_mock::{MockServer, Operation};

/// A builder for `mock` with fast retries and the client-side limiter off.
pub fn builder(mock: &MockServer) -> ClientBuilder {
    Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .initial_retry_delay(Duration::from_millis(5))
        .rate_limit(None)
}

/// How many requests for `operation` the mock received.
pub fn sent(mock: &MockServer, operation: Operation) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

pub fn applicant(external_id: &str) -> deepidv::SessionCreateInput {
    deepidv::SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
        .external_id(external_id)
}
