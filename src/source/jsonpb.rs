//! jsonpb lines read by hand (with `scan::Cursor`) into the same
//! `GetFlowsResponse` that serde_json and pbjson give, at a fraction of
//! their cost. Two readings:
//!
//! - in full (`decode_whole`), for JSON output and for filters that may
//!   look at any field;
//! - headline only (`decode`), for compact, dict and table output, which
//!   print a flow's headline and nothing else: what those formats never
//!   print is stepped over unread, never allocated.
//!
//! Both are only shortcuts. A line they do not take in full (a field
//! unknown to them, a node status or lost-events response, camelCase names,
//! a null where a value should be, an `Any`, any syntax error) yields
//! `None`, and the caller decodes the line with serde, which gives the same
//! flow, the warnings and the error messages. So everything they accept,
//! they must decode as serde does, and both take the same lines: the
//! headline reading checks the fields it leaves out as the full one reads
//! them, only without keeping them.
//!
//! Left out of headline flows: the flow's UUID and interface, endpoint
//! cluster names, labels and workloads, node labels, HTTP and Kafka
//! records' contents (the record's kind is kept), DNS answers, policies'
//! labels and revisions, VRRP and IGMP contents (the protocol is kept),
//! trace context, and the flow fields no output of these formats prints
//! (`emitter`, `tunnel`, `file`, `extensions`, `aggregate`, cookies).
//! `FlowMatcher::needs_whole_flows` tells which filters need those.
//!
//! Responses given back once printed (`recycle`) lend their flow box and
//! string buffers to the lines read after them.

use std::{cell::RefCell, mem::take};

use crate::proto::{
    flow::{self, layer4, layer7},
    observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
};

use super::scan::{Cursor, Seen, Strings, fields};

/// Reads the headline of one jsonpb line, or `None` if serde must decode it.
pub fn decode(line: &str) -> Option<GetFlowsResponse> {
    read(line, true)
}

/// Reads one jsonpb line in full, as serde_json and pbjson would, or `None`
/// if it must be left to them.
pub fn decode_whole(line: &str) -> Option<GetFlowsResponse> {
    read(line, false)
}

fn read(line: &str, headline_only: bool) -> Option<GetFlowsResponse> {
    SPARE.with_borrow_mut(|spare| {
        spare.reads = true;
        let mut cursor = Cursor::new(line, headline_only, &mut spare.strings);
        let mut response = GetFlowsResponse::default();
        let flow = spare.flow.take().unwrap_or_default();
        read_response(&mut cursor, &mut response, flow)?;
        cursor.at_end().then_some(response)
    })
}

/// What responses given back leave for the next lines to reuse. Decoding
/// and printing happen on one thread, so a thread's own spares are enough.
#[derive(Default)]
struct Spare {
    /// Whether this thread reads lines. Responses given back on other
    /// threads (streamed from a server) are simply dropped.
    reads: bool,
    strings: Strings,
    flow: Option<Box<flow::Flow>>,
}

thread_local! {
    static SPARE: RefCell<Spare> = RefCell::default();
}

/// Takes back a response that has been printed, so that reading the next
/// lines reuses its memory. Only the strings most flows have are kept; the
/// rest is freed as usual.
pub fn recycle(mut response: GetFlowsResponse) {
    SPARE.with_borrow_mut(|spare| {
        if !spare.reads {
            return;
        }
        spare.strings.give(take(&mut response.node_name));
        if let Some(ResponseTypes::Flow(mut flow)) = response.response_types.take() {
            give_flow(&mut spare.strings, &mut flow);
            spare.flow = Some(flow);
        }
    });
}

