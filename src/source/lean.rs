//! A lean reading of jsonpb lines, for output that prints only a flow's
//! headline: what compact, dict and table output show, plus what most
//! filters look at. Decoding a whole flow allocates dozens of strings per
//! line (labels, workloads, HTTP headers) that those outputs never print;
//! this reading borrows strings from the line and skips the rest unparsed.
//!
//! It is only a shortcut. A line it does not take in full (a field unknown
//! to it, a node status or lost-events response, camelCase names, a null
//! where a value should be, any syntax error) yields `None`, and the caller
//! decodes the line in full, which gives the same flow, the warnings and the
//! error messages. So everything it accepts, it must decode as the full
//! decoder does.
//!
//! Left out of the flows it gives: the flow's UUID and interface, endpoint
//! cluster names, labels and workloads, node labels, HTTP and Kafka
//! records' contents (the record's kind is kept),
//! DNS answers, policies' labels and revisions, ICMP, VRRP and IGMP
//! contents (the protocol is kept), trace context, and the flow fields no
//! output of these formats prints (`emitter`, `tunnel`, `file`, `extensions`,
//! `aggregate`, cookies). `FlowMatcher::needs_whole_flows` tells which
//! filters need those.

use std::borrow::Cow;

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny},
};

use crate::proto::{
    Number, OpenEnum, Timestamp,
    flow::{self, layer4, layer7},
    observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
};

/// Reads one jsonpb line leanly, or `None` if it must be decoded in full.
pub fn decode(line: &str) -> Option<GetFlowsResponse> {
    let response: Response<'_> = serde_json::from_str(line).ok()?;
    response.into_response()
}

/// A JSON string, borrowed from the line unless it held escapes.
#[derive(Default)]
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// Fields that are known but not read: present or not, they are skipped.
type Skipped = Option<IgnoredAny>;

fn texts(texts: Vec<Text<'_>>) -> Vec<String> {
    texts.into_iter().map(Text::into_string).collect()
}

fn number<T: Default>(value: Option<Number<T>>) -> T {
    value.map_or_else(T::default, |n| n.0)
}

fn open_enum<E>(value: Option<OpenEnum<E>>) -> i32 {
    value.map_or(0, OpenEnum::get)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Response<'a> {
    #[serde(borrow)]
    flow: Option<Flow<'a>>,
    node_status: Skipped,
    lost_events: Skipped,
    #[serde(borrow, default)]
    node_name: Text<'a>,
    time: Option<Timestamp>,
}

