//! A retrieve over HTTPS against a loopback server whose certificate comes from a private CA,
//! trusted through `http_client_builder`.

use deepidv::{Error, reqwest};

use crate::{
    common::*,
    tls_server::{certificates, tls_server},
};

#[tokio::test]
async fn retrieve_over_https_with_a_private_ca() {
    let (ca_pem, cert, key) = certificates();
    let (url, mut heads) = tls_server(cert, key, fixture("retrieve-session.response.json")).await;

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap());
    let client = deepidv::Client::builder()
        .api_key(KEY)
        .base_url(&url)
        .http_client_builder(trusting)
        .max_retries(0)
        .build()
        .unwrap();

    let found = client.sessions().retrieve("test_verified").await.unwrap();

    assert_eq!(
        found.session_record.id,
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    );
    let head = heads.recv().await.unwrap().to_ascii_lowercase();
    assert!(
        head.starts_with("get /v1/sessions/test_verified http/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("x-api-key: {}\r\n", KEY.to_ascii_lowercase())),
        "{head}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (_, cert, key) = certificates();
    let (url, mut heads) = tls_server(cert, key, fixture("retrieve-session.response.json")).await;

    let client = deepidv::Client::builder()
        .api_key(KEY)
        .base_url(&url)
        .max_retries(0)
        .build()
        .unwrap();
    let e = client
        .sessions()
        .retrieve("test_verified")
        .await
        .unwrap_err();

    assert!(matches!(e, Error::Network { .. }), "{e:?}");
    assert!(
        heads.try_recv().is_err(),
        "no request may cross an untrusted connection"
    );
}