/// Moves out the strings most flows have; the rest is left in place, freed
/// when the flow is next reused.
#[allow(deprecated, reason = "Summary is deprecated in the API")]
fn give_flow(strings: &mut Strings, flow: &mut flow::Flow) {
    for string in [&mut flow.uuid, &mut flow.node_name, &mut flow.summary] {
        strings.give(take(string));
    }
    if let Some(ip) = &mut flow.ip {
        for string in [&mut ip.source, &mut ip.source_xlated, &mut ip.destination] {
            strings.give(take(string));
        }
    }
    for endpoint in [&mut flow.source, &mut flow.destination]
        .into_iter()
        .flatten()
    {
        for string in [
            &mut endpoint.cluster_name,
            &mut endpoint.namespace,
            &mut endpoint.pod_name,
        ] {
            strings.give(take(string));
        }
        strings.give_list(take(&mut endpoint.labels));
        for workload in &mut endpoint.workloads {
            strings.give(take(&mut workload.name));
            strings.give(take(&mut workload.kind));
        }
    }
    strings.give_list(take(&mut flow.source_names));
    strings.give_list(take(&mut flow.destination_names));
    if let Some(layer7::Record::Dns(dns)) = flow.l7.as_mut().and_then(|l7| l7.record.as_mut()) {
        strings.give(take(&mut dns.query));
    }
}

/// Fills a oneof, refusing a second member: the full decoder reports that.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.replace(value).is_none().then_some(())
}

/// Reads a response into `response`, its flow into `spare_flow`.
fn read_response(
    cursor: &mut Cursor<'_, '_>,
    response: &mut GetFlowsResponse,
    spare_flow: Box<flow::Flow>,
) -> Option<()> {
    let mut spare_flow = Some(spare_flow);
    let mut seen = Seen::default();
    // Other kinds of response (node status, lost events) are rare: the full
    // decoder takes them.
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"flow" => {
                let mut reused = spare_flow.take()?;
                *reused = read_flow(cursor)?;
                response.response_types = Some(ResponseTypes::Flow(reused));
            },
            b"node_name" => response.node_name = cursor.string()?,
            b"time" => response.time = Some(cursor.timestamp()?),
        })
    })?;
    Some(())
}