impl Response<'_> {
    fn into_response(self) -> Option<GetFlowsResponse> {
        // Other kinds of response are rare: the full decoder takes them.
        if self.node_status.is_some() || self.lost_events.is_some() {
            return None;
        }
        let flow = match self.flow {
            Some(flow) => Some(ResponseTypes::Flow(Box::new(flow.into_flow()?))),
            None => None,
        };
        Some(GetFlowsResponse {
            response_types: flow,
            node_name: self.node_name.into_string(),
            time: self.time,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
#[allow(
    dead_code,
    reason = "skipped fields are named so that unknown ones stand out"
)]
struct Flow<'a> {
    time: Option<Timestamp>,
    uuid: Skipped,
    emitter: Skipped,
    verdict: Option<OpenEnum<flow::Verdict>>,
    drop_reason: Skipped,
    auth_type: Option<OpenEnum<flow::AuthType>>,
    #[serde(borrow)]
    ethernet: Option<Ethernet<'a>>,
    #[serde(borrow)]
    IP: Option<Ip<'a>>,
    l4: Option<Layer4>,
    tunnel: Skipped,
    #[serde(borrow)]
    source: Option<Endpoint<'a>>,
    #[serde(borrow)]
    destination: Option<Endpoint<'a>>,
    Type: Option<OpenEnum<flow::FlowType>>,
    #[serde(borrow, default)]
    node_name: Text<'a>,
    node_labels: Skipped,
    #[serde(borrow, default)]
    source_names: Vec<Text<'a>>,
    #[serde(borrow, default)]
    destination_names: Vec<Text<'a>>,
    #[serde(borrow)]
    l7: Option<Layer7<'a>>,
    reply: Skipped,
    event_type: Option<EventType>,
    #[serde(borrow)]
    source_service: Option<Service<'a>>,
    #[serde(borrow)]
    destination_service: Option<Service<'a>>,
    traffic_direction: Option<OpenEnum<flow::TrafficDirection>>,
    policy_match_type: Option<Number<u32>>,
    trace_observation_point: Option<OpenEnum<flow::TraceObservationPoint>>,
    trace_reason: Option<OpenEnum<flow::TraceReason>>,
    file: Skipped,
    ip_trace_id: Option<IpTraceId>,
    drop_reason_desc: Option<OpenEnum<flow::DropReason>>,
    is_reply: Option<bool>,
    debug_capture_point: Option<OpenEnum<flow::DebugCapturePoint>>,
    interface: Skipped,
    proxy_port: Option<Number<u32>>,
    trace_context: Skipped,
    sock_xlate_point: Option<OpenEnum<flow::SocketTranslationPoint>>,
    socket_cookie: Skipped,
    cgroup_id: Skipped,
    #[serde(borrow, default)]
    Summary: Text<'a>,
    extensions: Skipped,
    #[serde(borrow, default)]
    egress_allowed_by: Vec<Policy<'a>>,
    #[serde(borrow, default)]
    ingress_allowed_by: Vec<Policy<'a>>,
    #[serde(borrow, default)]
    egress_denied_by: Vec<Policy<'a>>,
    #[serde(borrow, default)]
    ingress_denied_by: Vec<Policy<'a>>,
    policy_log: Skipped,
    aggregate: Skipped,
}

