//! The mock's state and the API's rules, independent of HTTP.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use serde_json::{Map, Value, json};

use crate::{
    Channel, Fault, Invite, Operation, SeedSessions,
    clock::Clock,
    journal::Journal,
    limits,
    model::{StoredSession, timestamp},
    rate_limit::{Bucket, RateLimit},
    scenario,
    validate::{self, Hint, ListQuery},
    webhook::{WebhookEvent, Webhooks},
};

pub(crate) const SANDBOX_WRITE: &str =
    "This is a sandbox API key. Use a live API key to create or modify resources.";
pub(crate) const NO_FUNDS: &str = "Insufficient funds or subscription.";

/// An API failure: a status and DeepIDV's JSON error, or a plain-text body.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub status: u16,
    pub body: FailureBody,
}

#[derive(Clone, Debug)]
pub(crate) enum FailureBody {
    Json(Value),
    Text(String),
}

impl Failure {
    pub fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            body: FailureBody::Json(json!({ "error": message })),
        }
    }

    pub fn invalid(hints: &[Hint]) -> Self {
        let first = hints
            .first()
            .map(|h| format!("{}: {}", h.path, h.message))
            .unwrap_or_default();
        let message = format!("Validation failed: {}", first.trim_start_matches(": "));
        let hints: Vec<Value> = hints.iter().map(Hint::to_json).collect();
        Self {
            status: 400,
            body: FailureBody::Json(json!({ "message": message, "hints": hints })),
        }
    }
}

pub(crate) type Outcome = Result<Value, Failure>;

/// A configured API key and its owner.
#[derive(Clone, Debug)]
pub(crate) struct KeyState {
    pub key: String,
    pub sandbox: bool,
    pub user: Value,
    pub organization_id: String,
    pub no_funds: bool,
    pub bucket: Option<Bucket>,
}

