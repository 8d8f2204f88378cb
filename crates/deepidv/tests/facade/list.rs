//! `list` with `offset`/`status` (emulated over `next_token` pages of 500) and the paging rules
//! both modes share.

use deepidv::{Error, SessionListParams, SessionStatus};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer,
    matchers::{method, path},
};

use crate::common::*;

/// Session `i`'s status: VERIFIED when `i % 3 == 1`, REJECTED when `i % 3 == 2`, else PENDING.
fn status_of(i: usize) -> &'static str {
    ["PENDING", "VERIFIED", "REJECTED"][i % 3]
}

fn page(range: std::ops::Range<usize>, next: Option<&str>) -> Value {
    let sessions: Vec<Value> = range
        .map(|i| session_json(&format!("s{i:04}"), status_of(i)))
        .collect();
    json!({ "sessions": sessions, "next_token": next })
}

/// Serves sessions 0..1100 as three pages: (no token) 0..500 → t1: 500..1000 → t2: 1000..1100.
async fn three_pages() -> MockServer {
    let server = MockServer::start().await;
    serve_pages(
        &server,
        [
            (None, page(0..500, Some("t1"))),
            (Some("t1"), page(500..1000, Some("t2"))),
            (Some("t2"), page(1000..1100, None)),
        ],
    )
    .await;
    server
}

fn ids(data: &[deepidv::Session]) -> Vec<String> {
    data.iter().map(|s| s.id.clone()).collect()
}

/// The ids of sessions `0..total` with `status`, in order.
fn expected_ids(total: usize, status: Option<&str>) -> Vec<String> {
    (0..total)
        .filter(|&i| status.is_none_or(|s| status_of(i) == s))
        .map(|i| format!("s{i:04}"))
        .collect()
}

async fn assert_emulated_queries(server: &MockServer, pages: usize) {
    let requests = received(server).await;
    assert_eq!(requests.len(), pages);
    for request in requests {
        let keys: Vec<String> = request
            .url
            .query_pairs()
            .map(|(k, _)| k.into_owned())
            .collect();
        assert!(
            !keys.iter().any(|k| k == "offset" || k == "status"),
            "{keys:?}"
        );
        assert_eq!(
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == "limit")
                .unwrap()
                .1,
            "500"
        );
    }
}

#[tokio::test]
async fn status_and_offset_are_applied_across_pages() {
    let server = three_pages().await;
    let params = SessionListParams::new()
        .status(SessionStatus::Verified)
        .offset(100)
        .limit(200);

    let page = client(&server).sessions().list(params).await.unwrap();

    assert_eq!(
        ids(&page.data),
        expected_ids(1100, Some("VERIFIED"))[100..300]
    );
    assert!(
        page.data
            .iter()
            .all(|s| s.status == SessionStatus::Verified)
    );
    assert!(page.has_more, "more matches were already buffered");
    assert_eq!(page.next_token, None);
    assert_eq!((page.limit, page.offset, page.total), (200, 100, None));
    assert_emulated_queries(&server, 2).await;
}

#[tokio::test]
async fn the_last_matches_end_with_has_more_false() {
    let server = three_pages().await;
    let params = SessionListParams::new()
        .status(SessionStatus::Verified)
        .offset(300)
        .limit(500);

    let page = client(&server).sessions().list(params).await.unwrap();

    assert_eq!(ids(&page.data), expected_ids(1100, Some("VERIFIED"))[300..]);
    assert!(!page.has_more);
    assert_emulated_queries(&server, 3).await;
}

#[tokio::test]
async fn offset_alone_skips_across_a_page_boundary() {
    let server = three_pages().await;

    let page = client(&server)
        .sessions()
        .list(SessionListParams::new().offset(495).limit(10))
        .await
        .unwrap();

    assert_eq!(ids(&page.data), expected_ids(1100, None)[495..505]);
    assert!(page.has_more);
    assert_emulated_queries(&server, 2).await;
}

#[tokio::test]
async fn status_alone_defaults_to_50_matches() {
    let server = three_pages().await;

    let page = client(&server)
        .sessions()
        .list(SessionListParams::new().status(SessionStatus::Rejected))
        .await
        .unwrap();

    assert_eq!(ids(&page.data), expected_ids(1100, Some("REJECTED"))[..50]);
    assert_eq!(page.limit, 50);
    assert_emulated_queries(&server, 1).await;
}

#[tokio::test]
async fn filling_the_limit_at_a_page_end_reports_more_when_a_token_remains() {
    let server = three_pages().await;

    let page = client(&server)
        .sessions()
        .list(SessionListParams::new().offset(0).limit(500))
        .await
        .unwrap();

    assert_eq!(page.data.len(), 500);
    assert!(page.has_more);
    assert_emulated_queries(&server, 1).await;
}

#[tokio::test]
async fn server_side_filters_are_sent_while_emulating() {
    let server = three_pages().await;
    let params = SessionListParams::new()
        .status(SessionStatus::Pending)
        .workflow_id("wf_1")
        .start_date("2025-01-01");

    client(&server).sessions().list(params).await.unwrap();

    let request = &received(&server).await[0];
    let query: std::collections::HashMap<String, String> =
        request.url.query_pairs().into_owned().collect();
    assert_eq!(query["workflow_id"], "wf_1");
    assert_eq!(query["start_date"], "2025-01-01");
}

