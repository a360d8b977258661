//! `hubl watch peers`: a development aid, hidden as in Hubble.

use clap::{Args, Subcommand};

/// `hubl watch`.
#[derive(Debug, Args)]
pub struct WatchCommand {
    #[command(subcommand)]
    pub target: WatchTarget,
}

/// What `hubl watch` watches.
#[derive(Debug, Subcommand)]
pub enum WatchTarget {
    /// Watch for Hubble peers updates
    #[command(alias = "peer")]
    Peers,
}
