//! How a service tests its own code against deepidv-mock, in process. Copy this pattern: add
//! `deepidv-mock` and `deepidv` with its `testing` feature as dev-dependencies, start a mock per
//! test, point a `deepidv::testing::client` at it, and assert on what your code did and on what
//! the mock saw (requests, invitations).

use deepidv::{Client, SessionListParams};
use deepidv_mock::{Fault, MockOperation, MockServer};

/// The service's own code: invite a customer to verify, at most once per customer.
mod onboarding {
    use deepidv::{SessionCreateInput, SessionListParams, Sessions};

    pub struct Onboarding {
        pub sessions: Sessions,
    }

    impl Onboarding {
        /// Returns the verification link for `customer_id`, creating a session only if the
        /// customer has none yet.
        pub async fn verification_link(
            &self,
            customer_id: &str,
            email: &str,
            phone: &str,
        ) -> deepidv::Result<String> {
            let existing = self
                .sessions
                .list(SessionListParams::new().external_id(customer_id).limit(1))
                .await?;
            if let Some(session) = existing.data.first() {
                return Ok(format!("https://verify.example.com/resume/{}", session.id));
            }
            let input = SessionCreateInput::new("Customer", customer_id, email, phone)
                .external_id(customer_id);
            Ok(self.sessions.create(input).await?.session_url)
        }
    }
}

fn onboarding_for(mock: &MockServer) -> onboarding::Onboarding {
    // No rate limit, millisecond retry delays, loopback http.
    let client = deepidv::testing::client(mock.url().parse().unwrap(), mock.api_key()).unwrap();
    onboarding::Onboarding {
        sessions: client.sessions(),
    }
}

#[tokio::test]
async fn a_customer_is_invited_once() {
    let mock = MockServer::start().await;
    let service = onboarding_for(&mock);

    let first = service
        .verification_link("cust-1", "cust1@example.com", "+14165557890")
        .await
        .unwrap();
    let second = service
        .verification_link("cust-1", "cust1@example.com", "+14165557890")
        .await
        .unwrap();

    assert!(first.starts_with("https://"));
    assert!(second.contains("/resume/"));
    assert_eq!(mock.session_count(), 1);
    assert_eq!(mock.invites().len(), 2, "one email and one SMS, once");
}

#[tokio::test]
async fn a_rate_limited_create_still_succeeds() {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(429)
            .on(MockOperation::CreateSession)
            .body("application/json", r#"{"error":"Too many requests"}"#),
    );
    let service = onboarding_for(&mock);

    service
        .verification_link("cust-2", "cust2@example.com", "+14165557890")
        .await
        .unwrap();

    let creates: Vec<Option<u16>> = mock
        .requests()
        .iter()
        .filter(|r| r.operation == Some(MockOperation::CreateSession))
        .map(|r| r.status)
        .collect();
    assert_eq!(creates, [Some(429), Some(200)]);
    assert_eq!(mock.session_count(), 1);
}

#[tokio::test]
async fn bad_customer_data_never_reaches_deepidv() {
    let mock = MockServer::start().await;
    let service = onboarding_for(&mock);

    let e = service
        .verification_link("cust-3", "cust3@example.com", "not a phone")
        .await
        .unwrap_err();

    assert!(
        matches!(e, deepidv::Error::Validation { ref field, .. } if field.as_deref() == Some("phone")),
        "{e:?}"
    );
    let creates = mock
        .requests()
        .iter()
        .filter(|r| r.operation == Some(MockOperation::CreateSession))
        .count();
    assert_eq!(creates, 0);
    // The lookup before it did happen:
    let client = Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .build()
        .unwrap();
    assert!(
        client
            .sessions()
            .list(SessionListParams::new().external_id("cust-3"))
            .await
            .unwrap()
            .data
            .is_empty()
    );
}
