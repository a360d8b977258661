//! From flags to the `GetFlowsRequest` Hubble would send, and the evaluation
//! of its `FlowFilter`s for sources that have no server to do it.

pub mod cel;
mod cel_check;
mod flags;
pub mod labels;
mod matcher;
pub mod time;

pub use flags::build_filters;
pub use matcher::FlowMatcher;

use chrono::{DateTime, Utc};
use prost_types::field_descriptor_proto::{Label, Type};

use crate::{
    cli::{FilterFlag, SelectorArgs},
    proto::{Timestamp, flow::FlowFilter, message_descriptor, observer::GetFlowsRequest},
};

/// The fields compact, dict and table output print: with
/// `--use-default-field-masks` (on by default) only these are requested.
/// The last six came with cilium/cilium#46672: without them policy verdicts
/// print as `policy-verdict:none TRAFFIC_DIRECTION_UNKNOWN`.
pub const DEFAULT_FIELD_MASK: &[&str] = &[
    "time",
    "verdict",
    "ethernet",
    "IP",
    "l4",
    "source.identity",
    "source.namespace",
    "source.pod_name",
    "destination.identity",
    "destination.namespace",
    "destination.pod_name",
    "Type",
    "node_name",
    "l7",
    "event_type",
    "source_service",
    "destination_service",
    "is_reply",
    "Summary",
    "ip_trace_id",
    "traffic_direction",
    "policy_match_type",
    "ingress_allowed_by",
    "ingress_denied_by",
    "egress_allowed_by",
    "egress_denied_by",
];

/// A filter or selector flag whose value cannot be used; the message names
/// the flag, as Hubble's does.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A flag's value, or a combination of flags, that Hubble refuses.
    #[error("{0}")]
    Invalid(String),

    /// A CEL expression that cel-go would not compile, with its issues as
    /// cel-go reports them.
    #[error("error compiling CEL expression: {0}")]
    Cel(String),
}

/// Everything of `hubl observe` that shapes the request.
pub struct RequestFlags<'a> {
    pub selectors: &'a SelectorArgs,
    pub filters: &'a [FilterFlag],
    pub allowlist: &'a [String],
    pub denylist: &'a [String],
    pub field_mask: &'a [String],
    pub use_default_field_masks: bool,
    /// JSON output prints every field, so no default mask applies.
    pub json_output: bool,
    /// Reading a file, Hubble keeps every flow unless told otherwise.
    pub from_file: bool,
}

/// Builds the request Hubble sends for these flags, with `now` as the
/// reference of relative `--since`/`--until` values.
pub fn build_request(
    flags: &RequestFlags<'_>,
    now: DateTime<Utc>,
) -> Result<GetFlowsRequest, FilterError> {
    let selectors = flags.selectors;
    let first = selectors.first > 0;
    let last = selectors.last > 0;
    let conflict = |message: &str| Err(FilterError::Invalid(message.to_owned()));
    if first && last {
        return conflict("cannot set both --first and --last");
    }
    if first && selectors.all {
        return conflict("cannot set both --first and --all");
    }
    if first && selectors.follow {
        return conflict("cannot set both --first and --follow");
    }
    if last && selectors.all {
        return conflict("cannot set both --last and --all");
    }

    let (since, until) = time_range(selectors, now)?;

    let mut number = selectors.last;
    if since.is_none() && until.is_none() && !first {
        if selectors.all {
            number = u64::MAX;
        } else if number == 0 && !selectors.follow && !flags.from_file {
            number = 20;
        }
    }
    if first {
        number = selectors.first;
    }

    let (mut whitelist, mut blacklist) = build_filters(flags.filters)?;
    whitelist.extend(parse_raw_filters(flags.allowlist, "allowlist")?);
    blacklist.extend(parse_raw_filters(flags.denylist, "denylist")?);

    let mask: Vec<String> = if !flags.field_mask.is_empty() {
        check_field_mask(flags.field_mask)?;
        flags.field_mask.to_vec()
    } else if flags.use_default_field_masks && !flags.json_output {
        DEFAULT_FIELD_MASK
            .iter()
            .map(|path| path.to_string())
            .collect()
    } else {
        Vec::new()
    };

    Ok(GetFlowsRequest {
        number,
        first,
        follow: selectors.follow,
        whitelist,
        blacklist,
        since,
        until,
        field_mask: (!mask.is_empty()).then_some(pbjson_types::FieldMask { paths: mask }),
        ..GetFlowsRequest::default()
    })
}

/// Protobuf's `fieldmaskpb.New` check, as Hubble runs it on `--field-mask`:
/// each path names fields by their proto names, and only a singular
/// message field can be descended into. The first bad path is reported.
fn check_field_mask(paths: &[String]) -> Result<(), FilterError> {
    for path in paths {
        let mut message = message_descriptor("flow.Flow");
        let valid = path.split('.').all(|name| {
            let Some(field) = message.and_then(|m| m.field.iter().find(|f| f.name() == name))
            else {
                return false;
            };
            message = (field.r#type() == Type::Message && field.label() != Label::Repeated)
                .then(|| message_descriptor(field.type_name().trim_start_matches('.')))
                .flatten();
            true
        });
        if !valid {
            return Err(FilterError::Invalid(format!(
                "failed to construct field mask: proto: invalid path {} for message \"flow.Flow\"",
                go_quote(path)
            )));
        }
    }
    Ok(())
}

/// `--since` and `--until` as the request carries them; following, there
/// is no end time.
pub fn time_range(
    selectors: &SelectorArgs,
    now: DateTime<Utc>,
) -> Result<(Option<Timestamp>, Option<Timestamp>), FilterError> {
    let since = match &selectors.since {
        Some(text) => Some(parse_time(text, now, "since")?),
        None => None,
    };
    let until = match &selectors.until {
        Some(text) if !selectors.follow => Some(parse_time(text, now, "until")?),
        _ => None,
    };
    Ok((since, until))
}

fn parse_time(text: &str, now: DateTime<Utc>, flag: &str) -> Result<Timestamp, FilterError> {
    time::parse(text, now).ok_or_else(|| {
        FilterError::Invalid(format!(
            "failed to parse the {flag} time: failed to convert {text} to time \
             (use a duration such as 5m or 1h30m, or a time such as 2023-01-02T15:04:05Z)"
        ))
    })
}

/// `--allowlist`/`--denylist` values: one or more JSON FlowFilters each,
/// with proto or JSON field names; unknown fields are refused, as protojson
/// refuses them.
pub fn parse_raw_filters(values: &[String], flag: &str) -> Result<Vec<FlowFilter>, FilterError> {
    let mut filters = Vec::new();
    for value in values {
        let mut stream = serde_json::Deserializer::from_str(value).into_iter::<serde_json::Value>();
        for item in &mut stream {
            let failed = |reason: String| {
                FilterError::Invalid(format!(
                    "invalid --{flag} flag: failed to decode '{value}': {reason}"
                ))
            };
            let json = item.map_err(|e| failed(e.to_string()))?;
            let mut unknown = None;
            let filter: FlowFilter = serde_ignored::deserialize(&json, |path| {
                unknown.get_or_insert_with(|| path.to_string());
            })
            .map_err(|e| failed(e.to_string()))?;
            if let Some(field) = unknown {
                return Err(failed(format!("unknown field {field:?}")));
            }
            filters.push(filter);
        }
    }
    Ok(filters)
}

/// A string quoted as Go's `%q` quotes it: Hubble's messages quote values
/// this way.
pub(crate) fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{b}' => quoted.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                quoted.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