impl KeyState {
    pub fn user_id(&self) -> &str {
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

/// Everything the mock knows.
pub(crate) struct State {
    pub settings: Settings,
    pub keys: Vec<KeyState>,
    pub sessions: HashMap<String, StoredSession>,
    pub next_seq: u64,
    pub journal: Journal,
    pub faults: Vec<Fault>,
    pub clock: Clock,
    pub rng: fastrand::Rng,
    /// Sends the webhook events and journals the deliveries.
    pub webhooks: Webhooks,
}

impl State {
    pub fn new(settings: Settings, keys: Vec<KeyState>, webhooks: Webhooks) -> Self {
        let rng = fastrand::Rng::with_seed(settings.seed);
        Self {
            settings,
            keys,
            sessions: HashMap::new(),
            next_seq: 0,
            journal: Journal::default(),
            faults: Vec::new(),
            clock: Clock::default(),
            rng,
            webhooks,
        }
    }

    /// Back to the state at start: no sessions, journals, faults or webhook deliveries (those
    /// under way stop); time and generator reset.
    pub fn reset(&mut self) {
        self.webhooks.reset();
        self.sessions.clear();
        self.next_seq = 0;
        self.journal = Journal::default();
        self.faults.clear();
        self.clock = Clock::default();
        self.rng = fastrand::Rng::with_seed(self.settings.seed);
        for key in &mut self.keys {
            key.no_funds = false;
            key.bucket = self.settings.rate_limit.map(|limit| limit.full_bucket());
        }
    }

    /// The first fault that applies to a request for `operation`, used up by one.
    pub fn take_fault(&mut self, operation: Option<Operation>) -> Option<Fault> {
        let rng = &mut self.rng;
        let index = self.faults.iter().position(|fault| {
            fault.remaining > 0
                && fault.operation.is_none_or(|only| Some(only) == operation)
                && fault.probability.is_none_or(|chance| rng.f64() < chance)
        })?;
        let fault = &mut self.faults[index];
        fault.remaining -= 1;
        let taken = fault.clone();
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    /// The key a request presented, checked: present, known, within its rate limit, and allowed
    /// to write if `write`.
    pub fn authenticate(&mut self, presented: Option<&str>, write: bool) -> Result<usize, Failure> {
        let presented = presented
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Failure::error(403, "API key is missing."))?;
        let index = self
            .keys
            .iter()
            .position(|k| k.key == presented)
            .ok_or_else(|| Failure::error(401, "Invalid API key."))?;
        let limit = self.settings.rate_limit;
        let key = &mut self.keys[index];
        if let (Some(limit), Some(bucket)) = (limit, key.bucket.as_mut())
            && !limit.take(bucket)
        {
            return Err(Failure::error(429, "Too many requests"));
        }
        if write && key.sandbox {
            return Err(Failure::error(403, SANDBOX_WRITE));
        }
        Ok(index)
    }

    pub fn create(&mut self, key: usize, body: &[u8]) -> Outcome {
        if self.keys[key].no_funds {
            return Err(Failure {
                status: 402,
                body: FailureBody::Text(NO_FUNDS.to_owned()),
            });
        }
        let request = validate::create_request(body).map_err(|hints| Failure::invalid(&hints))?;
        if let Some(workflow) = &request.workflow_id
            && !self.settings.workflows.contains(workflow)
        {
            return Err(Failure::error(404, "Workflow not found"));
        }
        let now = self.clock.now();
        let id = uuid(&mut self.rng);
        let applicant_id = uuid(&mut self.rng);
        let owner = &self.keys[key];
        let applicant = json!({
            "id": applicant_id,
            "email": request.email,
            "first_name": request.first_name,
            "last_name": request.last_name,
            "phone": request.phone,
            "created_at": timestamp(now),
            "updated_at": timestamp(now),
        });
        let hours = request.expires_in_hours.unwrap_or(168);
        let mut record = json!({
            "id": id,
            "organization_id": owner.organization_id,
            "user_id": applicant_id,
            "sender_user_id": owner.user_id(),
            "status": "PENDING",
            "type": if request.workflow_id.is_some() { "session" } else { "verification" },
            "session_progress": "PENDING",
            "created_at": timestamp(now),
            "updated_at": timestamp(now),
            "expires_at": timestamp(now + Duration::hours(i64::from(hours))),
            "workflow_steps": ["ID_VERIFICATION", "FACE_LIVENESS"],
        });
        for (field, value) in [
            ("external_id", &request.external_id),
            ("workflow_id", &request.workflow_id),
            ("redirect_url", &request.redirect_url),
        ] {
            if let Some(value) = value {
                record[field] = json!(value);
            }
        }
        self.webhooks.emit(WebhookEvent::SessionCreated, &record);
        let session = stored(now, owner, record, applicant);
        self.store(session);

        for (send, channel, to) in [
            (request.send_email_invite, Channel::Email, &request.email),
            (request.send_phone_invite, Channel::Sms, &request.phone),
        ] {
            if send {
                let invite = Invite {
                    session_id: id.clone(),
                    channel,
                    to: to.clone(),
                    external_id: request.external_id.clone(),
                };
                self.journal.record_invite(invite);
            }
        }

        let mut answer = json!({
            "id": id,
            "session_url": format!("{}/{id}", self.settings.session_url_base),
            "links": [],
        });
        if let Some(external_id) = request.external_id {
            answer["externalId"] = json!(external_id);
        }
        Ok(answer)
    }

    pub fn retrieve(&mut self, key: usize, id: &str) -> Outcome {
        let caller = &self.keys[key];
        if caller.sandbox && !self.sessions.contains_key(id) {
            let (record, user, sender, links) = scenario::sandbox(
                id,
                self.settings.seed,
                self.clock.now(),
                self.settings.location_as_object,
            );
            return Ok(
                json!({"session_record": record, "user": user, "sender_user": sender, "resource_links": links}),
            );
        }
        let session = self.visible(key, id)?;
        Ok(json!({
            "session_record": session.record,
            "user": session.applicant,
            "sender_user": session.sender,
            "resource_links": session.resource_links,
        }))
    }

    pub fn update_status(&mut self, key: usize, id: &str, body: &[u8]) -> Outcome {
        let wanted = validate::new_status(body).map_err(|hints| Failure::invalid(&hints))?;
        let accept_voided = self.settings.accept_voided;
        let strict = self.settings.strict_transitions;
        let current = self.visible(key, id)?.status().to_owned();
        let allowed = match wanted.as_str() {
            // DeepIDV documents no rule on which sessions may be decided: only the strict option
            // limits decisions to finished (SUBMITTED, FAILED) or decided sessions.
            "VERIFIED" | "REJECTED" => {
                !strict
                    || matches!(
                        current.as_str(),
                        "SUBMITTED" | "FAILED" | "VERIFIED" | "REJECTED"
                    )
                    || current == wanted
            }
            "VOIDED" if accept_voided => true,
            "VOIDED" => {
                return Err(Failure::invalid(&[Hint {
                    path: "new_status".into(),
                    message:
                        "must be one of VERIFIED, REJECTED (voiding is done in the Admin Console)"
                            .into(),
                }]));
            }
            _ => {
                return Err(Failure::invalid(&[Hint {
                    path: "new_status".into(),
                    message: "must be one of VERIFIED, REJECTED".into(),
                }]));
            }
        };
        if !allowed {
            return Err(Failure::invalid(&[Hint {
                path: "new_status".into(),
                message: format!("a {current} session cannot be set to {wanted}"),
            }]));
        }
        let now = timestamp(self.clock.now());
        let session = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| Failure::error(404, "Session not found"))?;
        // Only a change is an event: repeating a status sends nothing (an assumption).
        if session.status() != wanted {
            session.record["status"] = json!(wanted);
            session.record["updated_at"] = json!(now);
            if let Some(event) = WebhookEvent::for_decision(&wanted) {
                self.webhooks.emit(event, &session.record);
            }
        }
        Ok(json!({ "session_record": session.record }))
    }

    pub fn list(&mut self, key: usize, raw_query: Option<&str>) -> Outcome {
        let query = validate::list_query(raw_query).map_err(|hints| Failure::invalid(&hints))?;
        let cursor = match &query.next_token {
            Some(token) => Some(decode_token(token).ok_or_else(|| {
                Failure::invalid(&[Hint {
                    path: "next_token".into(),
                    message: "is not a token this server issued".into(),
                }])
            })?),
            None => None,
        };
        let caller = &self.keys[key];
        let mut matches: Vec<&StoredSession> = self
            .sessions
            .values()
            .filter(|s| in_scope(s, caller, &query))
            .collect();
        let sandbox_extras: Vec<Value> = if caller.sandbox && cursor.is_none() {
            let (seed, now) = (self.settings.seed, self.clock.now());
            let as_object = self.settings.location_as_object;
            ["test_verified", "test_rejected"]
                .map(|id| scenario::sandbox(id, seed, now, as_object).0)
                .into()
        } else {
            Vec::new()
        };
        matches.sort_by_key(|s| std::cmp::Reverse((s.created, s.seq)));
        let after_cursor = matches.into_iter().filter(|s| {
            cursor.is_none_or(|(at, seq)| (s.created.timestamp_millis(), s.seq) < (at, seq))
        });
        let mut page: Vec<&StoredSession> = after_cursor.take(query.limit + 1).collect();
        let more = page.len() > query.limit;
        page.truncate(query.limit);
        let next_token = match (more, page.last()) {
            (true, Some(last)) => json!(encode_token(last.created.timestamp_millis(), last.seq)),
            _ => Value::Null,
        };
        let mut sessions: Vec<Value> = sandbox_extras;
        sessions.extend(page.into_iter().map(|s| s.record.clone()));
        Ok(json!({ "sessions": sessions, "next_token": next_token }))
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

    /// Adds `n` sessions directly (no HTTP, no limits, no invites), the newest at the current
    /// time. Returns their ids, oldest first. Refuses, adding nothing, more than
    /// [`limits::MAX_SEED_COUNT`] sessions or a spacing over [`limits::MAX_SEED_SPACING`].
    pub fn seed(&mut self, n: usize, options: &SeedSessions) -> Result<Vec<String>, String> {
        if n > limits::MAX_SEED_COUNT {
            return Err(format!(
                "count must be from 0 to {} (got {n})",
                limits::MAX_SEED_COUNT
            ));
        }
        let spacing = options.spacing.unwrap_or(std::time::Duration::from_secs(1));
        if spacing > limits::MAX_SEED_SPACING {
            return Err(format!(
                "spacing must be at most one day, {} ms (got {} ms)",
                limits::MAX_SEED_SPACING.as_millis(),
                spacing.as_millis()
            ));
        }
        let owner = match &options.owner_key {
            Some(key) => self
                .keys
                .iter()
                .find(|k| &k.key == key)
                .ok_or_else(|| format!("unknown key {key}"))?,
            None => self.keys.first().ok_or("no keys are configured")?,
        }
        .clone();
        let spacing = Duration::from_std(spacing).map_err(|e| e.to_string())?;
        let now = self.clock.now();
        // Every instant is computed before anything is stored, so a refusal adds nothing.
        let created_at = (0..n)
            .map(|i| {
                let steps = i32::try_from(n - 1 - i).ok()?;
                now.checked_sub_signed(spacing.checked_mul(steps)?)
            })
            .collect::<Option<Vec<_>>>()
            .ok_or("spacing × count reaches back past the dates the mock can represent")?;
        let mut ids = Vec::with_capacity(n);
        for (i, created) in created_at.into_iter().enumerate() {
            let id = uuid(&mut self.rng);
            let status = options.status.clone().unwrap_or_else(|| {
                scenario::SCENARIO_STATUSES[i % scenario::SCENARIO_STATUSES.len()].to_owned()
            });
            let applicant_id = uuid(&mut self.rng);
            let mut record = json!({
                "id": id,
                "organization_id": owner.organization_id,
                "user_id": applicant_id,
                "sender_user_id": owner.user_id(),
                "status": status,
                "type": if options.workflow_id.is_some() { "session" } else { "verification" },
                "session_progress": if status == "PENDING" { "PENDING" } else { "COMPLETED" },
                "created_at": timestamp(created),
                "updated_at": timestamp(created),
            });
            if let Some(workflow) = &options.workflow_id {
                record["workflow_id"] = json!(workflow);
            }
            if let Some(prefix) = &options.external_id_prefix {
                record["external_id"] = json!(format!("{prefix}{i}"));
            }
            let applicant = json!({"id": applicant_id, "email": format!("applicant{i}@example.com"), "first_name": "Seeded", "last_name": format!("Applicant {i}")});
            self.store(stored(created, &owner, record, applicant));
            ids.push(id);
        }
        Ok(ids)
    }

    /// Moves a session through the applicant's side of the flow.
    pub fn advance_session(&mut self, id: &str, step: ApplicantStep) -> Result<(), String> {
        let now = self.clock.now();
        let session = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| format!("no session {id}"))?;
        let event = match step {
            ApplicantStep::Submit => {
                scenario::submit(
                    &mut session.record,
                    &session.applicant,
                    &mut session.resource_links,
                    now,
                    &mut self.rng,
                    self.settings.location_as_object,
                );
                Some(WebhookEvent::SessionSubmitted)
            }
            ApplicantStep::Fail => {
                scenario::fail(&mut session.record, now);
                Some(WebhookEvent::SessionFailed)
            }
            // DeepIDV documents no event for expiry.
            ApplicantStep::Expire => {
                session.record["status"] = json!("EXPIRED");
                session.record["expires_at"] = json!(timestamp(now));
                session.record["updated_at"] = json!(timestamp(now));
                None
            }
        };
        if let Some(event) = event {
            self.webhooks.emit(event, &session.record);
        }
        Ok(())
    }
}

/// A new session sent by `owner`'s key, before [`State::store`] numbers it.
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

/// What the applicant did (for [`State::advance_session`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum ApplicantStep {
    Submit,
    Fail,
    Expire,
}

