//! `--since` and `--until` values: a duration before now (`3m`, `1h30m`) or
//! an absolute time in one of Hubble's layouts.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

use crate::{duration, proto::Timestamp};

/// Parses a `--since`/`--until` value relative to `now`, as Hubble's
/// `hubtime.FromString` does; `None` when no form fits.
pub fn parse(text: &str, now: DateTime<Utc>) -> Option<Timestamp> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if let Some(ago) = duration::parse(unsigned) {
        let ago = chrono::Duration::from_std(ago).ok()?;
        let time = if negative { now + ago } else { now - ago };
        return Some(time.into());
    }
    // chrono reads a leap second (`:60`) as a nanosecond count past 10^9,
    // which is no valid Timestamp; Go's parser refuses the second.
    parse_absolute(text)
        .filter(|time| time.timestamp_subsec_nanos() < 1_000_000_000)
        .map(|time| time.with_timezone(&Utc).into())
}

fn parse_absolute(text: &str) -> Option<DateTime<FixedOffset>> {
    // 2006-01-02
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset());
    }
    // 2006-01-02T15Z07:00 and 2006-01-02T15:04Z07:00
    if let Some((local, zone)) = split_zone(text) {
        let minutes = match local.len() {
            13 => Some(format!("{local}:00")),
            16 => Some(local.to_owned()),
            _ => None,
        };
        if let Some(minutes) = minutes
            && let Ok(time) = NaiveDateTime::parse_from_str(&minutes, "%Y-%m-%dT%H:%M")
        {
            return time.and_local_timezone(zone).single();
        }
    }
    // RFC 3339 with any fraction (Go accepts one even where the layout has
    // none), then RFC 1123 with a numeric zone.
    if text.as_bytes().get(10) == Some(&b'T')
        && let Ok(time) = DateTime::parse_from_rfc3339(text)
    {
        return Some(time);
    }
    DateTime::parse_from_str(text, "%a, %d %b %Y %H:%M:%S %z").ok()
}

/// Splits `2006-01-02T15Z` or `2006-01-02T15:04+02:00` into the local part
/// and its zone.
fn split_zone(text: &str) -> Option<(&str, FixedOffset)> {
    if let Some(local) = text.strip_suffix('Z') {
        return Some((local, FixedOffset::east_opt(0)?));
    }
    let at = text.len().checked_sub(6)?;
    let (local, zone) = text.split_at_checked(at)?;
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = zone.get(1..3)?.parse().ok()?;
    let minutes: i32 = zone.get(4..6)?.parse().ok()?;
    if zone.as_bytes()[3] != b':' {
        return None;
    }
    Some((
        local,
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<String> {
        let now = DateTime::parse_from_rfc3339("2023-01-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        parse(text, now).map(|t| t.to_datetime().unwrap().to_rfc3339())
    }

    #[test]
    fn relative_durations_count_back_from_now() {
        assert_eq!(at("3m").as_deref(), Some("2023-01-02T11:57:00+00:00"));
        assert_eq!(at("1h30m").as_deref(), Some("2023-01-02T10:30:00+00:00"));
        assert_eq!(at("-1h").as_deref(), Some("2023-01-02T13:00:00+00:00"));
    }

    /// Found by the `time` fuzz target: a zone looked for six bytes from
    /// the end, inside a character, panicked.
    #[test]
    fn multibyte_characters_where_the_zone_would_be_are_refused() {
        assert_eq!(at("2\u{36b}023-2"), None);
        assert_eq!(at("2023-01-01T05:00\u{e9}00:0"), None);
    }

    /// Found by the `time` fuzz target: a leap second gave a Timestamp
    /// with 10^9 nanoseconds. Hubble refuses the second.
    #[test]
    fn leap_seconds_are_refused() {
        assert_eq!(at("2006-01-01T15:04:60z"), None);
        assert_eq!(at("2006-01-01T15:04:60Z"), None);
    }

    #[test]
    fn every_hubble_layout() {
        assert_eq!(
            at("2023-01-01").as_deref(),
            Some("2023-01-01T00:00:00+00:00")
        );
        assert_eq!(
            at("2023-01-01T05Z").as_deref(),
            Some("2023-01-01T05:00:00+00:00")
        );
        assert_eq!(
            at("2023-01-01T05+02:00").as_deref(),
            Some("2023-01-01T03:00:00+00:00")
        );
        assert_eq!(
            at("2023-01-01T05:06Z").as_deref(),
            Some("2023-01-01T05:06:00+00:00")
        );
        assert_eq!(
            at("2023-01-01T05:06:07Z").as_deref(),
            Some("2023-01-01T05:06:07+00:00")
        );
        assert_eq!(
            at("2023-01-01T05:06:07.5-01:00").as_deref(),
            Some("2023-01-01T06:06:07.500+00:00")
        );
        assert_eq!(
            at("Sun, 01 Jan 2023 05:06:07 +0000").as_deref(),
            Some("2023-01-01T05:06:07+00:00")
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "yesterday",
            "2023-13-01",
            "2023-01-01 05:06:07Z",
            "Jan  2 15:04:05.000",
            "",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}
