//! Command-line definitions (clap derive). Only what the user typed lives
//! here: no I/O, no proto types.

mod filters;
mod observe;
mod server;

pub use observe::{
    ColorChoice, FilterArgs, FormattingArgs, ObserveArgs, ObserveCommand, ObserveEvents, OtherArgs,
    Output, RawFilterArgs, SelectorArgs, TimeFormatName,
};
pub use server::ServerArgs;

use clap::{Parser, Subcommand};

/// hubl: observe the network flows of a Cilium cluster through Hubble.
#[derive(Debug, Parser)]
#[command(name = "hubl", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, named as in `hubble`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Observe flows and events of a Hubble server
    Observe(ObserveCommand),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
