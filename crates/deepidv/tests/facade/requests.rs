//! The request each operation sends (method, path, query, headers, body), answered with the
//! published example payloads, and what those payloads decode to.

use deepidv::{
    Location, SessionListParams, SessionProgress, SessionStatus, SessionStatusUpdate, SessionType,
};
use serde_json::json;
use wiremock::{
    Mock, MockServer,
    matchers::{method, path},
};

use crate::common::*;

/// Headers every request carries.
fn assert_common_headers(request: &wiremock::Request) {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(header("accept").as_deref(), Some("application/json"));
    let agent = header("user-agent").unwrap();
    assert_eq!(agent, format!("deepidv-rust/{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        header("api-version"),
        None,
        "progenitor's api-version header is removed"
    );
}

#[tokio::test]
async fn create_sends_camel_case_keys_and_omits_unset_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(fixture("create-session.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    let created = client(&server)
        .sessions()
        .create(create_input().workflow_id("your-workflow-id"))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_common_headers(request);
    assert_eq!(
        request.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(request.url.query(), None);
    // Exactly the quickstart's published request body: unset optionals are absent, never null.
    assert_eq!(
        body_json(request),
        fixture_json("create-session.request.json")
    );

    assert_eq!(created.id, "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
    assert_eq!(created.session_url, "https://app.deepidv.com");
    assert_eq!(created.external_id, None);
    assert!(created.links.is_empty());
}

#[tokio::test]
async fn create_sends_every_optional_field_it_is_given() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(fixture(
            "create-session.response.api-reference.sc-docs.json",
        )))
        .mount(&server)
        .await;

    let input = create_input()
        .external_id("user-12345")
        .workflow_id("wf_abc123")
        .redirect_url("https://yourapp.com/verify-callback")
        .send_email_invite(false)
        .send_phone_invite(true)
        .expires_in_hours(48);
    let created = client(&server).sessions().create(input).await.unwrap();

    let body = body_json(&received(&server).await[0]);
    assert_eq!(
        body,
        json!({
            "firstName": "Jane", "lastName": "Smith", "email": "jane.smith@example.com", "phone": "+14165557890",
            "externalId": "user-12345", "workflowId": "wf_abc123", "redirectUrl": "https://yourapp.com/verify-callback",
            "sendEmailInvite": false, "sendPhoneInvite": true, "expiresInHours": 48
        })
    );
    // The create response's externalId is camelCase, unlike the rest of the API.
    assert_eq!(created.external_id.as_deref(), Some("user-12345"));
}

#[tokio::test]
async fn create_reads_expires_at_and_links() {
    let server = MockServer::start().await;
    let body = json!({
        "id": "s1", "session_url": "https://app.deepidv.com/s1", "expires_at": "2025-01-17T10:30:00.000Z",
        "links": [{"rel": "self", "href": "https://api.deepidv.com/v1/sessions/s1"}], "surprise": true
    });
    Mock::given(method("POST"))
        .respond_with(json(body.to_string()))
        .mount(&server)
        .await;

    let created = client(&server)
        .sessions()
        .create(create_input())
        .await
        .unwrap();
    assert_eq!(
        created.expires_at.unwrap().as_str(),
        "2025-01-17T10:30:00.000Z"
    );
    assert_eq!(created.links.len(), 1);
    assert_eq!(created.links[0].rel.as_deref(), Some("self"));
    assert_eq!(created.links[0].description, None);
}

#[tokio::test]
async fn retrieve_decodes_the_reference_record() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/a1b2c3d4-e5f6-7890-abcd-ef1234567890"))
        .respond_with(json(fixture("retrieve-session.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .sessions()
        .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
        .await
        .unwrap();

    let request = &received(&server).await[0];
    assert_common_headers(request);
    assert!(request.body.is_empty());
    assert_eq!(request.url.query(), None);

    let record = &found.session_record;
    assert_eq!(record.status, SessionStatus::Submitted);
    assert_eq!(record.type_, Some(SessionType::Session));
    assert_eq!(record.session_progress, Some(SessionProgress::Completed));
    assert_eq!(
        record
            .created_at
            .as_ref()
            .and_then(|at| at.to_datetime())
            .unwrap()
            .to_rfc3339(),
        "2025-01-15T10:30:00+00:00"
    );
    assert_eq!(
        record.location.as_ref().and_then(Location::country),
        Some("Canada")
    );
    assert_eq!(record.workflow_steps.as_ref().unwrap().len(), 3);
    assert_eq!(
        record.uploads.as_ref().unwrap()["hold_up_3_fingers"],
        Some(true)
    );

    let meta = record.meta_data.as_ref().unwrap();
    assert_eq!(
        meta.applicant_submission_ip.as_deref(),
        Some("192.168.1.1, 10.0.0.1")
    );
    let details = meta.applicant_submission_location_details.as_ref().unwrap();
    assert_eq!(details.time_zone.as_deref(), Some("America/Chicago"));
    assert_eq!(meta.failure_data.as_ref().unwrap().failed_attempts, Some(1));
    let declined = meta.declined_data.as_ref().unwrap();
    assert_eq!(
        declined.reason.as_ref().unwrap().code.as_deref(),
        Some("LOW_FACE_MATCH")
    );

    let analysis = record.analysis_data.as_ref().unwrap();
    assert_eq!(analysis.faceliveness_score, Some(99.49));
    let id = analysis.id_analysis_data.as_ref().unwrap();
    let fields = id.id_extracted_text.as_ref().unwrap();
    assert_eq!(fields.len(), 13);
    assert_eq!(fields[3].type_.as_deref(), Some("DATE_OF_BIRTH"));
    assert_eq!(fields[3].value.as_deref(), Some("1990/05/15"));
    let faces = id.detect_face_data.as_ref().unwrap();
    assert_eq!(faces[0].quality.as_ref().unwrap().sharpness, Some(38.9));
    assert_eq!(
        analysis
            .compare_faces_data
            .as_ref()
            .unwrap()
            .face_match_confidence,
        Some(99.92)
    );
    let peps = analysis.pep_sanctions_data.as_ref().unwrap();
    assert_eq!(peps.peps.as_ref().unwrap()[1].score, Some(0.776));
    assert_eq!(peps.sanctions, None);
    let media = analysis.adverse_media_data.as_ref().unwrap();
    assert_eq!(media.total_hits, Some(10));
    let violent = &media.news_exposures.as_ref().unwrap()["violent_crime"];
    assert_eq!(
        violent.articles.as_ref().unwrap()[0].timestamp.as_deref(),
        Some("3 weeks ago")
    );
    assert_eq!(
        analysis
            .document_risk_data
            .as_ref()
            .unwrap()
            .overall_risk_score,
        Some(95.0)
    );
    assert!(
        analysis
            .title_search_data
            .as_ref()
            .unwrap()
            .contains_key("owner_information")
    );
    assert_eq!(
        analysis.custom_form_data.as_ref().unwrap()[0]
            .type_
            .as_deref(),
        Some("short-text")
    );

    assert_eq!(
        found.user.as_ref().unwrap().email.as_deref(),
        Some("john.doe@example.com")
    );
    assert_eq!(
        found.sender_user.as_ref().unwrap().first_name.as_deref(),
        Some("Admin")
    );
    assert_eq!(found.resource_links.len(), 13);
    assert_eq!(
        found.resource_links["Hold up 3 fingers"],
        "https://s3.amazonaws.com/..."
    );
}

#[tokio::test]
async fn every_field_of_the_reference_record_is_modelled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(fixture("retrieve-session.response.json")))
        .mount(&server)
        .await;

    let found = client(&server)
        .sessions()
        .retrieve("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
        .await
        .unwrap();

    let original = fixture_json("retrieve-session.response.json");
    let record = serde_json::to_value(&found.session_record).unwrap();
    assert_eq!(
        normalise(record),
        normalise(original["session_record"].clone())
    );
    assert_eq!(
        normalise(serde_json::to_value(&found.user).unwrap()),
        normalise(original["user"].clone())
    );
    assert_eq!(
        normalise(serde_json::to_value(&found.resource_links).unwrap()),
        normalise(original["resource_links"].clone())
    );
}

#[tokio::test]
async fn list_sends_limit_token_and_filters_as_query_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions"))
        .respond_with(json(fixture("list-sessions.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    let params = SessionListParams::new()
        .limit(25)
        .next_token("eyJpZCI6IngifQ==")
        .start_date("2025-01-01")
        .end_date("2025-01-31T23:59:59Z")
        .by_organization(true)
        .external_id("user-12345")
        .workflow_id("wf_abc123");
    let page = client(&server).sessions().list(params).await.unwrap();

    let request = &received(&server).await[0];
    assert_common_headers(request);
    let mut query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.sort();
    let expected = [
        ("by_organization", "true"),
        ("end_date", "2025-01-31T23:59:59Z"),
        ("external_id", "user-12345"),
        ("limit", "25"),
        ("next_token", "eyJpZCI6IngifQ=="),
        ("start_date", "2025-01-01"),
        ("workflow_id", "wf_abc123"),
    ];
    assert_eq!(query, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));

    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].status, SessionStatus::Verified);
    assert_eq!(page.next_token.as_deref(), Some("eyJpZCI6ImFiYzEyMyJ9"));
    assert!(page.has_more);
    assert_eq!((page.limit, page.offset, page.total), (25, 0, None));
}

#[tokio::test]
async fn list_without_parameters_sends_no_query() {
    let server = MockServer::start().await;
    let last_page = json!({"sessions": [session_json("s1", "PENDING")], "next_token": null});
    Mock::given(method("GET"))
        .and(path("/v1/sessions"))
        .respond_with(json(last_page.to_string()))
        .mount(&server)
        .await;

    let page = client(&server)
        .sessions()
        .list(SessionListParams::new())
        .await
        .unwrap();

    assert_eq!(received(&server).await[0].url.query(), None);
    assert_eq!(page.data.len(), 1);
    assert!(!page.has_more);
    assert_eq!(page.next_token, None);
    assert_eq!(page.limit, 50);
}

#[tokio::test]
async fn update_status_sends_new_status_for_each_target() {
    for (target, wire) in [
        (SessionStatusUpdate::Verified, "VERIFIED"),
        (SessionStatusUpdate::Rejected, "REJECTED"),
        (SessionStatusUpdate::Voided, "VOIDED"),
    ] {
        let server = MockServer::start().await;
        let mut answer = fixture_json("update-session-status.response.json");
        answer["session_record"]["status"] = json!(wire);
        Mock::given(method("PATCH"))
            .and(path(
                "/v1/sessions/a1b2c3d4-e5f6-7890-abcd-ef1234567890/update-status",
            ))
            .respond_with(json(answer.to_string()))
            .expect(1)
            .mount(&server)
            .await;

        let updated = client(&server)
            .sessions()
            .update_status("a1b2c3d4-e5f6-7890-abcd-ef1234567890", target)
            .await
            .unwrap();

        let request = &received(&server).await[0];
        assert_common_headers(request);
        assert_eq!(
            request.headers.get("content-type").unwrap(),
            "application/json"
        );
        assert_eq!(body_json(request), json!({"new_status": wire}));
        assert_eq!(updated.session_record.status.as_str(), wire);
        assert_eq!(updated.user, None);
        assert_eq!(updated.sender_user, None);
        assert!(updated.resource_links.is_empty());
    }
}

#[tokio::test]
async fn update_status_sends_the_published_example_body() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(json(fixture("update-session-status.response.json")))
        .mount(&server)
        .await;

    let updated = client(&server)
        .sessions()
        .update_status("s1", SessionStatusUpdate::Verified)
        .await
        .unwrap();

    assert_eq!(
        body_json(&received(&server).await[0]),
        fixture_json("update-session-status.request.json")
    );
    assert_eq!(
        updated.session_record.external_id.as_deref(),
        Some("user-12345")
    );
    assert_eq!(
        updated.session_record.type_,
        Some(SessionType::Verification)
    );
}

#[tokio::test]
async fn session_ids_stay_one_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(fixture("retrieve-session.response.json")))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(json(fixture("update-session-status.response.json")))
        .mount(&server)
        .await;
    let sessions = client(&server).sessions();

    sessions.retrieve("a/b?c#d%e f").await.unwrap();
    sessions
        .update_status("../x", SessionStatusUpdate::Rejected)
        .await
        .unwrap();
    sessions.retrieve("test_verified").await.unwrap();

    let requests = received(&server).await;
    assert_eq!(requests[0].url.path(), "/v1/sessions/a%2Fb%3Fc%23d%25e%20f");
    assert_eq!(requests[0].url.query(), None);
    assert_eq!(requests[1].url.path(), "/v1/sessions/..%2Fx/update-status");
    assert_eq!(requests[2].url.path(), "/v1/sessions/test_verified");
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_and_trailing_slash_works() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/deepidv/v1/sessions/s1"))
        .respond_with(json(fixture("retrieve-session.response.json")))
        .expect(1)
        .mount(&server)
        .await;

    let client = builder(&server)
        .base_url(format!("{}/deepidv/", server.uri()))
        .build()
        .unwrap();
    client.sessions().retrieve("s1").await.unwrap();
}
