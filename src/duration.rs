//! Go's `time.Duration` text: what `--timeout 1m30s` accepts and what
//! Hubble prints for uptimes and durations in its configuration.

use std::{fmt::Write, time::Duration};

/// Parses Go's `time.ParseDuration` grammar: a sequence of decimal numbers,
/// each with a unit (ns, us, µs, ms, s, m, h); a lone `0` is allowed.
pub fn parse(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return None;
        }
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * nanos_per_unit;
    }
    Some(Duration::from_nanos(total as u64))
}

/// Formats nanoseconds as Go's `Duration.String` does (`1h2m3.5s`, `1.5ms`,
/// `0s`); beyond Go's int64 range, Hubble prints the bare count with `ns`.
pub fn format_nanos(nanos: u64) -> String {
    let mut out = String::new();
    if nanos > i64::MAX as u64 {
        let _ = write!(out, "{nanos}ns");
        return out;
    }
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        let (scale, digits, unit) = match nanos {
            0..1_000 => (1, 0, "ns"),
            1_000..1_000_000 => (1_000, 3, "µs"),
            _ => (1_000_000, 6, "ms"),
        };
        push_fraction(&mut out, nanos / scale, nanos % scale, digits);
        out.push_str(unit);
        return out;
    }
    let seconds = nanos / 1_000_000_000;
    let (hours, minutes) = (seconds / 3600, seconds / 60 % 60);
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    push_fraction(&mut out, seconds % 60, nanos % 1_000_000_000, 9);
    out.push('s');
    out
}

/// `whole.fraction` with the fraction's trailing zeros (and a bare `.`)
/// dropped.
fn push_fraction(out: &mut String, whole: u64, fraction: u64, digits: usize) {
    let _ = write!(out, "{whole}");
    if fraction > 0 {
        let text = format!("{fraction:0digits$}");
        out.push('.');
        out.push_str(text.trim_end_matches('0'));
    }
}

/// Formats a duration as Go's `Duration.String` does.
pub fn format(duration: Duration) -> String {
    format_nanos(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "-1s", "1s2"] {
            assert!(parse(bad).is_none(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn formats_as_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_500_000, "1.5ms"),
            (5_000_000_000, "5s"),
            (90_000_000_000, "1m30s"),
            (100_000_000_000, "1m40s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (u64::MAX, "18446744073709551615ns"),
        ];
        for (nanos, text) in cases {
            assert_eq!(format_nanos(nanos), text, "{nanos}");
        }
    }

    #[test]
    fn round_trips() {
        for text in ["5s", "12s", "1m30s", "1h0m0s", "250ms", "1.5µs"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