#[tokio::test]
async fn empty_pages_with_a_token_are_followed() {
    let server = MockServer::start().await;
    serve_pages(
        &server,
        [
            (None, page(0..0, Some("t1"))),
            (Some("t1"), page(0..0, Some("t2"))),
            (Some("t2"), page(0..3, None)),
        ],
    )
    .await;

    let page = client(&server)
        .sessions()
        .list(SessionListParams::new().limit(10))
        .await
        .unwrap();

    assert_eq!(ids(&page.data), ["s0000", "s0001", "s0002"]);
    assert!(!page.has_more);
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn a_repeated_token_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    serve_pages(
        &server,
        [
            (None, page(0..2, Some("t1"))),
            (Some("t1"), page(0..0, Some("t1"))),
        ],
    )
    .await;
    let sessions = client(&server).sessions();

    let emulated = within(sessions.list(SessionListParams::new().status(SessionStatus::Failed)))
        .await
        .unwrap_err();
    assert!(matches!(emulated, Error::Decode { .. }), "{emulated:?}");
    assert!(emulated.message().contains("next_token"), "{emulated}");

    let direct = within(sessions.list(SessionListParams::new().next_token("t1")))
        .await
        .unwrap_err();
    assert!(matches!(direct, Error::Decode { .. }), "{direct:?}");
    assert_eq!(received(&server).await.len(), 3);
}

/// In emulated mode `unreadable` holds the unreadable values of the sessions returned, and only
/// theirs: a value of a session filtered out belongs to nothing the caller sees.
#[tokio::test]
async fn emulated_pages_report_the_unreadable_values_of_the_sessions_they_return() {
    let server = MockServer::start().await;
    let mut skipped = session_json("s1", "REJECTED");
    skipped["user_id"] = json!(8);
    let mut kept = session_json("s2", "VERIFIED");
    kept["user_id"] = json!(7);
    let body = json!({ "sessions": [skipped, kept], "next_token": null });
    Mock::given(method("GET"))
        .and(path("/v1/sessions"))
        .respond_with(json(body.to_string()))
        .mount(&server)
        .await;

    let page = client(&server)
        .sessions()
        .list(SessionListParams::new().status(SessionStatus::Verified))
        .await
        .unwrap();

    assert_eq!(ids(&page.data), ["s2"]);
    let owners: Vec<_> = page
        .unreadable
        .iter()
        .map(|value| (value.session_id.as_deref(), value.value.clone()))
        .collect();
    assert_eq!(owners, [(Some("s2"), json!(7))]);
}

/// `list_all` keeps the unreadable values of the sessions it yields (across pages), and only
/// theirs; its Debug says what it is and how far it got.
#[tokio::test]
async fn list_all_keeps_the_unreadable_values_of_the_sessions_it_yields() {
    let server = MockServer::start().await;
    let unreadable = |id: &str, status: &str, user: u32| {
        let mut session = session_json(id, status);
        session["user_id"] = json!(user);
        session
    };
    let first = json!({
        "sessions": [unreadable("s1", "REJECTED", 1), unreadable("s2", "VERIFIED", 2)],
        "next_token": "t1",
    });
    let second = json!({ "sessions": [unreadable("s3", "VERIFIED", 3)], "next_token": null });
    serve_pages(&server, [(None, first), (Some("t1"), second)]).await;

    let mut stream = client(&server)
        .sessions()
        .list_all(SessionListParams::new().status(SessionStatus::Verified));
    let mut yielded = Vec::new();
    while let Some(session) = within(stream.next()).await {
        yielded.push(session.unwrap().id);
    }

    assert_eq!(yielded, ["s2", "s3"]);
    let owners: Vec<_> = stream
        .take_unreadable()
        .into_iter()
        .map(|value| (value.session_id, value.value))
        .collect();
    assert_eq!(
        owners,
        [
            (Some("s2".to_owned()), json!(2)),
            (Some("s3".to_owned()), json!(3))
        ]
    );
    assert!(stream.take_unreadable().is_empty(), "taken once");
    let shown = format!("{stream:?}");
    assert!(
        shown.starts_with("SessionStream {") && shown.contains("done: true"),
        "{shown}"
    );
}

/// A stream's `Debug` tells how far it is: the sessions of the page still to be yielded, whether
/// the next page is on its way, and whether it has ended.
#[tokio::test]
async fn a_stream_shows_how_far_it_is() {
    let server = MockServer::start().await;
    let first = json!({
        "sessions": [
            session_json("s1", "VERIFIED"),
            session_json("s2", "VERIFIED"),
            session_json("s3", "VERIFIED")
        ],
        "next_token": "t1"
    });
    let last = json!({"sessions": [session_json("s4", "VERIFIED")], "next_token": null});
    serve_pages(&server, [(None, first), (Some("t1"), last)]).await;

    let mut stream = client(&server)
        .sessions()
        .list_all(SessionListParams::new());
    let s1 = within(stream.next()).await.unwrap().unwrap();

    assert_eq!(s1.id, "s1");
    let shown = format!("{stream:?}");
    assert!(
        shown.contains("in_hand: 2, fetching: true, done: false"),
        "{shown}"
    );
    let mut rest = Vec::new();
    while let Some(session) = within(stream.next()).await {
        rest.push(session.unwrap().id);
    }
    assert_eq!(rest, ["s2", "s3", "s4"]);
    let shown = format!("{stream:?}");
    assert!(
        shown.contains("in_hand: 0, fetching: false, done: true"),
        "{shown}"
    );
}
