//! A 2xx body built to make the leaf-tolerant decoder work hard (every leaf of the published
//! record the wrong type, padded to 1 MiB) neither stalls the runtime nor outlives the call's
//! deadline, and logs one WARN, not one per value. Before (issue 20): the decoder decoded the
//! whole body again after every removal, synchronously on the async worker; such a body took
//! seconds to minutes, and a 10 ms timer on the same runtime did not tick.

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

use crate::builder;

/// Every leaf of `value` the wrong JSON type (strings become numbers, numbers and booleans
/// strings), except the record's `id` and `status`.
fn every_leaf_the_wrong_type(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                every_leaf_the_wrong_type(member, Some(name));
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| every_leaf_the_wrong_type(item, None)),
        _ if matches!(key, Some("id" | "status")) => {}
        Value::String(_) => *value = Value::from(12_345),
        Value::Number(_) | Value::Bool(_) => *value = Value::from("text"),
        Value::Null => {}
    }
}

/// The published 18 KB record with every leaf the wrong type, padded to `size` bytes with an
/// array of valid sessions' worth of strings the decoder must walk.
fn hostile_record(size: usize) -> String {
    let mut body: Value =
        serde_json::from_str(include_str!("../fixtures/retrieve-session.response.json")).unwrap();
    every_leaf_the_wrong_type(&mut body["session_record"], None);
    body["session_record"]["id"] = "s-hostile".into();
    body["session_record"]["status"] = "SUBMITTED".into();
    let used = body.to_string().len();
    body["padding"] = Value::from(vec!["x".repeat(1_000); size.saturating_sub(used) / 1_004]);
    body.to_string()
}

#[tokio::test]
async fn a_hostile_body_neither_stalls_the_runtime_nor_outlives_the_deadline() {
    let body = hostile_record(1024 * 1024);
    assert!(body.len() > 1_000_000, "{}", body.len());
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(200)
            .body("application/json", body)
            .on(MockOperation::RetrieveSession),
    );
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
    let outcome = sessions.retrieve("s-hostile").await;
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
    match outcome {
        // Either it decoded (what could not be read left out) or it gave up within its passes
        // or its deadline: never a hang, never a panic.
        Ok(found) => assert_eq!(found.session_record.id, "s-hostile"),
        Err(e) => assert!(
            matches!(e, Error::Decode { .. } | Error::Timeout { .. }),
            "{e:?}"
        ),
    }
}

/// A deadline shorter than the decode ends the call on time, with `Error::Timeout`.
#[tokio::test]
async fn a_total_timeout_ends_a_hostile_decode_on_time() {
    let body = hostile_record(8 * 1024 * 1024);
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(200)
            .body("application/json", body)
            .on(MockOperation::RetrieveSession),
    );
    let total = Duration::from_millis(300);
    let sessions = builder(&mock)
        .total_timeout(total)
        .max_response_bytes(16 * 1024 * 1024)
        .build()
        .unwrap()
        .sessions();

    let started = Instant::now();
    let outcome = sessions.retrieve("s-hostile").await;
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
