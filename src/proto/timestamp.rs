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
        let error = || TimestampError(text.to_owned());
        let fraction_digits = text
            .split_once('.')
            .map(|(_, rest)| rest.bytes().take_while(u8::is_ascii_digit).count());
        // chrono also takes a space or lower-case `t`/`z`; Go's RFC 3339
        // parser does not.
        if text.as_bytes().get(10) != Some(&b'T') || text.contains('z') {
            return Err(error());
        }
        if fraction_digits.is_some_and(|n| n == 0 || n > 9) {
            return Err(error());
        }
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| error())?;
        let seconds = parsed.timestamp();
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(error());
        }
        Ok(Self {
            seconds,
            nanos: i32::try_from(parsed.timestamp_subsec_nanos()).map_err(|_| error())?,
        })
    }
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

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
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

    #[test]
    fn rejects_what_protojson_rejects() {
        for bad in [
            "2022-12-30T21:56:14.1234567891Z",
            "2022-12-30T21:56:14.Z",
            "2022-12-30 21:56:14Z",
            "2022-12-30T21:56:14",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
