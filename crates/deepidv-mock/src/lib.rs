//! An embedded DeepIDV sessions API server, for tests and demos: stateful, in memory, with
//! controllable time and injectable faults. A library (start it inside a test) and a binary
//! (`deepidv-mock`, controlled over HTTP under `/__mock/`).
//!
//! It is an independent implementation of the sessions contract (DeepIDV's REST reference), not
//! built on the `deepidv` crates, so a mistake there shows up as a failing test instead of being
//! mirrored here.
//!
//! ```no_run
//! # async fn run() {
//! let mock = deepidv_mock::MockServer::start().await;
//! // Point any client at it:
//! println!("{} with key {}", mock.url(), mock.api_key());
//! // Make the next create fail with 429, then succeed:
//! mock.inject(deepidv_mock::Fault::status(429).on(deepidv_mock::Operation::CreateSession).times(1));
//! // ... run the code under test ...
//! assert!(mock.invites().len() <= 2, "one session, at most one email and one SMS");
//! # }
//! ```
//!
//! # Behaviour
//!
//! As documented for the live API (sessions-contract §2–§8):
//!
//! - `POST /v1/sessions`, `GET /v1/sessions/{id}`, `GET /v1/sessions`,
//!   `PATCH /v1/sessions/{id}/update-status`, with snake_case bodies (and the create response's
//!   `externalId`). Create accepts camelCase and snake_case keys (camelCase wins) and validates
//!   them (400 `{message, hints}`); an unknown `workflowId` is 404.
//! - Auth: a missing `x-api-key` is 403 `{"error":"API key is missing."}`, an unknown one 401
//!   `{"error":"Invalid API key."}`. Sandbox keys read only: every write is 403 with the sandbox
//!   message; `test_verified` and `test_rejected` are fully populated records, and any other id
//!   is a scenario picked deterministically from the id and the seed.
//! - Sessions belong to the key's user (`sender_user_id`) and organization. Another
//!   organization's session is 403.
//! - List: `limit` 1–500 (default 50), newest first, an opaque `next_token` that stays valid while
//!   sessions are added, `{sessions, next_token}`. Scope: `external_id` (the key owner's sessions
//!   with that reference) takes precedence over `workflow_id` (the key owner's sessions of that
//!   workflow), which takes precedence over `by_organization=true` (the whole organization);
//!   otherwise the key owner's sessions. `start_date`/`end_date` bound `created_at`, inclusive.
//! - Update status: VERIFIED and REJECTED; VOIDED is 400 (as documented) unless
//!   [`MockBuilder::accept_voided`]. Setting the status a session already has succeeds. A decision
//!   needs a session the applicant has finished (SUBMITTED or FAILED) or one already decided
//!   (VERIFIED or REJECTED, which may be changed); PENDING, EXPIRED and VOIDED sessions are 400.
//!   VOIDED, when accepted, applies to any session not already VOIDED.
//! - Rate limit per key (token bucket, 25 requests/s, burst 35): off by default in process, on in
//!   the binary; over it, 429. A per-key "no funds" switch answers creates with 402 and the
//!   plain-text body `Insufficient funds or subscription.`.
//! - Each create records the invitations it would send (email and SMS, per the send flags) in
//!   [`MockServer::invites`]: the observable proof that nothing was sent twice.
//! - The control API (`/__mock/…`, for the binary) refuses out-of-range inputs with a 400 naming
//!   the field and its range ([`limits`]); off loopback it needs a
//!   [`control_token`](MockBuilder::control_token).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod clock;
mod control;
mod fault;
pub mod limits;
mod model;
mod rate_limit;
mod scenario;
mod server;
mod state;
mod validate;

pub use fault::{Fault, FaultKind};
pub use model::{Channel, Invite, Operation, RecordedRequest, SeedSessions};
pub use server::{ApiKey, MockBuilder, MockError, MockServer};
