//! The handlers of one counter whose context labels follow their own
//! (`flow`, `icmp`, `policy`, `port-distribution`, `tcp`): each says what it
//! counts of a flow, and `Counter` adds the context.

use std::marker::PhantomData;

use crate::proto::flow::Flow;

use super::{
    Counting, Family, Handler, Key, Metric, MetricsError, Options, Scratch, context::ContextOptions,
};

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
pub struct Counter<C>(PhantomData<fn() -> C>);

impl<C: Count + 'static> Counter<C> {
    pub fn metric(options: &Options) -> Result<Metric, MetricsError> {
        let context = ContextOptions::parse(options)?;
        let labels = context.after(C::LABELS);
        Ok(Metric {
            handler: Box::new(Self(PhantomData)),
            context,
            families: vec![Family::counter(C::NAME, C::HELP, labels)],
        })
    }
}

impl<C: Count> Handler for Counter<C> {
    fn process(&self, flow: &Flow, counting: Counting<'_>) {
        let mut tally = Tally {
            flow,
            context: counting.context,
            family: &mut counting.families[0],
            now: counting.scratch.now,
        };
        C::count(flow, counting.scratch, &mut tally);
    }
}
