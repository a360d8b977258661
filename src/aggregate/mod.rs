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

use std::hash::BuildHasher;

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
    counts: Counts,
    /// The number of the newest slice counted.
    newest: u64,
}

impl Rate {
    fn add(&mut self, slice: u64, wide: &mut Wide) {
        if slice > self.newest {
            let stale = (slice - self.newest).min(SLICES as u64);
            for step in 0..stale {
                let at = ((self.newest + 1 + step) % SLICES as u64) as usize;
                self.counts.set(at, 0, wide);
            }
            self.newest = slice;
        } else if slice + SLICES as u64 <= self.newest {
            // Older than the window (a late flow on a capture's clock).
            return;
        }
        let at = (slice % SLICES as u64) as usize;
        let count = self.counts.get(at, wide);
        self.counts.set(at, count.saturating_add(1), wide);
    }

    /// Flows in the window that ends at `slice`.
    fn flows_until(&self, slice: u64, wide: &Wide) -> u64 {
        (0..SLICES as u64)
            .filter_map(|age| self.newest.checked_sub(age))
            .filter(|&number| number <= slice && number + (SLICES as u64) > slice)
            .map(|number| u64::from(self.counts.get((number % SLICES as u64) as usize, wide)))
            .sum()
    }
}

/// The flows of a rate's slices: in one word, six bits a slice, while
/// every slice has fewer than 64 (most groups, most of the time), else
/// in the `Wide` table, as u32s. A group that seldom sees a flow takes 8
/// bytes for its counts instead of 40.
#[derive(Debug, Clone, Copy, Default)]
struct Counts(u64);

impl Counts {
    /// Set when the low 32 bits are an index in `Wide`.
    const WIDE: u64 = 1 << 63;
    const BITS: u32 = 6;
    const MAX: u32 = (1 << Self::BITS) - 1;

    fn wide_index(self) -> Option<usize> {
        (self.0 & Self::WIDE != 0).then_some(self.0 as u32 as usize)
    }

    fn get(self, at: usize, wide: &Wide) -> u32 {
        match self.wide_index() {
            Some(index) => wide.get(index).map_or(0, |slices| slices[at]),
            None => (self.0 >> (at as u32 * Self::BITS)) as u32 & Self::MAX,
        }
    }

    fn set(&mut self, at: usize, count: u32, wide: &mut Wide) {
        if self.wide_index().is_none() && count > Self::MAX {
            let slices = std::array::from_fn(|at| self.get(at, wide));
            self.0 = Self::WIDE | u64::from(wide.take(slices));
        }
        match self.wide_index() {
            Some(index) => {
                if let Some(slices) = wide.get_mut(index) {
                    slices[at] = count;
                }
            }
            None => {
                let shift = at as u32 * Self::BITS;
                self.0 = self.0 & !(u64::from(Self::MAX) << shift) | u64::from(count) << shift;
            }
        }
    }

    /// Gives back the wide counts, if any, for another rate.
    fn release(&mut self, wide: &mut Wide) {
        if let Some(index) = self.wide_index() {
            wide.release(index);
        }
        *self = Counts::default();
    }
}

/// What some groups hold out of line, by index: entries given back are
/// taken again, so that the table stays as large as its busiest moment.
#[derive(Debug)]
struct Entries<T> {
    entries: Vec<T>,
    /// Entries given back, to be taken again.
    free: Vec<u32>,
}

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Entries<T> {
    fn take(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.entries[index as usize] = value;
                index
            }
            None => {
                self.entries.push(value);
                (self.entries.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, index: usize) {
        self.free.push(index as u32);
    }

    fn get(&self, index: usize) -> Option<&T> {
        self.entries.get(index)
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.entries.get_mut(index)
    }
}

/// The counts of rates too busy for six bits a slice. Counts move here
/// once and stay until their group is evicted.
type Wide = Entries<[u32; SLICES]>;

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

/// The latency of the groups that saw an HTTP response. Most groups of
/// most keys never do, and 32 bytes in each would be a fifth of a group.
#[derive(Debug, Default)]
struct Latencies(Entries<Latency>);

impl Latencies {
    /// Adds to the entry `at` names (see `Stats::latency`), taking one
    /// first if it names none.
    fn add(&mut self, at: &mut u32, nanos: u64) {
        if *at == 0 {
            *at = self.0.take(Latency::default()) + 1;
        }
        if let Some(latency) = self.0.get_mut(*at as usize - 1) {
            latency.add(nanos);
        }
    }

    fn get(&self, at: u32) -> Latency {
        at.checked_sub(1)
            .and_then(|index| self.0.get(index as usize))
            .copied()
            .unwrap_or_default()
    }

    fn release(&mut self, at: &mut u32) {
        if *at != 0 {
            self.0.release(*at as usize - 1);
            *at = 0;
        }
    }
}

/// What is known of a group's flows. Rate and latency are read through
/// the aggregator that counted them, which holds the counts of busy rates
/// and the latencies.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub flows: u64,
    /// Forwarded or redirected.
    pub forwarded: u64,
    /// Dropped, or failed with an error.
    pub dropped: u64,
    /// The earliest and latest flow times seen, once `timed`: one flag
    /// for both keeps a group 8 bytes smaller than two `Option`s.
    first: Time,
    last: Time,
    /// 1 + the index of this group's entry in the aggregator's
    /// `Latencies`, or 0 before its first HTTP response.
    latency: u32,
    timed: bool,
    /// The drop reason code of the latest drop event.
    pub last_drop: Option<u8>,
    rate: Rate,
}

