//! The bounds on control inputs (and the webhook settings' defaults), the same over HTTP (`/__mock/…` answers 400 with
//! `{"error": "…"}` naming the field and its range) and in Rust (where noted, the value is
//! clamped instead, and the method says so).
//!
//! They exist so that no control input can overflow the clock, exhaust memory or hold a task for
//! ever; they are generous for any test.

use std::{ops::RangeInclusive, time::Duration};

use chrono::{DateTime, Utc};

/// The most one clock move may shift the clock, either way: 100 years of 365.25 days, in seconds
/// (`POST /__mock/clock/advance {"seconds": …}`).
pub const MAX_CLOCK_ADVANCE_SECONDS: i64 = 3_155_760_000;

/// The earliest instant the mock's clock shows: 1970-01-01T00:00:00.000Z, in Unix milliseconds.
pub const CLOCK_EARLIEST_MILLIS: i64 = 0;

/// The latest instant the mock's clock shows: 9998-12-31T23:59:59.999Z, in Unix milliseconds, so
/// that an expiry a year later (the longest `expiresInHours`) still has a four-digit year.
pub const CLOCK_LATEST_MILLIS: i64 = 253_370_764_799_999;

/// The most sessions one seed adds (`count`, or `n` of
/// [`MockServer::seed_sessions`](crate::MockServer::seed_sessions)). Finished sessions carry
/// results by default, about 100 KB of memory each: seed many with
/// [`SeedSessions::with_results`](crate::SeedSessions::with_results)`(false)`.
pub const MAX_SEED_COUNT: usize = 100_000;

/// The longest time between seeded sessions (`spacing_millis`, or [`SeedSessions::spacing`](
/// crate::SeedSessions::spacing)): one day.
pub const MAX_SEED_SPACING: Duration = Duration::from_secs(86_400);

/// The largest body an `oversized` fault sends: 256 MiB.
pub const MAX_OVERSIZED_BYTES: usize = 256 * 1024 * 1024;

/// The longest wait of a `delay` or `slow_body` fault: one hour.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(3_600);

/// The statuses a `status` fault may answer with.
pub const FAULT_STATUSES: RangeInclusive<u16> = 100..=599;

/// The most webhook endpoints one mock delivers to ([`MockBuilder::webhook`](crate::MockBuilder::webhook),
/// `--webhook-url`).
pub const MAX_WEBHOOK_ENDPOINTS: usize = 16;

/// How many attempts one webhook delivery may make
/// ([`MockBuilder::webhook_retry`](crate::MockBuilder::webhook_retry), `--webhook-attempts`).
pub const WEBHOOK_ATTEMPTS: RangeInclusive<u32> = 1..=20;

/// The longest wait between two attempts of a webhook delivery, and so the largest first delay
/// ([`MockBuilder::webhook_retry`](crate::MockBuilder::webhook_retry), `--webhook-retry-ms`):
/// one hour. The doubling waits stop growing there.
pub const MAX_WEBHOOK_RETRY_DELAY: Duration = Duration::from_secs(3_600);

/// The shortest time one webhook attempt may wait for an answer
/// ([`MockBuilder::webhook_timeout`](crate::MockBuilder::webhook_timeout), `--webhook-timeout-ms`):
/// one millisecond.
pub const MIN_WEBHOOK_TIMEOUT: Duration = Duration::from_millis(1);

/// The longest time one webhook attempt may wait for an answer: five minutes.
pub const MAX_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// The longest a webhook delivery may be held back before its first attempt when deliveries
/// are out of order ([`MockBuilder::webhook_out_of_order`](crate::MockBuilder::webhook_out_of_order),
/// `--webhook-out-of-order-ms`): one hour.
pub const MAX_WEBHOOK_HOLD: Duration = Duration::from_secs(3_600);

/// Attempts per webhook delivery unless configured: 5 (within [`WEBHOOK_ATTEMPTS`]).
pub const DEFAULT_WEBHOOK_ATTEMPTS: u32 = 5;

/// The wait after a webhook delivery's first failed attempt unless configured: 1 s, doubling
/// after each next failure (waits of 1, 2, 4 and 8 s with the default attempts).
pub const DEFAULT_WEBHOOK_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a webhook attempt waits for an answer unless configured: 10 s, DeepIDV's documented
/// timeout.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The clock's range as instants.
pub(crate) fn clock_range() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        DateTime::from_timestamp_millis(CLOCK_EARLIEST_MILLIS).unwrap_or(DateTime::UNIX_EPOCH),
        DateTime::from_timestamp_millis(CLOCK_LATEST_MILLIS).unwrap_or(DateTime::UNIX_EPOCH),
    )
}

/// The clock's range, for messages.
pub(crate) fn clock_range_text() -> String {
    let (earliest, latest) = clock_range();
    format!(
        "{} to {}",
        crate::model::timestamp(earliest),
        crate::model::timestamp(latest)
    )
}

/// `at`, moved into the clock's range.
pub(crate) fn clamp_to_clock(at: DateTime<Utc>) -> DateTime<Utc> {
    let (earliest, latest) = clock_range();
    at.clamp(earliest, latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_range_is_what_the_docs_say() {
        assert_eq!(
            clock_range_text(),
            "1970-01-01T00:00:00.000Z to 9998-12-31T23:59:59.999Z"
        );
        let (_, latest) = clock_range();
        let a_year_later = latest + chrono::Duration::hours(8760);
        assert!(crate::model::timestamp(a_year_later).starts_with("9999-"));
        assert_eq!(
            MAX_CLOCK_ADVANCE_SECONDS,
            100 * 36_525 * 86_400 / 100,
            "100 years of 365.25 days"
        );
    }
}
