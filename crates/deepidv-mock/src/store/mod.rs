//! The sessions the mock holds, its keys, clock and generator, and the rules that change them;
//! independent of HTTP. The four API operations are in `operations.rs`; seeding and the
//! applicant's side of the flow, which only the control API and [`MockServer`](crate::MockServer)
//! reach, in `lifecycle.rs`.

mod failure;
mod lifecycle;
mod operations;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::{
    MockSession,
    clock::Clock,
    model::StoredSession,
    rate_limit::{Bucket, RateLimit},
    webhook::{WebhookDelivery, Webhooks},
};

pub(crate) use failure::{Failure, FailureBody, Outcome};
pub(crate) use lifecycle::ApplicantStep;

/// A configured API key and its owner.
#[derive(Clone, Debug)]
pub(crate) struct KeyState {
    key: String,
    sandbox: bool,
    user: Value,
    organization_id: String,
    no_funds: bool,
    bucket: Option<Bucket>,
}

impl KeyState {
    /// `key`, owned by `user` of `organization_id`, with a full bucket if `rate_limit` is on.
    pub fn new(
        key: String,
        sandbox: bool,
        user: Value,
        organization_id: String,
        rate_limit: Option<RateLimit>,
    ) -> Self {
        Self {
            key,
            sandbox,
            user,
            organization_id,
            no_funds: false,
            bucket: rate_limit.map(|limit| limit.full_bucket()),
        }
    }

    fn user_id(&self) -> &str {
        self.user["id"].as_str().unwrap_or_default()
    }
}

/// Settings fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub rate_limit: Option<RateLimit>,
    pub accept_voided: bool,
    /// Decisions only on finished or decided sessions.
    pub strict_transitions: bool,
    /// `location` as `{"country": …}` instead of a string.
    pub location_as_object: bool,
    pub workflows: HashSet<String>,
    pub seed: u64,
    pub session_url_base: String,
}

/// The sessions and everything the API's rules read or change.
pub(crate) struct Store {
    settings: Settings,
    keys: Vec<KeyState>,
    sessions: HashMap<String, StoredSession>,
    next_seq: u64,
    clock: Clock,
    /// The one generator behind ids, scenarios and probabilistic faults, seeded from
    /// [`Settings::seed`], so that a seed fixes a whole run.
    rng: fastrand::Rng,
    /// Sends the webhook events and journals the deliveries.
    webhooks: Webhooks,
}

impl Store {
    pub fn new(settings: Settings, keys: Vec<KeyState>, webhooks: Webhooks) -> Self {
        let rng = fastrand::Rng::with_seed(settings.seed);
        Self {
            settings,
            keys,
            sessions: HashMap::new(),
            next_seq: 0,
            clock: Clock::default(),
            rng,
            webhooks,
        }
    }

    /// Back to the start: no sessions or webhook deliveries (those under way stop); time,
    /// generator, funds and rate limits reset.
    pub fn reset(&mut self) {
        self.webhooks.reset();
        self.sessions.clear();
        self.next_seq = 0;
        self.clock = Clock::default();
        self.rng = fastrand::Rng::with_seed(self.settings.seed);
        for key in &mut self.keys {
            key.no_funds = false;
            key.bucket = self.settings.rate_limit.map(|limit| limit.full_bucket());
        }
    }

    /// The generator, for the faults' probabilities.
    pub fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// A snapshot of a session.
    pub fn session(&self, id: &str) -> Option<MockSession> {
        self.sessions.get(id).map(MockSession::from_stored)
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Switches `key`'s "no funds" answer to creates.
    pub fn set_no_funds(&mut self, key: &str, enabled: bool) -> Result<(), String> {
        let found = self
            .keys
            .iter_mut()
            .find(|k| k.key == key)
            .ok_or_else(|| format!("unknown key {key}"))?;
        found.no_funds = enabled;
        Ok(())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Stops the clock at `at` (moved into the clock's range).
    pub fn freeze_time(&mut self, at: DateTime<Utc>) {
        self.clock = Clock::frozen(at);
    }

    /// Moves the clock by `by`, or refuses if that would leave its range.
    pub fn advance_time(&mut self, by: chrono::Duration) -> Result<(), String> {
        self.clock.advance(by)
    }

    /// Moves the clock by `by`, stopping at the end of its range.
    pub fn advance_time_saturating(&mut self, by: chrono::Duration) {
        self.clock.advance_saturating(by);
    }

    /// The webhook delivery journal, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.webhooks.deliveries()
    }

    /// Keeps a new session, numbering it after the ones before.
    fn store(&mut self, mut session: StoredSession) {
        session.seq = self.next_seq;
        self.next_seq += 1;
        let id = session.record["id"].as_str().unwrap_or_default().to_owned();
        self.sessions.insert(id, session);
    }

    /// A session the caller's organization may see.
    fn visible(&self, key: usize, id: &str) -> Result<&StoredSession, Failure> {
        let session = self
            .sessions
            .get(id)
            .ok_or_else(|| Failure::error(404, "Session not found"))?;
        if session.organization_id != self.keys[key].organization_id {
            return Err(Failure::error(
                403,
                "You do not have access to this session",
            ));
        }
        Ok(session)
    }
}

/// A random UUID (version 4 layout) from the mock's seeded generator.
fn uuid(rng: &mut fastrand::Rng) -> String {
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        ['8', '9', 'a', 'b'][rng.usize(..4)],
        &hex[17..20],
        &hex[20..]
    )
}

/// A new session sent by `owner`'s key, before [`Store::store`] numbers it.
fn stored(
    created: chrono::DateTime<chrono::Utc>,
    owner: &KeyState,
    record: Value,
    applicant: Value,
) -> StoredSession {
    StoredSession {
        seq: 0,
        created,
        organization_id: owner.organization_id.clone(),
        sender_user_id: owner.user_id().to_owned(),
        record,
        applicant,
        sender: owner.user.clone(),
        resource_links: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_look_like_uuids() {
        let mut rng = fastrand::Rng::with_seed(1);
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(&id[14..15], "4");
    }
}
