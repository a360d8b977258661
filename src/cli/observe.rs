//! `hubl observe`: the flags of `hubble observe`, grouped under Hubble's
//! help headings.

use clap::{
    ArgAction, ArgMatches, Args, Subcommand, ValueEnum,
    builder::{PossibleValue, TypedValueParser},
};

pub use super::filters::{FilterArgs, RawFilterArgs, SelectorArgs};
use super::{
    AggregateArgs,
    filters::{FilterFlag, filter_flags_in_order},
};

/// `hubl observe [flows]`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ObserveCommand {
    #[command(subcommand)]
    pub events: Option<ObserveEvents>,

    #[command(flatten)]
    pub args: ObserveArgs,
}

impl ObserveCommand {
    /// The flow arguments, whether given as `observe` or `observe flows`.
    pub fn flow_args(&self) -> &ObserveArgs {
        match &self.events {
            Some(ObserveEvents::Flows(args)) => args,
            _ => &self.args,
        }
    }

    /// Records the order the filter flags were typed in, which clap's
    /// derived fields do not keep; `observe` holds the matches of this
    /// command.
    pub fn record_filter_order(&mut self, observe: &ArgMatches) {
        match (&mut self.events, observe.subcommand()) {
            (Some(ObserveEvents::Flows(args)), Some(("flows", flows))) => {
                args.filter_order = filter_flags_in_order(flows);
            }
            (None, _) => self.args.filter_order = filter_flags_in_order(observe),
            _ => {}
        }
    }
}

/// What `hubl observe` can watch besides the default, flows.
#[derive(Debug, Subcommand)]
pub enum ObserveEvents {
    /// Observe Cilium agent events
    AgentEvents(EventsArgs),
    /// Observe Cilium debug events
    DebugEvents(EventsArgs),
    /// Observe flows of a Hubble server
    Flows(Box<ObserveArgs>),
}

/// Every flag of `hubble observe agent-events` and `debug-events`: the
/// selectors, formatting and other flags they share with flows.
#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub selectors: SelectorArgs,

    #[command(flatten)]
    pub formatting: EventFormattingArgs,

    #[command(flatten)]
    pub other: OtherArgs,
}

/// Hubble's "Formatting Flags" as events use them.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Formatting Flags")]
pub struct EventFormattingArgs {
    /// Specify the output format
    #[arg(short, long, value_enum, ignore_case = true, default_value_t = Output::Compact)]
    pub output: Output,

    /// Print node name in output
    #[arg(long)]
    pub print_node_name: bool,

    /// Print policy names in output
    #[arg(long)]
    pub print_policy_names: bool,

    /// Specify the time format for printing. This option does not apply to
    /// the json and jsonpb output type.
    #[arg(long, value_parser = TimeFormatParser, default_value = "StampMilli")]
    pub time_format: TimeFormatArg,
}

/// Every flag of `hubble observe flows`.
#[derive(Debug, Args)]
pub struct ObserveArgs {
    #[command(flatten)]
    pub selectors: SelectorArgs,

    #[command(flatten)]
    pub filters: FilterArgs,

    #[command(flatten)]
    pub raw_filters: RawFilterArgs,

    #[command(flatten)]
    pub formatting: FormattingArgs,

    #[command(flatten)]
    pub other: OtherArgs,

    #[command(flatten)]
    pub aggregate: AggregateArgs,

    /// The filter flags in the order typed, from `record_filter_order`.
    #[arg(skip)]
    pub filter_order: Vec<FilterFlag>,
}

/// Hubble's "Formatting Flags" and "Flow Format Flags".
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Formatting Flags")]
pub struct FormattingArgs {
    /// Specify the output format
    #[arg(short, long, value_enum, ignore_case = true, default_value_t = Output::Compact)]
    pub output: Output,

    /// Print node name in output
    #[arg(long)]
    pub print_node_name: bool,

    /// Print policy names in output
    #[arg(long)]
    pub print_policy_names: bool,

    /// Specify the time format for printing. This option does not apply to
    /// the json and jsonpb output type.
    #[arg(long, value_parser = TimeFormatParser, default_value = "StampMilli")]
    pub time_format: TimeFormatArg,

