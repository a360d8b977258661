//! `drop`: `hubble_drop_total` (`pkg/hubble/metrics/drop`).

use crate::proto::flow::{Flow, Verdict};

use super::{Family, Handler, Options, Scratch, context::ContextOptions, flow::push_enum, names};

pub struct DropHandler {
    context: ContextOptions,
    families: [Family; 1],
}

impl DropHandler {
    pub fn new(options: &Options) -> Result<Self, super::MetricsError> {
        let context = ContextOptions::parse(options)?;
        // Context labels come first here, unlike most handlers.
        let mut labels = context.label_names();
        labels.extend(["reason", "protocol"].map(str::to_owned));
        Ok(Self {
            context,
            families: [Family::counter("hubble_drop", "Number of drops", labels)],
        })
    }
}

impl Handler for DropHandler {
    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
        if flow.verdict != Verdict::Dropped as i32 {
            return;
        }
        let key = &mut scratch.key;
        key.clear();
        self.context.push_values(flow, false, key);
        push_enum(
            key,
            names::drop_reason(flow.drop_reason_desc),
            flow.drop_reason_desc,
        );
        key.push(names::flow_protocol(flow));
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
