//! The series of one metric family, keyed by their label values, and their
//! exposition through `prometheus-client`.
//!
//! A flow's label values are written into one reusable key buffer
//! (`Key`), each value prefixed by its length so that no value can run
//! into the next, and looked up without allocating: a series costs one
//! allocation when it first appears and none after. Memory grows with the
//! number of live series, never with the number of flows.
//!
//! The exposition is ordered as Go's client orders it, so that it reads
//! (and diffs) like an agent's `/metrics`: families by name, labels of a
//! series by name, series by their values in that label order.

use std::collections::HashMap as StdHashMap;

/// Series are looked up once per flow and handler: a fast hash matters.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

use prometheus_client::{
    encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet},
    metrics::{
        MetricType,
        counter::ConstCounter,
        exemplar::{CounterWithExemplar, HistogramWithExemplars},
        gauge::ConstGauge,
    },
};

/// The label values of one flow, written one after another, each after
/// its length in four bytes.
#[derive(Debug, Default)]
pub struct Key {
    bytes: Vec<u8>,
    count: usize,
}

impl Key {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }

    pub fn push(&mut self, value: &str) {
        self.begin(value.len());
        self.bytes.extend_from_slice(value.as_bytes());
    }

    /// One value, in ASCII lowercase.
    pub fn push_lowercase(&mut self, value: &str) {
        self.begin(value.len());
        self.bytes
            .extend(value.bytes().map(|b| b.to_ascii_lowercase()));
    }

    /// One value made of `parts` written together.
    pub fn push_parts(&mut self, parts: &[&str]) {
        self.begin(parts.iter().map(|part| part.len()).sum());
        for part in parts {
            self.bytes.extend_from_slice(part.as_bytes());
        }
    }

    /// One value: `items` joined by `separator`, as Go's `strings.Join`.
    pub fn push_joined<'a>(&mut self, items: impl Iterator<Item = &'a str>, separator: &str) {
        let start = self.bytes.len();
        self.begin(0);
        for (index, item) in items.enumerate() {
            if index > 0 {
                self.bytes.extend_from_slice(separator.as_bytes());
            }
            self.bytes.extend_from_slice(item.as_bytes());
        }
        self.finish(start);
    }

    /// One value: an unsigned number in decimal.
    pub fn push_number(&mut self, value: u64) {
        self.push(itoa::Buffer::new().format(value));
    }

    /// One value: what `value` displays as.
    pub fn push_display(&mut self, value: impl std::fmt::Display) {
        use std::io::Write as _;
        let start = self.bytes.len();
        self.begin(0);
        let _ = write!(self.bytes, "{value}");
        self.finish(start);
    }

    fn begin(&mut self, length: usize) {
        self.bytes.extend_from_slice(&(length as u32).to_le_bytes());
        self.count += 1;
    }

    /// Writes the length of the value begun at `start`.
    fn finish(&mut self, start: usize) {
        let length = (self.bytes.len() - start - 4) as u32;
        self.bytes[start..start + 4].copy_from_slice(&length.to_le_bytes());
    }

    /// The number of values pushed.
    pub fn values(&self) -> usize {
        self.count
    }

    /// The length in bytes, to go back to with `truncate`.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Goes back to a length and value count taken earlier.
    pub fn truncate(&mut self, len_bytes: usize, count: usize) {
        self.bytes.truncate(len_bytes);
        self.count = count;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The values of a stored key, in the order they were pushed. Every value
/// was pushed from a `str`, so each slice is UTF-8.
fn values(key: &[u8]) -> Vec<&str> {
    let mut values = Vec::new();
    let mut rest = key;
    while rest.len() >= 4 {
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let end = (4 + length).min(rest.len());
        values.push(std::str::from_utf8(&rest[4..end]).unwrap_or(""));
        rest = &rest[end..];
    }
    values
}

/// Prometheus' default histogram buckets, as Go's client defines them.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The per-series state of a counter.
#[derive(Debug, Clone)]
struct CounterSeries {
    value: u64,
    touched: u64,
    exemplar: Option<(String, u64)>,
}

/// The per-series state of a histogram.
#[derive(Debug, Clone)]
struct HistogramSeries {
    /// Observations per bucket (not cumulative), `+Inf` last.
    buckets: [u64; DEFAULT_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
    touched: u64,
    /// With exemplars on, the series is kept in the crate's own histogram
    /// instead, the only one that can carry exemplars into the exposition.
    with_exemplars: Option<HistogramWithExemplars<TraceLabel>>,
}

#[derive(Debug, Clone)]
enum Series {
    Counter(HashMap<Box<[u8]>, CounterSeries>),
    Histogram(HashMap<Box<[u8]>, HistogramSeries>),
    Gauge(HashMap<Box<[u8]>, f64>),
}

/// One metric family: its name (without `_total` for counters), help text,
/// label names in the order the handler declares them, and series.
#[derive(Debug, Clone)]
pub struct Family {
    name: &'static str,
    help: &'static str,
    labels: Vec<String>,
    series: Series,
    /// Whether histogram series carry exemplars (`exemplars=true`).
    exemplars: bool,
}

impl Family {
    pub fn counter(name: &'static str, help: &'static str, labels: Vec<String>) -> Self {
        Self {
            name,
            help,
            labels,
            series: Series::Counter(HashMap::default()),
            exemplars: false,
        }
    }

    pub fn histogram(name: &'static str, help: &'static str, labels: Vec<String>) -> Self {
        Self {
            name,
            help,
            labels,
            series: Series::Histogram(HashMap::default()),
            exemplars: false,
        }
    }

    pub fn gauge(name: &'static str, help: &'static str, labels: Vec<String>) -> Self {
        Self {
            name,
            help,
            labels,
            series: Series::Gauge(HashMap::default()),
            exemplars: false,
        }
    }

    /// Keeps exemplars of histogram observations.
    pub fn with_exemplars(mut self, exemplars: bool) -> Self {
        self.exemplars = exemplars;
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Adds `by` to the counter series of `key`; `now` marks it as live.
    pub fn add(&mut self, key: &Key, by: u64, now: u64) {
        self.add_with_exemplar(key, by, now, "");
    }

    /// Adds `by`, with an exemplar when `trace_id` is not empty.
    pub fn add_with_exemplar(&mut self, key: &Key, by: u64, now: u64, trace_id: &str) {
        debug_assert_eq!(key.values(), self.labels.len(), "{}", self.name);
        let Series::Counter(series) = &mut self.series else {
            return;
        };
        let entry = match series.get_mut(key.as_bytes()) {
            Some(entry) => entry,
            None => series
                .entry(key.as_bytes().into())
                .or_insert(CounterSeries {
                    value: 0,
                    touched: now,
                    exemplar: None,
                }),
        };
        entry.value += by;
        entry.touched = now;
        if !trace_id.is_empty() {
            entry.exemplar = Some((trace_id.to_owned(), by));
        }
    }

    /// Observes `value` in the histogram series of `key`.
    pub fn observe(&mut self, key: &Key, value: f64, now: u64, trace_id: &str) {
        debug_assert_eq!(key.values(), self.labels.len(), "{}", self.name);
        let Series::Histogram(series) = &mut self.series else {
            return;
        };
        let entry = match series.get_mut(key.as_bytes()) {
            Some(entry) => entry,
            None => series
                .entry(key.as_bytes().into())
                .or_insert(HistogramSeries {
                    buckets: [0; DEFAULT_BUCKETS.len() + 1],
                    sum: 0.0,
                    count: 0,
                    touched: now,
                    with_exemplars: self
                        .exemplars
                        .then(|| HistogramWithExemplars::new(DEFAULT_BUCKETS.iter().copied())),
                }),
        };
        entry.touched = now;
        if let Some(histogram) = &entry.with_exemplars {
            let exemplar = (!trace_id.is_empty()).then(|| [("traceID", trace_id.to_owned())]);
            histogram.observe(value, exemplar, None);
            return;
        }
        // Go's client puts a value in the first bucket whose upper bound
        // is at least the value.
        let bucket = DEFAULT_BUCKETS
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(DEFAULT_BUCKETS.len());
        entry.buckets[bucket] += 1;
        entry.sum += value;
        entry.count += 1;
    }

    /// Sets the gauge series of `key`.
    pub fn set(&mut self, key: &Key, value: f64) {
        let Series::Gauge(series) = &mut self.series else {
            return;
        };
        match series.get_mut(key.as_bytes()) {
            Some(entry) => *entry = value,
            None => {
                series.insert(key.as_bytes().into(), value);
            }
        }
    }

    /// The number of live series.
    pub fn series(&self) -> usize {
        match &self.series {
            Series::Counter(series) => series.len(),
            Series::Histogram(series) => series.len(),
            Series::Gauge(series) => series.len(),
        }
    }

    /// Keeps the series `keep` accepts, given their label values (in the
    /// declared order) and when they were last counted.
    pub fn retain(&mut self, mut keep: impl FnMut(&[&str], u64) -> bool) {
        match &mut self.series {
            Series::Counter(series) => {
                series.retain(|key, entry| keep(&values(key), entry.touched));
            }
            Series::Histogram(series) => {
                series.retain(|key, entry| keep(&values(key), entry.touched));
            }
            Series::Gauge(_) => {}
        }
    }

    /// The series as `(label values, sample)`, in Go's order. Values are in
    /// the declared label order.
    fn sorted<'a, T>(&self, series: &'a HashMap<Box<[u8]>, T>) -> Vec<(Vec<&'a str>, &'a T)> {
        let order = self.label_order();
        let mut rows: Vec<(Vec<&str>, &T)> = series
            .iter()
            .map(|(key, sample)| (values(key), sample))
            .collect();
        rows.sort_by(|(a, _), (b, _)| {
            order
                .iter()
                .map(|&index| a[index].cmp(b[index]))
                .find(|ordering| ordering.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        rows
    }

    /// Indices of the labels, sorted by label name as Go's client writes
    /// them.
    fn label_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by(|&a, &b| self.labels[a].cmp(&self.labels[b]));
        order
    }

    fn label_set<'a>(&'a self, values: &[&'a str], order: &[usize]) -> Vec<(&'a str, &'a str)> {
        order
            .iter()
            .map(|&index| (self.labels[index].as_str(), values[index]))
            .collect()
    }

    /// Writes the family through `encoder`. A family without series is left
    /// out, as Go's client leaves out a vector nothing was counted in.
    pub fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        if self.series() == 0 {
            return Ok(());
        }
        let order = self.label_order();
        match &self.series {
            Series::Counter(series) => {
                let mut metric =
                    encoder.encode_descriptor(self.name, self.help, None, MetricType::Counter)?;
                for (values, sample) in self.sorted(series) {
                    let labels = self.label_set(&values, &order);
                    let family = metric.encode_family(&labels)?;
                    encode_counter(family, sample)?;
                }
            }
            Series::Histogram(series) => {
                let mut metric =
                    encoder.encode_descriptor(self.name, self.help, None, MetricType::Histogram)?;
                for (values, sample) in self.sorted(series) {
                    let labels = self.label_set(&values, &order);
                    let family = metric.encode_family(&labels)?;
                    encode_histogram(family, sample)?;
                }
            }
            Series::Gauge(series) => {
                let mut metric =
                    encoder.encode_descriptor(self.name, self.help, None, MetricType::Gauge)?;
                for (values, sample) in self.sorted(series) {
                    let labels = self.label_set(&values, &order);
                    let family = metric.encode_family(&labels)?;
                    ConstGauge::new(*sample).encode(family)?;
                }
            }
        }
        Ok(())
    }
}

type TraceLabel = [(&'static str, String); 1];

fn encode_counter(encoder: MetricEncoder<'_>, sample: &CounterSeries) -> std::fmt::Result {
    match &sample.exemplar {
        None => ConstCounter::new(sample.value).encode(encoder),
        Some((trace_id, value)) => {
            // prometheus-client builds exemplars only inside its own
            // metrics: carry the count into one to encode it.
            let counter = CounterWithExemplar::<TraceLabel, u64>::default();
            let before = sample.value - value;
            if before > 0 {
                counter.inc_by(before, None, None);
            }
            counter.inc_by(*value, Some([("traceID", trace_id.clone())]), None);
            counter.encode(encoder)
        }
    }
}

fn encode_histogram(mut encoder: MetricEncoder<'_>, sample: &HistogramSeries) -> std::fmt::Result {
    if let Some(histogram) = &sample.with_exemplars {
        return histogram.encode(encoder);
    }
    let mut buckets: Vec<(f64, u64)> = DEFAULT_BUCKETS
        .iter()
        .copied()
        .zip(sample.buckets.iter().copied())
        .collect();
    buckets.push((f64::INFINITY, sample.buckets[DEFAULT_BUCKETS.len()]));
    encoder.encode_histogram::<NoLabelSet>(sample.sum, sample.count, &buckets, None)
}
