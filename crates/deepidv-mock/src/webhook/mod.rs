//! Webhooks: which events the mock sends, to which endpoints, how each delivery is attempted and
//! retried, and the journal of attempts. `event.rs` has what is sent and journaled,
//! `config.rs` the checked settings, `delivery.rs` the deliveries and their journal.
//!
//! An event is emitted while the state is locked (so events are numbered in the order the
//! sessions changed); its deliveries, one per endpoint, run as tokio tasks and never hold the
//! state's lock. Deliveries of one session's events to one endpoint are chained: each waits for
//! the one before it to finish (delivered or given up).

mod config;
mod delivery;
mod event;

pub(crate) use config::WebhookConfig;
pub(crate) use delivery::Webhooks;
pub use event::{WebhookDelivery, WebhookEvent};
