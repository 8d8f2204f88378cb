//! What happens to sessions outside the API: seeding, and the applicant's side of the flow.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{Store, stored, uuid};
use crate::{
    SeedSessions, limits,
    model::{StoredSession, timestamp},
    scenario,
    webhook::WebhookEvent,
};

/// What the applicant did (for [`Store::advance_session`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum ApplicantStep {
    Submit,
    Fail,
    Expire,
}

impl Store {
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
        let with_results = options.results.unwrap_or(true);
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
            let mut session = stored(created, &owner, record, applicant);
            if with_results {
                self.add_results(&mut session, created);
            }
            self.store(session);
            ids.push(id);
        }
        Ok(ids)
    }

    /// Gives a seeded session the results its status implies, as if the applicant had finished
    /// at `at`: SUBMITTED, VERIFIED and REJECTED get what [`ApplicantStep::Submit`] gives
    /// (`analysis_data`, `meta_data`, uploads, links; the status is kept), FAILED gets what
    /// [`ApplicantStep::Fail`] gives; any other status nothing.
    fn add_results(&mut self, session: &mut StoredSession, at: DateTime<Utc>) {
        let status = session.status().to_owned();
        match status.as_str() {
            "SUBMITTED" | "VERIFIED" | "REJECTED" => {
                scenario::submit(
                    &mut session.record,
                    &session.applicant,
                    &mut session.resource_links,
                    at,
                    &mut self.rng,
                    self.settings.location_as_object,
                );
                session.record["status"] = json!(status);
            }
            "FAILED" => scenario::fail(&mut session.record, at),
            _ => {}
        }
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