#[allow(
    deprecated,
    reason = "Summary, drop_reason and reply are deprecated in the API and still read"
)]
fn read_flow(cursor: &mut Cursor<'_, '_>) -> Option<flow::Flow> {
    let mut flow = flow::Flow::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"time" => flow.time = Some(cursor.timestamp()?),
            b"uuid" => cursor.extra(&mut flow.uuid, Cursor::string)?,
            b"emitter" => cursor.extra(&mut flow.emitter, |c| emitter(c).map(Some))?,
            b"verdict" => flow.verdict = cursor.enumeration(flow::Verdict::from_str_name)?,
            b"drop_reason" => cursor.extra(&mut flow.drop_reason, Cursor::number)?,
            b"auth_type" => flow.auth_type = cursor.enumeration(flow::AuthType::from_str_name)?,
            b"ethernet" => flow.ethernet = Some(ethernet(cursor)?),
            b"IP" => flow.ip = Some(ip(cursor)?),
            b"l4" => flow.l4 = Some(layer4(cursor)?),
            b"tunnel" => cursor.extra(&mut flow.tunnel, |c| tunnel(c).map(Some))?,
            b"source" => flow.source = Some(endpoint(cursor)?),
            b"destination" => flow.destination = Some(endpoint(cursor)?),
            b"Type" => flow.r#type = cursor.enumeration(flow::FlowType::from_str_name)?,
            b"node_name" => flow.node_name = cursor.string()?,
            b"node_labels" => cursor.extra(&mut flow.node_labels, Cursor::strings)?,
            b"source_names" => flow.source_names = cursor.strings()?,
            b"destination_names" => flow.destination_names = cursor.strings()?,
            b"l7" => flow.l7 = Some(layer7(cursor)?),
            b"reply" => cursor.extra(&mut flow.reply, Cursor::boolean)?,
            b"event_type" => flow.event_type = Some(event_type(cursor)?),
            b"source_service" => flow.source_service = Some(service(cursor)?),
            b"destination_service" => flow.destination_service = Some(service(cursor)?),
            b"traffic_direction" => {
                flow.traffic_direction = cursor.enumeration(flow::TrafficDirection::from_str_name)?;
            },
            b"policy_match_type" => flow.policy_match_type = cursor.number()?,
            b"trace_observation_point" => {
                flow.trace_observation_point =
                    cursor.enumeration(flow::TraceObservationPoint::from_str_name)?;
            },
            b"trace_reason" => {
                flow.trace_reason = cursor.enumeration(flow::TraceReason::from_str_name)?;
            },
            b"file" => cursor.extra(&mut flow.file, |c| file_info(c).map(Some))?,
            b"ip_trace_id" => flow.ip_trace_id = Some(ip_trace_id(cursor)?),
            b"drop_reason_desc" => {
                flow.drop_reason_desc = cursor.enumeration(flow::DropReason::from_str_name)?;
            },
            b"is_reply" => {
                flow.is_reply = Some(pbjson_types::BoolValue { value: cursor.boolean()? });
            },
            b"debug_capture_point" => {
                flow.debug_capture_point =
                    cursor.enumeration(flow::DebugCapturePoint::from_str_name)?;
            },
            b"interface" => cursor.extra(&mut flow.interface, |c| interface(c).map(Some))?,
            b"proxy_port" => flow.proxy_port = cursor.number()?,
            b"trace_context" => cursor.extra(&mut flow.trace_context, |c| trace_context(c).map(Some))?,
            b"sock_xlate_point" => {
                flow.sock_xlate_point =
                    cursor.enumeration(flow::SocketTranslationPoint::from_str_name)?;
            },
            b"socket_cookie" => cursor.extra(&mut flow.socket_cookie, Cursor::number)?,
            b"cgroup_id" => cursor.extra(&mut flow.cgroup_id, Cursor::number)?,
            b"Summary" => flow.summary = cursor.string()?,
            // An Any needs its type registry: left to pbjson, in both
            // readings, so that both take the same lines.
            b"extensions" => return None,
            b"egress_allowed_by" => flow.egress_allowed_by = cursor.vec(policy)?,
            b"ingress_allowed_by" => flow.ingress_allowed_by = cursor.vec(policy)?,
            b"egress_denied_by" => flow.egress_denied_by = cursor.vec(policy)?,
            b"ingress_denied_by" => flow.ingress_denied_by = cursor.vec(policy)?,
            b"policy_log" => cursor.extra(&mut flow.policy_log, Cursor::strings)?,
            b"aggregate" => cursor.extra(&mut flow.aggregate, |c| aggregate(c).map(Some))?,
        })
    })?;
    Some(flow)
}

fn ethernet(cursor: &mut Cursor<'_, '_>) -> Option<flow::Ethernet> {
    let mut ethernet = flow::Ethernet::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"source" => ethernet.source = cursor.string()?,
            b"destination" => ethernet.destination = cursor.string()?,
        })
    })?;
    Some(ethernet)
}

fn ip(cursor: &mut Cursor<'_, '_>) -> Option<flow::Ip> {
    let mut ip = flow::Ip::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"source" => ip.source = cursor.string()?,
            b"source_xlated" => ip.source_xlated = cursor.string()?,
            b"destination" => ip.destination = cursor.string()?,
            b"ipVersion" => ip.ip_version = cursor.enumeration(flow::IpVersion::from_str_name)?,
            b"encrypted" => ip.encrypted = cursor.boolean()?,
        })
    })?;
    Some(ip)
}

