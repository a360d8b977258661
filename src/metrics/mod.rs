//! Hubble's flow metrics (cilium/cilium `pkg/hubble/metrics/`), counted
//! from the flow stream instead of inside each agent: the same families,
//! label names and values, selected by the same `--metrics` spec, so that
//! dashboards and alerts built on agents' metrics work unchanged.
//!
//! One file per handler, as Hubble has one folder per metric; `context`
//! holds the context options they share, `counter` the handler of the
//! metrics that are one counter, `series` the storage and the exposition
//! through `prometheus-client`.

mod context;
mod counter;
mod dns;
mod drop;
mod flow;
mod flows_to_world;
mod http;
mod icmp;
mod kafka;
mod names;
mod policy;
mod port_distribution;
mod series;
mod server;
mod tcp;

pub use server::serve;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, text},
    registry::Registry,
};
use serde_json::{Map, Value, json};

use crate::proto::{
    flow::{Flow, LostEvent},
    observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
};

use context::{ContextOptions, PodLabel};
use counter::Counter;
pub use series::{Family, Key};

/// The metric names Hubble registers, in the order `--help` lists them.
pub const METRIC_NAMES: &[&str] = &[
    "dns",
    "drop",
    "flow",
    "flows-to-world",
    "http",
    "httpV2",
    "icmp",
    "kafka",
    "policy",
    "port-distribution",
    "tcp",
];

/// What `hubl metrics` counts when `--metrics` is not given: the example
/// of Cilium's Helm chart.
pub const DEFAULT_METRICS: &str = "dns,drop,tcp,flow,icmp,http";

/// A spec Hubble would refuse; the message is Hubble's.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{0}")]
    Spec(String),
}

/// A metric's options: `name=value|value` pairs in the order given.
/// An option without `=` has one empty value, as Hubble parses it.
pub type Options = Vec<(String, Vec<String>)>;

/// One enabled metric of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    pub name: String,
    pub options: Options,
}

/// Parses `--metrics` values. Each value is a list of metrics separated by
/// spaces (as in Cilium's ConfigMap) or commas (as on the agent's command
/// line); a comma inside `labelsContext=a,b` continues the option, since
/// no label or context name is a metric name. A metric given twice takes
/// its last options, as Hubble's map of metrics does.
pub fn parse_spec(values: &[String]) -> Result<Vec<MetricSpec>, MetricsError> {
    let mut specs: Vec<MetricSpec> = Vec::new();
    let mut pieces: Vec<String> = Vec::new();
    for value in values {
        for word in value.split_whitespace() {
            for piece in word.split(',') {
                let continues = pieces.last().is_some_and(|last| {
                    last.contains(':')
                        && last.rsplit(';').next().is_some_and(|o| o.contains('='))
                        && !piece.contains(':')
                        && !METRIC_NAMES.contains(&piece)
                });
                match pieces.last_mut() {
                    Some(last) if continues => {
                        last.push(',');
                        last.push_str(piece);
                    }
                    _ if piece.is_empty() => {}
                    _ => pieces.push(piece.to_owned()),
                }
            }
        }
    }
    for piece in pieces {
        let (name, options) = match piece.split_once(':') {
            Some((name, options)) => (name, parse_options(options)),
            None => (piece.as_str(), Vec::new()),
        };
        let spec = MetricSpec {
            name: name.to_owned(),
            options,
        };
        match specs.iter_mut().find(|s| s.name == spec.name) {
            Some(existing) => *existing = spec,
            None => specs.push(spec),
        }
    }
    Ok(specs)
}

/// Hubble's `parseOptionConfigs`: `;`-separated options, values split on
/// `|` when there is one, else on `,`, empty values dropped.
fn parse_options(text: &str) -> Options {
    text.split(';')
        .filter(|option| !option.is_empty())
        .map(|option| match option.split_once('=') {
            Some((name, values)) => {
                let separator = if values.contains('|') { '|' } else { ',' };
                let values = values
                    .split(separator)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect();
                (name.to_owned(), values)
            }
            None => (option.to_owned(), vec![String::new()]),
        })
        .collect()
}

/// What a handler gets besides the flow: reusable buffers and the clock.
#[derive(Debug, Default)]
pub struct Scratch {
    key: Key,
    text: String,
    /// Seconds since the epoch, for telling live series from stale ones.
    now: u64,
}

