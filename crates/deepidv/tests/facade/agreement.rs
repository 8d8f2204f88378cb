//! The facade's checks and deepidv-mock's agree: one table of inputs through both. The facade
//! refuses before sending (`Error::Validation` naming the field); the mock, sent the same value
//! directly, answers 400. Where they may differ on purpose, the spec's deviations list says so.

use deepidv::{Error, SessionListParams};
use deepidv_mock::MockServer;

use crate::common::client_for;

/// List dates: exactly RFC 3339 with `Z` or `±hh:mm`, or a plain date.
const DATES: &[(&str, bool)] = &[
    ("2025-01-15", true),
    ("2025-01-15T10:30:00Z", true),
    ("2025-01-15T10:30:00.000Z", true),
    ("2025-01-15T10:30:00+02:00", true),
    ("2025-01-15T10:30:00.123-05:30", true),
    ("2024-02-29", true),
    ("2025-01-15T10:30:00", false),
    ("2025-01-15T10:30:00+0200", false),
    ("2025-01-15T10:30", false),
    ("2025-1-5", false),
    ("2025-13-01", false),
    ("2025-02-30", false),
    ("2025-01-15T25:00:00Z", false),
    ("15/01/2025", false),
    ("20250115", false),
    ("yesterday", false),
];

/// What the mock answers to `GET /v1/sessions?{field}={value}`, with its hint if it refused.
async fn mock_answer(mock: &MockServer, field: &str, value: &str) -> (u16, String) {
    let answer = deepidv::reqwest::Client::new()
        .get(format!("{}/v1/sessions", mock.url()))
        .header("x-api-key", mock.api_key())
        .query(&[(field, value)])
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

#[tokio::test]
async fn list_dates_are_accepted_and_refused_alike() {
    let mock = MockServer::start().await;
    let sessions = client_for(&mock).sessions();
    for &(date, valid) in DATES {
        for field in ["start_date", "end_date"] {
            let params = match field {
                "start_date" => SessionListParams::new().start_date(date),
                _ => SessionListParams::new().end_date(date),
            };
            let facade = sessions.list(params).await;
            let (status, body) = mock_answer(&mock, field, date).await;
            match facade {
                Ok(_) => assert!(valid, "the facade accepted {field}={date:?}"),
                Err(Error::Validation {
                    field: Some(named),
                    message,
                    ..
                }) => {
                    assert!(!valid, "the facade refused {field}={date:?}: {message}");
                    assert_eq!(named, field);
                    // The same words in both.
                    assert!(
                        body.contains(&message),
                        "{field}={date:?}: {message} vs {body}"
                    );
                }
                Err(e) => panic!("{field}={date:?}: {e:?}"),
            }
            assert_eq!(
                status,
                if valid { 200 } else { 400 },
                "the mock on {field}={date:?}: {body}"
            );
        }
    }
}

/// One input of the agreement table: the field, the value, and what the facade and the mock do.
struct Case {
    field: Field,
    value: &'static str,
    /// Whether the facade accepts it (sends it).
    facade: bool,
    /// Whether the mock accepts it (anything but a 400).
    mock: bool,
    /// Why they differ, when they do: the deviation of `openapi.yaml`'s `info.description` (or,
    /// where the list does not name it yet, what the difference is).
    deviation: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    FirstName,
    LastName,
    Email,
    Phone,
    RedirectUrl,
    ExternalId,
    WorkflowId,
    ExpiresInHours,
    Limit,
}

impl Field {
    /// The facade's name for it.
    fn facade(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::RedirectUrl => "redirect_url",
            Field::ExternalId => "external_id",
            Field::WorkflowId => "workflow_id",
            Field::ExpiresInHours => "expires_in_hours",
            Field::Limit => "limit",
        }
    }

    /// The wire's (camelCase) name.
    fn wire(self) -> &'static str {
        match self {
            Field::FirstName => "firstName",
            Field::LastName => "lastName",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::RedirectUrl => "redirectUrl",
            Field::ExternalId => "externalId",
            Field::WorkflowId => "workflowId",
            Field::ExpiresInHours => "expiresInHours",
            Field::Limit => "limit",
        }
    }
}

