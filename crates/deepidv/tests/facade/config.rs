//! Building clients: defaults, refusals, and what every clone shares.

use deepidv::{Client, Error};
use wiremock::MockServer;

use crate::common::*;

#[test]
fn a_key_is_required_and_must_be_a_header_value() {
    for builder in [
        Client::builder(),
        Client::builder().api_key(""),
        Client::builder().api_key("   "),
        Client::builder().api_key("sk_live\r\nx-evil: 1"),
    ] {
        let e = builder.build().unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        assert!(e.message().contains("api_key"), "{e}");
    }
}

#[test]
fn plain_http_is_only_for_loopback() {
    let e = Client::builder()
        .api_key(KEY)
        .base_url("http://api.deepidv.com")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("clear text"), "{e}");

    for loopback in [
        "http://127.0.0.1:9",
        "http://localhost:9/",
        "http://[::1]:9",
    ] {
        Client::builder()
            .api_key(KEY)
            .base_url(loopback)
            .build()
            .unwrap();
    }
    let insecure = Client::builder()
        .api_key(KEY)
        .base_url("http://10.1.2.3")
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert_eq!(insecure.base_url(), "http://10.1.2.3");
}

#[test]
fn defaults() {
    let client = Client::new(KEY).unwrap();
    assert_eq!(client.base_url(), "https://api.deepidv.com");
    let shown = format!("{client:?}");
    assert!(shown.contains("timeout: 30s"), "{shown}");
    assert!(shown.contains("max_retries: 3"), "{shown}");
    assert!(shown.contains("initial_delay: 500ms"), "{shown}");
    assert!(
        shown.contains("rate_limit: Some(RateLimit { per_second: 24, burst: 30 })"),
        "{shown}"
    );
    assert_eq!(deepidv::DEFAULT_TIMEOUT, std::time::Duration::from_secs(30));
    // The resource handle shows the same configuration.
    let sessions = format!("{:?}", client.sessions());
    assert!(
        sessions.starts_with("Sessions { base_url: \"https://api.deepidv.com\""),
        "{sessions}"
    );
    assert!(sessions.contains("timeout: 30s"), "{sessions}");
}

#[test]
fn a_zero_timeout_is_refused() {
    let e = Client::builder()
        .api_key(KEY)
        .timeout(std::time::Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

#[tokio::test]
async fn clients_and_sessions_are_shareable_and_their_futures_are_send() {
    fn shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    fn send<T: Send>(_: &T) {}

    let server = MockServer::start().await;
    let client = client(&server);
    let sessions = client.sessions();
    shareable(&client);
    shareable(&sessions);
    send(&sessions.create(create_input()));
    send(&sessions.retrieve("s1"));
    send(&sessions.list(deepidv::SessionListParams::new()));
    send(&sessions.update_status("s1", deepidv::SessionStatusUpdate::Voided));
    fn send_static<T: Send + 'static>(_: &T) {}
    send_static(&sessions.list_all(deepidv::SessionListParams::new()));

    // A handle moved into a task works there.
    let handle = tokio::spawn(async move { sessions.retrieve(" ").await.map(|_| ()) });
    assert!(matches!(
        handle.await.unwrap(),
        Err(Error::Validation { .. })
    ));
}