impl Flow<'_> {
    fn into_flow(self) -> Option<flow::Flow> {
        let l4 = match self.l4 {
            Some(l4) => Some(l4.into_layer4()?),
            None => None,
        };
        let l7 = match self.l7 {
            Some(l7) => Some(l7.into_layer7()?),
            None => None,
        };
        let policies = |policies: Vec<Policy<'_>>| {
            policies
                .into_iter()
                .map(Policy::into_policy)
                .collect::<Vec<_>>()
        };
        #[allow(deprecated)]
        Some(flow::Flow {
            time: self.time,
            verdict: open_enum(self.verdict),
            auth_type: open_enum(self.auth_type),
            ethernet: self.ethernet.map(Ethernet::into_ethernet),
            ip: self.IP.map(Ip::into_ip),
            l4,
            source: self.source.map(Endpoint::into_endpoint),
            destination: self.destination.map(Endpoint::into_endpoint),
            r#type: open_enum(self.Type),
            node_name: self.node_name.into_string(),
            source_names: texts(self.source_names),
            destination_names: texts(self.destination_names),
            l7,
            event_type: self.event_type.map(EventType::into_event_type),
            source_service: self.source_service.map(Service::into_service),
            destination_service: self.destination_service.map(Service::into_service),
            traffic_direction: open_enum(self.traffic_direction),
            policy_match_type: number(self.policy_match_type),
            trace_observation_point: open_enum(self.trace_observation_point),
            trace_reason: open_enum(self.trace_reason),
            ip_trace_id: self.ip_trace_id.map(IpTraceId::into_ip_trace_id),
            drop_reason_desc: open_enum(self.drop_reason_desc),
            is_reply: self.is_reply.map(|value| pbjson_types::BoolValue { value }),
            debug_capture_point: open_enum(self.debug_capture_point),
            proxy_port: number(self.proxy_port),
            sock_xlate_point: open_enum(self.sock_xlate_point),
            summary: self.Summary.into_string(),
            egress_allowed_by: policies(self.egress_allowed_by),
            ingress_allowed_by: policies(self.ingress_allowed_by),
            egress_denied_by: policies(self.egress_denied_by),
            ingress_denied_by: policies(self.ingress_denied_by),
            ..flow::Flow::default()
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ethernet<'a> {
    #[serde(borrow, default)]
    source: Text<'a>,
    #[serde(borrow, default)]
    destination: Text<'a>,
}

impl Ethernet<'_> {
    fn into_ethernet(self) -> flow::Ethernet {
        flow::Ethernet {
            source: self.source.into_string(),
            destination: self.destination.into_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct Ip<'a> {
    #[serde(borrow, default)]
    source: Text<'a>,
    #[serde(borrow, default)]
    source_xlated: Text<'a>,
    #[serde(borrow, default)]
    destination: Text<'a>,
    ipVersion: Option<OpenEnum<flow::IpVersion>>,
    encrypted: Option<bool>,
}

impl Ip<'_> {
    fn into_ip(self) -> flow::Ip {
        flow::Ip {
            source: self.source.into_string(),
            source_xlated: self.source_xlated.into_string(),
            destination: self.destination.into_string(),
            ip_version: open_enum(self.ipVersion),
            encrypted: self.encrypted.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct Layer4 {
    TCP: Option<Tcp>,
    UDP: Option<Ports>,
    ICMPv4: Option<Icmp>,
    ICMPv6: Option<Icmp>,
    SCTP: Option<Ports>,
    VRRP: Skipped,
    IGMP: Skipped,
}

impl Layer4 {
    /// None when more than one protocol is set: the full decoder refuses
    /// that with its own message.
    fn into_layer4(self) -> Option<flow::Layer4> {
        let set = [
            self.TCP.is_some(),
            self.UDP.is_some(),
            self.ICMPv4.is_some(),
            self.ICMPv6.is_some(),
            self.SCTP.is_some(),
            self.VRRP.is_some(),
            self.IGMP.is_some(),
        ];
        if set.iter().filter(|&&set| set).count() > 1 {
            return None;
        }
        let protocol = if let Some(tcp) = self.TCP {
            Some(layer4::Protocol::Tcp(tcp.into_tcp()))
        } else if let Some(udp) = self.UDP {
            Some(layer4::Protocol::Udp(flow::Udp {
                source_port: number(udp.source_port),
                destination_port: number(udp.destination_port),
            }))
        } else if let Some(icmp) = self.ICMPv4 {
            Some(layer4::Protocol::IcmPv4(flow::IcmPv4 {
                r#type: number(icmp.r#type),
                code: number(icmp.code),
            }))
        } else if let Some(icmp) = self.ICMPv6 {
            Some(layer4::Protocol::IcmPv6(flow::IcmPv6 {
                r#type: number(icmp.r#type),
                code: number(icmp.code),
            }))
        } else if let Some(sctp) = self.SCTP {
            Some(layer4::Protocol::Sctp(flow::Sctp {
                source_port: number(sctp.source_port),
                destination_port: number(sctp.destination_port),
            }))
        } else if self.VRRP.is_some() {
            Some(layer4::Protocol::Vrrp(flow::Vrrp::default()))
        } else if self.IGMP.is_some() {
            Some(layer4::Protocol::Igmp(flow::Igmp::default()))
        } else {
            None
        };
        Some(flow::Layer4 { protocol })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ports {
    source_port: Option<Number<u32>>,
    destination_port: Option<Number<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tcp {
    source_port: Option<Number<u32>>,
    destination_port: Option<Number<u32>>,
    flags: Option<TcpFlags>,
}

impl Tcp {
    fn into_tcp(self) -> flow::Tcp {
        flow::Tcp {
            source_port: number(self.source_port),
            destination_port: number(self.destination_port),
            flags: self.flags.map(TcpFlags::into_flags),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpFlags {
    #[serde(rename = "FIN", default)]
    fin: bool,
    #[serde(rename = "SYN", default)]
    syn: bool,
    #[serde(rename = "RST", default)]
    rst: bool,
    #[serde(rename = "PSH", default)]
    psh: bool,
    #[serde(rename = "ACK", default)]
    ack: bool,
    #[serde(rename = "URG", default)]
    urg: bool,
    #[serde(rename = "ECE", default)]
    ece: bool,
    #[serde(rename = "CWR", default)]
    cwr: bool,
    #[serde(rename = "NS", default)]
    ns: bool,
}

impl TcpFlags {
    fn into_flags(self) -> flow::TcpFlags {
        flow::TcpFlags {
            fin: self.fin,
            syn: self.syn,
            rst: self.rst,
            psh: self.psh,
            ack: self.ack,
            urg: self.urg,
            ece: self.ece,
            cwr: self.cwr,
            ns: self.ns,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Icmp {
    r#type: Option<Number<u32>>,
    code: Option<Number<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
#[allow(
    dead_code,
    reason = "skipped fields are named so that unknown ones stand out"
)]
struct Endpoint<'a> {
    ID: Option<Number<u32>>,
    identity: Option<Number<u32>>,
    cluster_name: Skipped,
    #[serde(borrow, default)]
    namespace: Text<'a>,
    labels: Skipped,
    #[serde(borrow, default)]
    pod_name: Text<'a>,
    workloads: Skipped,
}

impl Endpoint<'_> {
    fn into_endpoint(self) -> flow::Endpoint {
        flow::Endpoint {
            id: number(self.ID),
            identity: number(self.identity),
            namespace: self.namespace.into_string(),
            pod_name: self.pod_name.into_string(),
            ..flow::Endpoint::default()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer7<'a> {
    r#type: Option<OpenEnum<flow::L7FlowType>>,
    latency_ns: Option<Number<u64>>,
    #[serde(borrow)]
    dns: Option<Dns<'a>>,
    http: Skipped,
    kafka: Skipped,
}

impl Layer7<'_> {
    fn into_layer7(self) -> Option<flow::Layer7> {
        let set = [
            self.dns.is_some(),
            self.http.is_some(),
            self.kafka.is_some(),
        ];
        if set.iter().filter(|&&set| set).count() > 1 {
            return None;
        }
        #[allow(deprecated)]
        let record = if let Some(dns) = self.dns {
            Some(layer7::Record::Dns(flow::Dns {
                query: dns.query.into_string(),
                observation_source: dns.observation_source.into_string(),
                ..flow::Dns::default()
            }))
        } else if self.http.is_some() {
            Some(layer7::Record::Http(flow::Http::default()))
        } else if self.kafka.is_some() {
            Some(layer7::Record::Kafka(flow::Kafka::default()))
        } else {
            None
        };
        Some(flow::Layer7 {
            r#type: open_enum(self.r#type),
            latency_ns: number(self.latency_ns),
            record,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "skipped fields are named so that unknown ones stand out"
)]
struct Dns<'a> {
    #[serde(borrow, default)]
    query: Text<'a>,
    ips: Skipped,
    ttl: Skipped,
    cnames: Skipped,
    #[serde(borrow, default)]
    observation_source: Text<'a>,
    rcode: Skipped,
    qtypes: Skipped,
    rrtypes: Skipped,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventType {
    r#type: Option<Number<i32>>,
    sub_type: Option<Number<i32>>,
}

impl EventType {
    fn into_event_type(self) -> flow::CiliumEventType {
        flow::CiliumEventType {
            r#type: number(self.r#type),
            sub_type: number(self.sub_type),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Service<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    namespace: Text<'a>,
}

impl Service<'_> {
    fn into_service(self) -> flow::Service {
        flow::Service {
            name: self.name.into_string(),
            namespace: self.namespace.into_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "skipped fields are named so that unknown ones stand out"
)]
struct Policy<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    namespace: Text<'a>,
    labels: Skipped,
    revision: Skipped,
    #[serde(borrow, default)]
    kind: Text<'a>,
}

impl Policy<'_> {
    fn into_policy(self) -> flow::Policy {
        flow::Policy {
            name: self.name.into_string(),
            namespace: self.namespace.into_string(),
            kind: self.kind.into_string(),
            ..flow::Policy::default()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IpTraceId {
    trace_id: Option<Number<u64>>,
    ip_option_type: Option<Number<u32>>,
}

impl IpTraceId {
    fn into_ip_trace_id(self) -> flow::IpTraceId {
        flow::IpTraceId {
            trace_id: number(self.trace_id),
            ip_option_type: number(self.ip_option_type),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode;
    use crate::printer::{Format, PrintOptions, Printer, TimeFormat};
    use crate::proto::observer::GetFlowsResponse;

    const CAPTURES: &[&str] = &[
        include_str!("../../tests/fixtures/conformance/flows.jsonl"),
        include_str!("../../tests/fixtures/latest/flows.jsonl"),
        include_str!("../../assets/demo.jsonl"),
    ];

    fn full(line: &str) -> GetFlowsResponse {
        super::super::decode_line(line.as_bytes()).unwrap().0
    }

    /// The option sets that change what is printed of a flow.
    fn option_sets() -> Vec<PrintOptions> {
        let base = PrintOptions {
            format: Format::Compact,
            time_format: TimeFormat::StampMilli,
            node_name: false,
            policy_names: false,
            color: false,
            ip_translation: true,
            debug: false,
        };
        let mut sets = Vec::new();
        for format in [Format::Compact, Format::Dict, Format::Table] {
            sets.push(PrintOptions { format, ..base });
            sets.push(PrintOptions {
                format,
                time_format: TimeFormat::Rfc3339Nano,
                node_name: true,
                policy_names: true,
                color: true,
                ..base
            });
        }
        sets.push(PrintOptions {
            ip_translation: false,
            ..base
        });
        sets
    }

    fn printed(options: PrintOptions, response: &GetFlowsResponse) -> Vec<u8> {
        let mut out = Vec::new();
        let mut printer = Printer::new(options, &mut out, std::io::sink());
        printer.write_response(response).unwrap();
        printer.finish().unwrap();
        out
    }

    /// What the lean reading leaves out must be what these formats never
    /// print: every line it takes prints as the whole flow does.
    #[test]
    fn lean_flows_print_as_whole_flows() {
        let mut taken = 0;
        let mut lines = 0;
        for capture in CAPTURES {
            for line in capture.lines().filter(|line| !line.trim().is_empty()) {
                lines += 1;
                let Some(lean) = decode(line) else { continue };
                taken += 1;
                let whole = full(line);
                for options in option_sets() {
                    assert_eq!(
                        String::from_utf8_lossy(&printed(options, &lean)),
                        String::from_utf8_lossy(&printed(options, &whole)),
                        "{options:?} output of {line}"
                    );
                }
            }
        }
        // The shortcut must be taken for ordinary flows, or it buys nothing.
        assert!(
            taken * 10 >= lines * 9,
            "only {taken} of {lines} lines read leanly"
        );
    }

    #[test]
    fn lines_it_cannot_take_in_full_are_left_to_the_full_decoder() {
        let flow = r#"{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1"}},"node_name":"n"}"#;
        assert!(decode(flow).is_some());
        for line in [
            // A field it does not know, at any depth it reads.
            r#"{"flow":{"verdict":"FORWARDED","future_field":1}}"#,
            r#"{"flow":{"IP":{"source":"10.0.0.1","future":true}}}"#,
            r#"{"flow":{"verdict":"FORWARDED"},"extra":1}"#,
            // camelCase names, which the full decoder also accepts.
            r#"{"flow":{"nodeName":"n"}}"#,
            // Other kinds of response.
            r#"{"node_status":{"state_change":"NODE_CONNECTED"},"node_name":"n"}"#,
            r#"{"lost_events":{"num_events_lost":3}}"#,
            // Two protocols in one oneof.
            r#"{"flow":{"l4":{"TCP":{},"UDP":{}}}}"#,
            // Nulls and unknown enum names.
            r#"{"flow":{"node_name":null}}"#,
            r#"{"flow":{"verdict":"NOT_A_VERDICT"}}"#,
            // Not JSON at all.
            r#"{"flow":"#,
        ] {
            assert!(decode(line).is_none(), "{line}");
        }
    }

    #[test]
    fn escaped_strings_and_open_enums_decode_as_in_full() {
        let line = r#"{"flow":{"verdict":99,"Summary":"a \"quoted\" \u00e9 summary","source":{"pod_name":"p\/1","identity":"7"}},"time":"2024-01-01T00:00:00Z"}"#;
        assert_eq!(decode(line).unwrap(), full(line));
    }
}
