//! Hubble's log lines on stderr, in Go's slog text format
//! (`time=2024-05-01T10:00:00.000Z level=DEBUG msg="..." key=value`), so
//! that what hubl logs reads, and filters, as hubble's log does.

use std::{fmt::Write as _, io::Write as _};

use chrono::{Local, Offset};

/// Writes one line at `level` (`DEBUG`, `ERROR`) with its attributes.
pub fn write(level: &str, message: &str, attributes: &[(&str, &str)]) {
    let mut line = String::new();
    push_time(&mut line);
    line.push(' ');
    push_record(&mut line, level, message, attributes);
    line.push('\n');
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// `time=` as slog writes it: local time to the millisecond, `Z` for UTC.
fn push_time(out: &mut String) {
    let now = Local::now();
    let _ = write!(out, "time={}", now.format("%Y-%m-%dT%H:%M:%S%.3f"));
    if now.offset().fix().local_minus_utc() == 0 {
        out.push('Z');
    } else {
        let _ = write!(out, "{}", now.format("%:z"));
    }
}

/// Everything after the time: `level=… msg=…` and ` key=value` pairs.
fn push_record(out: &mut String, level: &str, message: &str, attributes: &[(&str, &str)]) {
    let _ = write!(out, "level={level} msg=");
    push_value(out, message);
    for (key, value) in attributes {
        let _ = write!(out, " {key}=");
        push_value(out, value);
    }
}

/// A value as slog's text handler writes it: bare when it can be, quoted
/// with Go's escapes otherwise.
fn push_value(out: &mut String, value: &str) {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control() || c == '\u{fffd}');
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_as_go() {
        let mut out = String::new();
        push_value(&mut out, "plain");
        push_value(&mut out, " ");
        push_value(&mut out, "");
        push_value(&mut out, "a=\"b\"");
        assert_eq!(out, "plain\" \"\"\"\"a=\\\"b\\\"\"");
    }

    #[test]
    fn records_read_as_hubble_logs_them() {
        let mut out = String::new();
        push_record(
            &mut out,
            "ERROR",
            "error running CEL program",
            &[("error", "index out of bounds: 10")],
        );
        assert_eq!(
            out,
            r#"level=ERROR msg="error running CEL program" error="index out of bounds: 10""#
        );
    }
}
