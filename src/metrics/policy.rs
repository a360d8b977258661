//! `policy`: `hubble_policy_verdicts_total` (`pkg/hubble/metrics/policy`).

use crate::proto::flow::{Flow, layer7::Record};

use super::{
    Key, Scratch,
    counter::{Count, Tally},
    names::{self, MESSAGE_TYPE_ACCESS_LOG, MESSAGE_TYPE_POLICY_VERDICT},
};

/// The reserved identity of the local host.
const IDENTITY_HOST: u32 = 1;

pub struct Policy;

impl Count for Policy {
    const NAME: &'static str = "hubble_policy_verdicts";
    const HELP: &'static str = "Total number of Cilium network policy verdicts";
    const LABELS: &'static [&'static str] = &["direction", "match", "action"];

    fn count(flow: &Flow, scratch: &mut Scratch, tally: &mut Tally<'_>) {
        let kind = names::event_type(flow);
        let text = &mut scratch.text;
        text.clear();
        match kind {
            MESSAGE_TYPE_POLICY_VERDICT => {
                // The host may reach any local endpoint: not a verdict.
                if flow.source.as_ref().map_or(0, |s| s.identity) == IDENTITY_HOST {
                    return;
                }
                text.push_str(names::policy_match_type(flow.policy_match_type));
            }
            MESSAGE_TYPE_ACCESS_LOG => {
                text.push_str("l7/");
                text.push_str(match flow.l7.as_ref().and_then(|l7| l7.record.as_ref()) {
                    Some(Record::Dns(_)) => "dns",
                    Some(Record::Http(_)) => "http",
                    #[allow(deprecated)]
                    Some(Record::Kafka(_)) => "kafka",
                    None => "",
                });
            }
            _ => return,
        }
        let key = &mut scratch.key;
        key.clear();
        push_lower(
            key,
            names::traffic_direction(flow.traffic_direction),
            flow.traffic_direction,
        );
        key.push(text);
        push_lower(key, names::verdict(flow.verdict), flow.verdict);
        tally.add(key);
    }
}

/// `strings.ToLower(enum.String())`.
fn push_lower(key: &mut Key, name: Option<&'static str>, value: i32) {
    match name {
        Some(name) => key.push_lowercase(name),
        None => key.push_display(value),
    }
}
