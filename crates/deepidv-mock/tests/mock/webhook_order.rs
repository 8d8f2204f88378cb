//! Webhook delivery order and duplicates (in order and once by default; out of order and twice
//! as options, drawn from the seed), and the loopback-only rule for plain-HTTP endpoints.

use std::time::Duration;

use deepidv_mock::{MockBuilder, MockServer, WebhookDelivery};

use crate::{
    common::*,
    receiver::{Receiver, WAIT},
};

/// The events of one session's life, in the order they happen: created, submitted, failed,
/// verified, rejected.
const LIFE: [&str; 5] = [
    "session.created",
    "session.status.submitted",
    "session.status.failed",
    "session.status.verified",
    "session.status.rejected",
];

async fn decide(mock: &MockServer, id: &str, status: &str) {
    let answer = live(
        mock,
        "PATCH",
        &format!("/v1/sessions/{id}/update-status"),
        Some(&format!(r#"{{"new_status":"{status}"}}"#)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// Runs one session through [`LIFE`] on a mock built from `builder` with a receiver; returns the
/// events in the order the receiver got them, and the journal.
async fn one_life(builder: MockBuilder, expected: usize) -> (Vec<String>, Vec<WebhookDelivery>) {
    let mut receiver = Receiver::start("/order", vec![]).await;
    let mock = builder
        .webhook(&receiver.url, "whsec_order")
        .start()
        .await
        .unwrap();
    let id = create(&mock, CREATE).await;
    mock.submit(&id).unwrap();
    mock.fail(&id).unwrap();
    decide(&mock, &id, "VERIFIED").await;
    decide(&mock, &id, "REJECTED").await;
    let mut got = Vec::new();
    for _ in 0..expected {
        let received = receiver.next().await;
        assert_eq!(received.header("deepidv-signature"), Some("whsec_order"));
        assert_eq!(received.body["data"]["id"], id);
        got.push(received.event().to_owned());
    }
    let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();
    assert!(receiver.try_next().is_none(), "nothing more arrives");
    (got, journal)
}

#[tokio::test]
async fn by_default_one_sessions_events_arrive_in_order_and_once() {
    let (got, journal) = one_life(MockServer::builder(), LIFE.len()).await;
    assert_eq!(got, LIFE);
    assert_eq!(journal.len(), LIFE.len());
    assert!(journal.iter().all(|d| !d.duplicate && d.delivered));
    let numbers: Vec<u64> = journal.iter().map(|d| d.delivery).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn out_of_order_deliveries_arrive_in_an_order_the_seed_fixes() {
    let builder = || {
        MockServer::builder()
            .seed(11)
            .webhook_out_of_order(Duration::from_secs(3))
    };
    // Seed 11 draws holds of 1283, 807, 2143, 624 and 2836 ms for the five events: at least
    // 183 ms apart, wide against the few milliseconds between the events themselves.
    let (first, journal) = one_life(builder(), LIFE.len()).await;
    let mut sorted = first.clone();
    sorted.sort_by_key(|event| LIFE.iter().position(|e| e == event));
    assert_eq!(sorted, LIFE, "every event once");
    assert_ne!(first, LIFE, "seed 11 holds them back out of order");
    assert!(journal.iter().all(|d| !d.duplicate && d.delivered));
    // Journaled as they finished, so out of their numbers' order too.
    let numbers: Vec<u64> = journal.iter().map(|d| d.delivery).collect();
    assert_ne!(numbers, [1, 2, 3, 4, 5]);

    // The same seed draws the same holds: the same order again.
    let (again, _) = one_life(builder(), LIFE.len()).await;
    assert_eq!(again, first);
}

#[tokio::test]
async fn duplicates_send_every_event_twice_the_copy_after_the_original() {
    let (got, journal) = one_life(MockServer::builder().webhook_duplicates(1.0), 10).await;
    let twice: Vec<&str> = LIFE.iter().flat_map(|e| [*e, *e]).collect();
    assert_eq!(got, twice);
    assert_eq!(journal.len(), 10);
    for pair in journal.chunks(2) {
        assert_eq!(pair[0].event, pair[1].event);
        assert!(!pair[0].duplicate && pair[1].duplicate, "{pair:?}");
        assert_eq!(
            pair[1].delivery,
            pair[0].delivery + 1,
            "a delivery of its own"
        );
    }
}

#[tokio::test]
async fn duplicates_with_a_probability_are_drawn_from_the_seed() {
    let run = |seed: u64| async move {
        let mut receiver = Receiver::start("/dupes", vec![]).await;
        let mock = MockServer::builder()
            .seed(seed)
            .webhook(&receiver.url, "whsec_dupes")
            .webhook_duplicates(0.5)
            .start()
            .await
            .unwrap();
        for _ in 0..20 {
            create(&mock, CREATE).await;
        }
        let journal = mock.wait_for_webhooks_idle(WAIT).await.unwrap();
        let mut duplicated: Vec<usize> = journal
            .iter()
            .filter(|d| d.duplicate)
            .map(|d| d.delivery as usize)
            .collect();
        duplicated.sort_unstable();
        let received = std::iter::from_fn(|| receiver.try_next()).count();
        assert_eq!(received, journal.len(), "every delivery arrived");
        assert_eq!(journal.len(), 20 + duplicated.len());
        duplicated
    };
    let first = run(3).await;
    assert!(
        !first.is_empty() && first.len() < 20,
        "some events twice, not all: {first:?}"
    );
    assert_eq!(run(3).await, first, "the same seed, the same duplicates");
}

#[tokio::test]
async fn out_of_order_and_duplicates_together_still_deliver_everything() {
    let builder = MockServer::builder()
        .webhook_out_of_order(Duration::from_millis(200))
        .webhook_duplicates(1.0);
    let (got, journal) = one_life(builder, 10).await;
    for event in LIFE {
        assert_eq!(got.iter().filter(|e| *e == event).count(), 2, "{event}");
    }
    assert_eq!(journal.iter().filter(|d| d.duplicate).count(), 5);
}

#[tokio::test]
async fn a_plain_http_webhook_off_loopback_is_refused_at_start() {
    for url in [
        "http://192.0.2.7:8080/hooks",
        "http://example.com/hooks",
        "http://10.0.0.1/",
        "http://[2001:db8::1]/hooks",
        "http://localhost.example.com/",
    ] {
        let error = MockServer::builder()
            .webhook(url, "whsec_x")
            .start()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!(
                "webhook URL {url:?} (MockBuilder::webhook, --webhook-url)"
            )),
            "{url}: {error}"
        );
        assert!(error.contains("not loopback"), "{url}: {error}");
        assert!(
            !error.contains("whsec_x"),
            "the secret is not repeated: {error}"
        );
    }
}

#[tokio::test]
async fn loopback_hosts_by_name_and_address_are_delivered_to() {
    let mut receiver = Receiver::start("/lo", vec![]).await;
    let port = receiver.url.trim_start_matches("http://127.0.0.1:");
    let by_name = format!("http://localhost:{port}");
    let mock = MockServer::builder()
        .webhook(&receiver.url, "whsec_address")
        .webhook(&by_name, "whsec_name")
        .start()
        .await
        .unwrap();
    create(&mock, CREATE).await;
    let mut secrets = vec![
        receiver
            .next()
            .await
            .header("deepidv-signature")
            .map(str::to_owned),
        receiver
            .next()
            .await
            .header("deepidv-signature")
            .map(str::to_owned),
    ];
    secrets.sort();
    assert_eq!(
        secrets,
        [
            Some("whsec_address".to_owned()),
            Some("whsec_name".to_owned())
        ]
    );
    // Another address in 127.0.0.0/8 and ::1 are loopback too (nothing listens there: the
    // attempts fail, but start accepts them).
    MockServer::builder()
        .webhook("http://127.8.9.10:9/hooks", "whsec_x")
        .webhook("http://[::1]:9/hooks", "whsec_x")
        .start()
        .await
        .unwrap();
}