fn layer4(cursor: &mut Cursor<'_, '_>) -> Option<flow::Layer4> {
    let mut protocol = None;
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"TCP" => set_once(&mut protocol, layer4::Protocol::Tcp(tcp(cursor)?))?,
            b"UDP" => {
                let (source_port, destination_port) = ports(cursor)?;
                set_once(&mut protocol, layer4::Protocol::Udp(flow::Udp { source_port, destination_port }))?;
            },
            b"ICMPv4" => {
                let (r#type, code) = icmp(cursor)?;
                set_once(&mut protocol, layer4::Protocol::IcmPv4(flow::IcmPv4 { r#type, code }))?;
            },
            b"ICMPv6" => {
                let (r#type, code) = icmp(cursor)?;
                set_once(&mut protocol, layer4::Protocol::IcmPv6(flow::IcmPv6 { r#type, code }))?;
            },
            b"SCTP" => {
                let (source_port, destination_port) = ports(cursor)?;
                set_once(&mut protocol, layer4::Protocol::Sctp(flow::Sctp { source_port, destination_port }))?;
            },
            b"VRRP" => {
                let mut vrrp = flow::Vrrp::default();
                cursor.extra(&mut vrrp, self::vrrp)?;
                set_once(&mut protocol, layer4::Protocol::Vrrp(vrrp))?;
            },
            b"IGMP" => {
                let mut igmp = flow::Igmp::default();
                cursor.extra(&mut igmp, self::igmp)?;
                set_once(&mut protocol, layer4::Protocol::Igmp(igmp))?;
            },
        })
    })?;
    Some(flow::Layer4 { protocol })
}

fn ports(cursor: &mut Cursor<'_, '_>) -> Option<(u32, u32)> {
    let (mut source, mut destination) = (0, 0);
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"source_port" => source = cursor.number()?,
            b"destination_port" => destination = cursor.number()?,
        })
    })?;
    Some((source, destination))
}

fn tcp(cursor: &mut Cursor<'_, '_>) -> Option<flow::Tcp> {
    let mut tcp = flow::Tcp::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"source_port" => tcp.source_port = cursor.number()?,
            b"destination_port" => tcp.destination_port = cursor.number()?,
            b"flags" => tcp.flags = Some(tcp_flags(cursor)?),
        })
    })?;
    Some(tcp)
}

fn tcp_flags(cursor: &mut Cursor<'_, '_>) -> Option<flow::TcpFlags> {
    let mut flags = flow::TcpFlags::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"FIN" => flags.fin = cursor.boolean()?,
            b"SYN" => flags.syn = cursor.boolean()?,
            b"RST" => flags.rst = cursor.boolean()?,
            b"PSH" => flags.psh = cursor.boolean()?,
            b"ACK" => flags.ack = cursor.boolean()?,
            b"URG" => flags.urg = cursor.boolean()?,
            b"ECE" => flags.ece = cursor.boolean()?,
            b"CWR" => flags.cwr = cursor.boolean()?,
            b"NS" => flags.ns = cursor.boolean()?,
        })
    })?;
    Some(flags)
}

fn icmp(cursor: &mut Cursor<'_, '_>) -> Option<(u32, u32)> {
    let (mut r#type, mut code) = (0, 0);
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"type" => r#type = cursor.number()?,
            b"code" => code = cursor.number()?,
        })
    })?;
    Some((r#type, code))
}

fn endpoint(cursor: &mut Cursor<'_, '_>) -> Option<flow::Endpoint> {
    let mut endpoint = flow::Endpoint::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"ID" => endpoint.id = cursor.number()?,
            b"identity" => endpoint.identity = cursor.number()?,
            b"cluster_name" => cursor.extra(&mut endpoint.cluster_name, Cursor::string)?,
            b"namespace" => endpoint.namespace = cursor.string()?,
            b"labels" => cursor.extra(&mut endpoint.labels, Cursor::strings)?,
            b"pod_name" => endpoint.pod_name = cursor.string()?,
            b"workloads" => cursor.extra(&mut endpoint.workloads, |c| c.vec(workload))?,
        })
    })?;
    Some(endpoint)
}

