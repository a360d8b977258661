//! `hubl map`: observe's source and filter flags, and how to draw.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{
    AggregateArgs, ColorChoice, FilterArgs, FormattingArgs, ObserveArgs, OtherArgs, Output,
    RawFilterArgs, SelectorArgs, TimeFormatArg, TimeFormatName, server::parse_duration,
};

/// `hubl map`: Hubble UI's service map of the flows.
#[derive(Debug, Args)]
pub struct MapCommand {
    #[command(flatten)]
    pub selectors: SelectorArgs,

    #[command(flatten)]
    pub filters: FilterArgs,

    #[command(flatten)]
    pub raw_filters: RawFilterArgs,

    #[command(flatten)]
    pub other: OtherArgs,

    /// Output format of the map
    #[arg(short, long, value_enum, ignore_case = true, default_value_t = MapOutput::Mermaid, help_heading = "Map Flags")]
    pub output: MapOutput,

    /// Collapse cards: one per namespace, workload or pod instead of one
    /// per Hubble UI service
    #[arg(long, value_enum, value_name = "LEVEL", help_heading = "Map Flags")]
    pub group_by: Option<MapGrouping>,

    /// With --follow, stop after this long and draw the map (without it,
    /// Ctrl-C does)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "follow", help_heading = "Map Flags")]
    pub duration: Option<Duration>,

    /// Translate IP addresses to logical names such as pod name, FQDN, ...
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        help_heading = "Map Flags"
    )]
    pub ip_translation: bool,

    /// Keep at most this many links; the least recently seen are evicted
    /// and counted as such
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Map Flags")]
    pub max_links: u64,

    /// The filter flags in the order typed.
    #[arg(skip)]
    pub filter_order: Vec<super::FilterFlag>,
}

/// `hubl map -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapOutput {
    /// A Mermaid flowchart, as GitHub and GitLab render it
    Mermaid,
    /// Graphviz DOT
    Dot,
    /// Cards and links as JSON
    Json,
    /// An SVG picture, laid out by hubl (no Graphviz needed)
    Svg,
    /// One self-contained HTML page with the SVG, each link's flows shown
    /// on hover
    Html,
}

/// `hubl map --group-by` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapGrouping {
    /// A card per namespace
    Namespace,
    /// A card per workload
    Workload,
    /// A card per pod
    Pod,
}

impl MapCommand {
    /// Observe's flags for the same flows, so that the request and the
    /// source are built by observe's code.
    pub fn observe_args(&self) -> ObserveArgs {
        ObserveArgs {
            selectors: self.selectors.clone(),
            filters: self.filters.clone(),
            raw_filters: self.raw_filters.clone(),
            formatting: FormattingArgs {
                output: Output::Compact,
                print_node_name: false,
                print_policy_names: false,
                time_format: TimeFormatArg {
                    name: TimeFormatName::StampMilli,
                    unknown: None,
                },
                color: ColorChoice::Never,
                ip_translation: self.ip_translation,
                numeric: false,
            },
            other: self.other.clone(),
            aggregate: AggregateArgs {
                aggregate_by: Vec::new(),
                sort_by: None,
                aggregate_interval: None,
                max_groups: self.max_links,
            },
            filter_order: self.filter_order.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn map_takes_observe_flags() {
        let cli = Cli::try_parse_from([
            "hubl",
            "map",
            "--demo",
            "--namespace",
            "cilium-test",
            "-o",
            "dot",
            "--group-by",
            "workload",
            "--follow",
            "--duration",
            "3s",
        ])
        .unwrap();
        let Command::Map(map) = cli.command else {
            panic!("not map")
        };
        assert_eq!(map.output, MapOutput::Dot);
        assert_eq!(map.group_by, Some(MapGrouping::Workload));
        assert_eq!(map.duration, Some(Duration::from_secs(3)));
        assert!(map.other.demo && map.selectors.follow);
    }

    #[test]
    fn duration_needs_follow() {
        let error = Cli::try_parse_from(["hubl", "map", "--duration", "3s"]).unwrap_err();
        assert!(error.to_string().contains("--follow"), "{error}");
    }
}
