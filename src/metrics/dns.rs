//! `dns`: `hubble_dns_queries_total`, `hubble_dns_responses_total` and
//! `hubble_dns_response_types_total` (`pkg/hubble/metrics/dns`).

use crate::proto::flow::{Flow, Verdict, layer7::Record};

use super::{
    Counting, Family, Handler, Metric, MetricsError, Options, context::ContextOptions, names,
};

/// Counts into queries, responses and response types.
pub struct DnsHandler {
    include_query: bool,
    ignore_aaaa: bool,
}

impl DnsHandler {
    pub fn metric(options: &Options) -> Result<Metric, MetricsError> {
        let context = ContextOptions::parse(options)?;
        let has = |wanted: &str| {
            options
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
        };
        let include_query = has("query");
        let ignore_aaaa = has("ignoreAAAA");
        let names = |own: &[&str]| {
            let mut labels = context.label_names();
            labels.extend(own.iter().map(|s| (*s).to_owned()));
            if include_query {
                labels.push("query".to_owned());
            }
            labels
        };
        let queries = names(&["rcode", "qtypes", "ips_returned"]);
        let types = names(&["type", "qtypes"]);
        Ok(Metric {
            handler: Box::new(Self {
                include_query,
                ignore_aaaa,
            }),
            families: vec![
                Family::counter(
                    "hubble_dns_queries",
                    "Number of DNS queries observed",
                    queries.clone(),
                ),
                // Hubble gives all three the queries' help text.
                Family::counter(
                    "hubble_dns_responses",
                    "Number of DNS queries observed",
                    queries,
                ),
                Family::counter(
                    "hubble_dns_response_types",
                    "Number of DNS queries observed",
                    types,
                ),
            ],
            context,
        })
    }
}

impl Handler for DnsHandler {
    fn process(&self, flow: &Flow, counting: Counting<'_>) {
        let Some(Record::Dns(dns)) = flow.l7.as_ref().and_then(|l7| l7.record.as_ref()) else {
            return;
        };
        if self.ignore_aaaa && dns.qtypes.len() == 1 && dns.qtypes[0] == "AAAA" {
            return;
        }
        let is_reply = flow.is_reply.as_ref().is_some_and(|r| r.value);
        let qtypes = || dns.qtypes.iter().map(String::as_str);
        let key = &mut counting.scratch.key;
        key.clear();
        counting.context.push_values(flow, false, key);
        let family = if flow.verdict == Verdict::Dropped as i32 {
            key.push("Policy denied");
            0
        } else if !is_reply {
            key.push("");
            0
        } else {
            key.push(names::dns_rcode(dns.rcode));
            1
        };
        key.push_joined(qtypes(), ",");
        key.push_number(dns.ips.len() as u64);
        if self.include_query {
            key.push(&dns.query);
        }
        counting.families[family].add(key, 1, counting.scratch.now);
        if family == 1 {
            for response_type in &dns.rrtypes {
                key.clear();
                counting.context.push_values(flow, false, key);
                key.push(response_type);
                key.push_joined(qtypes(), ",");
                if self.include_query {
                    key.push(&dns.query);
                }
                counting.families[2].add(key, 1, counting.scratch.now);
            }
        }
    }
}
