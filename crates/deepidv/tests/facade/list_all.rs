//! `Sessions::list_all` against deepidv-mock: the whole walk, filters, faults, early drop.

use std::time::{Duration, Instant};

use deepidv::{Client, Error, Session, SessionListParams, SessionStatus};
use deepidv_mock::{Fault, MockOperation, MockServer, SeedSessions};
use futures_util::StreamExt;

use crate::common::{client_for, within};

/// Seeds `n` sessions and returns their ids newest first, with their statuses.
fn seeded(mock: &MockServer, n: usize) -> Vec<(String, String)> {
    let mut ids = mock.seed_sessions(n, SeedSessions::new()).unwrap();
    ids.reverse();
    ids.into_iter()
        .map(|id| {
            let status = mock.session(&id).unwrap().status().to_string();
            (id, status)
        })
        .collect()
}

fn list_requests(mock: &MockServer) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.operation == Some(MockOperation::ListSessions))
        .count()
}

/// Every item of `stream`, within 20 s (a walk that never ends fails instead of hanging).
async fn collect(
    stream: impl futures_util::Stream<Item = deepidv::Result<Session>>,
) -> Vec<deepidv::Result<Session>> {
    within(stream.collect()).await
}

#[tokio::test]
async fn every_session_once_in_order() {
    let mock = MockServer::start().await;
    let expected: Vec<String> = seeded(&mock, 1_234).into_iter().map(|(id, _)| id).collect();

    let walked = collect(
        client_for(&mock)
            .sessions()
            .list_all(SessionListParams::new()),
    )
    .await;

    let ids: Vec<String> = walked.into_iter().map(|s| s.unwrap().id).collect();
    assert_eq!(ids, expected);
    assert_eq!(list_requests(&mock), 3, "pages of 500 by default");
    for request in mock.requests() {
        assert!(
            request
                .query
                .as_deref()
                .unwrap_or_default()
                .contains("limit=500"),
            "{:?}",
            request.query
        );
    }
}

#[tokio::test]
async fn status_offset_and_server_filters_are_honoured() {
    let mock = MockServer::start().await;
    let all = seeded(&mock, 1_100);
    mock.advance_time(chrono::Duration::hours(2));
    mock.seed_sessions(
        40,
        SeedSessions::new()
            .workflow_id("wf_abc123")
            .status("VERIFIED"),
    )
    .unwrap();
    let sessions = client_for(&mock).sessions();

    let verified: Vec<String> = all
        .iter()
        .filter(|(_, s)| s == "VERIFIED")
        .map(|(id, _)| id.clone())
        .collect();
    let params = SessionListParams::new()
        .status(SessionStatus::Verified)
        .offset(10)
        .limit(200)
        .start_date("2000-01-01");
    let walked = collect(sessions.list_all(params)).await;
    let walked: Vec<String> = walked.into_iter().map(|s| s.unwrap().id).collect();
    // The 40 workflow sessions are newer, so they come first; then the seeded VERIFIED ones.
    assert_eq!(walked.len(), 40 + verified.len() - 10);
    assert_eq!(walked[30..], verified[..]);

    // An offset alone skips that many sessions, whatever their status, across pages.
    let newest_first: Vec<String> = collect(sessions.list_all(SessionListParams::new()))
        .await
        .into_iter()
        .map(|s| s.unwrap().id)
        .collect();
    let skipped = collect(sessions.list_all(SessionListParams::new().offset(520).limit(500))).await;
    let skipped: Vec<String> = skipped.into_iter().map(|s| s.unwrap().id).collect();
    assert_eq!(skipped, newest_first[520..]);

    let in_workflow =
        collect(sessions.list_all(SessionListParams::new().workflow_id("wf_abc123"))).await;
    assert_eq!(in_workflow.len(), 40);
    assert!(
        in_workflow
            .iter()
            .all(|s| s.as_ref().unwrap().workflow_id.as_deref() == Some("wf_abc123"))
    );
}

