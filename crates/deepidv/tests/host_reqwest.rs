//! A host program whose first line builds its own reqwest client, with no TLS feature of its own,
//! and that has `deepidv` in its dependency graph. An earlier default turned on reqwest's
//! `rustls-no-provider` for the whole program, and that first client panicked with "No rustls
//! crypto provider is configured". A binary of its own: nothing may install a provider first.

#[path = "support/tls_server.rs"]
mod tls_server;

use deepidv::reqwest;
use tls_server::{certificates, tls_server};

#[tokio::test]
async fn the_host_programs_own_reqwest_client_works_before_any_deepidv_client() {
    // The program's own client, built before any deepidv client exists.
    let (ca_pem, cert, key) = certificates();
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    let own = reqwest::Client::builder()
        .add_root_certificate(ca.clone())
        .build()
        .unwrap();
    let body = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/retrieve-session.response.json"),
    )
    .unwrap();
    let (url, mut heads) = tls_server(cert, key, body).await;

    // Then one HTTPS call through deepidv ...
    let client = deepidv::Client::builder()
        .api_key("sk_test_host")
        .base_url(&url)
        .http_client_builder(reqwest::Client::builder().add_root_certificate(ca))
        .max_retries(0)
        .build()
        .unwrap();
    let found = client.sessions().retrieve("test_verified").await.unwrap();
    assert_eq!(
        found.session_record.id,
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    );
    assert!(heads.recv().await.is_some());

    // ... and the program's own client still works beside it.
    let answer = own.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
}
