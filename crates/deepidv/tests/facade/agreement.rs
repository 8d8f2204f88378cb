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
