//! A 2xx body built to make the leaf-tolerant decoder work hard (every leaf of the published
//! record the wrong type, padded to 1 MiB) neither stalls the runtime nor outlives the call's
//! deadline, and logs one WARN, not one per value. Before (issue 20): the decoder decoded the
//! whole body again after every removal, synchronously on the async worker; such a body took
//! seconds to minutes, and a 10 ms timer on the same runtime did not tick.
//!
//! A binary of its own: these decodes keep both cores busy for a while, which must not stretch
//! the timing bounds of the tests beside them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use deepidv::Error;
use deepidv_mock::{Fault, MockOperation, MockServer};
use serde_json::Value;
use tokio::time::Instant;

/// A client with test-friendly settings for `mock`.
fn builder(mock: &MockServer) -> deepidv::ClientBuilder {
    deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
}

/// deepidv-mock answering every list request with `body`.
async fn answering_list_with(body: String) -> MockServer {
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(200)
            .body("application/json", body)
            .on(MockOperation::ListSessions),
    );
    mock
}

/// A list page of `rows` copies of the published record, ids `s-0`, `s-1`, ..., each changed by
/// `edit` (given its row).
fn page_of_records(rows: usize, edit: impl Fn(usize, &mut Value)) -> String {
    let record: Value =
        serde_json::from_str(include_str!("fixtures/retrieve-session.response.json")).unwrap();
    let sessions: Vec<Value> = (0..rows)
        .map(|row| {
            let mut copy = record["session_record"].clone();
            copy["id"] = format!("s-{row}").into();
            edit(row, &mut copy);
            copy
        })
        .collect();
    serde_json::json!({"sessions": sessions, "next_token": null}).to_string()
}

/// Turns leaves of `value` to the wrong JSON type (strings become numbers, numbers and booleans
/// strings), except the record's `id` and `status`: the leaves whose position in document order
/// is `row` modulo `rows`, so that each row has other fields broken.
fn some_leaves_the_wrong_type(
    value: &mut Value,
    key: Option<&str>,
    seen: &mut usize,
    row: usize,
    rows: usize,
) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                some_leaves_the_wrong_type(member, Some(name), seen, row, rows);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| some_leaves_the_wrong_type(item, None, seen, row, rows)),
        _ if matches!(key, Some("id" | "status")) => {}
        Value::Null => {}
        _ => {
            *seen += 1;
            if *seen % rows != row {
                return;
            }
            *value = match value {
                Value::String(_) => Value::from(12_345),
                _ => Value::from("text"),
            };
        }
    }
}

/// A list page of about `size` bytes: copies of the published 18 KB record, each with other
/// leaves of the wrong type, so that no two rows fail alike and nothing can be left out in bulk.
fn hostile_page(size: usize) -> String {
    let record: Value =
        serde_json::from_str(include_str!("fixtures/retrieve-session.response.json")).unwrap();
    let rows = size / record["session_record"].to_string().len();
    page_of_records(rows, |row, copy| {
        some_leaves_the_wrong_type(copy, None, &mut 0, row, rows);
    })
}

