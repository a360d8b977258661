//! Timestamps in Go's layouts, as `hubble` prints them (`--time-format`),
//! always in UTC.

use std::cell::RefCell;

use chrono::{DateTime, Datelike, Timelike};

use super::TimeFormat;
use crate::proto::Timestamp;

/// protobuf's valid range: 0001-01-01T00:00:00Z up to, not including,
/// 10000-01-01T00:00:00Z. Hubble prints `N/A` outside it.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_800;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Writes flows' times as `write_time` does, keeping the text of the last
/// second in the default layout: flows come many to a second, and working
/// out the date and clock again cost as much as the rest of a compact
/// line's head.
#[derive(Default)]
pub struct FlowTimes {
    /// The second, and its text up to the milliseconds (`Jan _2 15:04:05.`).
    last: RefCell<Option<(i64, String)>>,
}

impl FlowTimes {
    pub fn write(&self, out: &mut String, time: Option<&Timestamp>, format: TimeFormat) {
        let Some(time) = time
            .filter(|t| format == TimeFormat::StampMilli && (0..1_000_000_000).contains(&t.nanos))
        else {
            return write_time(out, time, format);
        };
        let mut last = self.last.borrow_mut();
        if last
            .as_ref()
            .is_none_or(|(second, _)| *second != time.seconds)
        {
            let mut text = last.take().map(|(_, text)| text).unwrap_or_default();
            text.clear();
            let second = Timestamp {
                seconds: time.seconds,
                nanos: 0,
            };
            write_time(&mut text, Some(&second), format);
            // `N/A`, for a second outside the range, has no milliseconds.
            let Some(head) = text.strip_suffix("000") else {
                return write_time(out, Some(time), format);
            };
            text.truncate(head.len());
            *last = Some((time.seconds, text));
        }
        if let Some((_, text)) = last.as_ref() {
            out.push_str(text);
            push_digits(out, time.nanos as u32 / 1_000_000, 3);
        }
    }
}

/// Writes `time` in `format`, or `N/A` when it is missing or invalid.
pub fn write_time(out: &mut String, time: Option<&Timestamp>, format: TimeFormat) {
    let Some(time) = time.filter(|t| {
        (MIN_SECONDS..MAX_SECONDS).contains(&t.seconds) && (0..1_000_000_000).contains(&t.nanos)
    }) else {
        out.push_str("N/A");
        return;
    };
    let Some(date) = DateTime::from_timestamp(time.seconds, time.nanos as u32) else {
        out.push_str("N/A");
        return;
    };
    let nanos = time.nanos as u32;
    let year = date.year() as u32;
    let month = date.month();
    let day = date.day();
    let (hour, minute, second) = (date.hour(), date.minute(), date.second());
    match format {
        TimeFormat::StampMilli => {
            // "Jan _2 15:04:05.000"
            out.push_str(MONTHS[date.month0() as usize]);
            out.push(' ');
            if day < 10 {
                out.push(' ');
                push_digits(out, day, 1);
            } else {
                push_digits(out, day, 2);
            }
            out.push(' ');
            push_clock(out, hour, minute, second);
            out.push('.');
            push_digits(out, nanos / 1_000_000, 3);
        }
        TimeFormat::YearMonthDay => push_date(out, year, month, day),
        TimeFormat::YearMonthDayHour => {
            push_date(out, year, month, day);
            out.push('T');
            push_digits(out, hour, 2);
            out.push('Z');
        }
        TimeFormat::YearMonthDayHourMinute => {
            push_date(out, year, month, day);
            out.push('T');
            push_digits(out, hour, 2);
            out.push(':');
            push_digits(out, minute, 2);
            out.push('Z');
        }
        TimeFormat::Rfc3339 => {
            push_rfc3339(out, year, month, day, (hour, minute, second), nanos, 0)
        }
        TimeFormat::Rfc3339Milli => {
            push_rfc3339(out, year, month, day, (hour, minute, second), nanos, 3)
        }
        TimeFormat::Rfc3339Micro => {
            push_rfc3339(out, year, month, day, (hour, minute, second), nanos, 6)
        }
        TimeFormat::Rfc3339Nano => {
            push_rfc3339(out, year, month, day, (hour, minute, second), nanos, 9)
        }
        TimeFormat::Rfc1123Z => {
            // "Mon, 02 Jan 2006 15:04:05 -0700"
            out.push_str(WEEKDAYS[date.weekday().num_days_from_monday() as usize]);
            out.push_str(", ");
            push_digits(out, day, 2);
            out.push(' ');
            out.push_str(MONTHS[date.month0() as usize]);
            out.push(' ');
            push_digits(out, year, 4);
            out.push(' ');
            push_clock(out, hour, minute, second);
            out.push_str(" +0000");
        }
    }
}

fn push_date(out: &mut String, year: u32, month: u32, day: u32) {
    push_digits(out, year, 4);
    out.push('-');
    push_digits(out, month, 2);
    out.push('-');
    push_digits(out, day, 2);
}

fn push_clock(out: &mut String, hour: u32, minute: u32, second: u32) {
    push_digits(out, hour, 2);
    out.push(':');
    push_digits(out, minute, 2);
    out.push(':');
    push_digits(out, second, 2);
}

