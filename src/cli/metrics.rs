//! `hubl metrics`: Hubble's flow metrics, counted from the flow stream.

use clap::{ArgMatches, Args, ValueEnum};

use super::filters::{FilterArgs, FilterFlag, RawFilterArgs, SelectorArgs, filter_flags_in_order};

/// `hubl metrics`.
#[derive(Debug, Args)]
#[command(
    about = "Serve Hubble's Prometheus metrics, counted from the flow stream",
    long_about = "Counts flows as Hubble's metric handlers in each Cilium agent do \
        (hubble.metrics.enabled), from one stream, and serves them on /metrics. \
        Every filter flag of `observe` narrows what is counted. With --input-file, \
        prints the exposition of the whole capture once instead."
)]
pub struct MetricsCommand {
    /// Metrics to count, with their options, as Cilium's hubble-metrics
    /// takes them: e.g. "dns:query;ignoreAAAA,drop,tcp,flow,icmp,
    /// httpV2:exemplars=true;labelsContext=source_namespace,destination_namespace".
    /// Metrics are separated by commas or spaces; the flag may be repeated.
    /// Also HUBBLE_METRICS or the config key `metrics`. [default:
    /// dns,drop,tcp,flow,icmp,http]
    #[arg(long, value_name = "SPEC", action = clap::ArgAction::Append)]
    pub metrics: Vec<String>,

    /// Address to serve /metrics on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9965")]
    pub listen: String,

    /// Exposition format printed for --input-file
    #[arg(short, long, value_enum, ignore_case = true, default_value_t = MetricsOutput::Prometheus)]
    pub output: MetricsOutput,

    /// Drop the series of a pod (metrics whose context names pods) once no
    /// flow has counted in them for this long, as Hubble drops them when
    /// the pod is deleted; 0 keeps them
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub pod_series_ttl: String,

    /// Count the flows of this file instead of the server, and print the
    /// exposition once at the end. Use '-' to read from stdin.
    #[arg(long, value_name = "FILE", help_heading = "Other Flags")]
    pub input_file: Option<String>,

    /// Count the flows of the built-in demo relay (replayed in a loop with
    /// --follow); no cluster needed.
    #[arg(long, conflicts_with = "input_file", help_heading = "Other Flags")]
    pub demo: bool,

    /// Silently ignores errors and warnings
    #[arg(short, long, help_heading = "Other Flags")]
    pub silent_errors: bool,

    #[command(flatten)]
    pub selectors: SelectorArgs,

    #[command(flatten)]
    pub filters: FilterArgs,

    #[command(flatten)]
    pub raw_filters: RawFilterArgs,

    /// The filter flags in the order typed, from `record_filter_order`.
    #[arg(skip)]
    pub filter_order: Vec<FilterFlag>,
}

impl MetricsCommand {
    /// Records the order the filter flags were typed in (see
    /// `ObserveCommand::record_filter_order`).
    pub fn record_filter_order(&mut self, matches: &ArgMatches) {
        self.filter_order = filter_flags_in_order(matches);
    }
}

/// `-o/--output` of `hubl metrics --input-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsOutput {
    /// The Prometheus text format (version 0.0.4)
    Prometheus,
    /// OpenMetrics text (version 1.0.0), with exemplars
    Openmetrics,
    /// One JSON object per metric family, with its samples
    Json,
}
