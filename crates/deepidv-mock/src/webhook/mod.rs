//! Webhooks: which events the mock sends, to which endpoints, how each delivery is attempted and
//! retried, and the journal of attempts. `event.rs` has what is sent and journaled,
//! `config.rs` the checked settings, `disorder.rs` the optional out-of-order and duplicate
//! deliveries, `delivery.rs` the deliveries and their journal.
//!
//! An event is emitted while the state is locked (so events are numbered in the order the
//! sessions changed); its deliveries, one per endpoint, run as tokio tasks and never hold the
//! state's lock. By default deliveries of one session's events to one endpoint are chained: each
//! waits for the one before it to finish (delivered or given up); out of order, they are not.

mod config;
mod delivery;
mod disorder;
mod event;

pub(crate) use config::WebhookConfig;
pub(crate) use delivery::Webhooks;
pub(crate) use disorder::Disorder;
pub use event::{WebhookDelivery, WebhookEvent};