const fn agree(field: Field, value: &'static str, valid: bool) -> Case {
    Case {
        field,
        value,
        facade: valid,
        mock: valid,
        deviation: None,
    }
}

const fn stricter(field: Field, value: &'static str, why: &'static str) -> Case {
    Case {
        field,
        value,
        facade: false,
        mock: true,
        deviation: Some(why),
    }
}

/// Control characters: the facade refuses them in names, emails, phones and ids (they are never
/// meant, and a pasted newline is a common mistake); the mock, like the published spec, does not
/// look. Deviation 5 of the spec.
const CONTROL: &str = "deviation 5: the facade refuses control characters";
/// Blank optional ids: the facade refuses whitespace-only ids; the mock refuses only the empty one.
/// Deviation 5 of the spec.
const BLANK_ID: &str = "deviation 5: the facade refuses a whitespace-only id";

/// Names, emails, phones, URLs, ids, hours and limits, through both.
const INPUTS: &[Case] = &[
    agree(Field::FirstName, "Jane", true),
    agree(Field::FirstName, "Zoë-Anne O'Brien", true),
    agree(Field::FirstName, "李", true),
    agree(Field::FirstName, "", false),
    agree(Field::FirstName, "   ", false),
    agree(Field::FirstName, "\u{3000}", false),
    stricter(Field::FirstName, "Ja\u{0}ne", CONTROL),
    stricter(Field::FirstName, "Jane\n", CONTROL),
    agree(Field::LastName, "Smith", true),
    agree(Field::LastName, " ", false),
    stricter(Field::LastName, "Smi\u{7f}th", CONTROL),
    agree(Field::Email, "jane.smith+kyc@example.com", true),
    agree(Field::Email, "a@b.co", true),
    agree(Field::Email, "é@ü.fr", true),
    agree(Field::Email, "plain", false),
    agree(Field::Email, "@example.com", false),
    agree(Field::Email, "a@b", false),
    agree(Field::Email, "a@@b.com", false),
    agree(Field::Email, "a@b@c.com", false),
    agree(Field::Email, "a b@c.com", false),
    agree(Field::Email, "a@.com", false),
    agree(Field::Email, "a@b.", false),
    agree(Field::Email, "a@b..com", false),
    agree(Field::Email, " a@b.co", false),
    stricter(Field::Email, "a\u{1}@b.co", CONTROL),
    agree(Field::Phone, "+14165557890", true),
    agree(Field::Phone, "+1519222333", true),
    agree(Field::Phone, "+123456789012345", true),
    agree(Field::Phone, "14165557890", false),
    agree(Field::Phone, "+04165557890", false),
    agree(Field::Phone, "+141655578", false),
    agree(Field::Phone, "+1234567890123456", false),
    agree(Field::Phone, "+1 4165557890", false),
    agree(Field::Phone, "+1416555789a", false),
    agree(Field::Phone, "+1416555789\u{0663}", false),
    agree(Field::Phone, "", false),
    agree(
        Field::RedirectUrl,
        "https://yourapp.com/verify-callback",
        true,
    ),
    agree(Field::RedirectUrl, "https://x.example:8443/a?b=c#d", true),
    agree(Field::RedirectUrl, "https://x.example", true),
    agree(Field::RedirectUrl, "HTTPS://x.example/done", false),
    agree(Field::RedirectUrl, "Https://x.example/done", false),
    agree(Field::RedirectUrl, "http://x.example/done", false),
    agree(Field::RedirectUrl, "https://", false),
    agree(Field::RedirectUrl, "https:///done", false),
    agree(Field::RedirectUrl, "x.example/done", false),
    agree(Field::RedirectUrl, " https://x.example", false),
    agree(Field::RedirectUrl, "https://x.example/a b", false),
    agree(Field::RedirectUrl, "https://x.example/done ", false),
    agree(Field::RedirectUrl, "https://x.example/\ndone", false),
    agree(Field::RedirectUrl, "", false),
    agree(Field::ExternalId, "applicant-42", true),
    agree(Field::ExternalId, "", false),
    stricter(Field::ExternalId, "  ", BLANK_ID),
    stricter(Field::ExternalId, "a\u{1b}b", CONTROL),
    agree(Field::WorkflowId, "wf_abc123", true),
    agree(Field::WorkflowId, "", false),
    stricter(Field::WorkflowId, "\t", BLANK_ID),
    agree(Field::ExpiresInHours, "1", true),
    agree(Field::ExpiresInHours, "8760", true),
    agree(Field::ExpiresInHours, "0", false),
    agree(Field::ExpiresInHours, "8761", false),
    agree(Field::ExpiresInHours, "4294967295", false),
    agree(Field::Limit, "1", true),
    agree(Field::Limit, "500", true),
    agree(Field::Limit, "0", false),
    agree(Field::Limit, "501", false),
    agree(Field::Limit, "4294967295", false),
];

