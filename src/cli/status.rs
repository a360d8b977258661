//! `hubl status`.

use clap::{Args, ValueEnum};

/// `hubl status [-o FORMAT]`.
#[derive(Debug, Args)]
#[command(
    long_about = "Display shows the status of the Hubble server. This is intended as a basic\nconnectivity health check."
)]
pub struct StatusCommand {
    /// Specify the output format
    #[arg(short, long, value_enum, default_value_t = StatusOutput::Compact)]
    pub output: StatusOutput,

    /// Check the built-in demo relay (a capture of the Cilium connectivity
    /// test) instead of a server.
    #[arg(long)]
    pub demo: bool,
}

/// `-o` values of `hubble status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusOutput {
    /// Compact output
    Compact,
    /// Status is shown as KEY:VALUE pair
    Dict,
    /// JSON encoding
    #[value(alias = "JSON", alias = "jsonpb")]
    Json,
    /// Tab-aligned columns
    #[value(alias = "tab")]
    Table,
}
