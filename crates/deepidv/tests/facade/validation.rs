//! Bad input fails with a validation error naming the field, and nothing reaches the server.

use deepidv::{Error, SessionCreateInput, SessionListParams, SessionStatus, SessionStatusUpdate};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

use crate::common::*;

fn expect_field(result: Result<impl std::fmt::Debug, Error>, expected: &str, case: &str) {
    match result {
        Err(Error::Validation {
            field: Some(field),
            response: None,
            message,
            ..
        }) => {
            assert_eq!(field, expected, "{case}: {message}");
            assert!(!message.is_empty(), "{case}");
        }
        other => panic!("{case}: expected a validation error on {expected}, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_inputs_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let sessions = client(&server).sessions();

    let with = |edit: fn(SessionCreateInput) -> SessionCreateInput| edit(create_input());
    let create_cases: Vec<(&str, SessionCreateInput, &str)> = vec![
        (
            "blank first name",
            with(|mut i| {
                i.first_name = "  ".into();
                i
            }),
            "first_name",
        ),
        (
            "empty last name",
            with(|mut i| {
                i.last_name = String::new();
                i
            }),
            "last_name",
        ),
        (
            "control character in a name",
            with(|mut i| {
                i.first_name = "Ja\u{0}ne".into();
                i
            }),
            "first_name",
        ),
        (
            "email without @",
            with(|mut i| {
                i.email = "jane.example.com".into();
                i
            }),
            "email",
        ),
        (
            "email with two @",
            with(|mut i| {
                i.email = "jane@smith@example.com".into();
                i
            }),
            "email",
        ),
        (
            "email with blank local part",
            with(|mut i| {
                i.email = "@example.com".into();
                i
            }),
            "email",
        ),
        (
            "email with undotted domain",
            with(|mut i| {
                i.email = "jane@localhost".into();
                i
            }),
            "email",
        ),
        (
            "email with whitespace",
            with(|mut i| {
                i.email = "jane smith@example.com".into();
                i
            }),
            "email",
        ),
        (
            "phone without +",
            with(|mut i| {
                i.phone = "14165557890".into();
                i
            }),
            "phone",
        ),
        (
            "phone with leading 0",
            with(|mut i| {
                i.phone = "+04165557890".into();
                i
            }),
            "phone",
        ),
        (
            "phone too short",
            with(|mut i| {
                i.phone = "+141655578".into();
                i
            }),
            "phone",
        ),
        (
            "phone too long",
            with(|mut i| {
                i.phone = "+1416555789012345".into();
                i
            }),
            "phone",
        ),
        (
            "phone with spaces",
            with(|mut i| {
                i.phone = "+1 416 555 7890".into();
                i
            }),
            "phone",
        ),
        (
            "phone with non-ASCII digits",
            with(|mut i| {
                i.phone = "+١٤١٦٥٥٥٧٨٩٠".into();
                i
            }),
            "phone",
        ),
        (
            "http redirect",
            with(|i| i.redirect_url("http://example.com/done")),
            "redirect_url",
        ),
        (
            "relative redirect",
            with(|i| i.redirect_url("/done")),
            "redirect_url",
        ),
        (
            "upper-case scheme (deviation 5: the spec's pattern and the mock refuse it too)",
            with(|i| i.redirect_url("HTTPS://example.com/done")),
            "redirect_url",
        ),
        (
            "zero hours",
            with(|i| i.expires_in_hours(0)),
            "expires_in_hours",
        ),
        (
            "over a year",
            with(|i| i.expires_in_hours(8761)),
            "expires_in_hours",
        ),
        (
            "blank external id",
            with(|i| i.external_id(" ")),
            "external_id",
        ),
        (
            "blank workflow id",
            with(|i| i.workflow_id("")),
            "workflow_id",
        ),
    ];
    for (case, input, field) in create_cases {
        expect_field(sessions.create(input).await, field, case);
    }

    for (case, id) in [
        ("blank id", " "),
        ("empty id", ""),
        ("dot", "."),
        ("dot dot", ".."),
        ("newline", "s1\n"),
        ("tab", "s\t1"),
        ("backslash", "a\\b"),
        ("dot dot backslash", "..\\x"),
    ] {
        expect_field(sessions.retrieve(id).await, "session_id", case);
        expect_field(
            sessions
                .update_status(id, SessionStatusUpdate::Verified)
                .await,
            "session_id",
            case,
        );
    }

    let list_cases = [
        ("limit 0", SessionListParams::new().limit(0), "limit"),
        ("limit 501", SessionListParams::new().limit(501), "limit"),
        (
            "token with offset",
            SessionListParams::new().next_token("t").offset(10),
            "next_token",
        ),
        (
            "token with status",
            SessionListParams::new()
                .next_token("t")
                .status(SessionStatus::Verified),
            "next_token",
        ),
        (
            "blank token",
            SessionListParams::new().next_token(""),
            "next_token",
        ),
        (
            "bad start date",
            SessionListParams::new().start_date("yesterday"),
            "start_date",
        ),
        (
            "bad end date",
            SessionListParams::new().end_date("2025-02-30"),
            "end_date",
        ),
        (
            "blank external id",
            SessionListParams::new().external_id(" "),
            "external_id",
        ),
        (
            "emulated limit 0",
            SessionListParams::new()
                .status(SessionStatus::Pending)
                .limit(0),
            "limit",
        ),
    ];
    for (case, params, field) in list_cases {
        expect_field(sessions.list(params).await, field, case);
    }

    assert!(
        received(&server).await.is_empty(),
        "a refused input reached the server"
    );
}

#[tokio::test]
async fn validation_errors_read_well() {
    let server = MockServer::start().await;
    let e = client(&server)
        .sessions()
        .create(create_input().expires_in_hours(0))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid expires_in_hours: must be between 1 and 8760, got 0 (nothing was sent)"
    );
    assert_eq!(e.status(), None);
    assert!(!e.is_retryable());
}
