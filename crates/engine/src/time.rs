//! Timestamp formatting without a time-zone database: floodtrace reports UTC only.

/// Civil date (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days_from_civil inverse: eras of 400 years = 146,097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// RFC 3339 UTC with nanoseconds, e.g. `2021-04-28T10:30:21.099510000Z`.
pub fn rfc3339_ns(ts_ns: u64) -> String {
    let secs = (ts_ns / 1_000_000_000) as i64;
    let nanos = ts_ns % 1_000_000_000;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// RFC 3339 UTC to the second, e.g. `2021-04-28T10:30:21Z`.
pub fn rfc3339_s(second: u64) -> String {
    let s = rfc3339_ns(second * 1_000_000_000);
    format!("{}Z", &s[..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_ns(1_619_605_821_099_510_000),
            "2021-04-28T10:30:21.099510000Z"
        );
        assert_eq!(rfc3339_s(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_s(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}