/// Headline output keeps the kind of an HTTP or Kafka record, not its
/// contents.
#[allow(deprecated, reason = "Kafka records are deprecated in the API")]
fn layer7(cursor: &mut Cursor<'_, '_>) -> Option<flow::Layer7> {
    let mut layer7 = flow::Layer7::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"type" => layer7.r#type = cursor.enumeration(flow::L7FlowType::from_str_name)?,
            b"latency_ns" => layer7.latency_ns = cursor.number()?,
            b"dns" => set_once(&mut layer7.record, layer7::Record::Dns(dns(cursor)?))?,
            b"http" => {
                let mut http = flow::Http::default();
                cursor.extra(&mut http, self::http)?;
                set_once(&mut layer7.record, layer7::Record::Http(http))?;
            },
            b"kafka" => {
                let mut kafka = flow::Kafka::default();
                cursor.extra(&mut kafka, self::kafka)?;
                set_once(&mut layer7.record, layer7::Record::Kafka(kafka))?;
            },
        })
    })?;
    Some(layer7)
}

fn dns(cursor: &mut Cursor<'_, '_>) -> Option<flow::Dns> {
    let mut dns = flow::Dns::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"query" => dns.query = cursor.string()?,
            b"ips" => cursor.extra(&mut dns.ips, Cursor::strings)?,
            b"ttl" => cursor.extra(&mut dns.ttl, Cursor::number)?,
            b"cnames" => cursor.extra(&mut dns.cnames, Cursor::strings)?,
            b"observation_source" => dns.observation_source = cursor.string()?,
            b"rcode" => cursor.extra(&mut dns.rcode, Cursor::number)?,
            b"qtypes" => cursor.extra(&mut dns.qtypes, Cursor::strings)?,
            b"rrtypes" => cursor.extra(&mut dns.rrtypes, Cursor::strings)?,
        })
    })?;
    Some(dns)
}

fn event_type(cursor: &mut Cursor<'_, '_>) -> Option<flow::CiliumEventType> {
    let mut event_type = flow::CiliumEventType::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"type" => event_type.r#type = cursor.number()?,
            b"sub_type" => event_type.sub_type = cursor.number()?,
        })
    })?;
    Some(event_type)
}

fn service(cursor: &mut Cursor<'_, '_>) -> Option<flow::Service> {
    let mut service = flow::Service::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"name" => service.name = cursor.string()?,
            b"namespace" => service.namespace = cursor.string()?,
        })
    })?;
    Some(service)
}

fn policy(cursor: &mut Cursor<'_, '_>) -> Option<flow::Policy> {
    let mut policy = flow::Policy::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"name" => policy.name = cursor.string()?,
            b"namespace" => policy.namespace = cursor.string()?,
            b"labels" => cursor.extra(&mut policy.labels, Cursor::strings)?,
            b"revision" => cursor.extra(&mut policy.revision, Cursor::number)?,
            b"kind" => policy.kind = cursor.string()?,
        })
    })?;
    Some(policy)
}

fn ip_trace_id(cursor: &mut Cursor<'_, '_>) -> Option<flow::IpTraceId> {
    let mut trace = flow::IpTraceId::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"trace_id" => trace.trace_id = cursor.number()?,
            b"ip_option_type" => trace.ip_option_type = cursor.number()?,
        })
    })?;
    Some(trace)
}

fn emitter(cursor: &mut Cursor<'_, '_>) -> Option<flow::Emitter> {
    let mut emitter = flow::Emitter::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"name" => emitter.name = cursor.string()?,
            b"version" => emitter.version = cursor.string()?,
        })
    })?;
    Some(emitter)
}

fn tunnel(cursor: &mut Cursor<'_, '_>) -> Option<flow::Tunnel> {
    let mut tunnel = flow::Tunnel::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"protocol" => {
                tunnel.protocol = cursor.enumeration(flow::tunnel::Protocol::from_str_name)?;
            },
            b"IP" => tunnel.ip = Some(ip(cursor)?),
            b"l4" => tunnel.l4 = Some(layer4(cursor)?),
            b"vni" => tunnel.vni = cursor.number()?,
        })
    })?;
    Some(tunnel)
}

