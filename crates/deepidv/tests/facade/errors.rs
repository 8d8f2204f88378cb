//! Every error status maps to its variant with status, headers, body and message kept, whatever
//! the body is; redirects are never followed; nothing shows the key.

use deepidv::{Error, SessionListParams, SessionStatusUpdate};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use crate::common::*;

/// The error `status` + `body` produce for a retrieve, with retries off.
async fn retrieve_error(template: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(template)
        .mount(&server)
        .await;
    let client = builder(&server).max_retries(0).build().unwrap();
    client.sessions().retrieve("s1").await.unwrap_err()
}

fn with_json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.to_owned(), "application/json")
        .insert_header("x-request-id", "req-77")
}

#[tokio::test]
async fn a_400_is_a_validation_error_with_the_server_hints() {
    let e = retrieve_error(with_json(
        400,
        r#"{"message":"Invalid session id","hints":[{"field":"id","issue":"format"}]}"#,
    ))
    .await;
    let Error::Validation {
        field,
        message,
        response,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(field, &None);
    assert_eq!(message, "Invalid session id");
    let response = response.as_ref().unwrap();
    assert_eq!(response.hints(), [json!({"field":"id","issue":"format"})]);
    assert_eq!(response.headers()["x-request-id"], "req-77");
    assert_eq!(e.status(), Some(400));
    assert!(!e.is_retryable());
    assert_eq!(
        e.to_string(),
        "invalid request (retrieveSession, HTTP 400): Invalid session id"
    );
}

#[tokio::test]
async fn a_401_reads_the_detail_member() {
    let e = retrieve_error(with_json(401, &fixture("error-401.json"))).await;
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    assert_eq!(e.message(), "Invalid or missing API key");
    assert_eq!(e.status(), Some(401));
}

#[tokio::test]
async fn a_plain_text_402_keeps_its_status_and_text() {
    let template = ResponseTemplate::new(402)
        .set_body_raw("Insufficient funds or subscription.", "text/plain");
    let e = retrieve_error(template).await;
    assert!(matches!(e, Error::InsufficientFunds { .. }), "{e:?}");
    assert_eq!(e.message(), "Insufficient funds or subscription.");
    assert_eq!(
        e.response().unwrap().headers()["content-type"],
        "text/plain"
    );
    assert_eq!(
        e.to_string(),
        "insufficient funds (retrieveSession, HTTP 402): Insufficient funds or subscription."
    );
}

#[tokio::test]
async fn a_sandbox_write_is_an_authorization_error() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(with_json(
            403,
            &fixture("sandbox-write-blocked.error-403.json"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .sessions()
        .update_status("test_verified", SessionStatusUpdate::Verified)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Authorization { .. }), "{e:?}");
    assert_eq!(
        e.message(),
        "This is a sandbox API key. Use a live API key to create or modify resources."
    );
    assert!(!e.is_retryable());
}

/// Only a refused VOIDED gets the hint about the Admin Console; a refused decision keeps the
/// server's words, and names no field the server did not name.
#[tokio::test]
async fn a_refused_decision_keeps_the_server_words() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(with_json(
            400,
            r#"{"message":"Session cannot be verified in its current state"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .sessions()
        .update_status("s1", SessionStatusUpdate::Verified)
        .await
        .unwrap_err();
    let Error::Validation { field, message, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(field, &None);
    assert_eq!(message, "Session cannot be verified in its current state");
}

/// A 2xx the spec does not document (201) is unexpected whatever the size of its body: a large
/// one, which the pipeline decodes itself off the runtime, is refused like a small one.
#[tokio::test]
async fn an_undocumented_success_status_is_refused_at_any_size() {
    let row = session_json("s1", "VERIFIED");
    for rows in [1, 2_000] {
        let page = json!({"sessions": vec![row.clone(); rows], "next_token": null}).to_string();
        assert!(rows == 1 || page.len() > 256 * 1024, "{}", page.len());
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(with_json(201, &page))
            .mount(&server)
            .await;
        let e = client(&server)
            .sessions()
            .list(SessionListParams::new())
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Decode { .. }),
            "{} bytes: {e:?}",
            page.len()
        );
    }
}

#[tokio::test]
async fn a_404_is_not_found() {
    let e = retrieve_error(with_json(404, r#"{"error":"Session not found"}"#)).await;
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert_eq!(e.message(), "Session not found");
    assert_eq!(
        e.response().unwrap().body(),
        r#"{"error":"Session not found"}"#
    );
}

#[tokio::test]
async fn a_429_carries_retry_after() {
    let e = retrieve_error(
        with_json(429, r#"{"error":"Too many requests"}"#).insert_header("retry-after", "17"),
    )
    .await;
    let Error::RateLimit { retry_after, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*retry_after, Some(std::time::Duration::from_secs(17)));
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(17)));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_500_is_an_api_error() {
    let e = retrieve_error(with_json(500, r#"{"error":"Internal server error"}"#)).await;
    assert!(matches!(e, Error::Api { .. }), "{e:?}");
    assert_eq!(e.status(), Some(500));
    assert_eq!(e.message(), "Internal server error");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn an_html_502_from_a_proxy_keeps_status_headers_and_body() {
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body>\r\n</html>\r\n";
    let template = ResponseTemplate::new(502)
        .set_body_raw(page, "text/html")
        .insert_header("server", "nginx");
    let e = retrieve_error(template).await;
    assert!(matches!(e, Error::Api { .. }), "{e:?}");
    assert_eq!(e.status(), Some(502));
    let response = e.response().unwrap();
    assert_eq!(response.headers()["server"], "nginx");
    assert_eq!(response.body(), page);
    let shown = e.to_string();
    assert!(
        shown.starts_with("API error (retrieveSession, HTTP 502): <html>"),
        "{shown}"
    );
    assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
}

#[tokio::test]
async fn an_empty_error_body_reads_as_the_status() {
    let e = retrieve_error(ResponseTemplate::new(503)).await;
    assert_eq!(e.message(), "HTTP 503");
    assert_eq!(e.status(), Some(503));
}

#[tokio::test]
async fn an_unlisted_error_status_on_list_is_still_typed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(with_json(404, r#"{"error":"Not found"}"#))
        .mount(&server)
        .await;
    let e = client(&server)
        .sessions()
        .list(SessionListParams::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn a_success_body_that_does_not_decode_is_a_decode_error() {
    let e = retrieve_error(with_json(200, r#"{"session_record":{"id":"s1"}}"#)).await;
    let Error::Decode { message, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(message.contains("missing field"), "{message}");
    assert!(!e.is_retryable());

    let e = retrieve_error(ResponseTemplate::new(200).set_body_raw("<html>ok</html>", "text/html"))
        .await;
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

#[tokio::test]
async fn a_create_answered_200_with_a_bad_body_says_the_session_may_exist() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(with_json(200, r#"{"idv_id":"a1"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let e = client(&server)
        .sessions()
        .create(create_input())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(
        e.message().contains("the session may have been created"),
        "{e}"
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(json("{}"))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    let target = format!("{}/v1/sessions/s1", elsewhere.uri());
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", target.as_str()))
        .mount(&server)
        .await;

    let plain = client(&server);
    // A caller-supplied HTTP client that would follow redirects gets the SDK's policy anyway.
    let custom = builder(&server)
        .http_client_builder(
            deepidv::reqwest::Client::builder()
                .redirect(deepidv::reqwest::redirect::Policy::limited(10)),
        )
        .build()
        .unwrap();
    for client in [plain, custom] {
        let e = client.sessions().retrieve("s1").await.unwrap_err();
        assert!(matches!(e, Error::Api { .. }), "{e:?}");
        assert_eq!(e.status(), Some(307));
        assert_eq!(e.response().unwrap().headers()["location"], target.as_str());
        assert!(!e.is_retryable());
    }
    assert!(
        received(&elsewhere).await.is_empty(),
        "the redirect target saw a request"
    );
}

#[tokio::test]
async fn the_key_never_appears_in_errors() {
    let echo = format!(r#"{{"error":"Invalid API key {KEY}"}}"#);
    let e = retrieve_error(with_json(401, &echo)).await;
    assert_eq!(e.message(), "Invalid API key [redacted]");
    assert!(!e.to_string().contains(KEY));
    assert!(!format!("{e:?}").contains(KEY));
    assert!(!e.response().unwrap().body().contains(KEY));
}

/// JSON escapes can hide the key from a plain search of the body (`\/` for `/`, `\u0073` for
/// `s`) and reveal it to anyone who reads the body as JSON. Whichever member repeats it (the
/// message, the hints, any other) and whichever header, nothing the error keeps or shows has it.
#[tokio::test]
async fn the_key_is_removed_even_behind_json_escapes() {
    const SLASHED: &str = "sk_test/4f9c2e1a7b";
    let escaped = [
        SLASHED.replace('/', "\\/"),
        format!("\\u0073{}", &SLASHED[1..]),
        SLASHED
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect(),
    ];
    for form in escaped {
        let body = format!(
            r#"{{"message":"Invalid API key {form}","hints":[{{"path":["x-api-key"],"message":"{form}"}}],"detail":"{form}"}}"#
        );
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_raw(body, "application/json")
                    .insert_header("x-echo", SLASHED),
            )
            .mount(&server)
            .await;
        let client = deepidv::testing::builder()
            .base_url(server.uri())
            .api_key(SLASHED)
            .max_retries(0)
            .build()
            .unwrap();

        let e = client.sessions().retrieve("s1").await.unwrap_err();

        assert_eq!(e.message(), "Invalid API key [redacted]", "{form}");
        let answer = e.response().unwrap();
        let as_json: serde_json::Value = serde_json::from_str(answer.body()).unwrap();
        for (what, text) in [
            ("Display", e.to_string()),
            ("Debug", format!("{e:?}")),
            ("body", answer.body().to_owned()),
            ("body as JSON", as_json.to_string()),
            (
                "hints",
                serde_json::Value::from(answer.hints().to_vec()).to_string(),
            ),
            ("headers", format!("{:?}", answer.headers())),
        ] {
            assert!(
                !text.contains(SLASHED),
                "{form}: the key is in the {what}: {text}"
            );
        }
        assert_eq!(
            answer.hints().len(),
            1,
            "the hints are kept, without the key"
        );
        assert_eq!(answer.request_id(), None);
    }
}

#[tokio::test]
async fn debug_output_never_shows_the_key() {
    let server = MockServer::start().await;
    let shown = format!(
        "{:?} {:?} {:?}",
        builder(&server),
        client(&server),
        client(&server).sessions()
    );
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[tokio::test]
async fn displays_are_one_bounded_line() {
    let long = format!(r#"{{"message":"{}\nsecond line"}}"#, "x".repeat(5000));
    let e = retrieve_error(with_json(400, &long)).await;
    let shown = e.to_string();
    assert!(!shown.contains('\n'));
    assert!(
        shown.chars().count() < 400,
        "{} chars",
        shown.chars().count()
    );
}

#[tokio::test]
async fn the_request_id_is_kept_whichever_header_carries_it() {
    let e = retrieve_error(with_json(404, r#"{"error":"Session not found"}"#)).await;
    assert_eq!(e.request_id(), Some("req-77"));
    for header in ["x-amzn-requestid", "apigw-requestid", "x-amz-apigw-id"] {
        let e = retrieve_error(ResponseTemplate::new(500).insert_header(header, " gw-1 ")).await;
        assert_eq!(e.request_id(), Some("gw-1"), "{header}");
        assert_eq!(e.response().unwrap().request_id(), Some("gw-1"));
    }
    // The most specific header wins.
    let e = retrieve_error(
        ResponseTemplate::new(500)
            .insert_header("apigw-requestid", "gateway")
            .insert_header("x-request-id", "deepidv"),
    )
    .await;
    assert_eq!(e.request_id(), Some("deepidv"));
    let e = retrieve_error(ResponseTemplate::new(500)).await;
    assert_eq!(e.request_id(), None);
}

#[tokio::test]
async fn the_request_id_comes_through_the_mock() {
    let mock = deepidv_mock::MockServer::start().await;
    mock.inject(
        deepidv_mock::Fault::status(403)
            .header("x-amzn-requestid", "amzn-42")
            .on(deepidv_mock::MockOperation::RetrieveSession),
    );
    let e = client_for(&mock)
        .sessions()
        .retrieve("any")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Authorization { .. }), "{e:?}");
    assert_eq!(e.request_id(), Some("amzn-42"));
}
