//! Pure rules of delivery retries: how long a host waits after failures (exponential backoff
//! with jitter, at least the peer's `Retry-After`, at most a cap), when a host is parked and
//! when a delivery gives up ([`after_failure`]), how a `Retry-After` value reads, and how
//! durations read in logs. No database, no network: the delivery worker's
//! recorder ([`crate::federation::outbox`]) applies them.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

/// `base * 2^(failures-1)`, capped at `max`.
pub fn backoff(base: Duration, failures: i32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).clamp(0, 30) as u32);
    base.saturating_mul(factor).min(max)
}

/// "Equal jitter": half of `d`, plus `unit` (in `[0, 1)`) of the other half, so hosts that
/// failed together do not come back together, and the wait still grows.
pub fn jittered(d: Duration, unit: f64) -> Duration {
    let half = d / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// How long a host waits after its `failures`-th retryable failure in a row: the jittered
/// backoff, at least `retry_after`, at most `max`.
pub fn host_delay(
    base: Duration,
    max: Duration,
    failures: i32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    let d = jittered(backoff(base, failures, max), unit);
    retry_after.map_or(d, |r| d.max(r)).min(max)
}

/// The limits of the retry rules (the node's configuration, `[delivery]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The first delay after a failure; it doubles with each failure in a row.
    pub base: Duration,
    /// Longest wait before a host is tried again.
    pub max_delay: Duration,
    /// Retryable failures in a row after which a host is parked (probed with one delivery).
    pub park_after: i32,
    /// A delivery whose attempts reach this number gives up.
    pub max_attempts: i32,
    /// A delivery undelivered this long after it was queued gives up at its next failure.
    pub max_age: Duration,
}

/// A retryable failure of one delivery, with what was known before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Failure {
    /// The host's retryable failures in a row before this one.
    pub host_failures: i32,
    /// Since when the host is parked, if it is.
    pub parked_since: Option<NaiveDateTime>,
    /// The delivery's attempts before this one.
    pub attempts: i32,
    /// When the delivery was queued.
    pub queued_at: NaiveDateTime,
    /// The peer's `Retry-After`, if it gave one.
    pub retry_after: Option<Duration>,
}

/// What the rules make of a [`Failure`] at `now`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AfterFailure {
    /// The host's retryable failures in a row, this one included.
    pub host_failures: i32,
    /// How long the host waits before its next try ([`host_delay`]).
    pub delay: Duration,
    /// Since when the host is parked: as before, or from now when this failure is the
    /// `park_after`-th in a row.
    pub parked_since: Option<NaiveDateTime>,
    /// Whether this failure parked the host.
    pub parks: bool,
    /// The delivery's attempts, this one included.
    pub attempts: i32,
    /// Whether the delivery gives up (a dead letter): its attempts reached the limit, or it
    /// is older than the limit's age.
    pub gives_up: bool,
}

