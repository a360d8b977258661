//! The part of chrono-tz's API that cel uses: `Tz` as a chrono `TimeZone`,
//! parsed from a zone name, and `UTC`. Names resolve as Go's
//! `time.LoadLocation` resolves them for Hubble's CEL filters: `UTC` (and
//! the empty name) without a database, `Local` as the system's zone, any
//! other name from the zoneinfo files, matched exactly.

use std::{fmt, str::FromStr};

use chrono::{FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, Offset as _, TimeZone};
use jiff::tz::{AmbiguousOffset, Offset};

/// A time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tz(jiff::tz::TimeZone);

pub const UTC: Tz = Tz(jiff::tz::TimeZone::UTC);

/// A zone name that is not in the system's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown time zone {:?}", self.0)
    }
}

impl std::error::Error for ParseError {}

impl FromStr for Tz {
    type Err = ParseError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "" | "UTC" => Ok(UTC),
            "Local" => Ok(Tz(jiff::tz::TimeZone::system())),
            _ => jiff::tz::db()
                .get(name)
                .ok()
                // jiff ignores case; the zoneinfo files Go opens do not.
                .filter(|zone| zone.iana_name() == Some(name))
                .map(Tz)
                .ok_or_else(|| ParseError(name.to_owned())),
        }
    }
}

fn fixed(offset: Offset) -> FixedOffset {
    // jiff's offsets are within ±25:59:59, chrono's within ±23:59:59: no
    // zone in the database comes near either bound.
    FixedOffset::east_opt(offset.seconds()).unwrap_or_else(|| chrono::Utc.fix())
}

/// The instant `utc` names, within jiff's range (years -9999 to 9999):
/// beyond it the zone's offset at the bound applies.
fn instant(utc: &NaiveDateTime) -> jiff::Timestamp {
    let seconds = utc.and_utc().timestamp();
    jiff::Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    use chrono::{Datelike, Timelike};
    let year = i16::try_from(local.year()).ok()?;
    jiff::civil::DateTime::new(
        year,
        local.month() as i8,
        local.day() as i8,
        local.hour() as i8,
        local.minute() as i8,
        local.second() as i8,
        0,
    )
    .ok()
}

impl TimeZone for Tz {
    type Offset = FixedOffset;

    fn from_offset(offset: &FixedOffset) -> Self {
        match Offset::from_seconds(offset.local_minus_utc()) {
            Ok(offset) => Tz(jiff::tz::TimeZone::fixed(offset)),
            Err(_) => UTC,
        }
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<FixedOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<FixedOffset> {
        let Some(local) = civil(local) else {
            // Outside jiff's years: the offset at the nearer bound.
            let bound = if local.and_utc().timestamp() < 0 {
                jiff::Timestamp::MIN
            } else {
                jiff::Timestamp::MAX
            };
            return MappedLocalTime::Single(fixed(self.0.to_offset(bound)));
        };
        match self.0.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(fixed(offset)),
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(fixed(before), fixed(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> FixedOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> FixedOffset {
        fixed(self.0.to_offset(instant(utc)))
    }
}
