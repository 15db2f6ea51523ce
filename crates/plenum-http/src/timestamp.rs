//! Wall-clock times on the wire: epoch seconds (float, millisecond precision) and
//! RFC 3339 UTC strings, computed without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as seconds since the Unix epoch, with millisecond precision; negative before 1970.
pub(crate) fn epoch_seconds(t: SystemTime) -> f64 {
    epoch_millis(t) as f64 / 1000.0
}

/// `t` as RFC 3339 in UTC with milliseconds, e.g. `2024-03-01T12:00:00.250Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let millis = epoch_millis(t);
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Milliseconds since the epoch, saturating far outside any plausible range.
fn epoch_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small by construction: day in 1..=31, month in 1..=12.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn check(millis: i64, expected: &str) {
        let t = if millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
        };
        assert_eq!(rfc3339(t), expected, "{millis} ms");
        assert_eq!(epoch_seconds(t), millis as f64 / 1000.0);
    }

    #[test]
    fn formats_utc_dates_across_leap_years_and_the_epoch() {
        check(0, "1970-01-01T00:00:00.000Z");
        check(1_700_000_000_123, "2023-11-14T22:13:20.123Z");
        check(951_782_400_000, "2000-02-29T00:00:00.000Z");
        check(1_709_251_199_999, "2024-02-29T23:59:59.999Z");
        check(4_102_444_800_000, "2100-01-01T00:00:00.000Z");
        check(-1, "1969-12-31T23:59:59.999Z");
    }
}
