//! `create_once`'s fleet lock as a lease, against a real redis-server: renewed while its call
//! runs, given up before the next attempt when it cannot be renewed, never abandoned by a waiter
//! that saw it held, never left behind under a token nobody holds, and fenced; and the shared
//! bucket through Redis stalls. A binary of its own: its stalls log outages, which the `fleet`
//! binary's log-counting tests must not see.

#[path = "../fleet/redis_server.rs"]
mod redis_server;

use std::time::{Duration, Instant};

use deepidv::{CreateOutcome, Error, SessionCreateInput, Sessions};
use deepidv_mock::{Fault, MockOperation, MockServer};
use redis_server::RedisServer;

fn applicant(external_id: &str) -> SessionCreateInput {
    SessionCreateInput::new("Jane", "Smith", "jane@example.com", "+14165557890")
        .external_id(external_id)
}

/// How many requests for `operation` the mock received.
fn sent(mock: &MockServer, operation: MockOperation) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

/// A replica with `timeout` per attempt, 3 retries, and `lease`.
fn leased(mock: &MockServer, redis: &RedisServer, timeout: Duration, lease: Duration) -> Sessions {
    deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .timeout(timeout)
        .max_retries(3)
        .redis(redis.url())
        .redis_timeout(Duration::from_millis(100))
        .redis_lock_lease(lease)
        .build()
        .unwrap()
        .sessions()
}

/// `CLIENT PAUSE` for `pause`: Redis holds every client's commands (a BGSAVE fork, an fsync, a
/// failover), then runs them.
fn pause(redis: &RedisServer, pause: Duration) {
    redis
        .command(&["CLIENT", "PAUSE", &pause.as_millis().to_string(), "ALL"])
        .unwrap();
}

/// The case, scaled down: a create answered 429 with `Retry-After` three times runs
/// three times longer than the lease. The holder renews it, so the second replica waits and
/// returns the session: one session. (Before: a fixed TTL shorter than the call let the second
/// replica in while the first still retried, and both created.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_longer_than_the_lease_keeps_its_lock() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    mock.inject(
        Fault::status(429)
            .header("retry-after", "1")
            .on(MockOperation::CreateSession)
            .times(3),
    );
    let lease = Duration::from_secs(2);
    let a = leased(&mock, &redis, Duration::from_secs(1), lease);
    let b = leased(&mock, &redis, Duration::from_secs(1), lease);

    let first = tokio::spawn(async move { a.create_once(applicant("lease-1")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = tokio::spawn(async move { b.create_once(applicant("lease-1")).await });
    // Past the first lease: the lock is still there, renewed.
    tokio::time::sleep(lease + Duration::from_millis(500)).await;
    let lock = redis.keys("deepidv:*:lock");
    assert_eq!(lock.len(), 1, "the lock outlived its first lease: {lock:?}");

    let first = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(30), second)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, CreateOutcome::Created(_)), "{first:?}");
    assert!(
        matches!(&second, CreateOutcome::Existing(found) if found.id == first.session_id()),
        "{second:?}"
    );
    assert_eq!(mock.session_count(), 1, "one session");
    assert_eq!(
        sent(&mock, MockOperation::CreateSession),
        4,
        "3 refused, 1 made"
    );
}

/// A holder that cannot renew its lease stops before its next attempt with
/// `Error::Coordination`, and sends nothing more: when Redis restarts empty (the lock is gone:
/// another replica could take it) and when Redis stalls past half the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_cannot_renew_stops_before_its_next_attempt() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    for (case, external_id) in ["restarted", "stalled"]
        .into_iter()
        .zip(["renew-1", "renew-2"])
    {
        let mock = MockServer::start().await;
        // Every create is refused for 2 s: the second attempt comes after the lease's middle.
        mock.inject(
            Fault::status(429)
                .header("retry-after", "2")
                .on(MockOperation::CreateSession)
                .times(100),
        );
        let sessions = leased(
            &mock,
            &redis,
            Duration::from_secs(1),
            Duration::from_secs(2),
        );
        let call = tokio::spawn(async move { sessions.create_once(applicant(external_id)).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sent(&mock, MockOperation::CreateSession), 1, "{case}");
        match case {
            "restarted" => redis.restart(),
            _ => pause(&redis, Duration::from_secs(3)),
        }

        let e = tokio::time::timeout(Duration::from_secs(30), call)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();

        assert!(matches!(e, Error::Coordination { .. }), "{case}: {e:?}");
        assert_eq!(
            sent(&mock, MockOperation::CreateSession),
            1,
            "{case}: nothing sent after the lease could not be renewed"
        );
        assert_eq!(mock.session_count(), 0, "{case}");
    }
}

