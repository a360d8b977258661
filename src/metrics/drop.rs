//! `drop`: `hubble_drop_total` (`pkg/hubble/metrics/drop`).

use crate::proto::flow::{Flow, Verdict};

use super::{
    Counting, Family, Handler, Metric, MetricsError, Options, context::ContextOptions,
    flow::push_enum, names,
};

pub struct DropHandler;

impl DropHandler {
    pub fn metric(options: &Options) -> Result<Metric, MetricsError> {
        let context = ContextOptions::parse(options)?;
        // Context labels come first here, unlike most handlers.
        let mut labels = context.label_names();
        labels.extend(["reason", "protocol"].map(str::to_owned));
        Ok(Metric {
            handler: Box::new(Self),
            context,
            families: vec![Family::counter("hubble_drop", "Number of drops", labels)],
        })
    }
}

impl Handler for DropHandler {
    fn process(&self, flow: &Flow, counting: Counting<'_>) {
        if flow.verdict != Verdict::Dropped as i32 {
            return;
        }
        let key = &mut counting.scratch.key;
        key.clear();
        counting.context.push_values(flow, false, key);
        push_enum(
            key,
            names::drop_reason(flow.drop_reason_desc),
            flow.drop_reason_desc,
        );
        key.push(names::flow_protocol(flow));
        counting.families[0].add(key, 1, counting.scratch.now);
    }
}
