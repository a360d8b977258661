//! `http` and `httpV2`: `hubble_http_requests_total`,
//! `hubble_http_responses_total` (v1 only) and
//! `hubble_http_request_duration_seconds` (`pkg/hubble/metrics/http`).

use crate::proto::flow::{Flow, L7FlowType, TrafficDirection, layer7::Record};

use super::{Counting, Family, Handler, Metric, MetricsError, Options, context::ContextOptions};

/// Counts into requests, responses and duration (v1), or requests and
/// duration (v2).
pub struct HttpHandler {
    v2: bool,
    exemplars: bool,
}

impl HttpHandler {
    pub fn metric(options: &Options, v2: bool) -> Result<Metric, MetricsError> {
        let context = ContextOptions::parse(options)?;
        let exemplars = options
            .iter()
            .any(|(name, values)| name == "exemplars" && values.len() == 1 && values[0] == "true");
        let names = |own: &[&str]| {
            let mut labels = context.label_names();
            labels.extend(own.iter().map(|s| (*s).to_owned()));
            labels
        };
        let duration = Family::histogram(
            "hubble_http_request_duration_seconds",
            "Quantiles of HTTP request duration in seconds",
            names(&["method", "reporter"]),
        )
        .with_exemplars(exemplars);
        let families = if v2 {
            vec![
                Family::counter(
                    "hubble_http_requests",
                    "Count of HTTP requests",
                    names(&["method", "protocol", "status", "reporter"]),
                ),
                duration,
            ]
        } else {
            vec![
                Family::counter(
                    "hubble_http_requests",
                    "Count of HTTP requests",
                    names(&["method", "protocol", "reporter"]),
                ),
                Family::counter(
                    "hubble_http_responses",
                    "Count of HTTP responses",
                    names(&["method", "protocol", "status", "reporter"]),
                ),
                duration,
            ]
        };
        Ok(Metric {
            handler: Box::new(Self { v2, exemplars }),
            context,
            families,
        })
    }
}

/// Who reported the flow: the client's proxy (egress) or the server's.
pub fn reporter(flow: &Flow) -> &'static str {
    match TrafficDirection::try_from(flow.traffic_direction) {
        Ok(TrafficDirection::Egress) => "client",
        Ok(TrafficDirection::Ingress) => "server",
        _ => "unknown",
    }
}

impl Handler for HttpHandler {
    fn process(&self, flow: &Flow, counting: Counting<'_>) {
        let Some(l7) = flow.l7.as_ref() else {
            return;
        };
        let Some(Record::Http(http)) = l7.record.as_ref() else {
            return;
        };
        let response = l7.r#type == L7FlowType::Response as i32;
        let request = l7.r#type == L7FlowType::Request as i32;
        if !response && (!request || self.v2) {
            return;
        }
        let reporter = reporter(flow);
        let trace_id = match self.exemplars {
            true => flow
                .trace_context
                .as_ref()
                .and_then(|t| t.parent.as_ref())
                .map_or("", |p| p.trace_id.as_str()),
            false => "",
        };
        // v2 counts responses, whose source is the server: its context is
        // inverted so that "source" is the client.
        let invert = self.v2;
        let now = counting.scratch.now;
        let key = &mut counting.scratch.key;
        key.clear();
        counting.context.push_values(flow, invert, key);
        let context_len = key.len_bytes();
        let context_values = key.values();
        key.push(&http.method);
        key.push(&http.protocol);
        if response {
            key.push_number(u64::from(http.code));
        }
        key.push(reporter);
        let counter = match (self.v2, response) {
            (true, _) | (false, false) => 0,
            (false, true) => 1,
        };
        counting.families[counter].add_with_exemplar(key, 1, now, trace_id);
        if response {
            key.truncate(context_len, context_values);
            key.push(&http.method);
            key.push(reporter);
            let seconds = l7.latency_ns as f64 / 1e9;
            let duration = counting.families.len() - 1;
            counting.families[duration].observe(key, seconds, now, trace_id);
        }
    }
}
