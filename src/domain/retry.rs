//! Pure rules of delivery retries: how long a host waits after failures (exponential backoff
//! with jitter, at least the peer's `Retry-After`, at most a cap), how a `Retry-After` value
//! reads, and how durations read in logs. No database, no network: the delivery worker's
//! recorder ([`crate::federation::outbox`]) applies them.

use std::time::Duration;

use chrono::{DateTime, Utc};

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