#[tokio::test]
async fn a_fault_mid_walk_is_retried() {
    let mock = MockServer::start().await;
    let expected: Vec<String> = seeded(&mock, 1_000).into_iter().map(|(id, _)| id).collect();
    let sessions = client_for(&mock).sessions();
    let mut stream = std::pin::pin!(sessions.list_all(SessionListParams::new().limit(100)));

    let mut ids = Vec::new();
    while let Some(session) = within(stream.next()).await {
        ids.push(session.unwrap().id);
        if ids.len() == 250 {
            mock.inject(Fault::status(503).on(MockOperation::ListSessions).times(2));
        }
    }
    assert_eq!(ids, expected);
    assert_eq!(list_requests(&mock), 10 + 2);
}

#[tokio::test]
async fn a_persistent_fault_is_yielded_once_and_ends_the_walk() {
    let mock = MockServer::start().await;
    seeded(&mock, 300);
    let client = Client::builder()
        .api_key(mock.api_key())
        .base_url(mock.url())
        .max_retries(0)
        .build()
        .unwrap();
    let mut stream = std::pin::pin!(
        client
            .sessions()
            .list_all(SessionListParams::new().limit(100))
    );

    let mut ok = 0;
    let mut errors = Vec::new();
    while let Some(item) = within(stream.next()).await {
        match item {
            Ok(_) => {
                ok += 1;
                if ok == 100 {
                    mock.inject(
                        Fault::status(500)
                            .on(MockOperation::ListSessions)
                            .times(100),
                    );
                }
            }
            Err(e) => errors.push(e),
        }
    }
    assert!((100..=200).contains(&ok), "{ok}");
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], Error::Api { .. }), "{:?}", errors[0]);
    assert!(within(stream.next()).await.is_none());
}

/// Waits (up to a generous 20 s) until `mock` has journaled `n` list requests; fails if it never
/// does. Synchronises on the mock's journal, never on a sleep.
async fn until_list_requests(mock: &MockServer, n: usize) {
    let started = Instant::now();
    while list_requests(mock) < n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} list requests after 20 s, expected {n}",
            list_requests(mock)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Watches `mock`'s journal for `window` and returns the most list requests seen. Used only after
/// the awaited requests arrived: it checks that no further one comes.
async fn most_list_requests_within(mock: &MockServer, window: Duration) -> usize {
    let started = Instant::now();
    let mut most = list_requests(mock);
    while started.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(10)).await;
        most = most.max(list_requests(mock));
    }
    most
}

#[tokio::test]
async fn dropping_the_stream_stops_the_requests() {
    let mock = MockServer::start().await;
    seeded(&mock, 1_000);
    let sessions = client_for(&mock).sessions();

    let first: Vec<Session> = within(
        sessions
            .list_all(SessionListParams::new().limit(50))
            .take(10)
            .map(Result::unwrap)
            .collect(),
    )
    .await;
    assert_eq!(first.len(), 10);
    // The first page was journaled before it was answered; the one fetched ahead may still be on
    // its way. Nothing polls the dropped stream, so nothing beyond those two can come.
    until_list_requests(&mock, 1).await;
    let most = most_list_requests_within(&mock, Duration::from_millis(500)).await;
    assert!(
        most <= 2,
        "the page in hand and at most one ahead, none after the drop: {most}"
    );
}

#[tokio::test]
async fn the_next_page_is_fetched_at_most_one_ahead() {
    let mock = MockServer::start().await;
    seeded(&mock, 1_000);
    let sessions = client_for(&mock).sessions();
    let mut stream = std::pin::pin!(sessions.list_all(SessionListParams::new().limit(100)));

    within(stream.next()).await.unwrap().unwrap();
    // While the caller holds page 1, page 2 is fetched, and nothing beyond it.
    until_list_requests(&mock, 2).await;
    assert_eq!(
        most_list_requests_within(&mock, Duration::from_millis(300)).await,
        2
    );
}

