//! Flows grouped by a key: who talks to whom, how much, and what is
//! dropped. One engine for `hubl observe --aggregate-by`, `hubl top` and
//! the service map.
//!
//! Per flow, the key is encoded into a reused buffer and looked up by that
//! borrowed slice: a flow of a group that exists allocates nothing. Memory
//! is bounded: past `max_groups` the least recently seen group is evicted
//! (a list threaded through the groups keeps them in order of last use)
//! and counted.
//!
//! Time comes from the caller, as milliseconds on any clock that only goes
//! forward: wall time for a live stream, the flows' own times for a
//! capture. Tests inject it the same way.

mod key;
pub mod labels;
mod summary;

pub use key::{Field, Key, KeyError, Level, drop_code, parts, write_service_id};
pub use summary::{Summary, SummaryFormat};

use std::collections::HashMap;

use crate::proto::{
    Timestamp,
    flow::{Flow, Verdict, layer7},
};

/// Milliseconds on the caller's clock.
pub type Millis = u64;

/// Slices of the rate window: rates move in steps of a tenth of it.
const SLICES: usize = 10;

/// What callers count per group beyond the engine's statistics (the
/// service map keeps labels of its cards this way).
pub trait Tally: Default {
    fn record(&mut self, flow: &Flow);
}

impl Tally for () {
    fn record(&mut self, _: &Flow) {}
}

/// Flows per second over a sliding window, counted in slices.
#[derive(Debug, Clone, Default)]
struct Rate {
    slices: [u32; SLICES],
    /// The number of the newest slice counted.
    newest: u64,
}

impl Rate {
    fn add(&mut self, slice: u64) {
        if slice > self.newest {
            let stale = (slice - self.newest).min(SLICES as u64);
            for step in 0..stale {
                self.slices[((self.newest + 1 + step) % SLICES as u64) as usize] = 0;
            }
            self.newest = slice;
        } else if slice + SLICES as u64 <= self.newest {
            // Older than the window (a late flow on a capture's clock).
            return;
        }
        let at = &mut self.slices[(slice % SLICES as u64) as usize];
        *at = at.saturating_add(1);
    }

    /// Flows in the window that ends at `slice`.
    fn flows_until(&self, slice: u64) -> u64 {
        (0..SLICES as u64)
            .filter_map(|age| self.newest.checked_sub(age))
            .filter(|&number| number <= slice && number + (SLICES as u64) > slice)
            .map(|number| u64::from(self.slices[(number % SLICES as u64) as usize]))
            .sum()
    }
}

/// HTTP latency of a group's responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub count: u64,
    pub sum_ns: u64,
    pub min_ns: u64,
    pub max_ns: u64,
}

impl Latency {
    fn add(&mut self, nanos: u64) {
        if self.count == 0 || nanos < self.min_ns {
            self.min_ns = nanos;
        }
        self.max_ns = self.max_ns.max(nanos);
        self.sum_ns = self.sum_ns.saturating_add(nanos);
        self.count += 1;
    }

    pub fn avg_ns(&self) -> u64 {
        self.sum_ns.checked_div(self.count).unwrap_or(0)
    }
}

/// What is known of a group's flows.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub flows: u64,
    /// Forwarded or redirected.
    pub forwarded: u64,
    /// Dropped, or failed with an error.
    pub dropped: u64,
    /// The earliest and latest flow times seen.
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub latency: Latency,
    /// The drop reason code of the latest drop event.
    pub last_drop: Option<u8>,
    rate: Rate,
}

impl Stats {
    fn record(&mut self, flow: &Flow, slice: u64) {
        self.flows += 1;
        match Verdict::try_from(flow.verdict) {
            Ok(Verdict::Forwarded | Verdict::Redirected) => self.forwarded += 1,
            Ok(Verdict::Dropped | Verdict::Error) => {
                self.dropped += 1;
                if let Some(code) = drop_code(flow) {
                    self.last_drop = Some(code);
                }
            }
            _ => {}
        }
        if let Some(time) = flow.time {
            if self.first_seen.is_none_or(|first| earlier(time, first)) {
                self.first_seen = Some(time);
            }
            if self.last_seen.is_none_or(|last| earlier(last, time)) {
                self.last_seen = Some(time);
            }
        }
        if let Some(nanos) = http_latency(flow) {
            self.latency.add(nanos);
        }
        self.rate.add(slice);
    }
}