impl Stats {
    pub fn first_seen(&self) -> Option<Time> {
        self.timed.then_some(self.first)
    }

    pub fn last_seen(&self) -> Option<Time> {
        self.timed.then_some(self.last)
    }

    fn record(&mut self, flow: &Flow, slice: u64, wide: &mut Wide, latencies: &mut Latencies) {
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
            let time = Time::from(time);
            if !self.timed {
                (self.first, self.last, self.timed) = (time, time, true);
            } else if time < self.first {
                self.first = time;
            } else if self.last < time {
                self.last = time;
            }
        }
        if let Some(nanos) = http_latency(flow) {
            latencies.add(&mut self.latency, nanos);
        }
        self.rate.add(slice, wide);
    }

    /// Gives back what the aggregator holds for these statistics.
    fn release(&mut self, wide: &mut Wide, latencies: &mut Latencies) {
        self.rate.counts.release(wide);
        latencies.release(&mut self.latency);
    }
}

fn http_latency(flow: &Flow) -> Option<u64> {
    let l7 = flow.l7.as_ref()?;
    (l7.latency_ns > 0 && matches!(l7.record, Some(layer7::Record::Http(_))))
        .then_some(l7.latency_ns)
}

/// A flow's time as its `Timestamp` has it, in 12 bytes rather than 16
/// (and 16 rather than 24 as an `Option`): every group holds two.
/// Ordered as the seconds, then the nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C, packed(4))]
pub struct Time {
    pub seconds: i64,
    pub nanos: i32,
}

impl Time {
    pub fn timestamp(self) -> Timestamp {
        Timestamp {
            seconds: self.seconds,
            nanos: self.nanos,
        }
    }
}

impl From<Timestamp> for Time {
    fn from(time: Timestamp) -> Self {
        Time {
            seconds: time.seconds,
            nanos: time.nanos,
        }
    }
}

/// One group: its key and what was counted.
#[derive(Debug)]
pub struct Group<T = ()> {
    /// The only copy of the key: the index finds keys here.
    key: Box<[u8]>,
    /// Unique over the aggregator's life, unlike the slot a group lives
    /// in: tells an evicted group from its slot's next tenant.
    serial: u64,
    pub stats: Stats,
    pub tally: T,
    /// Neighbours in the order of last use (slot numbers, or `NO_SLOT`).
    newer: u32,
    older: u32,
}

impl<T> Group<T> {
    /// The text of each key part, in the key's order; empty where a flow
    /// had nothing for it.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        parts(&self.key)
    }
}

/// The end of the list of last use.
const NO_SLOT: u32 = u32::MAX;

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

/// Groups are stored in chunks of this many, each allocated whole: the
/// groups never move, and at most one chunk is partly used.
const CHUNK: usize = 512;

/// Up to this many groups, the index is made at the size it reaches.
/// Each eviction leaves a tombstone in it, and once they fill it, hashbrown
/// grows a table more than half full instead of rehashing it in place: an
/// index for 10,000 groups went from 16,384 buckets to 32,768 on the first
/// evictions, both tables held at once (240 KB). Made with room for twice
/// the groups, it is only ever rehashed in place, and its pages that no
/// group reaches are not resident.
const PRESIZED_GROUPS: usize = 1 << 16;

