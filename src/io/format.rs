//! Text forms shared by every output file: floats that round-trip, UTC timestamps and
//! SHA-256 digests in hex.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The SHA-256 of some bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A float in its shortest round-trip form, with an exponent when very small or large
/// (`5.682215792024162e-17`, `0.125`, `3.0`): reading it back gives the same bits.
pub fn number(value: f64) -> String {
    format!("{value:?}")
}

/// An optional float: [`number`] or an empty field.
pub fn optional_number(value: Option<f64>) -> String {
    value.map_or_else(String::new, number)
}

/// A duration as `1h02m`, `3m05s`, `42s` or `under 1s`.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        0 => "under 1s".to_string(),
        s => format!("{s}s"),
    }
}

/// An estimated duration as text: `about 3m05s`, or `under 1s`.
pub fn estimate(seconds: f64) -> String {
    match duration(seconds) {
        text if seconds.round() < 1.0 => text,
        text => format!("about {text}"),
    }
}

/// The current time in UTC as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    utc_timestamp(SystemTime::now())
}

/// A time in UTC as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 to the second; proleptic Gregorian
/// calendar by H. Hinnant's `civil_from_days`).
pub fn utc_timestamp(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (seconds / 86_400) as i64;
    let second_of_day = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn floats_round_trip_to_the_bit() {
        for value in [0.1 + 0.2, 5.682215792024162e-17, 3.0, 1e300, -0.0] {
            assert_eq!(
                number(value).parse::<f64>().unwrap().to_bits(),
                value.to_bits()
            );
        }
        assert_eq!(number(0.125), "0.125");
        assert_eq!(duration(3725.0), "1h02m");
        assert_eq!(duration(185.0), "3m05s");
        assert_eq!(duration(0.2), "under 1s");
        assert_eq!(optional_number(None), "");
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |seconds| utc_timestamp(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400 + 3723), "2000-02-29T01:02:03Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