/// At most two pages are alive at any time: the one being drained and the one fetched ahead.
/// Pages alive = pages the server answered (the journal's statuses) − pages the caller has
/// drained (from the items consumed); checked after every item of a 1,000-session walk whose
/// caller works a millisecond per item, and at two points where the fetch ahead is awaited to see
/// that it is exactly one page.
#[tokio::test]
async fn list_all_holds_at_most_two_pages() {
    const PAGE: usize = 100;
    let mock = MockServer::start().await;
    let expected: Vec<String> = seeded(&mock, 1_000).into_iter().map(|(id, _)| id).collect();
    let sessions = client_for(&mock).sessions();
    let mut stream = sessions.list_all(SessionListParams::new().limit(PAGE as u32));
    let answered = |mock: &MockServer| {
        mock.requests()
            .iter()
            .filter(|r| r.operation == Some(MockOperation::ListSessions) && r.status.is_some())
            .count()
    };

    let mut consumed = 0;
    while let Some(session) = within(stream.next()).await {
        assert_eq!(session.unwrap().id, expected[consumed]);
        consumed += 1;
        // A caller does some work per session (1 ms here): time in which a stream that fetched
        // further ahead while polled would show it.
        tokio::time::sleep(Duration::from_millis(1)).await;
        // The page holding item `consumed` is still in hand; those before it are drained.
        let drained = (consumed - 1) / PAGE;
        let alive = answered(&mock) - drained;
        assert!(
            alive <= 2,
            "{alive} pages alive after {consumed} items: {:?}",
            stream
        );
        if consumed == 50 || consumed == 750 {
            // Mid-page: the page after this one arrives, and no other.
            let page = consumed / PAGE + 1;
            until_list_requests(&mock, page + 1).await;
            assert_eq!(
                most_list_requests_within(&mock, Duration::from_millis(200)).await,
                page + 1,
                "after {consumed} items"
            );
        }
    }
    assert_eq!(consumed, 1_000);
    assert_eq!(list_requests(&mock), 10);
}

#[tokio::test]
async fn invalid_params_are_an_error_and_nothing_is_sent() {
    let mock = MockServer::start().await;
    let sessions = client_for(&mock).sessions();
    let walked = collect(sessions.list_all(SessionListParams::new().limit(0))).await;
    assert_eq!(walked.len(), 1);
    assert!(matches!(&walked[0], Err(Error::Validation { field: Some(f), .. }) if f == "limit"));
    assert_eq!(list_requests(&mock), 0);
}

#[tokio::test]
async fn a_repeated_token_ends_the_walk_with_an_error() {
    let server = wiremock::MockServer::start().await;
    let page = |ids: &[&str], next: Option<&str>| {
        let sessions: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| crate::common::session_json(id, "PENDING"))
            .collect();
        serde_json::json!({ "sessions": sessions, "next_token": next })
    };
    crate::common::serve_pages(
        &server,
        [
            (None, page(&["a", "b"], Some("t1"))),
            (Some("t1"), page(&[], Some("t2"))),
            (Some("t2"), page(&["c"], Some("t1"))),
        ],
    )
    .await;

    let walked = collect(
        crate::common::client(&server)
            .sessions()
            .list_all(SessionListParams::new()),
    )
    .await;

    assert_eq!(walked.len(), 3);
    assert_eq!(walked[1].as_ref().unwrap().id, "b");
    assert!(
        matches!(&walked[2], Err(Error::Decode { .. })),
        "{:?}",
        walked[2]
    );
}

/// The common cases need neither `pin!` nor `StreamExt`: the stream's own `next` and
/// `try_collect`, and it is `Send + 'static` for a spawned task.
#[tokio::test]
async fn the_stream_has_next_and_try_collect_of_its_own() {
    let mock = MockServer::start().await;
    let expected: Vec<String> = seeded(&mock, 120).into_iter().map(|(id, _)| id).collect();
    let sessions = client_for(&mock).sessions();

    let mut stream: deepidv::SessionStream = sessions.list_all(SessionListParams::new().limit(50));
    let first = within(deepidv::SessionStream::next(&mut stream))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, expected[0]);

    let task = tokio::spawn(stream.try_collect());
    let rest: Vec<String> = within(task)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(rest, expected[1..]);

    let e = within(
        sessions
            .list_all(SessionListParams::new().limit(0))
            .try_collect(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Validation { .. }), "{e:?}");
}
