//! `MockServer::session` (the typed `MockSession`) and seeded sessions' results.

use deepidv_mock::{MockServer, MockSessionStatus, SeedSessions};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_session_is_a_typed_snapshot_of_the_record() {
    let mock = MockServer::start().await;
    let created_at = mock.now();
    mock.freeze_time(created_at);
    let body = r#"{"firstName":"Jane","lastName":"Smith","email":"jane.smith@example.com","phone":"+14165557890","externalId":"applicant-1","workflowId":"wf_abc123"}"#;
    let id = create(&mock, body).await;

    let session = mock.session(&id).expect("just created");
    assert_eq!(session.id(), id);
    assert_eq!(session.status(), &MockSessionStatus::Pending);
    assert_eq!(session.status(), "PENDING");
    assert_eq!(session.external_id(), Some("applicant-1"));
    assert_eq!(session.workflow_id(), Some("wf_abc123"));
    assert_eq!(session.first_name(), Some("Jane"));
    assert_eq!(session.last_name(), Some("Smith"));
    assert_eq!(session.email(), Some("jane.smith@example.com"));
    assert_eq!(session.phone(), Some("+14165557890"));
    assert_eq!(
        session.created_at().timestamp_millis(),
        created_at.timestamp_millis()
    );
    assert_eq!(session.updated_at(), session.created_at());
    assert!(!session.has_results());
    assert_eq!(session.json()["id"], json!(id));
    assert_eq!(session.applicant_json()["first_name"], "Jane");

    // The same record the API serves.
    let served = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
        .await
        .json();
    assert_eq!(&served["session_record"], session.json());

    // A snapshot: later changes show in a new one only.
    mock.advance_time(chrono::Duration::minutes(5));
    mock.submit(&id).unwrap();
    assert_eq!(session.status(), &MockSessionStatus::Pending);
    let submitted = mock.session(&id).unwrap();
    assert_eq!(submitted.status(), &MockSessionStatus::Submitted);
    assert!(submitted.has_results());
    assert_eq!(
        submitted.updated_at() - submitted.created_at(),
        chrono::Duration::minutes(5)
    );

    assert!(mock.session("no-such-session").is_none());
}

#[tokio::test]
async fn statuses_are_typed_and_unknown_ones_kept() {
    let mock = MockServer::start().await;
    let expected = [
        ("PENDING", MockSessionStatus::Pending),
        ("SUBMITTED", MockSessionStatus::Submitted),
        ("VERIFIED", MockSessionStatus::Verified),
        ("REJECTED", MockSessionStatus::Rejected),
        ("VOIDED", MockSessionStatus::Voided),
        ("EXPIRED", MockSessionStatus::Expired),
        ("FAILED", MockSessionStatus::Failed),
        ("ON_HOLD", MockSessionStatus::Other("ON_HOLD".into())),
    ];
    for (text, status) in expected {
        let ids = mock
            .seed_sessions(1, SeedSessions::new().status(text))
            .unwrap();
        let session = mock.session(&ids[0]).unwrap();
        assert_eq!(session.status(), &status, "{text}");
        assert_eq!(session.status().as_str(), text);
        assert_eq!(session.status().to_string(), text);
        assert_eq!(session.first_name(), Some("Seeded"));
        assert_eq!(session.phone(), None, "seeded applicants have no phone");
    }
}

#[tokio::test]
async fn seeded_finished_sessions_carry_results_like_submit() {
    let mock = MockServer::start().await;
    let submitted = create(&mock, CREATE).await;
    mock.submit(&submitted).unwrap();
    let reference = mock.session(&submitted).unwrap();
    let mut result_fields: Vec<&String> = reference.json().as_object().unwrap().keys().collect();
    result_fields.retain(|k| {
        [
            "analysis_data",
            "meta_data",
            "uploads",
            "location",
            "submitted_at",
        ]
        .contains(&k.as_str())
    });
    assert_eq!(result_fields.len(), 5, "{result_fields:?}");

    // By default the statuses cycle: PENDING, SUBMITTED, VERIFIED, REJECTED, EXPIRED, FAILED.
    let ids = mock.seed_sessions(6, SeedSessions::new()).unwrap();
    for id in &ids {
        let session = mock.session(id).unwrap();
        let record = session.json();
        let status = session.status().as_str();
        match status {
            "SUBMITTED" | "VERIFIED" | "REJECTED" => {
                assert!(session.has_results(), "{status}");
                for field in &result_fields {
                    assert!(
                        record.get(field.as_str()).is_some(),
                        "{status} lacks {field}"
                    );
                }
                assert!(
                    record["analysis_data"]["compare_faces_data"]["face_match_confidence"]
                        .is_number()
                );
                // The documents show the seeded applicant's name, as submit's show the created one's.
                let text =
                    record["analysis_data"]["id_analysis_data"]["id_extracted_text"].to_string();
                assert!(text.contains("SEEDED"), "{status}");
                assert_eq!(record["submitted_at"], record["created_at"]);
                let served = live(&mock, "GET", &format!("/v1/sessions/{id}"), None)
                    .await
                    .json();
                assert_eq!(served["session_record"]["status"], status);
                assert!(
                    served["resource_links"]
                        .as_object()
                        .unwrap()
                        .contains_key("Hold up 3 fingers"),
                    "{status}"
                );
            }
            "FAILED" => {
                assert!(!session.has_results());
                assert_eq!(record["meta_data"]["failureData"]["failedAttempts"], 3);
            }
            _ => {
                assert!(!session.has_results(), "{status}");
                assert!(record.get("meta_data").is_none(), "{status}");
            }
        }
    }
    let finished = ids
        .iter()
        .filter(|id| mock.session(id).unwrap().has_results())
        .count();
    assert_eq!(finished, 3);
}

#[tokio::test]
async fn seeding_without_results_stays_small_at_the_maximum_count() {
    let mock = MockServer::start().await;
    let ids = mock
        .seed_sessions(
            deepidv_mock::limits::MAX_SEED_COUNT,
            SeedSessions::new().status("SUBMITTED").with_results(false),
        )
        .unwrap();
    assert_eq!(ids.len(), 100_000);
    for id in ids.iter().step_by(997) {
        let session = mock.session(id).unwrap();
        assert!(!session.has_results());
        assert!(
            session.json().to_string().len() < 1_024,
            "{}",
            session.json()
        );
    }
    let with = mock
        .seed_sessions(1, SeedSessions::new().status("SUBMITTED"))
        .unwrap();
    let size = mock.session(&with[0]).unwrap().json().to_string().len();
    assert!(
        size > 10_000,
        "a record with results is the reference's size: {size}"
    );
}

#[tokio::test]
async fn the_control_api_seeds_with_or_without_results() {
    let mock = MockServer::start().await;
    for (body, results) in [
        (json!({"count": 2, "status": "VERIFIED"}), true),
        (
            json!({"count": 2, "status": "VERIFIED", "with_results": true}),
            true,
        ),
        (
            json!({"count": 2, "status": "VERIFIED", "with_results": false}),
            false,
        ),
    ] {
        let answer = call(&mock, "POST", "/__mock/seed", None, Some(&body.to_string())).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        for id in answer.json()["ids"].as_array().unwrap() {
            let session = mock.session(id.as_str().unwrap()).unwrap();
            assert_eq!(session.has_results(), results, "{body}");
        }
    }
    let refused = call(
        &mock,
        "POST",
        "/__mock/seed",
        None,
        Some(r#"{"count": 1, "with_results": "yes"}"#),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("with_results")
    );
    assert_eq!(mock.session_count(), 6, "a refused seed adds nothing");
}