/// What one metric counts of a flow, as Hubble's `FlowProcessor`.
trait Handler: Send {
    fn process(&self, flow: &Flow, counting: Counting<'_>);
}

/// What a handler counts one flow with.
struct Counting<'a> {
    /// The context options of the metric, for the context labels.
    context: &'a ContextOptions,
    /// The metric's families, in the order the handler made them.
    families: &'a mut [Family],
    scratch: &'a mut Scratch,
}

/// One enabled metric: its handler, the context options it was given and
/// the families it counts into.
struct Metric {
    handler: Box<dyn Handler>,
    context: ContextOptions,
    families: Vec<Family>,
}

impl Metric {
    fn new(spec: &MetricSpec) -> Result<Self, MetricsError> {
        let options = &spec.options;
        match spec.name.as_str() {
            "dns" => dns::DnsHandler::metric(options),
            "drop" => drop::DropHandler::metric(options),
            "flow" => Counter::<flow::FlowsProcessed>::metric(options),
            "flows-to-world" => flows_to_world::FlowsToWorldHandler::metric(options),
            "http" => http::HttpHandler::metric(options, false),
            "httpV2" => http::HttpHandler::metric(options, true),
            "icmp" => Counter::<icmp::Icmp>::metric(options),
            "kafka" => kafka::KafkaHandler::metric(options),
            "policy" => Counter::<policy::Policy>::metric(options),
            "port-distribution" => Counter::<port_distribution::PortDistribution>::metric(options),
            "tcp" => Counter::<tcp::Tcp>::metric(options),
            other => Err(MetricsError::Spec(format!(
                "metric '{other}' does not exist"
            ))),
        }
    }

    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
        let counting = Counting {
            context: &self.context,
            families: &mut self.families,
            scratch,
        };
        self.handler.process(flow, counting);
    }
}

/// Every enabled handler and the exporter's own metrics.
pub struct Metrics {
    metrics: Vec<Metric>,
    scratch: Scratch,
    lost_events: Family,
    flows_received: u64,
    reconnects: u64,
    /// Event time of the last flow, and when it was received.
    last_flow: Option<(f64, f64)>,
    /// Series naming a pod not counted for this long are dropped.
    pod_series_ttl: Option<Duration>,
    /// Whether the stream is live, so that its lag means something.
    live: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("metrics", &self.metrics.len())
            .finish()
    }
}

impl Metrics {
    /// Sets up the handlers of `specs`, refusing what Hubble refuses.
    pub fn new(specs: &[MetricSpec]) -> Result<Self, MetricsError> {
        let mut metrics = Vec::new();
        for spec in specs {
            for (a, b) in [("http", "httpV2"), ("httpV2", "http")] {
                if spec.name == a && specs.iter().any(|s| s.name == b) {
                    return Err(MetricsError::Spec(format!(
                        "plugin {a} conflicts with plugin {b}"
                    )));
                }
            }
            let metric = Metric::new(spec).map_err(|error| match error {
                MetricsError::Spec(reason) if METRIC_NAMES.contains(&spec.name.as_str()) => {
                    MetricsError::Spec(format!(
                        "unable to initialize metric '{}': {reason}",
                        spec.name
                    ))
                }
                error => error,
            })?;
            metrics.push(metric);
        }
        Ok(Self {
            metrics,
            scratch: Scratch::default(),
            lost_events: Family::counter(
                "hubble_lost_events",
                "Number of lost events",
                vec!["source".to_owned()],
            ),
            flows_received: 0,
            reconnects: 0,
            last_flow: None,
            pod_series_ttl: None,
            live: false,
        })
    }

