//! The handlers of one counter whose context labels follow their own
//! (`flow`, `icmp`, `policy`, `port-distribution`, `tcp`): each says what it
//! counts of a flow, and `Counter` keeps the family and the context.

use std::marker::PhantomData;

use crate::proto::flow::Flow;

use super::{Family, Handler, Key, MetricsError, Options, Scratch, context::ContextOptions};

/// What one counter handler counts.
pub trait Count {
    /// The family's name (without `_total`), as Hubble registers it.
    const NAME: &'static str;
    const HELP: &'static str;
    /// The handler's own labels; the context's follow them.
    const LABELS: &'static [&'static str];

    /// Counts `flow`: writes the values of `LABELS` into `scratch.key` and
    /// hands it to `tally` once for each count, none when the metric leaves
    /// the flow out.
    fn count(flow: &Flow, scratch: &mut Scratch, tally: &mut Tally<'_>);
}

/// Where a `Count` adds its counts.
pub struct Tally<'a> {
    flow: &'a Flow,
    context: &'a ContextOptions,
    family: &'a mut Family,
    now: u64,
}

impl Tally<'_> {
    /// Adds one to the series of the handler's values in `key` and the
    /// flow's context.
    pub fn add(&mut self, key: &mut Key) {
        self.context.push_values(self.flow, false, key);
        self.family.add(key, 1, self.now);
    }
}

/// A handler of one counter, counted as `C` says.
pub struct Counter<C> {
    context: ContextOptions,
    families: [Family; 1],
    count: PhantomData<fn() -> C>,
}

impl<C: Count> Counter<C> {
    pub fn new(options: &Options) -> Result<Self, MetricsError> {
        let context = ContextOptions::parse(options)?;
        let labels = context.after(C::LABELS);
        Ok(Self {
            context,
            families: [Family::counter(C::NAME, C::HELP, labels)],
            count: PhantomData,
        })
    }
}

impl<C: Count> Handler for Counter<C> {
    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
        let mut tally = Tally {
            flow,
            context: &self.context,
            family: &mut self.families[0],
            now: scratch.now,
        };
        C::count(flow, scratch, &mut tally);
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
