//! `flow`: `hubble_flows_processed_total` (`pkg/hubble/metrics/flow`).

use crate::{
    printer::names::trace_observation_point,
    proto::flow::{Flow, layer7::Record},
};

use super::{
    Scratch,
    counter::{Count, Tally},
    names::{
        self, MESSAGE_TYPE_ACCESS_LOG, MESSAGE_TYPE_CAPTURE, MESSAGE_TYPE_DROP,
        MESSAGE_TYPE_POLICY_VERDICT, MESSAGE_TYPE_TRACE,
    },
};

pub struct FlowsProcessed;

impl Count for FlowsProcessed {
    const NAME: &'static str = "hubble_flows_processed";
    const HELP: &'static str = "Total number of flows processed";
    const LABELS: &'static [&'static str] = &["protocol", "type", "subtype", "verdict"];

    fn count(flow: &Flow, scratch: &mut Scratch, tally: &mut Tally<'_>) {
        let key = &mut scratch.key;
        key.clear();
        key.push(names::flow_protocol(flow));
        let kind = names::event_type(flow);
        match kind {
            MESSAGE_TYPE_ACCESS_LOG => {
                key.push("L7");
                key.push(match flow.l7.as_ref().and_then(|l7| l7.record.as_ref()) {
                    Some(Record::Dns(_)) => "DNS",
                    Some(Record::Http(_)) => "HTTP",
                    #[allow(deprecated)]
                    Some(Record::Kafka(_)) => "Kafka",
                    None => "",
                });
            }
            MESSAGE_TYPE_DROP => {
                key.push("Drop");
                key.push("");
            }
            MESSAGE_TYPE_CAPTURE => {
                key.push("Capture");
                key.push("");
            }
            MESSAGE_TYPE_TRACE => {
                key.push("Trace");
                let sub_type = flow.event_type.as_ref().map_or(0, |t| t.sub_type);
                // A map lookup in Hubble: an unknown point gives "".
                key.push(trace_observation_point(sub_type as u8).unwrap_or(""));
            }
            MESSAGE_TYPE_POLICY_VERDICT => {
                key.push("PolicyVerdict");
                key.push("");
            }
            _ => {
                key.push("Unknown");
                key.push_number(kind as u32 as u64);
            }
        }
        push_enum(key, names::verdict(flow.verdict), flow.verdict);
        tally.add(key);
    }
}

/// A Go enum `String()` as one label value.
pub fn push_enum(key: &mut super::Key, name: Option<&'static str>, value: i32) {
    match name {
        Some(name) => key.push(name),
        None => key.push_display(value),
    }
}