    /// Drops series of pods not seen for `ttl` (see `expire_pods`).
    pub fn with_pod_series_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.pod_series_ttl = ttl;
        self
    }

    /// Reports the lag of a live stream (not of a capture, whose flows are
    /// as old as it is).
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self
    }

    /// Counts one response of the stream.
    pub fn process(&mut self, response: &GetFlowsResponse) {
        match &response.response_types {
            Some(ResponseTypes::Flow(flow)) => self.process_flow(flow),
            Some(ResponseTypes::LostEvents(lost)) => self.process_lost(lost),
            _ => {}
        }
    }

    pub fn process_flow(&mut self, flow: &Flow) {
        self.process_flow_at(flow, unix_now());
    }

    fn process_flow_at(&mut self, flow: &Flow, now: f64) {
        self.scratch.now = now as u64;
        self.flows_received += 1;
        if let Some(time) = &flow.time {
            self.last_flow = Some((time.seconds as f64 + f64::from(time.nanos) / 1e9, now));
        }
        for metric in &mut self.metrics {
            metric.process(flow, &mut self.scratch);
        }
    }

    fn process_lost(&mut self, lost: &LostEvent) {
        let key = &mut self.scratch.key;
        key.clear();
        match names::lost_event_source(lost.source) {
            Some(name) => key.push_lowercase(name),
            None => key.push_display(lost.source),
        }
        self.lost_events.add(key, lost.num_events_lost, 0);
    }

    /// Counts a reconnection of the stream: `hubl_stream_reconnects_total`,
    /// for the reconnecting `--follow` stream to call.
    pub fn count_reconnect(&mut self) {
        self.reconnects += 1;
    }

    /// Hubble drops the series of a pod a minute after Kubernetes deletes
    /// it (`ProcessPodDeletion`), for the metrics whose context names pods
    /// (`pod` source or destination context, or both `*_pod` and
    /// `*_namespace` labels). A flow stream says nothing of deletions, so
    /// the nearest sign is silence: a pod-naming series not counted for the
    /// TTL is dropped, and comes back from zero if the pod talks again —
    /// as it would after a restart under the agent. Series that name no pod
    /// are kept for the life of the process, as the agent keeps them.
    pub fn expire_pods(&mut self) {
        self.expire_pods_at(unix_now());
    }

    fn expire_pods_at(&mut self, now: f64) {
        let Some(ttl) = self.pod_series_ttl else {
            return;
        };
        let cutoff = (now as u64).saturating_sub(ttl.as_secs());
        for metric in &mut self.metrics {
            let pods = metric.context.pod_labels();
            if pods.is_empty() {
                continue;
            }
            let context_names = metric.context.label_names();
            for family in &mut metric.families {
                // Context labels sit before or after the handler's own:
                // find them by name.
                let at = |index: usize| {
                    family
                        .labels()
                        .iter()
                        .position(|name| *name == context_names[index])
                };
                let positions: Vec<(Option<usize>, Option<usize>)> = pods
                    .iter()
                    .map(|pod| match *pod {
                        PodLabel::Joined(index) => (at(index), None),
                        PodLabel::Split { namespace, pod } => (at(namespace), at(pod)),
                    })
                    .collect();
                family.retain(|values, touched| {
                    let names_pod = positions.iter().any(|&(a, b)| match (a, b) {
                        (Some(a), None) => !values[a].is_empty(),
                        (Some(a), Some(b)) => !values[a].is_empty() || !values[b].is_empty(),
                        _ => false,
                    });
                    !names_pod || touched >= cutoff
                });
            }
        }
    }

    fn own_families(&self) -> Vec<Family> {
        let none = Key::default();
        let mut received = Family::counter(
            "hubl_flows_received",
            "Number of flows received from the stream, before the metrics' own selection",
            Vec::new(),
        );
        received.add(&none, self.flows_received, 0);
        let mut reconnects = Family::counter(
            "hubl_stream_reconnects",
            "Number of times the flow stream was reconnected",
            Vec::new(),
        );
        reconnects.add(&none, self.reconnects, 0);
        let mut families = vec![received, reconnects];
        if let Some((event, received_at)) = self.last_flow.filter(|_| self.live) {
            let mut lag = Family::gauge(
                "hubl_stream_lag_seconds",
                "Seconds between the event time of the last flow received and its receipt",
                Vec::new(),
            );
            lag.set(&none, (received_at - event).max(0.0));
            families.push(lag);
        }
        families
    }

    /// Every family with series, sorted by name as Go's registry does.
    fn sorted_families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = self
            .metrics
            .iter()
            .flat_map(|metric| metric.families.iter().cloned())
            .collect();
        families.push(self.lost_events.clone());
        families.extend(self.own_families());
        families.sort_by_key(|family| family.name());
        families
    }

    /// The exposition in `format`.
    pub fn encode(&self, format: Format) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Snapshot(self.sorted_families())));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = match format {
            Format::OpenMetrics => text::encode(&mut out, &registry),
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            }
        };
        out
    }

    /// The series as JSON: one object per family with its type, help and
    /// samples (labels and value; buckets, sum and count for histograms),
    /// read back from the Prometheus exposition so both always agree.
    pub fn to_json(&self) -> Value {
        let exposition = self.encode(Format::Prometheus);
        let mut families: Vec<Value> = Vec::new();
        let mut current: Option<Map<String, Value>> = None;
        for line in exposition.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                if let Some(done) = current.take() {
                    families.push(Value::Object(done));
                }
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                let mut family = Map::new();
                family.insert("name".into(), json!(name));
                family.insert("help".into(), json!(help));
                family.insert("samples".into(), json!([]));
                current = Some(family);
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                if let Some(family) = current.as_mut() {
                    let kind = rest.rsplit(' ').next().unwrap_or("");
                    family.insert("type".into(), json!(kind));
                }
            } else if let Some(family) = current.as_mut()
                && let Some(sample) = parse_sample(line)
                && let Some(Value::Array(samples)) = family.get_mut("samples")
            {
                samples.push(sample);
            }
        }
        if let Some(done) = current.take() {
            families.push(Value::Object(done));
        }
        Value::Array(families)
    }
}

