//! Command-line definitions (clap derive). Only what the user typed lives
//! here: no I/O, no proto types.

mod aggregate;
mod config;
mod filters;
mod list;
mod map;
mod metrics;
mod observe;
mod serve;
mod server;
mod status;
mod watch;

pub use aggregate::{AggregateArgs, SortOrder, TopCommand};
pub use config::{ConfigAction, ConfigCommand};
pub use filters::{FILTER_FLAGS, FilterFlag, filter_flags_in_order};
pub use list::{ListCommand, ListOutput, ListTarget};
pub use map::{MapCommand, MapGrouping, MapOutput};
pub use metrics::{MetricsCommand, MetricsOutput};
pub use observe::{
    ColorChoice, EventFormattingArgs, EventsArgs, FilterArgs, FormattingArgs, ObserveArgs,
    ObserveCommand, ObserveEvents, OtherArgs, Output, RawFilterArgs, SelectorArgs, TimeFormatArg,
    TimeFormatName,
};
pub use serve::ServeCommand;
pub use server::{GlobalArgs, ServerArgs};
pub use status::{StatusCommand, StatusOutput};
pub use watch::{WatchCommand, WatchTarget};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hubl: observe the network flows of a Cilium cluster through Hubble.
#[derive(Debug, Parser)]
// As with Hubble's flags, a repeated flag takes its last value.
#[command(name = "hubl", version, about, long_about = None, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub server: ServerArgs,
}

/// The command line as parsed and documented. The server flags are global,
/// so that `hubl --server X status` works as in Hubble, but like Hubble's
/// help, only the commands that dial a server (and `config`, which shows
/// them) list them. The others get hidden copies of their own, which clap
/// then does not replace with the global ones.
pub fn command() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    let server_flags = <ServerArgs as clap::Args>::augment_args(clap::Command::new("server"));
    for name in ["completion", "serve", "version"] {
        command = command.mut_subcommand(name, |sub| {
            sub.args(
                server_flags
                    .get_arguments()
                    .map(|arg| arg.clone().global(false).hide(true)),
            )
        });
    }
    command
}

/// The subcommands, named as in `hubble`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the autocompletion script for the specified shell
    Completion(CompletionCommand),
    /// Modify or view hubble config
    Config(ConfigCommand),
    /// List Hubble objects
    List(ListCommand),
    /// Draw Hubble UI's service map of the flows (Mermaid, DOT, JSON)
    Map(Box<MapCommand>),
    /// Serve Hubble's Prometheus metrics, counted from the flow stream
    Metrics(Box<MetricsCommand>),
    /// Observe flows and events of a Hubble server
    Observe(Box<ObserveCommand>),
    /// Serve a capture with Hubble's API, as hubble-relay does
    Serve(ServeCommand),
    /// Display status of Hubble server
    Status(StatusCommand),
    /// Show flows grouped by source, destination and port, live
    Top(Box<TopCommand>),
    /// Display detailed version information
    Version,
    /// Watch Hubble objects
    #[command(hide = true, alias = "w")]
    Watch(WatchCommand),
}

/// `hubl completion SHELL`.
#[derive(Debug, Args)]
pub struct CompletionCommand {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells `hubble completion` supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Fish,
    Powershell,
    Zsh,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        super::command().debug_assert();
    }

    #[test]
    fn only_commands_that_dial_list_the_server_flags() {
        let mut command = super::command();
        command.build();
        for (name, dials) in [
            ("serve", false),
            ("completion", false),
            ("version", false),
            ("status", true),
            ("observe", true),
        ] {
            let help = command
                .find_subcommand_mut(name)
                .unwrap()
                .render_help()
                .to_string();
            for flag in [
                "--server",
                "--tls-server-name",
                "--basic-auth-username",
                "--port-forward",
            ] {
                assert_eq!(
                    help.contains(flag),
                    dials,
                    "{name} --help and {flag}:\n{help}"
                );
            }
        }
        let serve = super::command().try_get_matches_from([
            "hubl",
            "serve",
            "--input-file",
            "x",
            "--listen",
            "a:1",
        ]);
        assert!(serve.is_ok(), "{serve:?}");
    }

    #[test]
    fn server_flags_go_anywhere() {
        let before = Cli::try_parse_from(["hubl", "--server", "a:1", "status"]).unwrap();
        assert_eq!(before.server.server.as_deref(), Some("a:1"));
        let after = Cli::try_parse_from(["hubl", "observe", "agent-events", "--tls"]).unwrap();
        assert_eq!(after.server.tls, Some(true));
        let flows =
            Cli::try_parse_from(["hubl", "observe", "--server", "b:2", "--last", "3"]).unwrap();
        assert_eq!(flows.server.server.as_deref(), Some("b:2"));
    }
}
