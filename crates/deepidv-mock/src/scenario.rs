//! Realistic session content: what a submitted session's results look like (based on DeepIDV's
//! published reference record, in `data/reference-session.json`), and the sandbox's scenarios.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::model::timestamp;

/// DeepIDV's published retrieve example, parsed once.
fn reference() -> &'static Value {
    static REFERENCE: OnceLock<Value> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        serde_json::from_str(include_str!("../data/reference-session.json"))
            .expect("data/reference-session.json is valid JSON (checked by a unit test)")
    })
}

/// The statuses a scenario can be in.
pub(crate) const SCENARIO_STATUSES: &[&str] = &[
    "PENDING",
    "SUBMITTED",
    "VERIFIED",
    "REJECTED",
    "EXPIRED",
    "FAILED",
];

/// The applicant's `location`: the published schema's (and the sandbox's) string, the country of
/// the reference example (`"Canada"`); or, `as_object`, the reference example's own
/// `{"country": "Canada"}`.
pub(crate) fn location(as_object: bool) -> Value {
    let published = &reference()["session_record"]["location"];
    if as_object {
        published.clone()
    } else {
        published.get("country").cloned().unwrap_or(Value::Null)
    }
}

/// Fills `record` as the applicant's submission leaves it: results in `analysis_data`, visit
/// details in `meta_data`, the uploads, and links to them in `links`; `location` in the shape
/// [`location`] gives.
pub(crate) fn submit(
    record: &mut Value,
    applicant: &Value,
    links: &mut Map<String, Value>,
    now: DateTime<Utc>,
    rng: &mut fastrand::Rng,
    location_as_object: bool,
) {
    let source = &reference()["session_record"];
    let at = |minutes_before: i64| json!(timestamp(now - Duration::minutes(minutes_before)));
    record["status"] = json!("SUBMITTED");
    record["session_progress"] = json!("COMPLETED");
    record["submitted_at"] = json!(timestamp(now));
    record["updated_at"] = json!(timestamp(now));
    record["location"] = location(location_as_object);
    record["uploads"] = source["uploads"].clone();

    let mut meta = source["meta_data"].clone();
    meta["applicantViewTime"] = at(7);
    meta["failureData"]["attempts"][0]["failedAt"] = at(5);
    meta.as_object_mut().map(|m| m.remove("declinedData"));
    record["meta_data"] = meta;

    let mut analysis = source["analysis_data"].clone();
    analysis["created_at"] = json!(timestamp(now));
    // The documents show the applicant's own name.
    let names = [
        ("FIRST_NAME", &applicant["first_name"]),
        ("LAST_NAME", &applicant["last_name"]),
    ];
    for document in [
        "id_analysis_data",
        "secondary_id_analysis_data",
        "tertiary_id_analysis_data",
    ] {
        let Some(fields) = analysis[document]["id_extracted_text"].as_array_mut() else {
            continue;
        };
        for field in fields {
            for (kind, name) in names {
                if let (true, Some(name)) = (field["type"] == kind, name.as_str()) {
                    field["value"] = json!(name.to_uppercase());
                }
            }
        }
    }
    // Vary the headline scores a little so that runs with different seeds differ.
    let jitter =
        |base: f64, rng: &mut fastrand::Rng| ((base - rng.f64() * 2.0) * 100.0).round() / 100.0;
    analysis["faceliveness_score"] = json!(jitter(99.5, rng));
    analysis["compare_faces_data"]["face_match_confidence"] = json!(jitter(99.9, rng));
    analysis["adverse_media_data"]["timestamp"] = json!(timestamp(now));
    analysis["document_risk_data"]["analysis_timestamp"] = json!(timestamp(now));
    record["analysis_data"] = analysis;

    let id = record["id"].as_str().unwrap_or_default().to_owned();
    links.clear();
    if let Some(slots) = reference()["resource_links"].as_object() {
        for slot in slots.keys() {
            let file = slot.to_ascii_lowercase().replace(' ', "_");
            links.insert(
                slot.clone(),
                json!(format!(
                    "https://files.mock.deepidv.invalid/{id}/{file}?X-Amz-Expires=900"
                )),
            );
        }
    }
}

