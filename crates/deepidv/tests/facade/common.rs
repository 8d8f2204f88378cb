//! Shared helpers: fixtures, clients pointed at a mock server, request inspection.

use deepidv::{Client, ClientBuilder};
use serde_json::Value;
use wiremock::{MockServer, Request, ResponseTemplate};

pub const KEY: &str = "sk_test_4f9c2e1a7b";

/// A published example payload, as text.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A published example payload, parsed.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// A 200 answer with a JSON body.
pub fn json(body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into(), "application/json")
}

/// A builder pointed at `server`, with the test settings of `deepidv::testing`.
pub fn builder(server: &MockServer) -> ClientBuilder {
    deepidv::testing::builder()
        .base_url(server.uri())
        .api_key(KEY)
}

/// A client pointed at `server`, with fast retries.
pub fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

/// Every request `server` received.
pub async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// A request's body as JSON.
pub fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// Serves `GET /v1/sessions` as `pages`: each is the `next_token` it answers (`None`: the first
/// request, which has none) and the body it answers with.
pub async fn serve_pages(
    server: &MockServer,
    pages: impl IntoIterator<Item = (Option<&str>, Value)>,
) {
    use wiremock::{
        Mock,
        matchers::{method, path, query_param, query_param_is_missing},
    };
    for (token, body) in pages {
        let mock = Mock::given(method("GET")).and(path("/v1/sessions"));
        let mock = match token {
            None => mock.and(query_param_is_missing("next_token")),
            Some(token) => mock.and(query_param("next_token", token)),
        };
        mock.respond_with(json(body.to_string()))
            .mount(server)
            .await;
    }
}

/// A minimal valid session record with the given id and status.
pub fn session_json(id: &str, status: &str) -> Value {
    serde_json::json!({
        "id": id,
        "organization_id": "org_abc123",
        "user_id": "usr_def456",
        "sender_user_id": "usr_ghi789",
        "status": status,
        "type": "session",
        "session_progress": "COMPLETED",
        "created_at": "2025-01-15T10:30:00.000Z",
        "updated_at": "2025-01-15T10:45:00.000Z"
    })
}

/// A valid create input.
pub fn create_input() -> deepidv::SessionCreateInput {
    deepidv::SessionCreateInput::new("Jane", "Smith", "jane.smith@example.com", "+14165557890")
}

/// A client for `mock`, with the test settings of `deepidv::testing`.
pub fn client_for(mock: &deepidv_mock::MockServer) -> Client {
    deepidv::testing::client(mock.url().parse().unwrap(), mock.api_key()).unwrap()
}

/// A valid create input with `external_id`.
pub fn applicant(external_id: &str) -> deepidv::SessionCreateInput {
    create_input().external_id(external_id)
}

/// Removes nulls and makes every number a float, so that "null equals absent" and `38.90` equals
/// `38.9`.
pub fn normalise(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, normalise(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        other => other,
    }
}

/// Awaits `call`, failing the test if it takes more than 20 s (facade calls take milliseconds): a
/// regression that loops or stalls (a page walk that never ends, a stream never woken) fails here
/// instead of hanging the suite.
pub async fn within<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(20), call)
        .await
        .expect("the call did not finish within 20 s")
}