fn http_latency(flow: &Flow) -> Option<u64> {
    let l7 = flow.l7.as_ref()?;
    (l7.latency_ns > 0 && matches!(l7.record, Some(layer7::Record::Http(_))))
        .then_some(l7.latency_ns)
}

fn earlier(a: Timestamp, b: Timestamp) -> bool {
    (a.seconds, a.nanos) < (b.seconds, b.nanos)
}

/// One group: its key and what was counted.
#[derive(Debug)]
pub struct Group<T = ()> {
    key: Box<[u8]>,
    /// Unique over the aggregator's life, unlike the slot a group lives
    /// in: tells an evicted group from its slot's next tenant.
    serial: u64,
    pub stats: Stats,
    pub tally: T,
    /// Neighbours in the order of last use (slot numbers).
    newer: Option<u32>,
    older: Option<u32>,
}

impl<T> Group<T> {
    /// The text of each key part, in the key's order; empty where a flow
    /// had nothing for it.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        parts(&self.key)
    }

    fn encoded_key(&self) -> &[u8] {
        &self.key
    }
}

/// How groups are ordered (`--sort-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Flows,
    Rate,
    Dropped,
    Forwarded,
    LastSeen,
    Latency,
    /// By the key's text.
    Key,
}

impl SortBy {
    pub const ALL: [SortBy; 7] = [
        SortBy::Flows,
        SortBy::Rate,
        SortBy::Dropped,
        SortBy::Forwarded,
        SortBy::LastSeen,
        SortBy::Latency,
        SortBy::Key,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortBy::Flows => "flows",
            SortBy::Rate => "rate",
            SortBy::Dropped => "dropped",
            SortBy::Forwarded => "forwarded",
            SortBy::LastSeen => "last-seen",
            SortBy::Latency => "latency",
            SortBy::Key => "key",
        }
    }

    /// The next order in `ALL`, wrapping around (`hubl top`'s `s`).
    pub fn next(self) -> SortBy {
        let at = SortBy::ALL.iter().position(|&s| s == self).unwrap_or(0);
        SortBy::ALL[(at + 1) % SortBy::ALL.len()]
    }
}

/// Where a flow was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRef {
    pub slot: u32,
    pub serial: u64,
}

/// Groups flows by a key, at most `max_groups` of them.
pub struct Aggregator<T: Tally = ()> {
    key: Key,
    max_groups: usize,
    /// Length of a rate slice, a tenth of the window.
    slice_ms: u64,
    window_ms: u64,
    index: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    groups: Vec<Group<T>>,
    newest: Option<u32>,
    oldest: Option<u32>,
    serials: u64,
    /// Every flow recorded, evicted groups' included.
    total: Stats,
    evicted_groups: u64,
    evicted_flows: u64,
    encoded: Vec<u8>,
    name: String,
}