/// Marks `record` as failed: the checks could not complete, with the attempts in `meta_data`.
pub(crate) fn fail(record: &mut Value, now: DateTime<Utc>) {
    record["status"] = json!("FAILED");
    record["session_progress"] = json!("COMPLETED");
    record["updated_at"] = json!(timestamp(now));
    let attempts: Vec<Value> = (0..3)
        .map(|i| json!({"reason": "NO_FACE_DETECTED", "slot": "PRIMARY", "failedAt": timestamp(now - Duration::minutes(3 - i))}))
        .collect();
    let meta = record.get_mut("meta_data").filter(|m| m.is_object());
    let failure = json!({"failedAttempts": 3, "attempts": attempts});
    match meta {
        Some(meta) => meta["failureData"] = failure,
        None => record["meta_data"] = json!({"failureData": failure}),
    }
}

/// Adds the decline details a REJECTED decision by the checks carries.
fn decline(record: &mut Value, now: DateTime<Utc>) {
    let declined = reference()["session_record"]["meta_data"]["declinedData"].clone();
    record["meta_data"]["declinedData"] = declined;
    record["meta_data"]["declinedData"]["declinedAt"] = json!(timestamp(now));
}

/// What a sandbox key sees for `id`: `(record, user, sender_user, resource_links)`.
///
/// `test_verified` and `test_rejected` are the reference record, decided; any other id gets one
/// of [`SCENARIO_STATUSES`], picked from a hash of the id and `seed`, so the same id always shows
/// the same scenario. Submitted records carry `location` in the shape [`location`] gives.
pub(crate) fn sandbox(
    id: &str,
    seed: u64,
    now: DateTime<Utc>,
    location_as_object: bool,
) -> (Value, Value, Value, Map<String, Value>) {
    let reference = reference();
    let mut rng = fastrand::Rng::with_seed(seed ^ fnv1a(id));
    let status = match id {
        "test_verified" => "VERIFIED",
        "test_rejected" => "REJECTED",
        _ => SCENARIO_STATUSES[rng.usize(..SCENARIO_STATUSES.len())],
    };
    let mut record = reference["session_record"].clone();
    record["id"] = json!(id);
    let created = now - Duration::days(2);
    record["created_at"] = json!(timestamp(created));
    let mut links = Map::new();
    match status {
        "PENDING" | "EXPIRED" => {
            strip_results(&mut record);
            record["session_progress"] = json!(if status == "PENDING" {
                "PENDING"
            } else {
                "STARTED"
            });
            record["updated_at"] = json!(timestamp(created));
        }
        "FAILED" => {
            strip_results(&mut record);
            fail(&mut record, created + Duration::hours(1));
        }
        _ => submit(
            &mut record,
            &reference["user"],
            &mut links,
            created + Duration::hours(1),
            &mut rng,
            location_as_object,
        ),
    }
    record["status"] = json!(status);
    if status == "REJECTED" {
        decline(&mut record, created + Duration::hours(2));
    }
    (
        record,
        reference["user"].clone(),
        reference["sender_user"].clone(),
        links,
    )
}

fn strip_results(record: &mut Value) {
    if let Some(fields) = record.as_object_mut() {
        for key in [
            "analysis_data",
            "meta_data",
            "uploads",
            "submitted_at",
            "location",
        ] {
            fields.remove(key);
        }
    }
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between releases).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_parses_and_scenarios_are_stable() {
        assert!(reference()["session_record"]["analysis_data"].is_object());
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let (verified, ..) = sandbox("test_verified", 7, now, false);
        assert_eq!(verified["status"], "VERIFIED");
        assert_eq!(verified["location"], "Canada");
        let (object, ..) = sandbox("test_verified", 7, now, true);
        assert_eq!(object["location"], json!({"country": "Canada"}));
        let (rejected, ..) = sandbox("test_rejected", 7, now, false);
        assert_eq!(
            rejected["meta_data"]["declinedData"]["reason"]["code"],
            "LOW_FACE_MATCH"
        );
        let (first, ..) = sandbox("anything", 7, now, false);
        let (again, ..) = sandbox("anything", 7, now, false);
        assert_eq!(first["status"], again["status"]);
    }
}