/// What the mock answers to `value` in `field`, sent directly (not through the facade).
async fn mock_status(mock: &MockServer, field: Field, value: &str) -> (u16, String) {
    if field == Field::Limit {
        return mock_answer(mock, "limit", value).await;
    }
    let mut body = serde_json::json!({
        "firstName": "Jane",
        "lastName": "Smith",
        "email": "jane.smith@example.com",
        "phone": "+14165557890",
    });
    body[field.wire()] = match field {
        Field::ExpiresInHours => serde_json::json!(value.parse::<u64>().unwrap()),
        _ => serde_json::json!(value),
    };
    let answer = deepidv::reqwest::Client::new()
        .post(format!("{}/v1/sessions", mock.url()))
        .header("x-api-key", mock.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

/// What the facade does with `value` in `field`: `Ok(true)` sent and accepted, `Ok(false)` sent and
/// refused by the mock, `Err` refused before sending (naming the field, nothing sent).
async fn facade_verdict(mock: &MockServer, field: Field, value: &str) -> Result<bool, String> {
    let sessions = client_for(mock).sessions();
    let before = mock.request_count();
    let outcome = if field == Field::Limit {
        let params = SessionListParams::new().limit(value.parse().unwrap());
        sessions.list(params).await.map(drop)
    } else {
        let mut input = crate::common::create_input();
        match field {
            Field::FirstName => input.first_name = value.to_owned(),
            Field::LastName => input.last_name = value.to_owned(),
            Field::Email => input.email = value.to_owned(),
            Field::Phone => input.phone = value.to_owned(),
            Field::RedirectUrl => input.redirect_url = Some(value.to_owned()),
            Field::ExternalId => input.external_id = Some(value.to_owned()),
            Field::WorkflowId => input.workflow_id = Some(value.to_owned()),
            Field::ExpiresInHours => input.expires_in_hours = Some(value.parse().unwrap()),
            Field::Limit => unreachable!(),
        }
        sessions.create(input).await.map(drop)
    };
    match outcome {
        // A workflow the mock does not know is a 404: the value itself was accepted.
        Ok(()) | Err(Error::NotFound { .. }) => Ok(true),
        Err(Error::Validation { field: None, .. }) => Ok(false),
        Err(Error::Validation {
            field: Some(named),
            message,
            ..
        }) => {
            assert_eq!(named, field.facade(), "{value:?}");
            assert_eq!(
                mock.request_count(),
                before,
                "{value:?} was refused but sent"
            );
            Err(message)
        }
        Err(e) => panic!("{field:?} {value:?}: {e:?}"),
    }
}

#[tokio::test]
async fn names_emails_phones_urls_ids_hours_and_limits_are_accepted_and_refused_alike() {
    let mock = MockServer::start().await;
    let mut wrong = Vec::new();
    for case in INPUTS {
        let (status, body) = mock_status(&mock, case.field, case.value).await;
        let mock_accepts = status != 400;
        let facade = facade_verdict(&mock, case.field, case.value).await;
        // Sent counts as accepted, whatever the mock then said (its verdict is `status`).
        let facade_accepts = facade.is_ok();
        if (facade_accepts, mock_accepts) != (case.facade, case.mock) {
            wrong.push(format!(
                "{:?} {:?}: facade {} (table {}), mock {} (table {}): {facade:?} / {status} {body}",
                case.field, case.value, facade_accepts, case.facade, mock_accepts, case.mock
            ));
        }
        assert_eq!(
            case.facade != case.mock,
            case.deviation.is_some(),
            "{:?} {:?}: a difference needs its reason, and only a difference",
            case.field,
            case.value
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