/// Applies the retry rules to a failure at `now`; `unit` (in `[0, 1)`) is the jitter's draw.
pub fn after_failure(f: Failure, limits: &Limits, now: NaiveDateTime, unit: f64) -> AfterFailure {
    let host_failures = f.host_failures.saturating_add(1);
    let attempts = f.attempts.saturating_add(1);
    let delay = host_delay(
        limits.base,
        limits.max_delay,
        host_failures,
        f.retry_after,
        unit,
    );
    let parks = f.parked_since.is_none() && host_failures >= limits.park_after;
    let parked_since = f.parked_since.or(parks.then_some(now));
    let max_age = chrono::Duration::from_std(limits.max_age).unwrap_or(chrono::Duration::MAX);
    let too_old = now - f.queued_at > max_age;
    AfterFailure {
        host_failures,
        delay,
        parked_since,
        parks,
        attempts,
        gives_up: attempts >= limits.max_attempts || too_old,
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP-date (IMF-fixdate, as RFC 9110 requires
/// senders to use), relative to `now`; a date in the past is no wait. `None` when unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurd numbers saturate; the cap applies later.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// `2h 5m`-style duration for log lines and messages.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{:.1}s", d.as_secs_f64()),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(30);
        assert_eq!(backoff(b, 1, 12 * HOUR), Duration::from_secs(30));
        assert_eq!(backoff(b, 2, 12 * HOUR), Duration::from_secs(60));
        assert_eq!(backoff(b, 5, 12 * HOUR), Duration::from_secs(480));
        assert_eq!(backoff(b, 40, 12 * HOUR), 12 * HOUR);
        assert_eq!(backoff(b, 0, HOUR), Duration::from_secs(30));
        assert_eq!(backoff(b, i32::MAX, HOUR), HOUR);
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_delay() {
        let d = Duration::from_secs(100);
        assert_eq!(jittered(d, 0.0), Duration::from_secs(50));
        assert_eq!(jittered(d, 0.5), Duration::from_secs(75));
        assert!(jittered(d, 0.999_999) <= d);
        assert_eq!(jittered(d, 7.0), d, "out-of-range randomness is clamped");
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let j = jittered(d, rng.gen());
            assert!(j >= d / 2 && j <= d, "{j:?}");
        }
    }

    #[test]
    fn retry_after_is_a_floor_and_the_cap_wins() {
        let base = Duration::from_secs(30);
        // Backoff of the 1st failure is 15..30 s; the peer asks for 120 s.
        let d = host_delay(base, HOUR, 1, Some(Duration::from_secs(120)), 0.3);
        assert_eq!(d, Duration::from_secs(120));
        // A shorter Retry-After does not shorten the backoff.
        let d = host_delay(base, HOUR, 4, Some(Duration::from_secs(1)), 0.0);
        assert_eq!(d, Duration::from_secs(120));
        // Neither waits beyond the cap.
        let d = host_delay(base, HOUR, 3, Some(Duration::from_secs(86_400)), 0.0);
        assert_eq!(d, HOUR);
        let d = host_delay(base, HOUR, 30, None, 0.99);
        assert!(d <= HOUR && d >= HOUR / 2, "{d:?}");
    }

    fn at(s: &str) -> NaiveDateTime {
        DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
    }

    const LIMITS: Limits = Limits {
        base: Duration::from_secs(30),
        max_delay: HOUR,
        park_after: 3,
        max_attempts: 5,
        max_age: Duration::from_secs(24 * 3600),
    };

    fn failure(host_failures: i32, attempts: i32) -> Failure {
        Failure {
            host_failures,
            parked_since: None,
            attempts,
            queued_at: at("2026-12-01T08:00:00Z"),
            retry_after: None,
        }
    }

    #[test]
    fn a_host_is_parked_at_its_park_after_th_failure_and_stays_parked_since_then() {
        let now = at("2026-12-01T09:00:00Z");
        let second = after_failure(failure(1, 1), &LIMITS, now, 0.0);
        assert_eq!((second.host_failures, second.parks), (2, false));
        assert_eq!(second.parked_since, None);
        assert_eq!(
            second.delay,
            Duration::from_secs(30),
            "half of 60 s, no jitter"
        );
        let third = after_failure(failure(2, 2), &LIMITS, now, 0.0);
        assert_eq!((third.parks, third.parked_since), (true, Some(now)));
        let parked = at("2026-12-01T08:30:00Z");
        let later = Failure {
            parked_since: Some(parked),
            ..failure(7, 3)
        };
        let fourth = after_failure(later, &LIMITS, now, 0.0);
        assert_eq!((fourth.parks, fourth.parked_since), (false, Some(parked)));
        assert!(!fourth.gives_up);
    }

    #[test]
    fn a_delivery_gives_up_at_its_last_attempt_or_when_too_old() {
        let now = at("2026-12-01T09:00:00Z");
        assert!(!after_failure(failure(0, 3), &LIMITS, now, 0.5).gives_up);
        let last = after_failure(failure(0, 4), &LIMITS, now, 0.5);
        assert_eq!((last.attempts, last.gives_up), (5, true));
        let next_day = at("2026-12-02T08:00:01Z");
        assert!(after_failure(failure(0, 0), &LIMITS, next_day, 0.5).gives_up);
        let just_in_time = at("2026-12-02T08:00:00Z");
        assert!(!after_failure(failure(0, 0), &LIMITS, just_in_time, 0.5).gives_up);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 08:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn durations_read_well_in_logs() {
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 300)), "3h 5m");
        assert_eq!(human(Duration::from_secs(7 * 86400)), "7d 0h");
    }
}