/// Groups flows by a key, at most `max_groups` of them.
pub struct Aggregator<T: Tally = ()> {
    key: Key,
    max_groups: usize,
    /// Length of a rate slice, a tenth of the window.
    slice_ms: u64,
    window_ms: u64,
    hasher: foldhash::fast::RandomState,
    /// Slot numbers, hashed by their group's key.
    index: hashbrown::HashTable<u32>,
    /// Slot `n` is `chunks[n / CHUNK][n % CHUNK]`.
    chunks: Vec<Vec<Group<T>>>,
    newest: u32,
    oldest: u32,
    serials: u64,
    /// Every flow recorded, evicted groups' included.
    total: Stats,
    wide: Wide,
    latencies: Latencies,
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
            // Slot numbers are u32, NO_SLOT aside.
            max_groups: max_groups.clamp(1, NO_SLOT as usize),
            slice_ms,
            window_ms: slice_ms * SLICES as u64,
            hasher: foldhash::fast::RandomState::default(),
            index: hashbrown::HashTable::with_capacity(max_groups.min(PRESIZED_GROUPS) * 2),
            chunks: Vec::new(),
            newest: NO_SLOT,
            oldest: NO_SLOT,
            serials: 0,
            total: Stats::default(),
            wide: Wide::default(),
            latencies: Latencies::default(),
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
        self.total
            .record(flow, slice, &mut self.wide, &mut self.latencies);
        self.key.encode(flow, &mut self.encoded, &mut self.name);
        let hash = self.hasher.hash_one(self.encoded.as_slice());
        let slot = match self.lookup(hash, &self.encoded) {
            Some(slot) => {
                self.touch(slot);
                slot
            }
            None => self.insert(hash),
        };
        let group = group_in_mut(&mut self.chunks, slot);
        group
            .stats
            .record(flow, slice, &mut self.wide, &mut self.latencies);
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
        let hash = self.hasher.hash_one(self.encoded.as_slice());
        if let Some(slot) = self.lookup(hash, &self.encoded) {
            let group = group_in_mut(&mut self.chunks, slot);
            self.latencies.add(&mut group.stats.latency, nanos);
            self.latencies.add(&mut self.total.latency, nanos);
        }
    }

    /// The slot of the group whose key is `key`.
    fn lookup(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let chunks = &self.chunks;
        self.index
            .find(hash, |&slot| *group_in(chunks, slot).key == *key)
            .copied()
    }

    fn group_mut(&mut self, slot: u32) -> &mut Group<T> {
        group_in_mut(&mut self.chunks, slot)
    }

    /// A new group for the key in `encoded` (hashed to `hash`), in a fresh
    /// slot or in the least recently seen group's.
    fn insert(&mut self, hash: u64) -> u32 {
        self.serials += 1;
        let serial = self.serials;
        let slot = match self.oldest {
            oldest if oldest != NO_SLOT && self.len() >= self.max_groups => {
                self.unlink(oldest);
                let old_hash = self.hasher.hash_one(&*group_in(&self.chunks, oldest).key);
                if let Ok(entry) = self.index.find_entry(old_hash, |&slot| slot == oldest) {
                    entry.remove();
                }
                let encoded = &self.encoded;
                let group = group_in_mut(&mut self.chunks, oldest);
                self.evicted_groups += 1;
                self.evicted_flows += group.stats.flows;
                // Keys of one shape are often of one length: no allocation.
                match group.key.len() == encoded.len() {
                    true => group.key.copy_from_slice(encoded),
                    false => group.key = encoded.as_slice().into(),
                }
                group.serial = serial;
                group.stats.release(&mut self.wide, &mut self.latencies);
                group.stats = Stats::default();
                group.tally = T::default();
                oldest
            }
            _ => {
                let slot = self.len();
                if self.chunks.last().is_none_or(|chunk| chunk.len() == CHUNK) {
                    let room = CHUNK.min(self.max_groups - slot);
                    self.chunks.push(Vec::with_capacity(room));
                }
                if let Some(chunk) = self.chunks.last_mut() {
                    chunk.push(Group {
                        key: self.encoded.as_slice().into(),
                        serial,
                        stats: Stats::default(),
                        tally: T::default(),
                        newer: NO_SLOT,
                        older: NO_SLOT,
                    });
                }
                slot as u32
            }
        };
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.index.insert_unique(hash, slot, |&slot| {
            hasher.hash_one(&*group_in(chunks, slot).key)
        });
        self.push_newest(slot);
        slot
    }

    fn touch(&mut self, slot: u32) {
        if self.newest != slot {
            self.unlink(slot);
            self.push_newest(slot);
        }
    }

    fn unlink(&mut self, slot: u32) {
        let group = self.group_mut(slot);
        let newer = std::mem::replace(&mut group.newer, NO_SLOT);
        let older = std::mem::replace(&mut group.older, NO_SLOT);
        match newer {
            NO_SLOT => self.newest = older,
            newer => self.group_mut(newer).older = older,
        }
        match older {
            NO_SLOT => self.oldest = newer,
            older => self.group_mut(older).newer = newer,
        }
    }

    fn push_newest(&mut self, slot: u32) {
        let previous = std::mem::replace(&mut self.newest, slot);
        self.group_mut(slot).older = previous;
        match previous {
            NO_SLOT => self.oldest = slot,
            previous => self.group_mut(previous).newer = slot,
        }
    }

    /// The group in `slot`, if it is still the one `group` names.
    pub fn get(&self, group: GroupRef) -> Option<&Group<T>> {
        let slot = group.slot as usize;
        self.chunks
            .get(slot / CHUNK)
            .and_then(|chunk| chunk.get(slot % CHUNK))
            .filter(|found| found.serial == group.serial)
    }

    pub fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Statistics of every flow recorded.
    pub fn total(&self) -> &Stats {
        &self.total
    }

    /// Groups evicted to stay within `max_groups`, and their flows.
    pub fn evicted(&self) -> (u64, u64) {
        (self.evicted_groups, self.evicted_flows)
    }

    /// HTTP latency of the responses `stats` counted.
    pub fn latency(&self, stats: &Stats) -> Latency {
        self.latencies.get(stats.latency)
    }

    /// Flows per second of `stats` over the window that ends at `now`.
    pub fn rate(&self, stats: &Stats, now: Millis) -> f64 {
        let flows = stats.rate.flows_until(now / self.slice_ms, &self.wide);
        flows as f64 * 1000.0 / self.window_ms as f64
    }

    /// The groups in `order` (ties by key), as of `now`.
    pub fn sorted(&self, order: SortBy, now: Millis) -> Vec<&Group<T>> {
        let mut groups: Vec<&Group<T>> = self.chunks.iter().flatten().collect();
        let slice = now / self.slice_ms;
        let by_key = |a: &&Group<T>, b: &&Group<T>| key::compare(&a.key, &b.key);
        match order {
            SortBy::Key => groups.sort_by(by_key),
            _ => groups.sort_by(|a, b| {
                let (a_stats, b_stats) = (&a.stats, &b.stats);
                let descending = match order {
                    SortBy::Flows => b_stats.flows.cmp(&a_stats.flows),
                    SortBy::Rate => b_stats
                        .rate
                        .flows_until(slice, &self.wide)
                        .cmp(&a_stats.rate.flows_until(slice, &self.wide))
                        .then(b_stats.flows.cmp(&a_stats.flows)),
                    SortBy::Dropped => b_stats.dropped.cmp(&a_stats.dropped),
                    SortBy::Forwarded => b_stats.forwarded.cmp(&a_stats.forwarded),
                    SortBy::LastSeen => b_stats.last_seen().cmp(&a_stats.last_seen()),
                    SortBy::Latency => self
                        .latency(b_stats)
                        .max_ns
                        .cmp(&self.latency(a_stats).max_ns),
                    SortBy::Key => std::cmp::Ordering::Equal,
                };
                descending.then_with(|| by_key(a, b))
            }),
        }
        groups
    }

    /// Where `group` is now.
    pub fn find(&self, group: &Group<T>) -> Option<GroupRef> {
        let hash = self.hasher.hash_one(&*group.key);
        let slot = self.lookup(hash, &group.key)?;
        Some(GroupRef {
            slot,
            serial: group_in(&self.chunks, slot).serial,
        })
    }
}