/// One sample line of the Prometheus text format as JSON.
fn parse_sample(line: &str) -> Option<Value> {
    let (head, value) = line.rsplit_once(' ')?;
    let (name, labels) = match head.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (head, ""),
    };
    let mut map = Map::new();
    let mut rest = labels;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut text = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, other)) => text.push(other),
                    None => return None,
                },
                '"' => {
                    end = Some(index);
                    break;
                }
                c => text.push(c),
            }
        }
        let end = end?;
        map.insert(key.to_owned(), Value::String(text));
        rest = after[end + 1..].trim_start_matches(',');
    }
    let number = value
        .parse::<f64>()
        .ok()
        .and_then(|v| {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Some(json!(v as i64))
            } else {
                serde_json::Number::from_f64(v).map(Value::Number)
            }
        })
        .unwrap_or_else(|| json!(value));
    Some(json!({"name": name, "labels": map, "value": number}))
}

/// The exposition formats `/metrics` negotiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, what Go's client serves by default.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`, with exemplars.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it is
    /// accepted at all (Prometheus lists it first), else the text format.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let accepts_openmetrics = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next().unwrap_or("");
                let refused = parts.any(|p| matches!(p.strip_prefix("q="), Some(q) if q.parse::<f64>().is_ok_and(|q| q == 0.0)));
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if accepts_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The families of one scrape, handed to prometheus-client's registry.
#[derive(Debug)]
struct Snapshot(Vec<Family>);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            family.encode(&mut encoder)?;
        }
        Ok(())
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Vec<MetricSpec> {
        parse_spec(&[text.to_owned()]).unwrap()
    }

    #[test]
    fn the_issue_spec_parses_as_hubble_parses_it() {
        let specs = spec(
            "dns:query;ignoreAAAA,drop,tcp,flow,port-distribution,icmp,httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction",
        );
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dns",
                "drop",
                "tcp",
                "flow",
                "port-distribution",
                "icmp",
                "httpV2"
            ]
        );
        assert_eq!(
            specs[0].options,
            vec![
                ("query".to_owned(), vec![String::new()]),
                ("ignoreAAAA".to_owned(), vec![String::new()])
            ]
        );
        assert_eq!(
            specs[6].options[0],
            ("exemplars".to_owned(), vec!["true".to_owned()])
        );
        assert_eq!(specs[6].options[1].1.len(), 7);
        Metrics::new(&specs).unwrap();
    }

    #[test]
    fn spaces_separate_metrics_as_in_cilium_configmaps() {
        let specs = spec("flow:sourceContext=pod|dns;destinationContext=pod drop");
        assert_eq!(specs.len(), 2);
        assert_eq!(
            specs[0].options[0],
            (
                "sourceContext".to_owned(),
                vec!["pod".to_owned(), "dns".to_owned()]
            )
        );
    }

    #[test]
    fn refusals_give_hubbles_reasons() {
        let error = |text: &str| Metrics::new(&spec(text)).unwrap_err().to_string();
        assert_eq!(error("flow,nope"), "metric 'nope' does not exist");
        assert_eq!(
            error("http,httpV2"),
            "plugin http conflicts with plugin httpV2"
        );
        assert_eq!(
            error("drop:sourceContext=pod|bogus"),
            "unable to initialize metric 'drop': unknown context 'bogus'"
        );
        assert_eq!(
            error("tcp:labelsContext=source_pod,nope"),
            "unable to initialize metric 'tcp': invalid labelsContext value: nope"
        );
    }

    fn flow_of(json: &str) -> Flow {
        serde_json::from_str(json).expect("a flow")
    }

    fn samples(metrics: &Metrics) -> Vec<String> {
        metrics
            .encode(Format::Prometheus)
            .lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with("hubl_"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn lost_events_are_counted_by_source() {
        let mut metrics = Metrics::new(&[]).unwrap();
        let lost: GetFlowsResponse = serde_json::from_str(
            r#"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":5}}"#,
        )
        .unwrap();
        metrics.process(&lost);
        metrics.process(&lost);
        assert_eq!(
            samples(&metrics),
            ["hubble_lost_events_total{source=\"perf_event_ring_buffer\"} 10"]
        );
    }

    #[test]
    fn series_of_silent_pods_expire_and_others_stay() {
        let specs = spec("drop:sourceContext=pod;destinationContext=namespace");
        let mut metrics = Metrics::new(&specs)
            .unwrap()
            .with_pod_series_ttl(Some(Duration::from_secs(300)));
        let gone = flow_of(
            r#"{"verdict":"DROPPED","source":{"namespace":"a","pod_name":"gone"},"destination":{"namespace":"b"}}"#,
        );
        let alive = flow_of(
            r#"{"verdict":"DROPPED","source":{"namespace":"a","pod_name":"alive"},"destination":{"namespace":"b"}}"#,
        );
        let no_pod = flow_of(r#"{"verdict":"DROPPED","destination":{"namespace":"b"}}"#);
        metrics.process_flow_at(&gone, 1000.0);
        metrics.process_flow_at(&no_pod, 1000.0);
        metrics.process_flow_at(&alive, 1200.0);
        metrics.expire_pods_at(1299.0);
        assert_eq!(samples(&metrics).len(), 3);
        metrics.expire_pods_at(1301.0);
        assert_eq!(
            samples(&metrics),
            [
                "hubble_drop_total{destination=\"b\",protocol=\"Unknown flow\",reason=\"DROP_REASON_UNKNOWN\",source=\"\"} 1",
                "hubble_drop_total{destination=\"b\",protocol=\"Unknown flow\",reason=\"DROP_REASON_UNKNOWN\",source=\"a/alive\"} 1",
            ]
        );
    }

    #[test]
    fn http_v2_exemplars_reach_openmetrics_only() {
        let mut metrics = Metrics::new(&spec("httpV2:exemplars=true")).unwrap();
        let response = flow_of(
            r#"{"event_type":{"type":129},"traffic_direction":"INGRESS","trace_context":{"parent":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}},"l7":{"type":"RESPONSE","latency_ns":"20000000","http":{"code":200,"method":"GET","protocol":"HTTP/1.1"}}}"#,
        );
        metrics.process_flow(&response);
        let open = metrics.encode(Format::OpenMetrics);
        assert!(
            open.contains(
                "hubble_http_requests_total{method=\"GET\",protocol=\"HTTP/1.1\",reporter=\"server\",status=\"200\"} 1 # {traceID=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 1"
            ),
            "{open}"
        );
        assert!(
            open.contains(
                "{le=\"0.025\",method=\"GET\",reporter=\"server\"} 1 # {traceID=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 0.02"
            ),
            "{open}"
        );
        let text = metrics.encode(Format::Prometheus);
        assert!(!text.contains("traceID"), "{text}");
        assert!(text.contains(
            "hubble_http_request_duration_seconds_bucket{method=\"GET\",reporter=\"server\",le=\"0.025\"} 1"
        ));
    }

    #[test]
    fn openmetrics_is_served_when_accepted() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Prometheus
        );
    }
}
