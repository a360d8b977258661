//! `google.protobuf.Timestamp` with protojson's text form.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Seconds 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range
/// protojson accepts.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// A point in time as the wire carries it. Unlike pbjson-types' Timestamp it
/// writes JSON the way Go's protojson does: UTC with a `Z`, and 0, 3, 6 or 9
/// fractional digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The same instant as a chrono UTC time, or `None` when the fields are
    /// out of range (which the printers render as Hubble renders a zero time).
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        let nanos = u32::try_from(self.nanos).ok()?;
        DateTime::from_timestamp(self.seconds, nanos)
    }

    /// Parses protojson's text form: RFC 3339 with `Z` or an offset, at most
    /// nine fractional digits, years 1 to 9999.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        if let Some(parsed) = Self::parse_utc(text.as_bytes()) {
            return Ok(parsed);
        }
        Self::parse_go(text.as_bytes()).ok_or_else(|| TimestampError(text.to_owned()))
    }

    /// What protojson accepts, any form: Go's `time.Parse(time.RFC3339Nano,
    /// ...)`, which is laxer than RFC 3339 (a one-digit hour, a comma
    /// before the fraction, any number of fraction digits, offsets up to
    /// 24:60), then protojson's own checks (years 1 to 9999, at most nine
    /// digits after a `.`). Hubble reads every line whose times pass these:
    /// refusing more would lose flows that it prints.
    fn parse_go(text: &[u8]) -> Option<Self> {
        let mut at = 0;
        // Go's getnum: one or two digits, exactly two if `fixed`.
        let number = |at: &mut usize, fixed: bool| -> Option<i64> {
            let digit = |at: usize| {
                text.get(at)
                    .filter(|b| b.is_ascii_digit())
                    .map(|b| i64::from(b - b'0'))
            };
            let first = digit(*at)?;
            match digit(*at + 1) {
                Some(second) => {
                    *at += 2;
                    Some(first * 10 + second)
                }
                None if fixed => None,
                None => {
                    *at += 1;
                    Some(first)
                }
            }
        };
        let literal = |at: &mut usize, byte: u8| (text.get(*at) == Some(&byte)).then(|| *at += 1);
        let year = text.get(..4)?.iter().try_fold(0_i64, |year, &b| {
            b.is_ascii_digit().then(|| year * 10 + i64::from(b - b'0'))
        })?;
        at += 4;
        literal(&mut at, b'-')?;
        let month = number(&mut at, true)?;
        literal(&mut at, b'-')?;
        let day = number(&mut at, true)?;
        literal(&mut at, b'T')?;
        let hour = number(&mut at, false)?;
        literal(&mut at, b':')?;
        let minute = number(&mut at, true)?;
        literal(&mut at, b':')?;
        let second = number(&mut at, true)?;
        let mut nanos = 0;
        if matches!(text.get(at), Some(b'.' | b','))
            && text.get(at + 1).is_some_and(u8::is_ascii_digit)
        {
            let digits = text[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            // Go reads nine digits and drops the rest.
            for position in 0..9 {
                nanos *= 10;
                if position < digits {
                    nanos += i64::from(text[at + 1 + position] - b'0');
                }
            }
            at += 1 + digits;
        }
        let offset = match text.get(at..)? {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let two = |a: u8, b: u8| {
                    (a.is_ascii_digit() && b.is_ascii_digit())
                        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
                };
                let (hours, minutes) = (two(*h1, *h2)?, two(*m1, *m2)?);
                if hours > 24 || minutes > 60 {
                    return None;
                }
                let offset = (hours * 60 + minutes) * 60;
                if *sign == b'-' { -offset } else { offset }
            }
            _ => return None,
        };
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let month_days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
                - offset;
        // protojson's own checks: the range, and at most nine digits
        // between the last `.` and the zone.
        let point = text.iter().rposition(|&b| b == b'.');
        let zone = text.iter().rposition(|&b| matches!(b, b'Z' | b'-' | b'+'));
        if let (Some(point), Some(zone)) = (point, zone)
            && zone >= point
            && zone - point > 10
        {
            return None;
        }
        (MIN_SECONDS..=MAX_SECONDS)
            .contains(&seconds)
            .then(|| Self {
                seconds,
                nanos: i32::try_from(nanos).unwrap_or_default(),
            })
    }
}

