//! `flow`: `hubble_flows_processed_total` (`pkg/hubble/metrics/flow`).

use crate::{
    printer::names::trace_observation_point,
    proto::flow::{Flow, layer7::Record},
};

use super::{
    Family, Handler, Options, Scratch,
    context::ContextOptions,
    names::{
        self, MESSAGE_TYPE_ACCESS_LOG, MESSAGE_TYPE_CAPTURE, MESSAGE_TYPE_DROP,
        MESSAGE_TYPE_POLICY_VERDICT, MESSAGE_TYPE_TRACE,
    },
};

pub struct FlowHandler {
    context: ContextOptions,
    families: [Family; 1],
}

impl FlowHandler {
    pub fn new(options: &Options) -> Result<Self, super::MetricsError> {
        let context = ContextOptions::parse(options)?;
        let labels = context.after(&["protocol", "type", "subtype", "verdict"]);
        Ok(Self {
            context,
            families: [Family::counter(
                "hubble_flows_processed",
                "Total number of flows processed",
                labels,
            )],
        })
    }
}

impl Handler for FlowHandler {
    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
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
        self.context.push_values(flow, false, key);
        self.families[0].add(key, 1, scratch.now);
    }

    fn families(&self) -> &[Family] {
        &self.families
    }

    fn families_mut(&mut self) -> &mut [Family] {
        &mut self.families
    }

    fn context(&self) -> &ContextOptions {
        &self.context
    }
}

/// A Go enum `String()` as one label value.
pub fn push_enum(key: &mut super::Key, name: Option<&'static str>, value: i32) {
    match name {
        Some(name) => key.push(name),
        None => key.push_display(value),
    }
}