/// RFC 3339 with up to `precision` fractional digits, trailing zeros
/// dropped, as Go's `.999` layouts do.
fn push_rfc3339(
    out: &mut String,
    year: u32,
    month: u32,
    day: u32,
    (hour, minute, second): (u32, u32, u32),
    nanos: u32,
    precision: u32,
) {
    push_date(out, year, month, day);
    out.push('T');
    push_clock(out, hour, minute, second);
    if precision > 0 {
        let mut fraction = nanos / 10u32.pow(9 - precision);
        let mut digits = precision;
        while digits > 0 && fraction.is_multiple_of(10) {
            fraction /= 10;
            digits -= 1;
        }
        if digits > 0 {
            out.push('.');
            push_digits(out, fraction, digits);
        }
    }
    out.push('Z');
}

/// Writes `value` zero-padded to `width` digits.
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut buffer = [b'0'; 10];
    let mut rest = value;
    let mut index = buffer.len();
    while rest > 0 || buffer.len() - index < width as usize {
        index -= 1;
        buffer[index] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    for &digit in &buffer[index..] {
        out.push(digit as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(seconds: i64, nanos: i32, format: TimeFormat) -> String {
        let mut out = String::new();
        write_time(&mut out, Some(&Timestamp { seconds, nanos }), format);
        out
    }

    // 2023-01-02T03:04:05.120000000Z, a Monday.
    const SECONDS: i64 = 1_672_628_645;

    #[test]
    fn go_layouts() {
        let nanos = 120_000_000;
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::StampMilli),
            "Jan  2 03:04:05.120"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::YearMonthDay),
            "2023-01-02"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::YearMonthDayHour),
            "2023-01-02T03Z"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::YearMonthDayHourMinute),
            "2023-01-02T03:04Z"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::Rfc3339),
            "2023-01-02T03:04:05Z"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::Rfc3339Milli),
            "2023-01-02T03:04:05.12Z"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::Rfc3339Micro),
            "2023-01-02T03:04:05.12Z"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::Rfc3339Nano),
            "2023-01-02T03:04:05.12Z"
        );
        assert_eq!(
            format(SECONDS, nanos, TimeFormat::Rfc1123Z),
            "Mon, 02 Jan 2023 03:04:05 +0000"
        );
    }

    #[test]
    fn fractions_are_truncated_and_trimmed() {
        assert_eq!(
            format(SECONDS, 999_999_999, TimeFormat::Rfc3339Milli),
            "2023-01-02T03:04:05.999Z"
        );
        assert_eq!(
            format(SECONDS, 1_000, TimeFormat::Rfc3339Milli),
            "2023-01-02T03:04:05Z"
        );
        assert_eq!(
            format(SECONDS, 1_000, TimeFormat::Rfc3339Micro),
            "2023-01-02T03:04:05.000001Z"
        );
        assert_eq!(
            format(SECONDS, 0, TimeFormat::Rfc3339Nano),
            "2023-01-02T03:04:05Z"
        );
        assert_eq!(
            format(SECONDS, 7, TimeFormat::StampMilli),
            "Jan  2 03:04:05.000"
        );
    }

    #[test]
    fn the_ends_of_the_valid_range() {
        assert_eq!(
            format(MIN_SECONDS, 0, TimeFormat::Rfc3339),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(
            format(MAX_SECONDS - 1, 999_999_999, TimeFormat::Rfc3339Nano),
            "9999-12-31T23:59:59.999999999Z"
        );
        assert_eq!(format(MAX_SECONDS, 0, TimeFormat::Rfc3339), "N/A");
        assert_eq!(format(MIN_SECONDS - 1, 0, TimeFormat::Rfc3339), "N/A");
        assert_eq!(format(0, -1, TimeFormat::Rfc3339), "N/A");
        let mut out = String::new();
        write_time(&mut out, None, TimeFormat::StampMilli);
        assert_eq!(out, "N/A");
    }

    #[test]
    fn flow_times_write_what_write_time_writes() {
        let times = FlowTimes::default();
        let cases = [
            (SECONDS, 120_000_000),
            (SECONDS, 999_999_999),
            (SECONDS + 1, 0),
            (SECONDS, 5_000_000),
            (MAX_SECONDS, 0),
            (MAX_SECONDS - 1, 1),
            (MIN_SECONDS, 7_000_000),
            (MIN_SECONDS - 1, 0),
            (SECONDS, -1),
            (SECONDS, 1_000_000_000),
            (-1, 999_000_000),
            (-1, 0),
        ];
        for format in [TimeFormat::StampMilli, TimeFormat::Rfc3339] {
            for (seconds, nanos) in cases {
                let time = Timestamp { seconds, nanos };
                let mut cached = String::from("x");
                times.write(&mut cached, Some(&time), format);
                assert_eq!(cached, format!("x{}", self::format(seconds, nanos, format)));
            }
        }
        let mut out = String::new();
        times.write(&mut out, None, TimeFormat::StampMilli);
        assert_eq!(out, "N/A");
    }
}
