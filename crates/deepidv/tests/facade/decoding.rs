//! Forgiving decoding (`docs/contract.md`, "Decoding"): unknown fields and enum values, nulls, both
//! `location` shapes, both `meta_data` casings, timestamps that do not parse.

use deepidv::{Location, SessionProgress, SessionStatus, SessionType};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, matchers::method};

use crate::common::*;

async fn retrieve(body: Value) -> deepidv::SessionRetrieveResult {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(body.to_string()))
        .mount(&server)
        .await;
    client(&server).sessions().retrieve("s1").await.unwrap()
}

fn record_with(extra: Value) -> Value {
    let mut record = session_json("s1", "PENDING");
    record
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({ "session_record": record })
}

#[tokio::test]
async fn unknown_enum_values_and_fields_are_kept_or_ignored() {
    let mut record = session_json("s1", "ARCHIVED");
    record["type"] = json!("kyb-company");
    record["session_progress"] = json!("PAUSED");
    record["brand_new_field"] = json!({"nested": [1, 2, 3]});
    let found = retrieve(
        json!({"session_record": record, "also_new": 1, "user": {"id": "u1", "nickname": "J"}}),
    )
    .await;

    let record = found.session_record;
    assert_eq!(record.status, SessionStatus::Unknown("ARCHIVED".into()));
    assert_eq!(record.status.to_string(), "ARCHIVED");
    assert_eq!(
        record.type_,
        Some(SessionType::Unknown("kyb-company".into()))
    );
    assert_eq!(
        record.session_progress,
        Some(SessionProgress::Unknown("PAUSED".into()))
    );
    assert_eq!(found.user.unwrap().id.as_deref(), Some("u1"));
}

#[tokio::test]
async fn nulls_equal_absence_at_every_depth() {
    let body = record_with(json!({
        "external_id": null, "permalink_id": null, "location": null, "submitted_at": null, "expires_at": null,
        "workflow_id": null, "workflow_steps": null, "bank_statement_request_id": null, "deep_sign_id": null,
        "face_liveness_session_id": null, "redirect_url": null, "meta_data": null, "uploads": {"id_front": null},
        "analysis_data": {
            "created_at": null, "id_matches_selfie": null, "faceliveness_score": null,
            "id_analysis_data": {"detect_face_data": null, "id_extracted_text": [{"type": null, "value": null, "confidence": null}]},
            "compare_faces_data": {"face_match_confidence": null, "face_match_result": null},
            "pep_sanctions_data": {"peps": null, "sanctions": null, "both": null},
            "adverse_media_data": {"total_hits": null, "news_exposures": {"terrorism": {"hits": null, "articles": null}}},
            "document_risk_data": null, "title_search_data": null, "custom_form_data": null
        }
    }));
    let mut body = body;
    body["user"] = Value::Null;
    body["sender_user"] = json!({"id": null, "email": null});
    body["resource_links"] = json!({"id_front": null, "id_back": "https://s3.example/back"});

    let found = retrieve(body).await;

    let record = &found.session_record;
    assert_eq!(record.external_id, None);
    assert_eq!(record.location, None);
    assert_eq!(record.uploads.as_ref().unwrap()["id_front"], None);
    let analysis = record.analysis_data.as_ref().unwrap();
    assert_eq!(analysis.faceliveness_score, None);
    assert_eq!(
        analysis
            .id_analysis_data
            .as_ref()
            .unwrap()
            .id_extracted_text
            .as_ref()
            .unwrap()[0]
            .value,
        None
    );
    assert_eq!(found.user, None);
    assert_eq!(found.sender_user.unwrap().email, None);
    assert_eq!(found.resource_links.len(), 1, "null links are dropped");
}

#[tokio::test]
async fn a_retrieve_without_resource_links_gives_an_empty_map() {
    let found = retrieve(json!({"session_record": session_json("s1", "PENDING")})).await;
    assert!(found.resource_links.is_empty());
    assert_eq!(found.user, None);
}

#[tokio::test]
async fn location_may_be_a_string_or_an_object() {
    let text = retrieve(record_with(json!({"location": "Canada"}))).await;
    assert_eq!(
        text.session_record.location,
        Some(Location::Text("Canada".into()))
    );

    let object = retrieve(record_with(
        json!({"location": {"country": "Canada", "region": "ON"}}),
    ))
    .await;
    let location = object.session_record.location.unwrap();
    assert_eq!(location.country(), Some("Canada"));
    assert!(matches!(location, Location::Place { .. }));

    let other = retrieve(record_with(json!({"location": 42}))).await;
    assert!(matches!(
        other.session_record.location,
        Some(Location::Other(_))
    ));
}

