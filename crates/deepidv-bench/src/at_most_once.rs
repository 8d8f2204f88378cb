//! `cargo xtask bench --at-most-once`: what `create_once`'s look before creating costs, and what
//! the leaf-tolerant decoder costs on hostile and large bodies, against deepidv-mock on loopback.
//!
//! - `create_once` against `create`: requests per call (from the mock's journal) and time per call,
//!   sequentially, with the client's rate limit off.
//! - Decoding: a list page whose every row has other leaves of the wrong JSON type (1 MiB and
//!   16 MiB), and a valid 16 MiB page, each timed through `Sessions::list` on a current-thread
//!   runtime while a 10 ms ticker runs on it (ticks counted); and the 16 MiB hostile page under a
//!   1 s total timeout.

use std::time::{Duration, Instant};

use deepidv::{SessionCreateInput, SessionListParams};
use deepidv_mock::{Fault, MockOperation, MockServer};
use serde_json::Value;

const CALLS: usize = 300;

pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    create_once_cost().await?;
    decode_figures().await?;
    Ok(())
}

async fn create_once_cost() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::start().await;
    let sessions = deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .build()?
        .sessions();
    let input = |n: usize| {
        SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890")
            .external_id(format!("bench-{n}"))
    };
    for round in 0..3 {
        let before = mock.request_count();
        let started = Instant::now();
        for n in 0..CALLS {
            sessions.create(input(round * 10 * CALLS + n)).await?;
        }
        let create = started.elapsed() / CALLS as u32;
        let create_requests = (mock.request_count() - before) as f64 / CALLS as f64;

        let before = mock.request_count();
        let started = Instant::now();
        for n in 0..CALLS {
            sessions
                .create_once(input(round * 10 * CALLS + CALLS + n))
                .await?;
        }
        let once = started.elapsed() / CALLS as u32;
        let once_requests = (mock.request_count() - before) as f64 / CALLS as f64;
        println!(
            "bench create_once round={round} sessions_in_mock={} create_us={} create_requests={create_requests:.2} create_once_us={} create_once_requests={once_requests:.2}",
            mock.session_count(),
            create.as_micros(),
            once.as_micros(),
        );
    }
    Ok(())
}

async fn decode_figures() -> Result<(), Box<dyn std::error::Error>> {
    let record: Value = serde_json::from_str(super::RETRIEVE)?;
    let record = record["session_record"].clone();
    let cases = [
        ("hostile_1MiB", hostile_page(&record, 1 << 20), None),
        ("hostile_16MiB", hostile_page(&record, 16 << 20), None),
        ("valid_16MiB", valid_page(&record, 16 << 20), None),
        (
            "hostile_16MiB_total_timeout_1s",
            hostile_page(&record, 16 << 20),
            Some(Duration::from_secs(1)),
        ),
    ];
    for (name, body, total_timeout) in cases {
        let mock = MockServer::start().await;
        mock.inject(
            Fault::status(200)
                .body("application/json", body.clone())
                .on(MockOperation::ListSessions),
        );
        let mut builder = deepidv::testing::builder()
            .base_url(mock.url())
            .api_key(mock.api_key())
            .max_response_bytes(32 << 20);
        if let Some(total) = total_timeout {
            builder = builder.total_timeout(total);
        }
        let sessions = builder.build()?.sessions();
        // The client on a current-thread runtime of its own, beside a 10 ms ticker.
        let (took, ticks, outcome) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
                let ticker = {
                    let ticks = ticks.clone();
                    tokio::spawn(async move {
                        let mut interval = tokio::time::interval(Duration::from_millis(10));
                        loop {
                            interval.tick().await;
                            ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    })
                };
                let started = Instant::now();
                let outcome = sessions.list(SessionListParams::new()).await;
                let took = started.elapsed();
                ticker.abort();
                let outcome = match outcome {
                    Ok(page) => format!(
                        "ok rows={} unreadable={}",
                        page.data.len(),
                        page.unreadable.len()
                    ),
                    Err(e) => format!(
                        "error {}",
                        e.to_string().chars().take(120).collect::<String>()
                    ),
                };
                Ok::<_, String>((
                    took,
                    ticks.load(std::sync::atomic::Ordering::Relaxed),
                    outcome,
                ))
            })
        })
        .join()
        .map_err(|_| "the client thread panicked")??;
        println!(
            "bench decode case={name} body_bytes={} took_ms={} ticks_10ms={ticks} outcome=\"{outcome}\"",
            body.len(),
            took.as_millis(),
        );
    }
    Ok(())
}

/// Copies of the record to about `size` bytes, with row `i`'s leaves of the wrong JSON type
/// being those at positions `i` modulo the number of rows: no two rows fail alike.
fn hostile_page(record: &Value, size: usize) -> String {
    let rows = size / record.to_string().len();
    let sessions: Vec<Value> = (0..rows)
        .map(|row| {
            let mut copy = record.clone();
            break_leaves(&mut copy, None, &mut 0, row, rows);
            copy["id"] = format!("s-{row}").into();
            copy
        })
        .collect();
    serde_json::json!({"sessions": sessions, "next_token": null}).to_string()
}

fn valid_page(record: &Value, size: usize) -> String {
    let rows = size / record.to_string().len();
    let sessions: Vec<Value> = (0..rows)
        .map(|row| {
            let mut copy = record.clone();
            copy["id"] = format!("s-{row}").into();
            copy
        })
        .collect();
    serde_json::json!({"sessions": sessions, "next_token": null}).to_string()
}

fn break_leaves(value: &mut Value, key: Option<&str>, seen: &mut usize, row: usize, rows: usize) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                break_leaves(member, Some(name), seen, row, rows);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| break_leaves(item, None, seen, row, rows)),
        _ if matches!(key, Some("id" | "status")) => {}
        Value::Null => {}
        _ => {
            *seen += 1;
            if *seen % rows == row {
                *value = match value {
                    Value::String(_) => Value::from(12_345),
                    _ => Value::from("text"),
                };
            }
        }
    }
}