/// The group in `slot` (functions, not methods, so that the index and the
/// wide rate counts can be borrowed apart from the groups).
fn group_in<T>(chunks: &[Vec<Group<T>>], slot: u32) -> &Group<T> {
    let slot = slot as usize;
    &chunks[slot / CHUNK][slot % CHUNK]
}

fn group_in_mut<T>(chunks: &mut [Vec<Group<T>>], slot: u32) -> &mut Group<T> {
    let slot = slot as usize;
    &mut chunks[slot / CHUNK][slot % CHUNK]
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
        assert_eq!(top.first_seen().map(|t| t.seconds), Some(1));
        assert_eq!(top.last_seen().map(|t| t.seconds), Some(3));
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
    fn busy_rates_are_counted_exactly() {
        let mut aggregator: Aggregator = Aggregator::new(key("source"), 2, 10_000);
        // 63 flows fit a slice's six bits; the 64th moves the counts.
        for (ms, flows) in [(0, 63), (1_000, 64), (2_000, 1_000), (3_000, 1)] {
            for _ in 0..flows {
                aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), ms);
            }
        }
        let stats = aggregator.sorted(SortBy::Flows, 0)[0].stats.clone();
        assert_eq!(aggregator.rate(&stats, 3_000), 112.8);
        assert_eq!(aggregator.rate(aggregator.total(), 3_000), 112.8);
        // The window moves past the busy slices.
        aggregator.record(&flow("a", "x", Verdict::Forwarded, 1), 11_000);
        let stats = aggregator.sorted(SortBy::Flows, 0)[0].stats.clone();
        assert_eq!(aggregator.rate(&stats, 11_000), 100.2);
        assert_eq!(aggregator.rate(&stats, 13_000), 0.1);
        assert_eq!(
            aggregator.wide.entries.len(),
            2,
            "a's counts and the total's"
        );
        // Evicted, a gives its wide counts to the next busy group.
        aggregator.record(&flow("b", "x", Verdict::Forwarded, 1), 11_000);
        aggregator.record(&flow("c", "x", Verdict::Forwarded, 1), 11_000);
        assert_eq!(aggregator.evicted(), (1, 1_129));
        for _ in 0..100 {
            aggregator.record(&flow("c", "x", Verdict::Forwarded, 1), 12_000);
        }
        assert_eq!(aggregator.wide.entries.len(), 2);
        let c = aggregator.sorted(SortBy::Flows, 0)[0].stats.clone();
        assert_eq!(aggregator.rate(&c, 12_000), 10.1);
        let b = aggregator.sorted(SortBy::Flows, 0)[1].stats.clone();
        assert_eq!(aggregator.rate(&b, 12_000), 0.1);
    }

    #[test]
    fn evictions_never_grow_the_index() {
        let mut aggregator: Aggregator = Aggregator::new(key("source"), 1000, 10_000);
        let size = aggregator.index.allocation_size();
        for n in 0..50_000 {
            let source = format!("pod-{n}");
            aggregator.record(&flow(&source, "x", Verdict::Forwarded, 1), 0);
        }
        assert_eq!(aggregator.evicted().0, 49_000);
        assert_eq!(aggregator.index.allocation_size(), size);
        let key = aggregator.key.clone();
        let mut grown: Aggregator = Aggregator::new(key, PRESIZED_GROUPS * 4, 10_000);
        assert!(
            grown.index.capacity() < PRESIZED_GROUPS * 4,
            "made at a bound size"
        );
        grown.record(&flow("a", "x", Verdict::Forwarded, 1), 0);
    }

    /// Memory of `--aggregate-by` is mostly groups (10,000 by default).
    #[test]
    fn a_group_is_small() {
        assert_eq!(std::mem::size_of::<Stats>(), 72);
        assert_eq!(std::mem::size_of::<Group>(), 104);
    }

    #[test]
    fn packed_counts_count_as_plain_slices() {
        // The plain counting, ten u32 slices, that the packed counts stand for.
        let mut plain = [0u64; SLICES];
        let mut plain_newest = 0u64;
        let mut rate = Rate::default();
        let mut wide = Wide::default();
        let mut random = crate::testing::numbers(0x5eed);
        let mut slice = 0u64;
        for _ in 0..20_000 {
            slice += [0, 0, 0, 1, 2, 13][random(6) as usize];
            // Now and then a late flow, inside or outside the window.
            let at = slice.saturating_sub([0, 0, 0, 0, 3, 12][random(6) as usize]);
            for _ in 0..[1, 1, 1, 2, 40, 90][random(6) as usize] {
                rate.add(at, &mut wide);
                if at > plain_newest {
                    for step in 0..(at - plain_newest).min(SLICES as u64) {
                        plain[((plain_newest + 1 + step) % SLICES as u64) as usize] = 0;
                    }
                    plain_newest = at;
                }
                if at + (SLICES as u64) > plain_newest {
                    plain[(at % SLICES as u64) as usize] += 1;
                }
            }
            for until in [slice, slice + 3, slice + 9, slice + 10] {
                let expected: u64 = (0..SLICES as u64)
                    .filter_map(|age| plain_newest.checked_sub(age))
                    .filter(|&number| number <= until && number + (SLICES as u64) > until)
                    .map(|number| plain[(number % SLICES as u64) as usize])
                    .sum();
                assert_eq!(rate.flows_until(until, &wide), expected);
            }
            if random(50) == 0 {
                rate.counts.release(&mut wide);
                rate = Rate::default();
                plain = [0; SLICES];
                plain_newest = 0;
                slice = 0;
            }
        }
        assert!(wide.entries.len() <= 1, "released counts are taken again");
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
        let latency = aggregator.latency(aggregator.total());
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
