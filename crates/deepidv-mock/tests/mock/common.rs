//! A small HTTP client for the tests: every call returns status, headers and body as received.

use deepidv_mock::MockServer;
use reqwest::{Method, header::HeaderMap};
use serde_json::Value;

/// An answer as received.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

/// An HTTP client. Nothing to install first: in a workspace build, reqwest is unified with the
/// `deepidv` crate's default `rustls` feature, which carries its own crypto provider.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Sends `method path` to `mock` with `key` (if any) and a JSON `body` (if any).
pub async fn call(
    mock: &MockServer,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let client = http();
    let mut request = client.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", mock.url()),
    );
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        text,
    }
}

/// Calls with the mock's live key.
pub async fn live(mock: &MockServer, method: &str, path: &str, body: Option<&str>) -> Answer {
    call(mock, method, path, Some(mock.api_key()), body).await
}

/// A published example payload from the facade's fixtures.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deepidv/tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub const CREATE: &str = r#"{"firstName":"Jane","lastName":"Smith","email":"jane.smith@example.com","phone":"+14165557890","externalId":"applicant-1"}"#;

/// Creates a session with `body` and returns its id.
pub async fn create(mock: &MockServer, body: &str) -> String {
    let answer = live(mock, "POST", "/v1/sessions", Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["id"].as_str().unwrap().to_owned()
}
