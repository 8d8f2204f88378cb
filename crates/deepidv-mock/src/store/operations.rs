//! The four operations of the sessions API, and the key check before them.

use chrono::Duration;
use serde_json::{Value, json};

use super::{
    Failure, KeyState, Store,
    failure::{FailureBody, NO_FUNDS, Outcome, SANDBOX_WRITE},
    stored, uuid,
};
use crate::{
    Channel, Invite,
    journal::Journal,
    model::{StoredSession, timestamp},
    scenario,
    validate::{self, Hint, ListQuery},
    webhook::WebhookEvent,
};

impl Store {
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

    /// Creates a session; journals in `journal` the invitations it would send.
    pub fn create(&mut self, key: usize, body: &[u8], journal: &mut Journal) -> Outcome {
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
                journal.record_invite(invite);
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
}
