//! How to reach a Hubble server.

use std::time::Duration;

use clap::Args;

/// Hubble's "Server Flags".
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server Flags")]
pub struct ServerArgs {
    /// Address of a Hubble server. Ignored when --input-file is provided.
    #[arg(long, env = "HUBBLE_SERVER", default_value = "localhost:4245")]
    pub server: String,

    /// Hubble server dialing timeout
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Parses a Go-style duration (`5s`, `1m30s`, `250ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    go_duration(text).ok_or_else(|| {
        format!("invalid duration {text:?}: expected a number with a unit, e.g. 5s, 1m30s, 250ms")
    })
}

/// Go's `time.ParseDuration` grammar: a sequence of decimal numbers, each
/// with a unit (ns, us, µs, ms, s, m, h); a lone `0` is allowed.
fn go_duration(text: &str) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "-1s", "1s2"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