fn file_info(cursor: &mut Cursor<'_, '_>) -> Option<flow::FileInfo> {
    let mut file = flow::FileInfo::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"name" => file.name = cursor.string()?,
            b"line" => file.line = cursor.number()?,
        })
    })?;
    Some(file)
}

fn interface(cursor: &mut Cursor<'_, '_>) -> Option<flow::NetworkInterface> {
    let mut interface = flow::NetworkInterface::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"index" => interface.index = cursor.number()?,
            b"name" => interface.name = cursor.string()?,
        })
    })?;
    Some(interface)
}

fn trace_context(cursor: &mut Cursor<'_, '_>) -> Option<flow::TraceContext> {
    let mut context = flow::TraceContext::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"parent" => context.parent = Some(trace_parent(cursor)?),
        })
    })?;
    Some(context)
}

fn trace_parent(cursor: &mut Cursor<'_, '_>) -> Option<flow::TraceParent> {
    let mut parent = flow::TraceParent::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"trace_id" => parent.trace_id = cursor.string()?,
        })
    })?;
    Some(parent)
}

fn aggregate(cursor: &mut Cursor<'_, '_>) -> Option<flow::Aggregate> {
    let mut aggregate = flow::Aggregate::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"ingress_flow_count" => aggregate.ingress_flow_count = cursor.number()?,
            b"egress_flow_count" => aggregate.egress_flow_count = cursor.number()?,
            b"unknown_direction_flow_count" => {
                aggregate.unknown_direction_flow_count = cursor.number()?;
            },
        })
    })?;
    Some(aggregate)
}

fn vrrp(cursor: &mut Cursor<'_, '_>) -> Option<flow::Vrrp> {
    let mut vrrp = flow::Vrrp::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"type" => vrrp.r#type = cursor.number()?,
            b"vrid" => vrrp.vrid = cursor.number()?,
            b"priority" => vrrp.priority = cursor.number()?,
        })
    })?;
    Some(vrrp)
}

fn igmp(cursor: &mut Cursor<'_, '_>) -> Option<flow::Igmp> {
    let mut igmp = flow::Igmp::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"type" => igmp.r#type = cursor.number()?,
            b"group_address" => igmp.group_address = cursor.string()?,
        })
    })?;
    Some(igmp)
}

fn workload(cursor: &mut Cursor<'_, '_>) -> Option<flow::Workload> {
    let mut workload = flow::Workload::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"name" => workload.name = cursor.string()?,
            b"kind" => workload.kind = cursor.string()?,
        })
    })?;
    Some(workload)
}

fn http(cursor: &mut Cursor<'_, '_>) -> Option<flow::Http> {
    let mut http = flow::Http::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"code" => http.code = cursor.number()?,
            b"method" => http.method = cursor.string()?,
            b"url" => http.url = cursor.string()?,
            b"protocol" => http.protocol = cursor.string()?,
            b"headers" => http.headers = cursor.vec(http_header)?,
        })
    })?;
    Some(http)
}

fn http_header(cursor: &mut Cursor<'_, '_>) -> Option<flow::HttpHeader> {
    let mut header = flow::HttpHeader::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"key" => header.key = cursor.string()?,
            b"value" => header.value = cursor.string()?,
        })
    })?;
    Some(header)
}

#[allow(deprecated, reason = "Kafka records are deprecated in the API")]
fn kafka(cursor: &mut Cursor<'_, '_>) -> Option<flow::Kafka> {
    let mut kafka = flow::Kafka::default();
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        fields!(key, seen, {
            b"error_code" => kafka.error_code = cursor.number()?,
            b"api_version" => kafka.api_version = cursor.number()?,
            b"api_key" => kafka.api_key = cursor.string()?,
            b"correlation_id" => kafka.correlation_id = cursor.number()?,
            b"topic" => kafka.topic = cursor.string()?,
        })
    })?;
    Some(kafka)
}

#[cfg(test)]
mod tests {
    use super::{decode, decode_whole, recycle};
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
                recycle(lean);
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