/// Whether `session` is in the list `query` asks `caller` for.
fn in_scope(session: &StoredSession, caller: &KeyState, query: &ListQuery) -> bool {
    let same_org = session.organization_id == caller.organization_id;
    let own = same_org && session.sender_user_id == caller.user_id();
    let field = |name: &str| session.record.get(name).and_then(Value::as_str);
    let scoped = if let Some(external_id) = &query.external_id {
        own && field("external_id") == Some(external_id)
    } else if let Some(workflow_id) = &query.workflow_id {
        own && field("workflow_id") == Some(workflow_id)
    } else if query.by_organization {
        same_org
    } else {
        own
    };
    scoped
        && query.start.is_none_or(|start| session.created >= start)
        && query.end.is_none_or(|end| session.created <= end)
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

/// Tokens are the position of the last session of a page, hex-encoded so that callers treat them
/// as opaque. A position stays valid while sessions are added: new ones sort before it.
fn encode_token(created_millis: i64, seq: u64) -> String {
    format!("{created_millis}:{seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_token(token: &str) -> Option<(i64, u64)> {
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (millis, seq) = text.split_once(':')?;
    Some((millis.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let token = encode_token(1_736_937_000_000, 42);
        assert_eq!(decode_token(&token), Some((1_736_937_000_000, 42)));
        for bad in ["", "zz", "abc", "eyJpZCI6ImFiYzEyMyJ9", "3a"] {
            assert_eq!(decode_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn uuids_look_like_uuids() {
        let mut rng = fastrand::Rng::with_seed(1);
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(&id[14..15], "4");
    }
}
