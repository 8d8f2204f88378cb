//! What the hooks do to a 2xx answer, against a real HTTP server on loopback: the generated code
//! decodes it, unless it is over the cap (refused) or over `hand_back_bodies_above` (handed back
//! whole, undecoded).

use deepidv_raw::{BodyTooLarge, Client, Hooks};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

/// A retrieve answer with the record's identifying fields (the rest are optional).
const RECORD: &str = r#"{"session_record":{"id":"a1b2c3d4-e5f6-7890-abcd-ef1234567890","status":"VERIFIED","organization_id":"org_abc123","type":"session"}}"#;

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sessions/s-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req-1")
                .set_body_raw(RECORD, "application/json"),
        )
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, hooks: Hooks) -> Client {
    Client::new_with_client(&server.uri(), reqwest::Client::new(), hooks)
}

#[tokio::test]
async fn by_default_the_generated_code_decodes_every_body() {
    let server = server().await;
    let answer = client(&server, Hooks::new())
        .retrieve_session()
        .id("s-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.into_inner().session_record.id,
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    );
}

#[tokio::test]
async fn a_body_over_the_hand_back_size_comes_back_whole_and_undecoded() {
    let server = server().await;
    let above = RECORD.len() - 1;
    let outcome = client(&server, Hooks::new().hand_back_bodies_above(above))
        .retrieve_session()
        .id("s-1")
        .send()
        .await;
    let Err(progenitor_client::Error::UnexpectedResponse(response)) = outcome else {
        panic!("not handed back: {outcome:?}");
    };
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-1");
    assert_eq!(response.bytes().await.unwrap(), RECORD.as_bytes());
}

#[tokio::test]
async fn a_body_of_exactly_the_hand_back_size_is_decoded() {
    let server = server().await;
    let answer = client(&server, Hooks::new().hand_back_bodies_above(RECORD.len()))
        .retrieve_session()
        .id("s-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.into_inner().session_record.id,
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    );
}

#[tokio::test]
async fn the_cap_still_refuses_what_the_hand_back_size_would_take() {
    let server = server().await;
    let hooks = Hooks::new()
        .max_body_bytes(RECORD.len() - 1)
        .hand_back_bodies_above(10);
    let outcome = client(&server, hooks)
        .retrieve_session()
        .id("s-1")
        .send()
        .await;
    let Err(progenitor_client::Error::ResponseBodyError(error)) = outcome else {
        panic!("not refused: {outcome:?}");
    };
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(too_large) = cause.downcast_ref::<BodyTooLarge>() {
            assert_eq!(too_large.limit, RECORD.len() - 1);
            return;
        }
        source = cause.source();
    }
    panic!("no BodyTooLarge in {error:?}");
}
