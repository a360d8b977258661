//! `flows-to-world`: `hubble_flows_to_world_total`
//! (`pkg/hubble/metrics/flows-to-world`).

use crate::proto::flow::{DropReason, Flow, Verdict, layer4::Protocol};

use super::{
    Counting, Family, Handler, Metric, MetricsError, Options, context::ContextOptions,
    flow::push_enum, names,
};

pub struct FlowsToWorldHandler {
    any_drop: bool,
    port: bool,
    syn_only: bool,
}

impl FlowsToWorldHandler {
    pub fn metric(options: &Options) -> Result<Metric, MetricsError> {
        let context = ContextOptions::parse(options)?;
        let has = |wanted: &str| {
            options
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
        };
        let (any_drop, port, syn_only) = (has("any-drop"), has("port"), has("syn-only"));
        let mut labels: Vec<String> = ["protocol", "verdict"].map(str::to_owned).to_vec();
        if port {
            labels.push("port".to_owned());
        }
        labels.extend(context.label_names());
        Ok(Metric {
            handler: Box::new(Self {
                any_drop,
                port,
                syn_only,
            }),
            context,
            families: vec![Family::counter(
                "hubble_flows_to_world",
                "Total number of flows to reserved:world",
                labels,
            )],
        })
    }
}

impl Handler for FlowsToWorldHandler {
    fn process(&self, flow: &Flow, counting: Counting<'_>) {
        let Some(destination) = flow.destination.as_ref() else {
            return;
        };
        let Some(l4) = flow.l4.as_ref() else {
            return;
        };
        if !destination.labels.iter().any(|l| l == "reserved:world") || flow.event_type.is_none() {
            return;
        }
        let dropped = flow.verdict == Verdict::Dropped as i32;
        if dropped && !self.any_drop && flow.drop_reason_desc != DropReason::PolicyDenied as i32 {
            return;
        }
        let is_reply = flow.is_reply.as_ref().is_some_and(|r| r.value);
        if !dropped && is_reply {
            return;
        }
        let tcp = match l4.protocol.as_ref() {
            Some(Protocol::Tcp(tcp)) => Some(tcp),
            _ => None,
        };
        let syn = tcp.and_then(|t| t.flags.as_ref()).is_some_and(|f| f.syn);
        if self.syn_only && (!syn || is_reply) {
            return;
        }
        let key = &mut counting.scratch.key;
        key.clear();
        key.push(names::flow_protocol(flow));
        push_enum(key, names::verdict(flow.verdict), flow.verdict);
        if self.port {
            match l4.protocol.as_ref() {
                Some(Protocol::Tcp(tcp)) => key.push_number(u64::from(tcp.destination_port)),
                Some(Protocol::Udp(udp)) => key.push_number(u64::from(udp.destination_port)),
                Some(Protocol::Sctp(sctp)) => key.push_number(u64::from(sctp.destination_port)),
                _ => key.push(""),
            }
        }
        counting.context.push_values(flow, false, key);
        counting.families[0].add(key, 1, counting.scratch.now);
    }
}