#[tokio::test]
async fn a_hostile_body_neither_stalls_the_runtime_nor_outlives_the_deadline() {
    let body = hostile_page(1024 * 1024);
    assert!(body.len() > 900_000, "{}", body.len());
    let mock = answering_list_with(body).await;
    let sessions = builder(&mock)
        .total_timeout(Duration::from_secs(5))
        .max_response_bytes(4 * 1024 * 1024)
        .build()
        .unwrap()
        .sessions();
    // A 10 ms ticker on this (current-thread) runtime.
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = {
        let ticks = Arc::clone(&ticks);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(10));
            loop {
                interval.tick().await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let started = Instant::now();
    let outcome = sessions.list(deepidv::SessionListParams::new()).await;
    let took = started.elapsed();
    ticker.abort();

    let ticked = ticks.load(Ordering::Relaxed);
    // Generous for two shared cores: the decode runs beside the ticker, not in its way.
    assert!(
        ticked as u128 >= took.as_millis() / 10 / 4,
        "{ticked} ticks in {took:?}"
    );
    assert!(
        took < Duration::from_secs(5) + Duration::from_secs(2),
        "took {took:?}"
    );
    // Given up within its passes (or its deadline): never a hang, never a panic.
    assert!(
        matches!(outcome, Err(Error::Decode { .. } | Error::Timeout { .. })),
        "{outcome:?}"
    );
}

/// A deadline shorter than the decode ends the call on time, with `Error::Timeout`.
#[tokio::test]
async fn a_total_timeout_ends_a_hostile_decode_on_time() {
    let body = hostile_page(4 * 1024 * 1024);
    let mock = answering_list_with(body).await;
    let total = Duration::from_millis(1_500);
    let sessions = builder(&mock)
        .total_timeout(total)
        .max_response_bytes(16 * 1024 * 1024)
        .build()
        .unwrap()
        .sessions();

    let started = Instant::now();
    let outcome = sessions.list(deepidv::SessionListParams::new()).await;
    let took = started.elapsed();

    assert!(took < total + Duration::from_secs(2), "took {took:?}");
    assert!(
        matches!(
            outcome,
            Err(Error::Timeout { .. }) | Err(Error::Decode { .. })
        ),
        "{outcome:?}"
    );
}

/// The realistic case the bulk removal is for: one field changed its JSON type in every row of a
/// large page. Every row keeps its other values; one pass leaves the field out everywhere.
#[tokio::test]
async fn one_field_of_the_wrong_type_in_every_row_is_left_out_in_one_pass() {
    let body = page_of_records(200, |_, copy| {
        copy["analysis_data"]["faceliveness_score"] = "high".into();
    });
    let mock = answering_list_with(body).await;
    let sessions = builder(&mock)
        .max_response_bytes(16 * 1024 * 1024)
        .build()
        .unwrap()
        .sessions();

    let page = sessions
        .list(deepidv::SessionListParams::new().limit(200))
        .await
        .unwrap();

    assert_eq!(page.data.len(), 200);
    assert_eq!(page.unreadable.len(), 200);
    for (row, lost) in page.unreadable.iter().enumerate() {
        assert_eq!(
            lost.path,
            format!("$.sessions[{row}].analysis_data.faceliveness_score")
        );
        assert_eq!(
            lost.session_id.as_deref(),
            Some(format!("s-{row}").as_str())
        );
    }
    assert!(page.data.iter().all(|s| {
        s.analysis_data
            .as_ref()
            .is_some_and(|a| a.id_analysis_data.is_some() && a.faceliveness_score.is_none())
    }));
}

/// A valid page of 8 MiB (the published record, 700 times) is decoded on a blocking thread: a
/// 10 ms ticker on this current-thread runtime never waits for the decode. Before, the generated
/// code decoded it inline, and the ticker stood still for the whole decode.
#[tokio::test]
async fn a_large_valid_page_is_decoded_off_the_runtime() {
    let rows = 700;
    let body = page_of_records(rows, |_, _| {});
    assert!(body.len() > 7 * 1024 * 1024, "{}", body.len());
    let mock = answering_list_with(body).await;
    let sessions = builder(&mock).build().unwrap().sessions();
    // The longest wait between two ticks of a 10 ms ticker on this runtime.
    let longest_gap = Arc::new(AtomicU64::new(0));
    let ticker = {
        let longest_gap = Arc::clone(&longest_gap);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(10));
            interval.tick().await;
            let mut last = Instant::now();
            loop {
                interval.tick().await;
                let gap = last.elapsed().as_millis() as u64;
                longest_gap.fetch_max(gap, Ordering::Relaxed);
                last = Instant::now();
            }
        })
    };
    // Let the ticker start before the call.
    tokio::time::sleep(Duration::from_millis(30)).await;

    let started = Instant::now();
    let page = sessions
        .list(deepidv::SessionListParams::new().limit(500))
        .await
        .unwrap();
    let took = started.elapsed();
    // Let the ticker see the end of a stall, if there was one.
    tokio::time::sleep(Duration::from_millis(30)).await;
    ticker.abort();

    assert_eq!(page.data.len(), rows);
    assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
    assert_eq!(page.data[rows - 1].id, format!("s-{}", rows - 1));
    let longest_gap = longest_gap.load(Ordering::Relaxed);
    // Generous for two shared cores. Decoded inline (debug build), this page stalled the ticker
    // for 296 ms of a 296 ms call; off the runtime its longest wait was 10 ms of 332 ms.
    assert!(
        Duration::from_millis(longest_gap) < took / 2,
        "the ticker waited {longest_gap} ms at once during a {took:?} call"
    );
}