#[tokio::test]
async fn meta_data_decodes_in_either_casing() {
    let camel = retrieve(record_with(json!({"meta_data": {
        "applicantSubmissionIp": "10.0.0.1", "applicantViewTime": "2025-01-15T10:35:00.000Z",
        "applicantSubmissionLocationDetails": {"countryIsoCode": "US", "timeZone": "America/Chicago"},
        "failureData": {"failedAttempts": 1, "attempts": [{"reason": "NO_FACE_DETECTED", "failedAt": "2025-01-15T10:37:00.000Z"}]}
    }}))).await;
    let snake = retrieve(record_with(json!({"meta_data": {
        "applicant_submission_ip": "10.0.0.1", "applicant_view_time": "2025-01-15T10:35:00.000Z",
        "applicant_submission_location_details": {"country_iso_code": "US", "time_zone": "America/Chicago"},
        "failure_data": {"failed_attempts": 1, "attempts": [{"reason": "NO_FACE_DETECTED", "failed_at": "2025-01-15T10:37:00.000Z"}]}
    }}))).await;

    let meta = camel.session_record.meta_data.clone().unwrap();
    assert_eq!(
        camel.session_record.meta_data,
        snake.session_record.meta_data
    );
    assert_eq!(
        meta.applicant_submission_location_details
            .unwrap()
            .country_iso_code
            .as_deref(),
        Some("US")
    );
    let attempts = meta.failure_data.unwrap().attempts.unwrap();
    assert_eq!(
        attempts[0].failed_at.as_ref().unwrap().as_str(),
        "2025-01-15T10:37:00.000Z"
    );
}

#[tokio::test]
async fn the_published_meta_data_fragments_decode() {
    let failure = retrieve(record_with(
        json!({"meta_data": fixture_json("retrieve-session.meta_data.failureData.fragment.json")}),
    ))
    .await;
    let failure = failure
        .session_record
        .meta_data
        .unwrap()
        .failure_data
        .unwrap();
    assert_eq!(failure.failed_attempts, Some(3));
    let attempts = failure.attempts.unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[1].reason.as_deref(), Some("OCR_NAME_MISSING"));
    assert_eq!(attempts[1].slot.as_deref(), Some("SECONDARY"));

    let declined = retrieve(record_with(
        json!({"meta_data": fixture_json("retrieve-session.meta_data.declinedData.fragment.json")}),
    ))
    .await;
    let declined = declined
        .session_record
        .meta_data
        .unwrap()
        .declined_data
        .unwrap();
    assert_eq!(declined.declined, Some(true));
    assert_eq!(declined.score, Some(2.0));
    let reason = declined.reason.unwrap();
    assert_eq!(reason.severity.as_deref(), Some("CRITICAL"));
    assert_eq!(
        declined
            .declined_at
            .unwrap()
            .to_datetime()
            .unwrap()
            .to_rfc3339(),
        "2025-01-15T10:43:00+00:00"
    );
}

#[tokio::test]
async fn timestamps_that_do_not_parse_do_not_fail_the_response() {
    let mut record = session_json("s1", "PENDING");
    record["created_at"] = json!("last Tuesday");
    record["updated_at"] = json!(1736937000000_u64);
    record["submitted_at"] = json!("2025-01-15 10:42");
    let found = retrieve(json!({"session_record": record})).await;

    let record = found.session_record;
    let (created, updated) = (
        record.created_at.as_ref().unwrap(),
        record.updated_at.as_ref().unwrap(),
    );
    assert_eq!(created.as_str(), "last Tuesday");
    assert_eq!(created.to_datetime(), None);
    assert_eq!(updated.as_str(), "1736937000000");
    assert_eq!(record.submitted_at.unwrap().as_str(), "2025-01-15 10:42");
}

#[tokio::test]
async fn scores_may_be_integers_or_fractions() {
    let body = record_with(json!({"analysis_data": {
        "faceliveness_score": 99,
        "compare_faces_data": {"face_match_confidence": 0.9992},
        "pep_sanctions_data": {"peps": [{"name": "A", "score": 1}, {"name": "B", "score": 0.776}]}
    }}));
    let found = retrieve(body).await;
    let analysis = found.session_record.analysis_data.unwrap();
    assert_eq!(analysis.faceliveness_score, Some(99.0));
    assert_eq!(
        analysis.compare_faces_data.unwrap().face_match_confidence,
        Some(0.9992)
    );
    let peps = analysis.pep_sanctions_data.unwrap().peps.unwrap();
    assert_eq!((peps[0].score, peps[1].score), (Some(1.0), Some(0.776)));
}