impl<T: Tally> Aggregator<T> {
    /// Rates are flows per second over the last `window_ms`.
    pub fn new(key: Key, max_groups: usize, window_ms: u64) -> Self {
        let slice_ms = (window_ms / SLICES as u64).max(1);
        Self {
            key,
            max_groups: max_groups.max(1),
            slice_ms,
            window_ms: slice_ms * SLICES as u64,
            index: HashMap::default(),
            groups: Vec::new(),
            newest: None,
            oldest: None,
            serials: 0,
            total: Stats::default(),
            evicted_groups: 0,
            evicted_flows: 0,
            encoded: Vec::with_capacity(256),
            name: String::with_capacity(128),
        }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Counts `flow`, seen at `now`, in its group.
    pub fn record(&mut self, flow: &Flow, now: Millis) -> GroupRef {
        let slice = now / self.slice_ms;
        self.total.record(flow, slice);
        self.key.encode(flow, &mut self.encoded, &mut self.name);
        let slot = match self.index.get(self.encoded.as_slice()) {
            Some(&slot) => {
                self.touch(slot);
                slot
            }
            None => self.insert(),
        };
        let group = &mut self.groups[slot as usize];
        group.stats.record(flow, slice);
        group.tally.record(flow);
        GroupRef {
            slot,
            serial: group.serial,
        }
    }

    /// Adds the HTTP latency of `flow` to its group, if the group exists,
    /// without counting the flow: the service map keeps replies off its
    /// links, as Hubble UI does, but their latency belongs to the request's
    /// link (a reply's key is its request's).
    pub fn add_latency(&mut self, flow: &Flow) {
        let Some(nanos) = http_latency(flow) else {
            return;
        };
        self.key.encode(flow, &mut self.encoded, &mut self.name);
        if let Some(&slot) = self.index.get(self.encoded.as_slice()) {
            self.groups[slot as usize].stats.latency.add(nanos);
            self.total.latency.add(nanos);
        }
    }

    /// A new group for the key in `encoded`, in a fresh slot or in the
    /// least recently seen group's.
    fn insert(&mut self) -> u32 {
        self.serials += 1;
        let key: Box<[u8]> = self.encoded.as_slice().into();
        let slot = match self.oldest {
            Some(oldest) if self.groups.len() >= self.max_groups => {
                self.unlink(oldest);
                let group = &mut self.groups[oldest as usize];
                self.index.remove(&group.key);
                self.evicted_groups += 1;
                self.evicted_flows += group.stats.flows;
                group.key = key.clone();
                group.serial = self.serials;
                group.stats = Stats::default();
                group.tally = T::default();
                oldest
            }
            _ => {
                self.groups.push(Group {
                    key: key.clone(),
                    serial: self.serials,
                    stats: Stats::default(),
                    tally: T::default(),
                    newer: None,
                    older: None,
                });
                (self.groups.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        self.push_newest(slot);
        slot
    }

    fn touch(&mut self, slot: u32) {
        if self.newest != Some(slot) {
            self.unlink(slot);
            self.push_newest(slot);
        }
    }

    fn unlink(&mut self, slot: u32) {
        let (newer, older) = {
            let group = &mut self.groups[slot as usize];
            (group.newer.take(), group.older.take())
        };
        match newer {
            Some(newer) => self.groups[newer as usize].older = older,
            None => self.newest = older,
        }
        match older {
            Some(older) => self.groups[older as usize].newer = newer,
            None => self.oldest = newer,
        }
    }

    fn push_newest(&mut self, slot: u32) {
        let previous = self.newest.replace(slot);
        self.groups[slot as usize].older = previous;
        match previous {
            Some(previous) => self.groups[previous as usize].newer = Some(slot),
            None => self.oldest = Some(slot),
        }
    }

    /// The group in `slot`, if it is still the one `group` names.
    pub fn get(&self, group: GroupRef) -> Option<&Group<T>> {
        self.groups
            .get(group.slot as usize)
            .filter(|found| found.serial == group.serial)
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Statistics of every flow recorded.
    pub fn total(&self) -> &Stats {
        &self.total
    }

    /// Groups evicted to stay within `max_groups`, and their flows.
    pub fn evicted(&self) -> (u64, u64) {
        (self.evicted_groups, self.evicted_flows)
    }

    /// Flows per second of `stats` over the window that ends at `now`.
    pub fn rate(&self, stats: &Stats, now: Millis) -> f64 {
        let flows = stats.rate.flows_until(now / self.slice_ms);
        flows as f64 * 1000.0 / self.window_ms as f64
    }

    /// The groups in `order` (ties by key), as of `now`.
    pub fn sorted(&self, order: SortBy, now: Millis) -> Vec<&Group<T>> {
        let mut groups: Vec<&Group<T>> = self.groups.iter().collect();
        let slice = now / self.slice_ms;
        let by_key = |a: &&Group<T>, b: &&Group<T>| a.parts().cmp(b.parts());
        match order {
            SortBy::Key => groups.sort_by(by_key),
            _ => groups.sort_by(|a, b| {
                let (a_stats, b_stats) = (&a.stats, &b.stats);
                let descending = match order {
                    SortBy::Flows => b_stats.flows.cmp(&a_stats.flows),
                    SortBy::Rate => b_stats
                        .rate
                        .flows_until(slice)
                        .cmp(&a_stats.rate.flows_until(slice))
                        .then(b_stats.flows.cmp(&a_stats.flows)),
                    SortBy::Dropped => b_stats.dropped.cmp(&a_stats.dropped),
                    SortBy::Forwarded => b_stats.forwarded.cmp(&a_stats.forwarded),
                    SortBy::LastSeen => {
                        let time = |s: &Stats| s.last_seen.map(|t| (t.seconds, t.nanos));
                        time(b_stats).cmp(&time(a_stats))
                    }
                    SortBy::Latency => b_stats.latency.max_ns.cmp(&a_stats.latency.max_ns),
                    SortBy::Key => std::cmp::Ordering::Equal,
                };
                descending.then_with(|| by_key(a, b))
            }),
        }
        groups
    }

    /// Where `group` is now.
    pub fn find(&self, group: &Group<T>) -> Option<GroupRef> {
        let slot = *self.index.get(group.encoded_key())?;
        Some(GroupRef {
            slot,
            serial: self.groups[slot as usize].serial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::flow::{Endpoint, Http, Ip, L7FlowType, Layer7};

    fn flow(source: &str, destination: &str, verdict: Verdict, second: i64) -> Flow {
        Flow {
            time: Some(Timestamp {
                seconds: second,
                nanos: 0,
            }),
            verdict: verdict as i32,
            ip: Some(Ip {
                source: source.into(),
                destination: destination.into(),
                ..Ip::default()
            }),
            source: Some(Endpoint {
                namespace: "ns".into(),
                pod_name: source.into(),
                ..Endpoint::default()
            }),
            ..Flow::default()
        }
    }

    fn key(text: &str) -> Key {
        Key::parse(&[text.to_owned()]).unwrap()
    }

    fn names<T: Tally>(groups: &[&Group<T>]) -> Vec<String> {
        groups
            .iter()
            .map(|g| g.parts().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn groups_and_counts() {
        let mut aggregator: Aggregator =
            Aggregator::new(key("source,destination,verdict"), 100, 10_000);
        aggregator.record(&flow("a", "10.0.0.2", Verdict::Forwarded, 1), 0);
        aggregator.record(&flow("a", "10.0.0.2", Verdict::Forwarded, 3), 0);
        aggregator.record(&flow("a", "10.0.0.2", Verdict::Dropped, 2), 0);
        aggregator.record(&flow("b", "10.0.0.2", Verdict::Forwarded, 2), 0);
        let sorted = aggregator.sorted(SortBy::Flows, 0);
        assert_eq!(
            names(&sorted),
            [
                "ns/a 10.0.0.2 FORWARDED",
                "ns/a 10.0.0.2 DROPPED",
                "ns/b 10.0.0.2 FORWARDED"
            ]
        );
        let top = &sorted[0].stats;
        assert_eq!((top.flows, top.forwarded, top.dropped), (2, 2, 0));
        assert_eq!(top.first_seen.map(|t| t.seconds), Some(1));
        assert_eq!(top.last_seen.map(|t| t.seconds), Some(3));
        assert_eq!(aggregator.total().flows, 4);
        assert_eq!(aggregator.total().dropped, 1);
    }

    #[test]
    fn replies_count_with_their_requests() {
        let mut aggregator: Aggregator = Aggregator::new(key("source,destination"), 100, 10_000);
        let request = flow("a", "10.0.0.2", Verdict::Forwarded, 1);
        let mut reply = flow("x", "y", Verdict::Forwarded, 2);
        reply.ip = Some(Ip {
            source: "10.0.0.2".into(),
            destination: "10.0.0.1".into(),
            ..Ip::default()
        });
        reply.source = None;
        reply.destination = request.source.clone();
        reply.is_reply = Some(pbjson_types::BoolValue { value: true });
        aggregator.record(&request, 0);
        aggregator.record(&reply, 0);
        assert_eq!(aggregator.len(), 1);
        assert_eq!(aggregator.sorted(SortBy::Flows, 0)[0].stats.flows, 2);
    }

    #[test]
    fn evicts_the_least_recently_seen() {
        let mut aggregator: Aggregator = Aggregator::new(key("source"), 3, 10_000);
        let a = aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), 0);
        aggregator.record(&flow("b", "x", Verdict::Forwarded, 1), 0);
        aggregator.record(&flow("c", "x", Verdict::Forwarded, 1), 0);
        // a is used again, so b is now the least recently seen.
        aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), 0);
        aggregator.record(&flow("b", "x", Verdict::Forwarded, 1), 0);
        aggregator.record(&flow("c", "x", Verdict::Forwarded, 1), 0);
        aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), 0);
        let d = aggregator.record(&flow("d", "x", Verdict::Forwarded, 1), 0);
        assert_eq!(aggregator.len(), 3);
        assert_eq!(aggregator.evicted(), (1, 2));
        assert_eq!(
            names(&aggregator.sorted(SortBy::Key, 0)),
            ["ns/a", "ns/c", "ns/d"]
        );
        assert!(aggregator.get(a).is_some());
        // d took b's slot: a reference to b would not find d.
        assert_eq!(aggregator.get(d).map(|g| g.stats.flows), Some(1));
        let e = aggregator.record(&flow("e", "x", Verdict::Forwarded, 1), 0);
        assert_eq!(aggregator.evicted(), (2, 4));
        assert_eq!(
            names(&aggregator.sorted(SortBy::Key, 0)),
            ["ns/a", "ns/d", "ns/e"]
        );
        assert_eq!(e.slot, 2, "c's slot is reused");
        // The total keeps every flow, evicted or not.
        assert_eq!(aggregator.total().flows, 9);
    }

    #[test]
    fn eviction_keeps_memory_bounded() {
        let mut aggregator: Aggregator = Aggregator::new(key("source"), 50, 10_000);
        for round in 0..10_000 {
            let name = format!("p{}", round % 997);
            aggregator.record(&flow(&name, "x", Verdict::Forwarded, 1), 0);
            assert!(aggregator.len() <= 50);
        }
        let (groups, flows) = aggregator.evicted();
        let kept: u64 = aggregator
            .sorted(SortBy::Flows, 0)
            .iter()
            .map(|g| g.stats.flows)
            .sum();
        assert_eq!(kept + flows, 10_000);
        assert!(groups > 9_000);
        assert_eq!(aggregator.index.len(), aggregator.len());
    }

    #[test]
    fn rates_follow_the_injected_clock() {
        let mut aggregator: Aggregator = Aggregator::new(key("source"), 10, 10_000);
        // 5 flows a second for 20 seconds.
        for ms in (0..20_000).step_by(200) {
            aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), ms);
        }
        let stats = aggregator.sorted(SortBy::Flows, 0)[0].stats.clone();
        assert_eq!(aggregator.rate(&stats, 19_999), 5.0);
        // Five seconds of silence halve the rate over a 10 s window.
        assert_eq!(aggregator.rate(&stats, 24_999), 2.5);
        assert_eq!(aggregator.rate(&stats, 30_000), 0.0);
        assert_eq!(aggregator.rate(aggregator.total(), 19_999), 5.0);
        // A burst after a long pause counts alone.
        aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), 100_000);
        let stats = aggregator.sorted(SortBy::Flows, 0)[0].stats.clone();
        assert_eq!(aggregator.rate(&stats, 100_000), 0.1);
    }

    #[test]
    fn http_latency_min_avg_max() {
        let mut aggregator: Aggregator = Aggregator::new(key("source"), 10, 10_000);
        for latency in [3_000_000, 1_000_000, 5_000_000] {
            let mut response = flow("a", "x", Verdict::Forwarded, 1);
            response.l7 = Some(Layer7 {
                r#type: L7FlowType::Response as i32,
                latency_ns: latency,
                record: Some(layer7::Record::Http(Http::default())),
            });
            aggregator.record(&response, 0);
        }
        let latency = aggregator.total().latency;
        assert_eq!(
            (latency.min_ns, latency.avg_ns(), latency.max_ns),
            (1_000_000, 3_000_000, 5_000_000)
        );
    }

    #[test]
    fn a_known_key_finds_its_group() {
        let mut aggregator: Aggregator = Aggregator::new(key("source,destination"), 10, 10_000);
        let first = flow("a", "x", Verdict::Forwarded, 1);
        aggregator.record(&first, 0);
        let again = aggregator.record(&first, 0);
        assert_eq!(again.serial, 1);
        assert_eq!(aggregator.len(), 1);
        assert_eq!(aggregator.get(again).map(|g| g.stats.flows), Some(2));
    }
}
