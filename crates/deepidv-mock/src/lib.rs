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
//! mock.inject(deepidv_mock::Fault::status(429).on(deepidv_mock::MockOperation::CreateSession).times(1));
//! // ... run the code under test ...
//! assert!(mock.invites().len() <= 2, "one session, at most one email and one SMS");
//! # }
//! ```
//!
//! # Behaviour
//!
//! As documented for the live API (`docs/contract.md`), except where the
//! [Assumptions](#assumptions) below say the mock had to choose:
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
//! - List: `limit` 1–500 (default 50), an opaque `next_token`, `{sessions, next_token}`. Scope:
//!   `external_id` takes precedence over `workflow_id`, which takes precedence over
//!   `by_organization=true` (the whole organization); otherwise the key owner's sessions.
//!   `start_date`/`end_date` bound `created_at`, inclusive.
//! - Update status: VERIFIED and REJECTED; any other value is 400 (VOIDED too, unless
//!   [`MockBuilder::accept_voided`]).
//! - Rate limit per key (25 requests/s, burst 35): off by default in process, on in the binary;
//!   over it, 429. A per-key "no funds" switch answers creates with 402 and the plain-text body
//!   `Insufficient funds or subscription.`.
//! - Webhooks: every configured endpoint gets `session.created`, `session.status.submitted`,
//!   `.verified`, `.rejected` and `.failed`, retried on failure (see [Webhooks](#webhooks)).
//! - Each create records the invitations it would send (email and SMS, per the send flags) in
//!   [`MockServer::invites`]: the observable proof that nothing was sent twice.
//! - The control API (`/__mock/…`, for the binary) refuses out-of-range inputs with a 400 naming
//!   the field and its range ([`limits`]); off loopback it needs a
//!   [`control_token`](MockBuilder::control_token).
//!
//! # Webhooks
//!
//! With endpoints configured ([`MockBuilder::webhook`], `--webhook-url URL --webhook-secret
//! SECRET`, each repeatable), the mock delivers DeepIDV's webhook events (`docs/contract.md`, "Webhooks")
//! to every endpoint:
//!
//! | event | sent when |
//! |---|---|
//! | `session.created` | a create succeeds (`POST /v1/sessions`) |
//! | `session.status.submitted` | the applicant submits ([`MockServer::submit`], `POST /__mock/sessions/{id}/submit`) |
//! | `session.status.failed` | the checks fail ([`MockServer::fail`], `POST /__mock/sessions/{id}/fail`) |
//! | `session.status.verified` | update-status sets VERIFIED on a session that was not |
//! | `session.status.rejected` | update-status sets REJECTED on a session that was not |
//!
//! Each attempt is a `POST` to the URL as configured, on a new connection, with
//! `Content-Type: application/json`, the header `deepidv-signature: <secret>` (the secret itself,
//! as DeepIDV sends it: no HMAC, no timestamp) and the body
//! `{"type": "<event>", "data": <session record>}`, where `data` is the bare record, the same
//! object as a retrieve's `session_record`, as it was when the event happened.
//!
//! - **Retries**: any 2xx answer delivers. A non-2xx answer, a connection error, or no answer's
//!   headers within the timeout (10 s by default, [`MockBuilder::webhook_timeout`],
//!   `--webhook-timeout-ms`) fails the attempt, and the delivery is tried again after a wait: by
//!   default 5 attempts in all, with waits of 1, 2, 4 and 8 s between them (the first wait
//!   doubling each time, at most an hour; [`MockBuilder::webhook_retry`], `--webhook-attempts`,
//!   `--webhook-retry-ms`). After the last failed attempt the delivery is given up. The bounds
//!   are in [`limits`].
//! - **Never in the way**: deliveries run in the background on the runtime that started the
//!   mock. An API or control answer never waits for them (so a receiver may see an event before
//!   the client sees the answer that caused it), and a receiver that is down, slow or failing
//!   changes nothing in the API's answers.
//! - **Order**: by default the events of one session reach one endpoint in the order they
//!   happened, each delivery waiting until the one before it is delivered or given up. Nothing
//!   else is ordered: different sessions' deliveries, and different endpoints, run concurrently.
//!   DeepIDV documents no order, so this default is an assumption;
//!   [`MockBuilder::webhook_out_of_order`] (`--webhook-out-of-order-ms`) holds each delivery
//!   back a time drawn from the [seed](MockBuilder::seed) and unchains them, so that events
//!   arrive out of order.
//! - **Duplicates**: by default each event is delivered once to each endpoint (retries aside).
//!   DeepIDV's deliveries can repeat; [`MockBuilder::webhook_duplicates`]
//!   (`--webhook-duplicates`) sends events a second time, with a probability, drawn from the
//!   seed ([`WebhookDelivery::duplicate`] marks the copy).
//! - **Loopback only**: the secret travels in clear over `http://`, so every webhook URL must
//!   name a loopback host (`localhost`, 127.0.0.0/8, `::1`); [`MockBuilder::start`] refuses any
//!   other, naming the URL.
//! - **Journal**: every attempt is journaled when it ends ([`MockServer::webhook_deliveries`],
//!   `GET /__mock/webhooks`; up to the last 10,000 attempts, like the request journal): the event,
//!   session id, URL, delivery number, whether it is a duplicate, attempt number, status or
//!   error, whether it delivered, the wait before the next attempt, its wall-clock start and
//!   its duration ([`WebhookDelivery`]). [`MockServer::wait_for_deliveries`] and
//!   [`MockServer::wait_for_webhooks_idle`] wait on the journal, so tests need not sleep.
//! - **Reset and drop**: a reset stops the deliveries under way and empties the journal;
//!   dropping the [`MockServer`] stops them too.
//!
//! # Assumptions
//!
//! What the mock does where DeepIDV documents nothing. Code under test should not rely on any of
//! it being the live API's behaviour; where an option changes it, the option is named.
//!
//! - **Which sessions may be decided**: VERIFIED or REJECTED is accepted on a session in any
//!   state, PENDING, EXPIRED and VOIDED included (no rule is documented).
//!   [`MockBuilder::strict_transitions`] (`--strict-transitions`) refuses, with 400, decisions on
//!   PENDING, EXPIRED and VOIDED sessions.
//! - **VOIDED**: `new_status: VOIDED` is 400, because the reference lists only VERIFIED and
//!   REJECTED (whether the live API refuses it is not documented).
//!   [`MockBuilder::accept_voided`] (`--accept-voided`) accepts it, for any session.
//! - **Repeating a status**: setting the status a session already has succeeds and leaves
//!   `updated_at` as it was.
//! - **`location`**: a string (`"Canada"`), as in DeepIDV's published schema and sandbox; its
//!   retrieve reference example shows an object. [`MockBuilder::location_as_object`]
//!   (`--location-as-object`) serves `{"country": "Canada"}`. Only submitted (or decided)
//!   sessions have one. The published example the results are built from,
//!   `data/reference-session.json`, is kept byte for byte as published (object form); the string
//!   is derived from it when a record is served.
//! - **Date-only list bounds**: `start_date=2025-01-15` starts at 00:00:00.000 UTC of that day,
//!   `end_date=2025-01-15` ends at 23:59:59.999 UTC (the contract says only "ISO-8601 bounds,
//!   inclusive").
//! - **`external_id` and `workflow_id` scope**: these list filters search the key owner's
//!   sessions, not the whole organization's, whatever `by_organization` says (the contract gives
//!   only their precedence).
//! - **List order and cursors**: newest `created_at` first (ties in creation order); a
//!   `next_token` stays valid, and pages neither repeat nor skip, while sessions are added.
//!   Unknown parameters (`offset`, `status`, `page`) are ignored rather than refused. A sandbox
//!   key's first page also holds `test_verified` and `test_rejected`, beyond `limit`.
//! - **Rate limit details**: one token bucket per key, refilled continuously at 25 a second,
//!   holding at most 35 and starting full; only known keys are counted, and a request is counted
//!   before the sandbox-write, funds and validation checks; the documented 10,000 a day is not
//!   enforced; the 429 is `{"error":"Too many requests"}` without `Retry-After`.
//!   [`MockBuilder::rate_limit`] (`--no-rate-limit`) switches it.
//! - **Status codes where sources differ or are silent**: a missing key is 403 (the published
//!   schema; docs pages say 401); 402 only on creates; 413 for a request body over 1 MiB. The
//!   checks run in this order: key, rate limit, sandbox write, funds, body, workflow, session.
//! - **Error wording**: `Session not found`, `Workflow not found`,
//!   `You do not have access to this session`, `Too many requests`, and the validation bodies'
//!   messages and `hints` (`[{path: [field], message}]`) are the mock's own.
//! - **New sessions**: `expires_at` is 168 hours (7 days) after creation when `expiresInHours`
//!   is absent (a workflow's own expiry is not known); `type` is `session` with a workflow and
//!   `verification` without; `workflow_steps` is `["ID_VERIFICATION", "FACE_LIVENESS"]`; the
//!   create answer carries no `expires_at`.
//! - **Time**: nothing happens to a session on its own; a session past its `expires_at` stays
//!   as it is until [`MockServer::expire`].
//! - **Webhook retries**: DeepIDV says only that it retries on a non-2xx answer or after a 10 s
//!   timeout, on an undocumented schedule. The mock's schedule (5 attempts, waits of 1, 2, 4,
//!   8 s, no jitter), its counting a connection error as a failure, and the 10 s covering
//!   connection and headers (not the answer's body, which is not read) are its own choices.
//! - **Webhook order and timing**: DeepIDV documents neither. By default the mock keeps one
//!   session's events in order per endpoint (a retried delivery holds back that session's later
//!   events) and runs the rest concurrently; the first attempt leaves as soon as the change is
//!   made. [`MockBuilder::webhook_out_of_order`] gives up that order instead.
//! - **Webhook duplicates**: DeepIDV says only that deliveries can repeat (it retries after a
//!   timeout). By default the mock sends each event once per endpoint, plus its retries;
//!   [`MockBuilder::webhook_duplicates`] sends a second copy, whose timing (after the first
//!   finishes) is the mock's own choice.
//! - **Webhook `data`**: the bare session record (as in the published event examples), not the
//!   retrieve envelope (`session_record`, `user`, …) that one sentence of the docs suggests;
//!   it is the full record, where the published examples are partial.
//! - **Which changes send events**: only the five documented events exist, so expiry, VOIDED,
//!   seeded sessions and sandbox reads send nothing; setting a status a session already has sends
//!   nothing (nothing changed); submitting or failing a session again sends the event again.
//! - **Webhook transport**: plain `http://` to loopback only (DeepIDV requires HTTPS URLs; the
//!   mock has no TLS client), a new connection per attempt, `User-Agent: deepidv-mock webhooks`.
//! - **Seeded sessions**: finished ones (SUBMITTED, VERIFIED, REJECTED) carry the same results
//!   as [`MockServer::submit`] gives, submitted at their `created_at`, and FAILED ones the failed
//!   attempts of [`MockServer::fail`] ([`SeedSessions::with_results`] turns this off); seeding
//!   sends no webhook events.
//! - **Results**: a submission's `analysis_data`, `meta_data`, uploads and links are the
//!   published reference record's, with the applicant's names, fresh timestamps and slightly
//!   varied scores; a failure is three `NO_FACE_DETECTED` attempts; a sandbox id other than
//!   `test_verified`/`test_rejected` maps to a scenario through a hash of the id and the seed.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod builder;
mod clock;
mod control;
mod fault;
mod fault_layer;
mod journal;
pub mod limits;
mod mock_session;
mod model;
mod rate_limit;
mod scenario;
mod serve;
mod server;
mod state;
mod store;
mod validate;
mod webhook;

pub use builder::{ApiKey, MockBuilder};
pub use fault::{Fault, FaultKind};
pub use mock_session::{MockSession, MockSessionStatus};
pub use model::{Channel, Invite, MockOperation, RecordedRequest, SeedSessions};
pub use server::{MockError, MockServer};
pub use webhook::{WebhookDelivery, WebhookEvent};