impl Timestamp {
    /// The form every Hubble capture uses, `YYYY-MM-DDTHH:MM:SS[.f]Z` with
    /// one to nine fractional digits, read without chrono's general parser
    /// (it runs twice per flow read from a file). `None` for anything else,
    /// including dates that do not exist, which `parse` then judges.
    fn parse_utc(text: &[u8]) -> Option<Self> {
        fn digits(bytes: &[u8]) -> Option<u32> {
            bytes.iter().try_fold(0_u32, |value, &byte| {
                byte.is_ascii_digit()
                    .then(|| value * 10 + u32::from(byte - b'0'))
            })
        }
        let (date_time, fraction) = match text {
            [head @ .., b'Z'] if head.len() == 19 => (head, &[][..]),
            [head @ .., b'Z'] if head.len() > 20 && head.len() <= 29 && head[19] == b'.' => {
                (&head[..19], &head[20..])
            }
            _ => return None,
        };
        let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if separators.iter().any(|&(at, byte)| date_time[at] != byte) {
            return None;
        }
        let year = digits(&date_time[0..4])?;
        let month = digits(&date_time[5..7])?;
        let day = digits(&date_time[8..10])?;
        let hour = digits(&date_time[11..13])?;
        let minute = digits(&date_time[14..16])?;
        let second = digits(&date_time[17..19])?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let month_days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if year == 0 || day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut nanos = digits(fraction)?;
        for _ in fraction.len()..9 {
            nanos *= 10;
        }
        let seconds = days_from_civil(i64::from(year), i64::from(month), i64::from(day)) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second);
        Some(Self {
            seconds,
            nanos: i32::try_from(nanos).ok()?,
        })
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(time: DateTime<Utc>) -> Self {
        Self {
            seconds: time.timestamp(),
            nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
        }
    }
}

/// A timestamp string protojson would not accept.
#[derive(Debug, thiserror::Error)]
#[error("invalid google.protobuf.Timestamp value {0:?}")]
pub struct TimestampError(String);

