//! `kafka`: `hubble_kafka_requests_total` and
//! `hubble_kafka_request_duration_seconds` (`pkg/hubble/metrics/kafka`).

use crate::proto::flow::{Flow, L7FlowType, layer7::Record};

use super::{
    Counting, Family, Handler, Metric, MetricsError, Options, context::ContextOptions,
    http::reporter,
};

/// Counts into requests and duration.
pub struct KafkaHandler;

impl KafkaHandler {
    pub fn metric(options: &Options) -> Result<Metric, MetricsError> {
        let context = ContextOptions::parse(options)?;
        let names = |own: &[&str]| {
            let mut labels = context.label_names();
            labels.extend(own.iter().map(|s| (*s).to_owned()));
            labels
        };
        Ok(Metric {
            handler: Box::new(Self),
            families: vec![
                Family::counter(
                    "hubble_kafka_requests",
                    "Count of Kafka requests",
                    names(&["topic", "api_key", "error_code", "reporter"]),
                ),
                // Hubble's help text says HTTP here.
                Family::histogram(
                    "hubble_kafka_request_duration_seconds",
                    "Quantiles of HTTP request duration in seconds",
                    names(&["topic", "api_key", "reporter"]),
                ),
            ],
            context,
        })
    }
}

impl Handler for KafkaHandler {
    fn process(&self, flow: &Flow, counting: Counting<'_>) {
        let Some(l7) = flow.l7.as_ref() else {
            return;
        };
        #[allow(deprecated)]
        let Some(Record::Kafka(kafka)) = l7.record.as_ref() else {
            return;
        };
        if l7.r#type != L7FlowType::Request as i32 {
            return;
        }
        let reporter = reporter(flow);
        let key = &mut counting.scratch.key;
        key.clear();
        counting.context.push_values(flow, false, key);
        let (context_len, context_values) = (key.len_bytes(), key.values());
        key.push(&kafka.topic);
        key.push(&kafka.api_key);
        // Hubble writes `string(kafka.ErrorCode)`: Go turns the number into
        // the character of that code point (U+FFFD when there is none), not
        // its digits. Kept, so that the series are the agent's.
        let mut character = [0; 4];
        key.push(
            char::from_u32(kafka.error_code as u32)
                .unwrap_or('\u{fffd}')
                .encode_utf8(&mut character),
        );
        key.push(reporter);
        counting.families[0].add(key, 1, counting.scratch.now);
        key.truncate(context_len, context_values);
        key.push(&kafka.topic);
        key.push(&kafka.api_key);
        key.push(reporter);
        counting.families[1].observe(key, l7.latency_ns as f64 / 1e9, counting.scratch.now, "");
    }
}