    fn lines() -> impl Iterator<Item = &'static str> {
        CAPTURES
            .iter()
            .flat_map(|capture| capture.lines())
            .filter(|line| !line.trim().is_empty())
    }

    /// Read in full, lines give exactly what serde_json and pbjson give.
    #[test]
    fn whole_flows_decode_as_in_full() {
        let mut taken = 0;
        let mut count = 0;
        for line in lines() {
            count += 1;
            let Some(whole) = decode_whole(line) else {
                continue;
            };
            taken += 1;
            assert_eq!(whole, full(line), "{line}");
            // The next lines reuse its strings: none may leak into them.
            recycle(whole);
        }
        assert!(
            taken * 10 >= count * 9,
            "only {taken} of {count} lines read by hand"
        );
    }

    #[test]
    fn lines_the_full_decoder_warns_about_or_refuses_are_left_to_it() {
        for line in [
            // A field given twice.
            r#"{"flow":{"verdict":"FORWARDED","verdict":"DROPPED"}}"#,
            r#"{"node_name":"a","node_name":"b"}"#,
            // Escaped keys, control bytes, trailing text.
            r#"{"flow":{"verdic\u0074":"FORWARDED"}}"#,
            "{\"flow\":{\"node_name\":\"a\tb\"}}",
            "{\"flow\":{}}\t",
            r#"{"flow":{}} x"#,
            // Numbers out of range or not JSON.
            r#"{"flow":{"proxy_port":4294967296}}"#,
            r#"{"flow":{"proxy_port":01}}"#,
            r#"{"flow":{"proxy_port":1e-400}}"#,
            r#"{"flow":{"proxy_port":"+1"}}"#,
            // A bad escape in a string that headline output skips.
            r#"{"flow":{"source":{"labels":["a\q"]}}}"#,
        ] {
            assert!(decode_whole(line).is_none(), "{line}");
            assert!(decode(line).is_none(), "{line}");
        }
        // Extensions need a type registry: left to serde in both readings.
        let extensions = r#"{"flow":{"extensions":{"@type":"x"}}}"#;
        assert!(decode_whole(extensions).is_none());
        assert!(decode(extensions).is_none());
        let deep = format!(
            r#"{{"flow":{{"source":{{"labels":[{}1{}]}}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(decode(&deep).is_none());
        assert!(decode_whole(&deep).is_none());
    }

    /// Numbers as protojson reads them, by hand as in full.
    #[test]
    fn numbers_with_fractions_and_exponents_are_read_as_protojson_reads_them() {
        for (line, port) in [
            (r#"{"flow":{"proxy_port":1e3}}"#, 1000),
            (r#"{"flow":{"proxy_port":"1e3"}}"#, 1000),
            (r#"{"flow":{"proxy_port":1.5e1}}"#, 15),
            (r#"{"flow":{"proxy_port":"100e-2"}}"#, 1),
            (r#"{"flow":{"proxy_port":-0}}"#, 0),
            // protojson reads a string's first token only.
            (r#"{"flow":{"proxy_port":"7 x"}}"#, 7),
        ] {
            let whole = decode_whole(line).unwrap();
            assert_eq!(whole, full(line), "{line}");
            let Some(super::ResponseTypes::Flow(flow)) = &whole.response_types else {
                panic!("{line}");
            };
            assert_eq!(flow.proxy_port, port, "{line}");
        }
    }

    #[test]
    fn numbers_in_strings_and_escapes_are_read() {
        let line = r#"{"flow":{"socket_cookie":"18446744073709551615","proxy_port":"80","drop_reason":0,"event_type":{"type":-1},"uuid":"a\"b\\","source":{"labels":["x\u00e9"]}}}"#;
        assert_eq!(decode_whole(line).unwrap(), full(line));
    }

    /// Corrupted lines: whatever the hand reader accepts, the full decoder
    /// accepts too, with the same result and no unknown field.
    #[test]
    fn corrupted_lines_are_read_as_in_full_or_left_to_it() {
        const SPICE: &[u8] = b"{}[]\",:0-1e.\\ntu \t\r\x01\x1f";
        let mut next = crate::testing::numbers(0x9e37_79b9_7f4a_7c15);
        let lines: Vec<&str> = lines().collect();
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut line = lines[next(lines.len() as u64) as usize].as_bytes().to_vec();
            for _ in 0..=next(3) {
                if line.is_empty() {
                    break;
                }
                let at = next(line.len() as u64) as usize;
                let byte = SPICE[next(SPICE.len() as u64) as usize];
                match next(3) {
                    0 => line[at] = byte,
                    1 => line.insert(at, byte),
                    _ => drop(line.remove(at)),
                }
            }
            let Ok(line) = std::str::from_utf8(&line) else {
                continue;
            };
            let full = super::super::decode_line(line.as_bytes());
            if let Some(whole) = decode_whole(line) {
                accepted += 1;
                assert_eq!(Ok((whole.clone(), None)), full, "{line}");
                recycle(whole);
            }
            if let Some(lean) = decode(line) {
                let (whole, _) = full.expect(line);
                let options = option_sets()[1];
                assert_eq!(printed(options, &lean), printed(options, &whole), "{line}");
            }
        }
        // Some corruptions leave valid JSON (a digit for a digit, a space):
        // those must be read, or the test shows nothing.
        assert!(accepted >= 1_000, "only {accepted} corrupted lines read");
    }

    /// Control bytes are never read: JSON has them only as whitespace,
    /// which this reader takes only as spaces, and never in strings, where
    /// serde_json refuses them, skipped strings and keys included.
    #[test]
    fn control_bytes_are_left_to_the_full_decoder() {
        for (line, serde_takes_it) in [
            ("{\"flow\":{\"source\":{\"labels\":[\"a\x01b\"]}}}", false),
            ("{\"flow\":{\"uuid\":\"0123456789abcdef\x1f\"}}", false),
            ("{\"flow\":{\"node_name\":\"node\tname\"}}", false),
            ("{\"flow\":{\"node_\x7f\x02name\":\"x\"}}", false),
            ("{\"flow\":{\"Summary\":\"a\\\\\nb\"}}", false),
            ("{\"flow\":\t{\"node_name\":\"x\"}}", true),
            ("{\"flow\":{\"node_name\":\"x\"}}\r", true),
        ] {
            assert_eq!(
                super::super::decode_line(line.as_bytes()).is_ok(),
                serde_takes_it,
                "{line:?}"
            );
            assert!(decode(line).is_none(), "{line:?}");
            assert!(decode_whole(line).is_none(), "{line:?}");
        }
    }

    /// serde_json lets a lone surrogate escape through when it ignores a
    /// value, and refuses it in any string it reads: the headline reading
    /// must not take a line whose skipped strings hold one.
    #[test]
    fn lone_surrogates_in_skipped_strings_are_left_to_the_full_decoder() {
        for line in [
            r#"{"flow":{"source":{"labels":["\ud800"]}}}"#,
            r#"{"flow":{"source":{"labels":["\udc00\ud800"]}}}"#,
            r#"{"flow":{"uuid":"\ud800"}}"#,
            r#"{"flow":{"l7":{"kafka":{"topic":"\udc00"}}}}"#,
            r#"{"flow":{"extensions":"\ud800"}}"#,
        ] {
            assert!(
                super::super::decode_line(line.as_bytes()).is_err(),
                "{line}"
            );
            assert!(decode(line).is_none(), "{line}");
            assert!(decode_whole(line).is_none(), "{line}");
        }
        // A pair is one character, read in both readings.
        let pair = r#"{"flow":{"uuid":"\ud83d\ude00","source":{"labels":["\ud83d\ude00"]}}}"#;
        assert!(decode(pair).is_some());
        assert_eq!(decode_whole(pair).unwrap(), full(pair));
    }
}