/// The stall: a replica waiting for another's lock sees one reply slower than
/// `redis_timeout` (a `CLIENT PAUSE`). It keeps waiting instead of falling back to its own
/// single-flight, and returns the session the holder made: one create, one session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_saw_the_lock_held_never_falls_open() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    // The holder's create is answered after 1.5 s (the mock creates then).
    mock.inject(Fault::delay(Duration::from_millis(1_500)).on(MockOperation::CreateSession));
    let lease = Duration::from_secs(4);
    let a = leased(&mock, &redis, Duration::from_secs(2), lease);
    let b = leased(&mock, &redis, Duration::from_secs(2), lease);

    let holder = tokio::spawn(async move { a.create_once(applicant("stall-1")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiter = tokio::spawn(async move { b.create_once(applicant("stall-1")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Eight of the waiter's 100 ms timeouts in a row.
    pause(&redis, Duration::from_millis(800));

    let holder = tokio::time::timeout(Duration::from_secs(30), holder)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let waiter = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(holder, CreateOutcome::Created(_)), "{holder:?}");
    assert!(
        matches!(&waiter, CreateOutcome::Existing(found) if found.id == holder.session_id()),
        "{waiter:?}"
    );
    assert_eq!(sent(&mock, MockOperation::CreateSession), 1, "one create");
    assert_eq!(mock.session_count(), 1, "one session");
}

/// A `SET NX` whose answer is lost (the client gave up after `redis_timeout`; Redis ran it when
/// the pause ended) leaves the lock under a token nobody holds. It is deleted in the background,
/// so the next replica's `create_once` does not wait out the lease (30 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_whose_answer_was_lost_is_deleted_in_the_background() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let lease = Duration::from_secs(30);
    let a = leased(&mock, &redis, Duration::from_secs(2), lease);
    let b = leased(&mock, &redis, Duration::from_secs(2), lease);
    // Connected first, so that the lock's command reaches Redis and waits there.
    a.create_once(applicant("warm-up")).await.unwrap();

    pause(&redis, Duration::from_millis(700));
    let outcome = a.create_once(applicant("orphan-1")).await.unwrap();
    assert!(
        matches!(outcome, CreateOutcome::Created(_)),
        "Redis never answered this call: it went on alone: {outcome:?}"
    );

    let started = Instant::now();
    let next = tokio::time::timeout(
        Duration::from_secs(10),
        b.create_once(applicant("orphan-1")),
    )
    .await
    .expect("the next replica waited for a lock nobody holds")
    .unwrap();
    assert!(
        matches!(&next, CreateOutcome::Existing(found) if found.id == outcome.session_id()),
        "{next:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(redis.keys("deepidv:*:lock"), Vec::<String>::new());
    assert_eq!(mock.session_count(), 2, "warm-up and orphan-1");
    // Once Redis answered the clean-up, it stops: no script runs while nothing is called.
    let scripts_run = || -> u64 {
        let stats: String =
            redis::from_redis_value(redis.command(&["INFO", "commandstats"]).unwrap()).unwrap();
        stats
            .lines()
            .filter(|line| line.starts_with("cmdstat_eval"))
            .filter_map(|line| {
                line.split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    };
    // The pause is over and the clean-ups' last tries (sent while it lasted) have run.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = scripts_run();
    // Longer than the longest pause between two tries (2 s).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        scripts_run(),
        before,
        "a clean-up kept running after it was done"
    );
}

/// Fencing: a holder whose lock was taken over (its lease ran out and another replica holds it
/// now) cannot overwrite the record, and its release leaves the other's lock alone. The record
/// carries the holder's token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_lost_its_lock_cannot_overwrite_the_record() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    mock.inject(Fault::delay(Duration::from_secs(1)).on(MockOperation::CreateSession));
    let a = leased(
        &mock,
        &redis,
        Duration::from_secs(2),
        Duration::from_secs(30),
    );

    let call = tokio::spawn(async move { a.create_once(applicant("fence-1")).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let lock = redis.keys("deepidv:*:lock");
    assert_eq!(lock.len(), 1, "{lock:?}");
    let record = redis.keys("deepidv:*:record");
    assert_eq!(record.len(), 1, "{record:?}");
    let get = |key: &str| -> Option<String> {
        redis::from_redis_value(redis.command(&["GET", key]).unwrap()).unwrap()
    };
    let holder_token = get(&lock[0]).unwrap();
    assert_eq!(
        get(&record[0]).as_deref(),
        Some(format!("{holder_token}|maybe").as_str()),
        "the record carries its writer's token"
    );
    // Another replica holds the lock now.
    redis
        .command(&["SET", &lock[0], "another-holder", "PX", "30000"])
        .unwrap();

    let outcome = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(
        get(&record[0]).as_deref(),
        Some(format!("{holder_token}|maybe").as_str()),
        "the stale holder's outcome was not written"
    );
    assert_eq!(get(&lock[0]).as_deref(), Some("another-holder"));
}

/// One reply slower than `redis_timeout` (a 300 ms pause) fails only the calls it delays: the
/// next call, right after, uses Redis again (it takes its turn from the shared bucket) instead
/// of every call in the process skipping Redis for a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slow_reply_does_not_make_the_next_call_skip_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let sessions = deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .rate_limit(Some(deepidv::RateLimit::per_second(1_000)))
        .redis(redis.url())
        .redis_timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .sessions();
    let list = || sessions.list(deepidv::SessionListParams::new().limit(1));
    list().await.unwrap();
    let rate = redis.keys("deepidv:*:rate");
    assert_eq!(rate.len(), 1, "{rate:?}");
    let next_free = || -> Option<String> {
        redis::from_redis_value(redis.command(&["GET", &rate[0]]).unwrap()).unwrap()
    };

    pause(&redis, Duration::from_millis(300));
    // Slower than redis_timeout: this call goes on with its own bucket.
    list().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = next_free();
    list().await.unwrap();
    assert_ne!(
        next_free(),
        before,
        "the call after the slow reply used Redis"
    );
}

/// A reservation whose answer was lost (the client gave up after `redis_timeout`; Redis ran it
/// when the pause ended) is handed back: the bucket's next free time returns to what it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_whose_answer_was_lost_is_handed_back() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    let sessions = deepidv::testing::builder()
        .base_url(mock.url())
        .api_key(mock.api_key())
        .rate_limit(Some(deepidv::RateLimit::per_second(1).burst(1)))
        .redis(redis.url())
        .redis_timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .sessions();
    let list = || sessions.list(deepidv::SessionListParams::new().limit(1));
    list().await.unwrap();
    let rate = redis.keys("deepidv:*:rate");
    assert_eq!(rate.len(), 1, "{rate:?}");
    let next_free = || -> Option<String> {
        redis::from_redis_value(redis.command(&["GET", &rate[0]]).unwrap()).unwrap()
    };
    let before = next_free();
    assert!(before.is_some());

    pause(&redis, Duration::from_millis(300));
    // Its reservation waits in Redis; the call goes on with its own bucket.
    tokio::time::timeout(Duration::from_secs(10), list())
        .await
        .unwrap()
        .unwrap();

    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if started.elapsed() > Duration::from_millis(400) && next_free() == before {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the lost reservation was not handed back: {:?} != {before:?}",
            next_free()
        );
    }
}

/// A replica that saw another hold the lock and then lost Redis for a whole lease fails with
/// `Error::Coordination` and sends nothing: it never creates beside a holder it cannot see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_that_loses_redis_for_a_whole_lease_fails_and_sends_nothing() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    mock.inject(Fault::delay(Duration::from_secs(20)).on(MockOperation::CreateSession));
    let lease = Duration::from_secs(2);
    let a = leased(&mock, &redis, Duration::from_secs(1), lease);
    let b = leased(&mock, &redis, Duration::from_secs(1), lease);

    let holder = tokio::spawn(async move { a.create_once(applicant("gone-1")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiter = tokio::spawn(async move { b.create_once(applicant("gone-1")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Redis goes, and with it the holder (its create still in flight): nothing else will send.
    redis.stop();
    holder.abort();
    let started = Instant::now();

    let e = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("the waiter kept waiting without Redis")
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, Error::Coordination { .. }), "{e:?}");
    assert!(
        started.elapsed() >= lease - Duration::from_millis(700),
        "gave up after {:?}, before the lease could have ended",
        started.elapsed()
    );
    assert_eq!(
        sent(&mock, MockOperation::CreateSession),
        1,
        "only the holder's"
    );
    assert_eq!(
        sent(&mock, MockOperation::ListSessions),
        1,
        "only the holder's look: the waiter sent nothing"
    );
}

/// The holder renews its lease every third of it, not more: 9 s leases, a 4 s call, one renewal
/// (at 3 s). Counted in Redis's own statistics (`PEXPIRE` runs only in the renewal script here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_is_renewed_every_third_of_it() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockServer::start().await;
    mock.inject(Fault::delay(Duration::from_secs(4)).on(MockOperation::CreateSession));
    let sessions = leased(
        &mock,
        &redis,
        Duration::from_millis(4_500),
        Duration::from_secs(9),
    );
    redis.command(&["CONFIG", "RESETSTAT"]).unwrap();

    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        sessions.create_once(applicant("cadence-1")),
    )
    .await
    .unwrap()
    .unwrap();

    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    let stats: String =
        redis::from_redis_value(redis.command(&["INFO", "commandstats"]).unwrap()).unwrap();
    let renewals = stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_pexpire:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse::<u32>().unwrap());
    assert_eq!(renewals, 1, "{stats}");
}
