//! Selector, filter and raw-filter flags of `hubl observe`.

use clap::Args;

/// Hubble's "Selectors Flags": how many flows, from when.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Selectors Flags")]
pub struct SelectorArgs {
    /// Get all flows stored in Hubble's buffer.
    #[arg(long)]
    pub all: bool,

    /// Get first N flows stored in Hubble's buffer.
    #[arg(long, value_name = "N")]
    pub first: Option<u64>,

    /// Follow flows output
    #[arg(short, long)]
    pub follow: bool,

    /// Get last N flows stored in Hubble's buffer (default 20).
    #[arg(long, value_name = "N")]
    pub last: Option<u64>,
}

/// Hubble's "Filters Flags".
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters Flags")]
pub struct FilterArgs {}

/// Hubble's "Raw-Filters Flags".
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Raw-Filters Flags")]
pub struct RawFilterArgs {}
