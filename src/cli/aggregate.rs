//! `--aggregate-by` and its flags (on `hubl observe` and `hubl top`), and
//! `hubl top` itself.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{ObserveArgs, server::parse_duration};

/// Hubl's "Aggregation Flags": a summary of groups instead of flows.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Aggregation Flags")]
pub struct AggregateArgs {
    /// Print a summary of flows grouped by these keys instead of the flows:
    /// source[:LEVEL], destination[:LEVEL] (LEVEL: pod, workload, namespace,
    /// identity, ip, service (Hubble UI's cards); pod if left out), port, protocol, verdict,
    /// drop-reason, direction, node, l7
    #[arg(long, value_name = "KEY[,KEY...]", action = clap::ArgAction::Append)]
    pub aggregate_by: Vec<String>,

    /// Order of the groups in a summary (flows if not set; hubl top sorts
    /// by rate)
    #[arg(long, value_enum, value_name = "ORDER")]
    pub sort_by: Option<SortOrder>,

    /// With --follow, print a summary this often (10s if not set; hubl top
    /// refreshes every second)
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub aggregate_interval: Option<Duration>,

    /// Keep at most this many groups; the least recently seen are evicted
    /// and counted as such
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_groups: u64,
}

/// `--sort-by` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortOrder {
    /// Most flows first
    Flows,
    /// Highest flows/s first
    Rate,
    /// Most dropped flows first
    Dropped,
    /// Most forwarded flows first
    Forwarded,
    /// Most recently seen first
    LastSeen,
    /// Highest HTTP latency first
    Latency,
    /// By key, alphabetically
    Key,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_duration(text)?;
    if interval < Duration::from_millis(100) {
        return Err(format!("{text:?} is too short: at least 100ms"));
    }
    if interval > Duration::from_secs(24 * 3600) {
        return Err(format!("{text:?} is too long: at most 24h"));
    }
    Ok(interval)
}

/// `hubl top`: flows grouped and sorted by rate, live.
#[derive(Debug, Args)]
pub struct TopCommand {
    /// Print the table once per interval instead of the full-screen view,
    /// as `top -b` does; the default when stdout is not a terminal
    #[arg(short, long, help_heading = "Top Flags")]
    pub batch: bool,

    /// Stop after this many updates
    #[arg(long, value_name = "N", help_heading = "Top Flags")]
    pub iterations: Option<u64>,

    #[command(flatten)]
    pub args: ObserveArgs,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    #[test]
    fn top_takes_observe_flags() {
        let cli = Cli::try_parse_from([
            "hubl",
            "top",
            "--demo",
            "--namespace",
            "cilium-test",
            "--aggregate-by",
            "source:workload,destination",
            "-b",
            "--iterations",
            "2",
        ])
        .unwrap();
        let Command::Top(top) = cli.command else {
            panic!("not top")
        };
        assert!(top.batch);
        assert_eq!(top.iterations, Some(2));
        assert_eq!(
            top.args.aggregate.aggregate_by,
            ["source:workload,destination"]
        );
        assert!(top.args.other.demo);
    }

    #[test]
    fn intervals_are_checked() {
        let error = Cli::try_parse_from([
            "hubl",
            "observe",
            "--aggregate-by",
            "port",
            "--aggregate-interval",
            "1ms",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("at least 100ms"), "{error}");
    }
}