    /// Colorize the output when the output format is one of 'compact' or
    /// 'dict'.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value_t = ColorChoice::Auto,
        help_heading = "Flow Format Flags"
    )]
    pub color: ColorChoice,

    /// Translate IP addresses to logical names such as pod name, FQDN, ...
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        help_heading = "Flow Format Flags"
    )]
    pub ip_translation: bool,

    /// Display all information in numeric form
    #[arg(long, help_heading = "Flow Format Flags")]
    pub numeric: bool,
}

/// `-o/--output` values, as `hubble observe` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Compact output
    Compact,
    /// Each flow is shown as KEY:VALUE pair
    Dict,
    /// JSON encoded GetFlowResponse according to proto3's JSON mapping
    Jsonpb,
    /// Alias for jsonpb
    Json,
    /// Tab-aligned columns
    #[value(alias = "tab")]
    Table,
}

/// `--time-format` values, with Hubble's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "verbatim")]
pub enum TimeFormatName {
    /// Jan _2 15:04:05.000
    StampMilli,
    /// 2006-01-02
    YearMonthDay,
    /// 2006-01-02T15Z07:00
    YearMonthDayHour,
    /// 2006-01-02T15:04Z07:00
    YearMonthDayHourMinute,
    /// 2006-01-02T15:04:05Z07:00
    RFC3339,
    /// 2006-01-02T15:04:05.999Z07:00
    RFC3339Milli,
    /// 2006-01-02T15:04:05.999999Z07:00
    RFC3339Micro,
    /// 2006-01-02T15:04:05.999999999Z07:00
    RFC3339Nano,
    /// Mon, 02 Jan 2006 15:04:05 -0700
    RFC1123Z,
}

impl TimeFormatName {
    /// Every name, in the order Hubble lists them (`hubtime.FormatNames`).
    pub const HUBBLE_ORDER: [TimeFormatName; 9] = [
        TimeFormatName::YearMonthDay,
        TimeFormatName::YearMonthDayHour,
        TimeFormatName::YearMonthDayHourMinute,
        TimeFormatName::StampMilli,
        TimeFormatName::RFC3339,
        TimeFormatName::RFC3339Milli,
        TimeFormatName::RFC3339Micro,
        TimeFormatName::RFC3339Nano,
        TimeFormatName::RFC1123Z,
    ];
}

/// A `--time-format` value. Hubble takes any name and prints an unknown one
/// as StampMilli (`hubtime.FormatNameToLayout`), so an unknown name is kept
/// for a warning rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFormatArg {
    /// The format times are printed in.
    pub name: TimeFormatName,
    /// The name as typed, when it is none of the known ones.
    pub unknown: Option<String>,
}

/// Parses `--time-format` as Hubble does: any case, unknown names fall back
/// to StampMilli. Help and completion still list the known names.
#[derive(Debug, Clone, Copy)]
pub struct TimeFormatParser;

impl TypedValueParser for TimeFormatParser {
    type Value = TimeFormatArg;

    fn parse_ref(
        &self,
        _: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<TimeFormatArg, clap::Error> {
        let text = value.to_string_lossy();
        Ok(match TimeFormatName::from_str(&text, true) {
            Ok(name) => TimeFormatArg {
                name,
                unknown: None,
            },
            Err(_) => TimeFormatArg {
                name: TimeFormatName::StampMilli,
                unknown: Some(text.into_owned()),
            },
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            TimeFormatName::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb
    Auto,
    /// Always colour
    Always,
    /// Never colour
    Never,
}

/// Hubble's "Other Flags".
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Other Flags")]
pub struct OtherArgs {
    /// Query flows from this file instead of the server. Use '-' to read
    /// from stdin.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<String>,

    /// Print allowlist/denylist filters and exit without sending the request
    /// to Hubble server
    #[arg(long)]
    pub print_raw_filters: bool,

    /// Silently ignores errors and warnings
    #[arg(short, long)]
    pub silent_errors: bool,

    /// Observe the built-in demo relay (a capture of the Cilium
    /// connectivity test) instead of a server; no cluster needed.
    #[arg(long, conflicts_with = "input_file")]
    pub demo: bool,

    /// Comma-separated list of fields for mask. Fields not in the mask will
    /// be removed from server response.
    #[arg(long, value_name = "strings", value_delimiter = ',', action = ArgAction::Append)]
    pub field_mask: Vec<String>,

    /// Request only visible fields when the output format is compact, tab,
    /// or dict.
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = ArgAction::Set
    )]
    pub use_default_field_masks: bool,
}
