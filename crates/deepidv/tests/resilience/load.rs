//! 10,000 calls at 200 at a time through one client, with 10% of answers faulted.

use std::time::Duration;

use deepidv::SessionListParams;
use deepidv_mock::{Fault, MockServer, SeedSessions};

use crate::builder;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_calls_all_complete() {
    let mock = MockServer::builder().seed(11).start().await.unwrap();
    let ids = mock
        .seed_sessions(100, SeedSessions::new().status("SUBMITTED"))
        .unwrap();
    // About 10% of all requests fail: half 503s, half dropped connections.
    mock.inject(Fault::status(503).probability(0.05).times(u32::MAX));
    mock.inject(Fault::drop_connection().probability(0.05).times(u32::MAX));
    let client = builder(&mock)
        .timeout(Duration::from_secs(10))
        .max_retries(3)
        .build()
        .unwrap();

    const CALLS: usize = 10_000;
    const CONCURRENCY: usize = 200;
    let work = async {
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..CONCURRENCY {
            let sessions = client.sessions();
            let ids = ids.clone();
            tasks.spawn(async move {
                let (mut ok, mut failed) = (0, 0);
                for call in (worker..CALLS).step_by(CONCURRENCY) {
                    let outcome = if call % 10 == 0 {
                        sessions
                            .list(SessionListParams::new().limit(10))
                            .await
                            .map(drop)
                    } else {
                        sessions.retrieve(&ids[call % ids.len()]).await.map(drop)
                    };
                    match outcome {
                        Ok(()) => ok += 1,
                        Err(e) => {
                            assert!(
                                matches!(
                                    e,
                                    deepidv::Error::Api { .. } | deepidv::Error::Network { .. }
                                ),
                                "{e:?}"
                            );
                            failed += 1;
                        }
                    }
                }
                (ok, failed)
            });
        }
        tasks.join_all().await
    };
    let results = tokio::time::timeout(Duration::from_secs(120), work)
        .await
        .expect("the load test finished within 120 s");

    let ok: usize = results.iter().map(|r| r.0).sum();
    let failed: usize = results.iter().map(|r| r.1).sum();
    assert_eq!(ok + failed, CALLS, "every call completed");
    // With four attempts at 10% failure, about 1 call in 10,000 fails for good.
    assert!(failed < 20, "{failed} calls failed after retries");
    // Every request beyond one per call is a retry of a faulted attempt; about 10% of all
    // requests are faulted, and each final failure used all four attempts.
    let requests = usize::try_from(mock.request_count()).unwrap();
    let retries = requests - CALLS;
    let faulted_share = (retries + failed) as f64 / requests as f64;
    assert!(
        (0.05..0.16).contains(&faulted_share),
        "{retries} retries over {requests} requests"
    );
    eprintln!("load: {ok} ok, {failed} failed, {requests} requests, {retries} retries");
}
