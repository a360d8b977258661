//! `hubl list nodes|namespaces`.

use clap::{Args, Subcommand, ValueEnum};

/// `hubl list`.
#[derive(Debug, Args)]
pub struct ListCommand {
    #[command(subcommand)]
    pub target: ListTarget,
}

/// What `hubl list` lists.
#[derive(Debug, Subcommand)]
pub enum ListTarget {
    /// List Hubble nodes
    #[command(alias = "node")]
    Nodes(ListArgs),
    /// List namespaces with recent flows
    Namespaces(ListArgs),
}

impl ListTarget {
    /// The output format, whatever is listed.
    pub fn output(&self) -> ListOutput {
        match self {
            ListTarget::Nodes(args) | ListTarget::Namespaces(args) => args.output,
        }
    }
}

/// The flags of the `list` subcommands.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Specify the output format
    #[arg(short, long, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

/// `-o` values of `hubble list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    /// JSON encoding
    Json,
    /// Tab-aligned columns
    Table,
    /// Tab-aligned columns with additional information
    Wide,
}