impl Timestamp {
    /// protojson's text form, written without chrono (every flow printed as
    /// JSON has one or two): `None` outside the range protojson writes.
    pub(crate) fn format_utc(self, out: &mut [u8; 30]) -> Option<usize> {
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds)
            || !(0..1_000_000_000).contains(&self.nanos)
        {
            return None;
        }
        let days = self.seconds.div_euclid(86_400);
        let second_of_day = self.seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let mut put = |at: usize, mut value: i64, digits: usize| {
            for place in (at..at + digits).rev() {
                out[place] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year, 4);
        put(5, month, 2);
        put(8, day, 2);
        put(11, second_of_day / 3600, 2);
        put(14, second_of_day / 60 % 60, 2);
        put(17, second_of_day % 60, 2);
        let nanos = i64::from(self.nanos);
        // 0, 3, 6 or 9 digits: the fewest that hold the value exactly.
        let end = match nanos {
            0 => 19,
            n if n % 1_000_000 == 0 => {
                put(20, n / 1_000_000, 3);
                23
            }
            n if n % 1_000 == 0 => {
                put(20, n / 1_000, 6);
                26
            }
            n => {
                put(20, n, 9);
                29
            }
        };
        for (at, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
            out[at] = separator;
        }
        if end > 19 {
            out[19] = b'.';
        }
        out[end] = b'Z';
        Some(end + 1)
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, the inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0; 30];
        if let Some(len) = self.format_utc(&mut text) {
            let text = std::str::from_utf8(&text[..len]).map_err(serde::ser::Error::custom)?;
            return serializer.serialize_str(text);
        }
        let time = self
            .to_datetime()
            .filter(|t| (MIN_SECONDS..=MAX_SECONDS).contains(&t.timestamp()))
            .ok_or_else(|| {
                serde::ser::Error::custom(format!(
                    "timestamp out of range: {}s {}ns",
                    self.seconds, self.nanos
                ))
            })?;
        serializer.collect_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl de::Visitor<'_> for Visitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        serde_json::to_string(&Timestamp::parse(text).unwrap()).unwrap()
    }

    #[test]
    fn writes_utc_with_z_and_3_6_or_9_digits() {
        assert_eq!(
            round_trip("2022-12-30T21:56:14Z"),
            r#""2022-12-30T21:56:14Z""#
        );
        assert_eq!(
            round_trip("2022-12-30T21:56:14.1Z"),
            r#""2022-12-30T21:56:14.100Z""#
        );
        assert_eq!(
            round_trip("2022-12-30T21:56:14.1234567Z"),
            r#""2022-12-30T21:56:14.123456700Z""#
        );
        assert_eq!(
            round_trip("2022-12-30T23:56:14.5+02:00"),
            r#""2022-12-30T21:56:14.500Z""#
        );
    }

    #[test]
    fn accepts_the_ends_of_the_range() {
        assert_eq!(
            round_trip("0001-01-01T00:00:00Z"),
            r#""0001-01-01T00:00:00Z""#
        );
        assert_eq!(
            round_trip("9999-12-31T23:59:59.999999999Z"),
            r#""9999-12-31T23:59:59.999999999Z""#
        );
    }

    /// The fast path agrees with chrono wherever it answers, and answers
    /// for the form captures use.
    #[test]
    fn the_utc_fast_path_agrees_with_chrono() {
        let mut next = crate::testing::numbers(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
                next(10_000),
                next(14),
                next(33),
                next(25),
                next(61),
                next(61),
                match next(4) {
                    0 => String::new(),
                    1 => ".".to_owned() + &next(1000).to_string(),
                    2 => format!(".{:09}", next(1_000_000_000)),
                    _ => format!(".{:06}", next(1_000_000)),
                }
            );
            let chrono = DateTime::parse_from_rfc3339(&text)
                .ok()
                .filter(|t| (MIN_SECONDS..=MAX_SECONDS).contains(&t.timestamp()))
                .filter(|t| t.timestamp_subsec_nanos() < 1_000_000_000)
                .map(|t| (t.timestamp(), t.timestamp_subsec_nanos() as i32));
            let fast = Timestamp::parse_utc(text.as_bytes()).map(|t| (t.seconds, t.nanos));
            if let Some(fast) = fast {
                assert_eq!(Some(fast), chrono, "{text}");
            } else if !text.contains(":60") {
                assert_eq!(chrono, None, "{text} was left to chrono");
            }
            assert_eq!(
                Timestamp::parse(&text).ok().map(|t| (t.seconds, t.nanos)),
                fast.or(chrono),
                "{text}"
            );
        }
    }

    #[test]
    fn the_utc_formatter_agrees_with_chrono() {
        let mut next = crate::testing::numbers(0x9e37_79b9_7f4a_7c15);
        let span = (MAX_SECONDS - MIN_SECONDS + 1) as u64;
        for round in 0..20_000 {
            let seconds = match round {
                0 => MIN_SECONDS,
                1 => MAX_SECONDS,
                2 => 0,
                3 => -1,
                _ => MIN_SECONDS + next(span) as i64,
            };
            let nanos = match next(4) {
                0 => 0,
                1 => next(1000) as i32 * 1_000_000,
                2 => next(1_000_000) as i32 * 1000,
                _ => next(1_000_000_000) as i32,
            };
            let timestamp = Timestamp { seconds, nanos };
            let mut text = [0; 30];
            let len = timestamp.format_utc(&mut text).expect("in range");
            let chrono = timestamp
                .to_datetime()
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::AutoSi, true);
            assert_eq!(std::str::from_utf8(&text[..len]).unwrap(), chrono);
        }
    }

    /// What hubble v1.19.4 read (as printed back) or refused for each
    /// `time`: Go's lax parser, then protojson's checks.
    #[test]
    fn reads_what_hubble_reads() {
        for (text, read) in [
            ("2023-01-03T0:49:57Z", Some("2023-01-03T00:49:57Z")),
            ("2023-01-03T00:49:57,5Z", Some("2023-01-03T00:49:57.500Z")),
            (
                "2023-01-03T00:49:57,1234567891234Z",
                Some("2023-01-03T00:49:57.123456789Z"),
            ),
            ("2023-01-03T00:49:57.1234567891Z", None),
            ("2023-01-03T00:49:57+24:00", Some("2023-01-02T00:49:57Z")),
            ("2023-01-03T00:49:57+24:60", Some("2023-01-01T23:49:57Z")),
            ("2023-01-03T00:49:57+25:00", None),
            ("2023-01-03T00:49:57-01:30", Some("2023-01-03T02:19:57Z")),
            ("2023-02-29T00:49:57Z", None),
            ("2023-01-03T24:00:00Z", None),
            ("2023-1-03T00:49:57Z", None),
            ("0000-01-01T00:00:00Z", None),
            (
                "2023-01-03T00:49:57.5+01:00",
                Some("2023-01-02T23:49:57.500Z"),
            ),
            ("2023-01-03T00:49:57.123.5Z", None),
            ("2023-01-03T7:49:57.123456789012+01:00", None),
            ("+023-01-03T00:49:57Z", None),
            ("2023-01-03T00:49:57+0100", None),
            ("2023-00-03T00:49:57Z", None),
        ] {
            let parsed = Timestamp::parse(text).ok().map(|t| round_trip_of(t));
            assert_eq!(parsed.as_deref(), read, "{text}");
        }
    }

    fn round_trip_of(timestamp: Timestamp) -> String {
        serde_json::to_string(&timestamp)
            .unwrap()
            .trim_matches('"')
            .to_owned()
    }

    #[test]
    fn rejects_what_protojson_rejects() {
        for bad in [
            "2022-12-30T21:56:14.1234567891Z",
            "2022-12-30T21:56:14.Z",
            "2022-12-30 21:56:14Z",
            "2022-12-30T21:56:14",
            "2022-12-31T23:59:60Z",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
