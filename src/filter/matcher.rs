//! Hubble's server-side filter semantics (`pkg/hubble/filters`), for input
//! that has no server: a response passes when it matches any allow filter
//! (or there are none) and no deny filter. Within one FlowFilter every
//! non-empty field must match. Everything that can be prepared (regular
//! expressions, CIDRs, selectors) is prepared once, in `new`.

use std::{net::IpAddr, sync::LazyLock};

use ipnet::IpNet;
use regex::Regex;

use super::{FilterError, cel::CelFilter, go_quote, labels::Selector};
use crate::proto::{
    flow::{Flow, FlowFilter, TcpFlags, Verdict, Workload, layer4, layer7},
    observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
};

/// Decides, as Hubble's server does, whether a response passes a request's
/// allow and deny lists.
pub struct FlowMatcher {
    allow: Vec<Compiled>,
    deny: Vec<Compiled>,
}

impl FlowMatcher {
    /// Compiles the lists once, so that matching does no parsing.
    pub fn new(allow: &[FlowFilter], deny: &[FlowFilter]) -> Result<Self, FilterError> {
        Ok(Self {
            allow: allow.iter().map(Compiled::new).collect::<Result<_, _>>()?,
            deny: deny.iter().map(Compiled::new).collect::<Result<_, _>>()?,
        })
    }

    /// Whether `response` is selected. Responses without a flow (node
    /// status, lost events) are judged as a missing flow, as Hubble judges
    /// them.
    pub fn matches(&self, response: &GetFlowsResponse) -> bool {
        let flow = match &response.response_types {
            Some(ResponseTypes::Flow(flow)) => Some(&**flow),
            _ => None,
        };
        self.matches_flow(flow)
    }

    /// Whether some check reads what a lean reading of flows leaves out:
    /// UUIDs, cluster names, interfaces, labels, workloads, HTTP details,
    /// trace context, or anything a CEL expression may touch.
    pub fn needs_whole_flows(&self) -> bool {
        self.allow
            .iter()
            .chain(&self.deny)
            .flat_map(|filter| &filter.checks)
            .any(Check::needs_whole_flow)
    }

    /// Whether a flow (or its absence) is selected.
    pub fn matches_flow(&self, flow: Option<&Flow>) -> bool {
        // Hubble evaluates responses without a flow against a nil flow, whose
        // getters return zero values; some checks refuse a nil flow outright.
        let present = flow.is_some();
        let flow = flow.unwrap_or_else(|| &EMPTY_FLOW);
        (self.allow.is_empty() || self.allow.iter().any(|f| f.matches(present, flow)))
            && !self.deny.iter().any(|f| f.matches(present, flow))
    }
}

/// One FlowFilter, ready to evaluate.
struct Compiled {
    checks: Vec<Check>,
}

/// Which side of a flow a check looks at.
#[derive(Clone, Copy)]
enum Side {
    Source,
    Destination,
}

enum Check {
    Uuid(Vec<String>),
    EventType(Vec<(i32, Option<i32>)>),
    Verdict(Vec<i32>),
    DropReasonDesc(Vec<i32>),
    Reply(Vec<bool>),
    Encrypted(Vec<bool>),
    Identity(Side, Vec<u32>),
    Protocol(Vec<Protocol>),
    Ip(IpSide, Vec<String>, Vec<IpNet>),
    /// Pod (`false`) or service (`true`) names: namespace and name prefix.
    Name(Side, bool, Vec<(String, String)>),
    Workload(Side, Vec<Workload>),
    Fqdn(Side, Regex),
    DnsQuery(Vec<Regex>),
    Labels(LabelSource, Vec<Selector>),
    Port(Side, Vec<u16>),
    HttpStatus(Vec<String>, Vec<String>),
    HttpMethod(Vec<String>),
    HttpPath(Vec<Regex>),
    HttpUrl(Vec<Regex>),
    HttpHeader(Vec<(String, String)>),
    TcpFlags(Vec<TcpFlags>),
    NodeName(Regex),
    ClusterName(Side, Vec<String>),
    IpVersion(Vec<i32>),
    TraceId(Vec<String>),
    TrafficDirection(Vec<i32>),
    Interface(Vec<(u32, String)>),
    IpTraceId(Vec<u64>),
    Cel(CelFilter),
}

#[derive(Clone, Copy)]
enum IpSide {
    Source,
    Destination,
    SourceXlated,
}

#[derive(Clone, Copy)]
enum LabelSource {
    Source,
    Destination,
    Node,
}

impl LabelSource {
    fn name(self) -> &'static str {
        match self {
            LabelSource::Source => "source",
            LabelSource::Destination => "destination",
            LabelSource::Node => "node",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Icmp,
    Icmpv4,
    Icmpv6,
    Tcp,
    Udp,
    Sctp,
    Vrrp,
    Igmp,
    Dns,
    Http,
    Kafka,
}

static EMPTY_FLOW: LazyLock<Flow> = LazyLock::new(Flow::default);

/// Hubble's name of the cluster of nodes whose name has no cluster prefix.
const DEFAULT_CLUSTER: &str = "default";

/// Matches any DNS-like name in node name patterns.
const FQDN_CHARS: &str = r"(?:[-0-9_a-z]+(?:\.[-0-9_a-z]+)*)";

/// A filter Hubble's `BuildFilterList` refuses, with its message.
fn invalid(message: impl Into<String>) -> FilterError {
    FilterError::Invalid(message.into())
}

impl Compiled {
    fn new(filter: &FlowFilter) -> Result<Self, FilterError> {
        let mut checks = Vec::new();
        if !filter.uuid.is_empty() {
            checks.push(Check::Uuid(filter.uuid.clone()));
        }
        if !filter.event_type.is_empty() {
            let types = filter
                .event_type
                .iter()
                .map(|t| (t.r#type, t.match_sub_type.then_some(t.sub_type)))
                .collect();
            checks.push(Check::EventType(types));
        }
        if !filter.verdict.is_empty() {
            checks.push(Check::Verdict(filter.verdict.clone()));
        }
        if !filter.drop_reason_desc.is_empty() {
            checks.push(Check::DropReasonDesc(filter.drop_reason_desc.clone()));
        }
        if !filter.reply.is_empty() {
            checks.push(Check::Reply(filter.reply.clone()));
        }
        if !filter.encrypted.is_empty() {
            checks.push(Check::Encrypted(filter.encrypted.clone()));
        }
        for (side, identities) in [
            (Side::Source, &filter.source_identity),
            (Side::Destination, &filter.destination_identity),
        ] {
            if !identities.is_empty() {
                checks.push(Check::Identity(side, identities.clone()));
            }
        }
        if !filter.protocol.is_empty() {
            let protocols = filter
                .protocol
                .iter()
                .map(|name| {
                    Ok(match name.to_ascii_lowercase().as_str() {
                        "icmp" => Protocol::Icmp,
                        "icmpv4" => Protocol::Icmpv4,
                        "icmpv6" => Protocol::Icmpv6,
                        "tcp" => Protocol::Tcp,
                        "udp" => Protocol::Udp,
                        "sctp" => Protocol::Sctp,
                        "vrrp" => Protocol::Vrrp,
                        "igmp" => Protocol::Igmp,
                        "dns" => Protocol::Dns,
                        "http" => Protocol::Http,
                        "kafka" => Protocol::Kafka,
                        _ => {
                            return Err(invalid(format!(
                                "invalid protocol filter: unknown protocol: {}",
                                go_quote(name)
                            )));
                        }
                    })
                })
                .collect::<Result<_, _>>()?;
            checks.push(Check::Protocol(protocols));
        }
        for (side, values) in [
            (IpSide::Source, &filter.source_ip),
            (IpSide::Destination, &filter.destination_ip),
            (IpSide::SourceXlated, &filter.source_ip_xlated),
        ] {
            if values.is_empty() {
                continue;
            }
            let mut addresses = Vec::new();
            let mut prefixes = Vec::new();
            for value in values {
                if value.contains('/') {
                    prefixes.push(parse_prefix(value).map_err(|reason| {
                        invalid(format!(
                            "invalid IP prefix {} in filter: {reason}",
                            go_quote(value)
                        ))
                    })?);
                } else {
                    parse_addr(value).map_err(|reason| {
                        invalid(format!(
                            "invalid IP address {} in filter: {reason}",
                            go_quote(value)
                        ))
                    })?;
                    addresses.push(value.clone());
                }
            }
            checks.push(Check::Ip(side, addresses, prefixes));
        }
        for (side, service, names) in [
            (Side::Source, false, &filter.source_pod),
            (Side::Destination, false, &filter.destination_pod),
            (Side::Source, true, &filter.source_service),
            (Side::Destination, true, &filter.destination_service),
        ] {
            if names.is_empty() {
                continue;
            }
            let parsed = names
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        let message = "invalid filter, name must not be empty";
                        return Err(invalid(match (service, side) {
                            (false, _) => message.to_owned(),
                            (true, Side::Source) => {
                                format!("invalid source service filter: {message}")
                            }
                            (true, Side::Destination) => {
                                format!("invalid destination service filter: {message}")
                            }
                        }));
                    }
                    Ok(namespaced_name(name))
                })
                .collect::<Result<_, _>>()?;
            checks.push(Check::Name(side, service, parsed));
        }
        for (side, workloads) in [
            (Side::Source, &filter.source_workload),
            (Side::Destination, &filter.destination_workload),
        ] {
            if !workloads.is_empty() {
                checks.push(Check::Workload(side, workloads.clone()));
            }
        }
        for (side, patterns) in [
            (Side::Source, &filter.source_fqdn),
            (Side::Destination, &filter.destination_fqdn),
        ] {
            if !patterns.is_empty() {
                checks.push(Check::Fqdn(side, fqdn_regex(patterns)?));
            }
        }
        if !filter.dns_query.is_empty() {
            checks.push(Check::DnsQuery(regexes(&filter.dns_query, |_, reason| {
                format!("invalid DNS query filter: failed to compile regexp: {reason}")
            })?));
        }
        for (source, selectors) in [
            (LabelSource::Source, &filter.source_label),
            (LabelSource::Destination, &filter.destination_label),
            (LabelSource::Node, &filter.node_labels),
        ] {
            if selectors.is_empty() {
                continue;
            }
            let parsed = selectors
                .iter()
                .map(|s| {
                    Selector::parse(s).map_err(|reason| {
                        invalid(format!("invalid {} label filter: {reason}", source.name()))
                    })
                })
                .collect::<Result<_, _>>()?;
            checks.push(Check::Labels(source, parsed));
        }
        for (side, ports) in [
            (Side::Source, &filter.source_port),
            (Side::Destination, &filter.destination_port),
        ] {
            if ports.is_empty() {
                continue;
            }
            let parsed = ports
                .iter()
                .map(|p| {
                    parse_port(p).ok_or_else(|| {
                        let side = match side {
                            Side::Source => "source",
                            Side::Destination => "destination",
                        };
                        let reason = if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                            "value out of range"
                        } else {
                            "invalid syntax"
                        };
                        invalid(format!(
                            "invalid {side} port filter: invalid port {}: strconv.ParseUint: parsing {}: {reason}",
                            go_quote(p),
                            go_quote(p)
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            checks.push(Check::Port(side, parsed));
        }
        let http_compatible =
            filter.event_type.is_empty() || filter.event_type.iter().any(|t| t.r#type == 129);
        let needs_l7 = |what: &str| {
            FilterError::Invalid(format!(
                "filtering by http {what} requires the event type filter to only match 'l7' events"
            ))
        };
        if !filter.http_status_code.is_empty() {
            if !http_compatible {
                return Err(needs_l7("status code"));
            }
            let (mut full, mut prefixes) = (Vec::new(), Vec::new());
            for code in &filter.http_status_code {
                let bytes = code.as_bytes();
                let digits_ok = |s: &[u8]| {
                    s.first().is_some_and(|b| (b'1'..=b'5').contains(b))
                        && s[1..].iter().all(u8::is_ascii_digit)
                };
                if bytes.len() == 3 && digits_ok(bytes) {
                    full.push(code.clone());
                } else if let Some(prefix) = code.strip_suffix('+')
                    && (1..=2).contains(&prefix.len())
                    && digits_ok(prefix.as_bytes())
                {
                    prefixes.push(prefix.to_owned());
                } else {
                    return Err(invalid(format!(
                        "invalid http status code filter: invalid status code prefix: {}",
                        go_quote(code)
                    )));
                }
            }
            checks.push(Check::HttpStatus(full, prefixes));
        }
        if !filter.http_method.is_empty() {
            if !http_compatible {
                return Err(needs_l7("method"));
            }
            checks.push(Check::HttpMethod(filter.http_method.clone()));
        }
        if !filter.http_path.is_empty() {
            if !http_compatible {
                return Err(needs_l7("path"));
            }
            checks.push(Check::HttpPath(regexes(&filter.http_path, |p, reason| {
                format!("invalid http path filter: {p}: {reason}")
            })?));
        }
        if !filter.http_url.is_empty() {
            if !http_compatible {
                return Err(needs_l7("url"));
            }
            checks.push(Check::HttpUrl(regexes(&filter.http_url, |p, reason| {
                format!("invalid http url filter: {p}: {reason}")
            })?));
        }
        if !filter.http_header.is_empty() {
            if !http_compatible {
                return Err(needs_l7("headers"));
            }
            let headers = filter
                .http_header
                .iter()
                .map(|h| (h.key.clone(), h.value.clone()))
                .collect();
            checks.push(Check::HttpHeader(headers));
        }
        if !filter.tcp_flags.is_empty() {
            checks.push(Check::TcpFlags(filter.tcp_flags.clone()));
        }
        if !filter.node_name.is_empty() {
            checks.push(Check::NodeName(node_name_regex(&filter.node_name)?));
        }
        for (side, names) in [
            (Side::Source, &filter.source_cluster_name),
            (Side::Destination, &filter.destination_cluster_name),
        ] {
            if names.is_empty() {
                continue;
            }
            if names.iter().any(String::is_empty) {
                return Err(invalid("invalid filter, name must not be empty"));
            }
            checks.push(Check::ClusterName(side, names.clone()));
        }
        if !filter.ip_version.is_empty() {
            checks.push(Check::IpVersion(filter.ip_version.clone()));
        }
        if !filter.trace_id.is_empty() {
            checks.push(Check::TraceId(filter.trace_id.clone()));
        }
        if !filter.traffic_direction.is_empty() {
            checks.push(Check::TrafficDirection(filter.traffic_direction.clone()));
        }
        if let Some(experimental) = &filter.experimental
            && !experimental.cel_expression.is_empty()
        {
            checks.push(Check::Cel(CelFilter::new(&experimental.cel_expression)?));
        }
        if !filter.interface.is_empty() {
            let interfaces = filter
                .interface
                .iter()
                .map(|i| (i.index, i.name.clone()))
                .collect();
            checks.push(Check::Interface(interfaces));
        }
        if !filter.ip_trace_id.is_empty() {
            checks.push(Check::IpTraceId(filter.ip_trace_id.clone()));
        }
        Ok(Self { checks })
    }

    fn matches(&self, present: bool, flow: &Flow) -> bool {
        self.checks.iter().all(|check| check.matches(present, flow))
    }
}

impl Check {
    fn needs_whole_flow(&self) -> bool {
        match self {
            Check::Uuid(..)
            | Check::ClusterName(..)
            | Check::Interface(..)
            | Check::Workload(..)
            | Check::Labels(..)
            | Check::HttpStatus(..)
            | Check::HttpMethod(..)
            | Check::HttpPath(..)
            | Check::HttpUrl(..)
            | Check::HttpHeader(..)
            | Check::TraceId(..)
            | Check::Cel(..) => true,
            Check::EventType(..)
            | Check::Verdict(..)
            | Check::DropReasonDesc(..)
            | Check::Reply(..)
            | Check::Encrypted(..)
            | Check::Identity(..)
            | Check::Protocol(..)
            | Check::Ip(..)
            | Check::Name(..)
            | Check::Fqdn(..)
            | Check::DnsQuery(..)
            | Check::Port(..)
            | Check::TcpFlags(..)
            | Check::NodeName(..)
            | Check::IpVersion(..)
            | Check::TrafficDirection(..)
            | Check::IpTraceId(..) => false,
        }
    }

    fn matches(&self, present: bool, flow: &Flow) -> bool {
        match self {
            Check::Uuid(uuids) => present && uuids.contains(&flow.uuid),
            Check::EventType(types) => {
                let Some(event) = &flow.event_type else {
                    return false;
                };
                types.iter().any(|&(kind, sub_type)| {
                    (kind == 0 || kind == event.r#type)
                        && sub_type.is_none_or(|s| s == event.sub_type)
                })
            }
            Check::Verdict(verdicts) => present && verdicts.contains(&flow.verdict),
            Check::DropReasonDesc(reasons) => {
                present
                    && flow.verdict == Verdict::Dropped as i32
                    && reasons.contains(&flow.drop_reason_desc)
            }
            Check::Reply(replies) => {
                if flow.is_reply.is_none() && flow.verdict != Verdict::Dropped as i32 {
                    return false;
                }
                replies.contains(&flow.is_reply.as_ref().is_some_and(|r| r.value))
            }
            Check::Encrypted(values) => {
                values.contains(&flow.ip.as_ref().is_some_and(|ip| ip.encrypted))
            }
            Check::Identity(side, identities) => {
                endpoint(flow, *side).is_some_and(|e| identities.contains(&e.identity))
            }
            Check::Protocol(protocols) => protocols.iter().any(|&p| has_protocol(flow, p)),
            Check::Ip(side, addresses, prefixes) => {
                let Some(ip) = &flow.ip else { return false };
                let address = match side {
                    IpSide::Source => &ip.source,
                    IpSide::Destination => &ip.destination,
                    IpSide::SourceXlated => &ip.source_xlated,
                };
                if address.is_empty() {
                    return false;
                }
                if addresses.contains(address) {
                    return true;
                }
                !prefixes.is_empty()
                    && address
                        .parse::<IpAddr>()
                        .is_ok_and(|a| prefixes.iter().any(|p| p.contains(&a)))
            }
            Check::Name(side, service, names) => {
                let (namespace, name) = if *service {
                    let service = match side {
                        Side::Source => &flow.source_service,
                        Side::Destination => &flow.destination_service,
                    };
                    service
                        .as_ref()
                        .map_or(("", ""), |s| (&s.namespace, &s.name))
                } else {
                    endpoint(flow, *side).map_or(("", ""), |e| (&e.namespace, &e.pod_name))
                };
                if namespace.is_empty() && name.is_empty() {
                    return false;
                }
                // Namespace first: most patterns are `--namespace X`, with
                // no name prefix, and most flows are in another namespace.
                names.iter().any(|(want_namespace, prefix)| {
                    (want_namespace.is_empty() || want_namespace == namespace)
                        && (prefix.is_empty() || name.starts_with(prefix.as_str()))
                })
            }
            Check::Workload(side, wanted) => endpoint(flow, *side).is_some_and(|e| {
                e.workloads.iter().any(|w| {
                    wanted.iter().any(|f| {
                        (f.name.is_empty() || f.name == w.name)
                            && (f.kind.is_empty() || f.kind == w.kind)
                    })
                })
            }),
            Check::Fqdn(side, pattern) => {
                let names = match side {
                    Side::Source => &flow.source_names,
                    Side::Destination => &flow.destination_names,
                };
                names.iter().any(|name| pattern.is_match(name))
            }
            Check::DnsQuery(patterns) => {
                dns(flow).is_some_and(|dns| patterns.iter().any(|p| p.is_match(&dns.query)))
            }
            Check::Labels(source, selectors) => {
                let labels: &[String] = match source {
                    LabelSource::Source => endpoint(flow, Side::Source).map_or(&[], |e| &e.labels),
                    LabelSource::Destination => {
                        endpoint(flow, Side::Destination).map_or(&[], |e| &e.labels)
                    }
                    LabelSource::Node => &flow.node_labels,
                };
                selectors.iter().any(|s| s.matches(labels))
            }
            Check::Port(side, ports) => port(flow, *side).is_some_and(|p| ports.contains(&p)),
            Check::HttpStatus(full, prefixes) => {
                let Some(http) = http(flow).filter(|h| h.code != 0) else {
                    return false;
                };
                let code = format!("{:03}", http.code);
                full.contains(&code) || prefixes.iter().any(|p| code.starts_with(p.as_str()))
            }
            Check::HttpMethod(methods) => http(flow)
                .filter(|h| !h.method.is_empty())
                .is_some_and(|h| methods.iter().any(|m| m.eq_ignore_ascii_case(&h.method))),
            Check::HttpPath(patterns) => http(flow)
                .filter(|h| !h.url.is_empty())
                .and_then(|h| request_uri_path(&h.url))
                .is_some_and(|path| patterns.iter().any(|p| p.is_match(&path))),
            Check::HttpUrl(patterns) => http(flow)
                .filter(|h| !h.url.is_empty())
                .is_some_and(|h| patterns.iter().any(|p| p.is_match(&h.url))),
            Check::HttpHeader(headers) => http(flow).is_some_and(|h| {
                h.headers.iter().any(|have| {
                    headers
                        .iter()
                        .any(|(k, v)| *k == have.key && *v == have.value)
                })
            }),
            Check::TcpFlags(wanted) => {
                let flags = match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
                    Some(layer4::Protocol::Tcp(tcp)) => tcp.flags.as_ref(),
                    _ => None,
                };
                let Some(have) = flags else { return false };
                wanted.iter().any(|w| {
                    (!w.fin || have.fin)
                        && (!w.syn || have.syn)
                        && (!w.rst || have.rst)
                        && (!w.psh || have.psh)
                        && (!w.ack || have.ack)
                        && (!w.urg || have.urg)
                        && (!w.ece || have.ece)
                        && (!w.cwr || have.cwr)
                        && (!w.ns || have.ns)
                })
            }
            Check::NodeName(pattern) => {
                let name = &flow.node_name;
                if name.is_empty() {
                    return false;
                }
                if name.contains('/') {
                    pattern.is_match(name)
                } else {
                    pattern.is_match(&format!("{DEFAULT_CLUSTER}/{name}"))
                }
            }
            Check::ClusterName(side, names) => {
                let cluster = endpoint(flow, *side).map_or("", |e| &e.cluster_name);
                names.iter().any(|n| n == cluster)
            }
            Check::IpVersion(versions) => {
                present && versions.contains(&flow.ip.as_ref().map_or(0, |ip| ip.ip_version))
            }
            Check::TraceId(ids) => {
                let id = flow
                    .trace_context
                    .as_ref()
                    .and_then(|t| t.parent.as_ref())
                    .map_or("", |p| &p.trace_id);
                ids.iter().any(|want| want == id)
            }
            Check::TrafficDirection(directions) => {
                present && directions.contains(&flow.traffic_direction)
            }
            Check::Interface(interfaces) => {
                let Some(have) = &flow.interface else {
                    return false;
                };
                interfaces.iter().any(|(index, name)| {
                    (*index == 0 || *index == have.index) && (name.is_empty() || *name == have.name)
                })
            }
            Check::IpTraceId(ids) => {
                ids.contains(&flow.ip_trace_id.as_ref().map_or(0, |t| t.trace_id))
            }
            Check::Cel(filter) => filter.matches(flow),
        }
    }
}

fn endpoint(flow: &Flow, side: Side) -> Option<&crate::proto::flow::Endpoint> {
    match side {
        Side::Source => flow.source.as_ref(),
        Side::Destination => flow.destination.as_ref(),
    }
}

fn port(flow: &Flow, side: Side) -> Option<u16> {
    let (source, destination) = match flow.l4.as_ref()?.protocol.as_ref()? {
        layer4::Protocol::Tcp(tcp) => (tcp.source_port, tcp.destination_port),
        layer4::Protocol::Udp(udp) => (udp.source_port, udp.destination_port),
        layer4::Protocol::Sctp(sctp) => (sctp.source_port, sctp.destination_port),
        _ => return None,
    };
    // Hubble compares ports as 16-bit numbers.
    Some(match side {
        Side::Source => source as u16,
        Side::Destination => destination as u16,
    })
}

fn has_protocol(flow: &Flow, protocol: Protocol) -> bool {
    let l4 = flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref());
    #[allow(deprecated)]
    let l7 = flow.l7.as_ref().and_then(|l7| l7.record.as_ref());
    #[allow(deprecated)]
    match protocol {
        Protocol::Icmp => matches!(
            l4,
            Some(layer4::Protocol::IcmPv4(_) | layer4::Protocol::IcmPv6(_))
        ),
        Protocol::Icmpv4 => matches!(l4, Some(layer4::Protocol::IcmPv4(_))),
        Protocol::Icmpv6 => matches!(l4, Some(layer4::Protocol::IcmPv6(_))),
        Protocol::Tcp => matches!(l4, Some(layer4::Protocol::Tcp(_))),
        Protocol::Udp => matches!(l4, Some(layer4::Protocol::Udp(_))),
        Protocol::Sctp => matches!(l4, Some(layer4::Protocol::Sctp(_))),
        Protocol::Vrrp => matches!(l4, Some(layer4::Protocol::Vrrp(_))),
        Protocol::Igmp => matches!(l4, Some(layer4::Protocol::Igmp(_))),
        Protocol::Dns => matches!(l7, Some(layer7::Record::Dns(_))),
        Protocol::Http => matches!(l7, Some(layer7::Record::Http(_))),
        Protocol::Kafka => matches!(l7, Some(layer7::Record::Kafka(_))),
    }
}

fn http(flow: &Flow) -> Option<&crate::proto::flow::Http> {
    match flow.l7.as_ref()?.record.as_ref()? {
        layer7::Record::Http(http) => Some(http),
        _ => None,
    }
}

fn dns(flow: &Flow) -> Option<&crate::proto::flow::Dns> {
    match flow.l7.as_ref()?.record.as_ref()? {
        layer7::Record::Dns(dns) => Some(dns),
        _ => None,
    }
}

/// `ns/name` into namespace and name prefix, as Hubble's
/// `ParseNamespaceName`: a bare name is in `default`, `/name` in any
/// namespace.
fn namespaced_name(name: &str) -> (String, String) {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    match parts.next() {
        Some(second) => (first.to_owned(), second.to_owned()),
        None if first.is_empty() => (String::new(), String::new()),
        None => ("default".to_owned(), first.to_owned()),
    }
}

/// Compiles each pattern; `message` words a failure from the pattern and
/// Go's description of what is wrong with it.
fn regexes(
    patterns: &[String],
    message: impl Fn(&str, &str) -> String,
) -> Result<Vec<Regex>, FilterError> {
    patterns
        .iter()
        .map(|p| go_regexp(p).map_err(|reason| invalid(message(p, &reason))))
        .collect()
}

/// A regular expression, refused with the message Go's `regexp.Compile`
/// gives for the common mistakes.
fn go_regexp(pattern: &str) -> Result<Regex, String> {
    use regex_syntax::ast::ErrorKind;
    if let Err(error) = regex_syntax::ast::parse::Parser::new().parse(pattern) {
        let span = error.span();
        let at = |from: usize, to: usize| pattern.get(from..to).unwrap_or(pattern);
        let spanned = at(span.start.offset, span.end.offset);
        let (code, expr) = match error.kind() {
            ErrorKind::GroupUnclosed => ("missing closing )", pattern),
            ErrorKind::GroupUnopened => ("unexpected )", pattern),
            ErrorKind::ClassUnclosed => ("missing closing ]", at(span.start.offset, pattern.len())),
            ErrorKind::ClassRangeInvalid => ("invalid character class range", spanned),
            ErrorKind::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
            ErrorKind::EscapeUnrecognized | ErrorKind::UnsupportedBackreference => {
                ("invalid escape sequence", spanned)
            }
            ErrorKind::UnsupportedLookAround
            | ErrorKind::FlagUnrecognized
            | ErrorKind::FlagUnexpectedEof => ("invalid or unsupported Perl syntax", spanned),
            ErrorKind::RepetitionMissing => {
                // Go quotes the operator itself: `*`, `+`, `?` or `{n,m}`.
                let rest = at(span.start.offset, pattern.len());
                let length = match rest.strip_prefix('{') {
                    Some(count) => count.find('}').map_or(rest.len(), |end| end + 2),
                    None => rest.chars().next().map_or(0, char::len_utf8),
                };
                ("missing argument to repetition operator", &rest[..length])
            }
            ErrorKind::RepetitionCountInvalid => ("invalid repeat count", spanned),
            ErrorKind::GroupNameEmpty | ErrorKind::GroupNameInvalid => {
                ("invalid named capture", spanned)
            }
            other => return Err(format!("error parsing regexp: {other}: `{pattern}`")),
        };
        return Err(format!("error parsing regexp: {code}: `{expr}`"));
    }
    Regex::new(pattern).map_err(|error| format!("error parsing regexp: {error}"))
}

/// An FQDN pattern as a regular expression: `*` matches any run of name
/// characters, matching is on the whole lower-case name.
fn push_fqdn_pattern(out: &mut String, pattern: &str) -> Result<(), FilterError> {
    let canonical = pattern.trim();
    let canonical = canonical
        .strip_suffix('.')
        .unwrap_or(canonical)
        .to_lowercase();
    if canonical.is_empty() {
        return Err(invalid("empty pattern"));
    }
    if canonical.ends_with('.') {
        return Err(invalid("multiple trailing dots in pattern"));
    }
    for c in canonical.chars() {
        match c {
            '.' => out.push_str(r"\."),
            '*' => out.push_str("[-.0-9a-z]*"),
            '-' | '0'..='9' | '_' | 'a'..='z' => out.push(c),
            _ => {
                return Err(invalid(format!("{c:?}: invalid rune in pattern")));
            }
        }
    }
    Ok(())
}

fn fqdn_regex(patterns: &[String]) -> Result<Regex, FilterError> {
    let mut regex = String::from(r"\A(?:");
    for (index, pattern) in patterns.iter().enumerate() {
        if index > 0 {
            regex.push('|');
        }
        push_fqdn_pattern(&mut regex, pattern)?;
    }
    regex.push_str(r")\z");
    go_regexp(&regex).map_err(invalid)
}

/// Node name patterns: `node`, `cluster/node`, with FQDN wildcards; a
/// missing part matches any name.
fn node_name_regex(patterns: &[String]) -> Result<Regex, FilterError> {
    let mut regex = String::from(r"\A(?:");
    for (index, pattern) in patterns.iter().enumerate() {
        if index > 0 {
            regex.push('|');
        }
        if pattern.is_empty() {
            return Err(invalid("empty pattern"));
        }
        let parts: Vec<&str> = pattern.split('/').collect();
        let (cluster, node) = match parts.as_slice() {
            [node] => ("", *node),
            [cluster, node] => (*cluster, *node),
            _ => return Err(invalid("too many slashes in pattern")),
        };
        for (part, last) in [(cluster, false), (node, true)] {
            if part.is_empty() {
                regex.push_str(FQDN_CHARS);
            } else {
                push_fqdn_pattern(&mut regex, part)?;
            }
            if !last {
                regex.push('/');
            }
        }
    }
    regex.push_str(r")\z");
    go_regexp(&regex).map_err(invalid)
}

/// A TCP or UDP port as Go's `strconv.ParseUint(p, 10, 16)` reads it: no
/// sign, no spaces.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An address as Go's `netip.ParseAddr` reads it, with its error text.
fn parse_addr(text: &str) -> Result<IpAddr, String> {
    let failed = |message: &str, at: Option<&str>| {
        let mut error = format!("ParseAddr({}): {message}", go_quote(text));
        if let Some(at) = at {
            error.push_str(&format!(" (at {})", go_quote(at)));
        }
        error
    };
    match text.bytes().find(|b| matches!(b, b'.' | b':' | b'%')) {
        Some(b'.') => parse_ipv4(text).map_err(|(message, at)| failed(message, at)),
        Some(b':') => {
            // Go keeps a zone (`fe80::1%eth0`) but refuses an empty one.
            let (address, zone) = text.split_once('%').unwrap_or((text, "-"));
            if zone.is_empty() {
                return Err(failed("zone must be a non-empty string", None));
            }
            address
                .parse::<std::net::Ipv6Addr>()
                .map(IpAddr::V6)
                .map_err(|_| failed("unable to parse IPv6 address", None))
        }
        Some(_) => Err(failed("missing IPv6 address", None)),
        None => Err(failed("unable to parse IP", None)),
    }
}

/// Go's IPv4 reading: four decimal fields, no leading zeros.
fn parse_ipv4(text: &str) -> Result<IpAddr, (&'static str, Option<&str>)> {
    let mut fields = [0u8; 4];
    let (mut value, mut position, mut digits) = (0u32, 0usize, 0usize);
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return Err(("IPv4 field has octet with leading zero", None));
                }
                value = value * 10 + u32::from(byte - b'0');
                digits += 1;
                if value > 255 {
                    return Err(("IPv4 field has value >255", None));
                }
            }
            b'.' => {
                if index == 0 || index == bytes.len() - 1 || bytes[index - 1] == b'.' {
                    return Err((
                        "IPv4 field must have at least one digit",
                        Some(&text[index..]),
                    ));
                }
                if position == 3 {
                    return Err(("IPv4 address too long", None));
                }
                fields[position] = value as u8;
                position += 1;
                value = 0;
                digits = 0;
            }
            _ => return Err(("unexpected character", text.get(index..))),
        }
    }
    if position < 3 {
        return Err(("IPv4 address too short", None));
    }
    fields[3] = value as u8;
    Ok(IpAddr::from(fields))
}

/// A prefix as Go's `netip.ParsePrefix` reads it, with its error text.
fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let failed = |message: String| format!("netip.ParsePrefix({}): {message}", go_quote(text));
    let Some((address, bits)) = text.rsplit_once('/') else {
        return Err(failed("no '/'".to_owned()));
    };
    let address = parse_addr(address).map_err(failed)?;
    if address.is_ipv6() && text.contains('%') {
        return Err(failed(
            "IPv6 zones cannot be present in a prefix".to_owned(),
        ));
    }
    let bad_bits = || failed(format!("bad bits after slash: {}", go_quote(bits)));
    if bits.is_empty()
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return Err(bad_bits());
    }
    let length: u8 = bits.parse().map_err(|_| bad_bits())?;
    IpNet::new(address, length).map_err(|_| failed("prefix length out of range".to_owned()))
}

/// The path of an HTTP request URI as Go's `url.ParseRequestURI(url).Path`
/// gives it; `None` where Go refuses the URI, which then matches no path.
fn request_uri_path(url: &str) -> Option<String> {
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    if url == "*" {
        return Some("*".to_owned());
    }
    let (scheme, rest) = split_scheme(url)?;
    // A lone trailing `?` is a forced empty query; otherwise the query is
    // everything after the first `?`.
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    if !rest.starts_with('/') {
        // `scheme:opaque` has no path; a request URI needs a scheme or `/`.
        return (!scheme.is_empty()).then(String::new);
    }
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) if !scheme.is_empty() => {
            let (authority, path) = match authority_and_path.find('/') {
                Some(at) => authority_and_path.split_at(at),
                None => (authority_and_path, ""),
            };
            check_authority(authority)?;
            path
        }
        _ => rest,
    };
    unescape(path, false)
}

/// Go's `getScheme`: letters first, then letters, digits, `+`, `-`, `.`
/// up to a colon; anything else means there is no scheme.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    for (index, byte) in url.bytes().enumerate() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if index > 0 => {}
            b':' if index == 0 => return None,
            b':' => return Some((&url[..index], &url[index + 1..])),
            _ => return Some(("", url)),
        }
    }
    Some(("", url))
}

/// Go's `parseAuthority`: user information, a host and an optional numeric
/// port, all with valid escapes.
fn check_authority(authority: &str) -> Option<()> {
    let (user, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let valid_port = |port: &str| {
        port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
    };
    if host.starts_with('[') {
        let end = host.rfind(']')?;
        if !valid_port(&host[end + 1..]) {
            return None;
        }
    } else if let Some(colon) = host.rfind(':')
        && !valid_port(&host[colon..])
    {
        return None;
    }
    unescape(host, true)?;
    if let Some(user) = user {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c);
        if !user.chars().all(allowed) {
            return None;
        }
        unescape(user, false)?;
    }
    Some(())
}

/// Go's `unescape`: `%XX` escapes must be well formed; a host also refuses
/// characters that would need escaping, and escapes of ASCII other than
/// `%25`. Invalid UTF-8 after decoding becomes U+FFFD, as Go's regexp
/// reads it.
fn unescape(text: &str, host: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let high = bytes
                .get(index + 1)
                .and_then(|b| (*b as char).to_digit(16))?;
            let low = bytes
                .get(index + 2)
                .and_then(|b| (*b as char).to_digit(16))?;
            if host && high < 8 && &text[index..index + 3] != "%25" {
                return None;
            }
            out.push((high * 16 + low) as u8);
            index += 3;
            continue;
        }
        if host && byte < 0x80 && !is_host_char(byte) {
            return None;
        }
        out.push(byte);
        index += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// ASCII a URL host may hold unescaped, as Go's `shouldEscape` has it.
fn is_host_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(json: &str) -> Flow {
        serde_json::from_str(json).expect("a test flow")
    }

    fn filter(json: &str) -> FlowFilter {
        serde_json::from_str(json).expect("a test filter")
    }

    fn allows(filter_json: &str, flow_json: &str) -> bool {
        FlowMatcher::new(&[filter(filter_json)], &[])
            .expect("the filter compiles")
            .matches_flow(Some(&flow(flow_json)))
    }

    const CLIENT: &str = r#"{
        "verdict": "FORWARDED",
        "IP": {"source": "10.16.0.5", "destination": "10.96.0.10", "ipVersion": "IPv4"},
        "l4": {"TCP": {"source_port": 40000, "destination_port": 8080, "flags": {"SYN": true, "ACK": true}}},
        "source": {"identity": 1234, "namespace": "cilium-test", "pod_name": "client-abc",
                   "labels": ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=cilium-test"],
                   "workloads": [{"name": "client", "kind": "Deployment"}], "cluster_name": "default"},
        "destination": {"identity": 2, "labels": ["reserved:world"]},
        "destination_service": {"name": "echo", "namespace": "cilium-test"},
        "destination_names": ["api.cilium.io"],
        "node_name": "kind-worker",
        "event_type": {"type": 4, "sub_type": 3},
        "traffic_direction": "EGRESS",
        "is_reply": false
    }"#;

    const HTTP: &str = r#"{
        "verdict": "FORWARDED",
        "l7": {"type": "RESPONSE", "http": {"code": 503, "method": "GET",
               "url": "http://echo:8080/v1/items%2042?x=1",
               "headers": [{"key": "X-Id", "value": "7"}]}},
        "event_type": {"type": 129}
    }"#;

    #[test]
    fn pods_and_services_match_by_namespace_and_prefix() {
        assert!(allows(r#"{"source_pod": ["cilium-test/client"]}"#, CLIENT));
        assert!(!allows(r#"{"source_pod": ["kube-system/client"]}"#, CLIENT));
        assert!(allows(r#"{"source_pod": ["cilium-test/"]}"#, CLIENT));
        assert!(allows(r#"{"source_pod": ["/client"]}"#, CLIENT));
        // A bare name means the default namespace.
        assert!(!allows(r#"{"source_pod": ["client"]}"#, CLIENT));
        assert!(allows(
            r#"{"destination_service": ["cilium-test/ech"]}"#,
            CLIENT
        ));
        assert!(!allows(r#"{"destination_pod": ["/"]}"#, CLIENT));
    }

    #[test]
    fn addresses_exact_or_cidr() {
        assert!(allows(r#"{"source_ip": ["10.16.0.5"]}"#, CLIENT));
        assert!(allows(r#"{"source_ip": ["10.16.0.0/16"]}"#, CLIENT));
        assert!(!allows(
            r#"{"source_ip": ["10.17.0.0/16", "10.16.0.6"]}"#,
            CLIENT
        ));
        assert!(allows(r#"{"ip_version": ["IPv4"]}"#, CLIENT));
        assert!(!allows(r#"{"ip_version": ["IPv6"]}"#, CLIENT));
    }

    #[test]
    fn labels_identities_workloads_and_names() {
        assert!(allows(r#"{"source_label": ["k8s:app=client"]}"#, CLIENT));
        assert!(allows(
            r#"{"destination_label": ["reserved:world"]}"#,
            CLIENT
        ));
        assert!(!allows(r#"{"source_label": ["app in (server)"]}"#, CLIENT));
        assert!(allows(r#"{"source_identity": [1234]}"#, CLIENT));
        assert!(!allows(r#"{"destination_identity": [1]}"#, CLIENT));
        assert!(allows(
            r#"{"source_workload": [{"kind": "Deployment"}]}"#,
            CLIENT
        ));
        assert!(!allows(
            r#"{"source_workload": [{"name": "server"}]}"#,
            CLIENT
        ));
        assert!(allows(r#"{"destination_fqdn": ["*.cilium.io"]}"#, CLIENT));
        assert!(!allows(r#"{"destination_fqdn": ["cilium.io"]}"#, CLIENT));
        assert!(allows(r#"{"node_name": ["kind-*"]}"#, CLIENT));
        assert!(allows(r#"{"node_name": ["default/kind-worker"]}"#, CLIENT));
        assert!(!allows(r#"{"node_name": ["other/kind-worker"]}"#, CLIENT));
        assert!(allows(r#"{"source_cluster_name": ["default"]}"#, CLIENT));
    }

    #[test]
    fn transport_and_event_conditions() {
        assert!(allows(r#"{"protocol": ["TCP"]}"#, CLIENT));
        assert!(!allows(r#"{"protocol": ["udp", "http"]}"#, CLIENT));
        assert!(allows(r#"{"destination_port": ["8080"]}"#, CLIENT));
        assert!(!allows(r#"{"source_port": ["8080"]}"#, CLIENT));
        assert!(allows(r#"{"tcp_flags": [{"SYN": true}]}"#, CLIENT));
        assert!(!allows(
            r#"{"tcp_flags": [{"FIN": true}, {"SYN": true, "RST": true}]}"#,
            CLIENT
        ));
        assert!(allows(r#"{"event_type": [{"type": 4}]}"#, CLIENT));
        assert!(allows(
            r#"{"event_type": [{"type": 4, "match_sub_type": true, "sub_type": 3}]}"#,
            CLIENT
        ));
        assert!(!allows(
            r#"{"event_type": [{"type": 4, "match_sub_type": true, "sub_type": 0}]}"#,
            CLIENT
        ));
        assert!(allows(r#"{"verdict": ["FORWARDED"]}"#, CLIENT));
        assert!(!allows(r#"{"verdict": ["DROPPED"]}"#, CLIENT));
        assert!(allows(r#"{"traffic_direction": ["EGRESS"]}"#, CLIENT));
        assert!(allows(r#"{"reply": [false]}"#, CLIENT));
        assert!(allows(r#"{"encrypted": [false]}"#, CLIENT));
    }

    #[test]
    fn http_conditions() {
        assert!(allows(r#"{"http_status_code": ["5+"]}"#, HTTP));
        assert!(allows(r#"{"http_status_code": ["503"]}"#, HTTP));
        assert!(allows(
            r#"{"http_status_code": ["4+", "50+", "200"]}"#,
            HTTP
        ));
        assert!(!allows(r#"{"http_status_code": ["4+"]}"#, HTTP));
        assert!(allows(r#"{"http_method": ["get"]}"#, HTTP));
        assert!(allows(r#"{"http_path": ["^/v1/items 42$"]}"#, HTTP));
        assert!(allows(r#"{"http_url": ["echo:8080"]}"#, HTTP));
        assert!(allows(
            r#"{"http_header": [{"key": "X-Id", "value": "7"}]}"#,
            HTTP
        ));
        assert!(!allows(r#"{"http_method": ["POST"]}"#, HTTP));
    }

    #[test]
    fn allow_and_deny_lists_combine() {
        let matcher = FlowMatcher::new(
            &[filter(r#"{"verdict": ["FORWARDED"]}"#)],
            &[filter(r#"{"source_pod": ["cilium-test/"]}"#)],
        )
        .unwrap();
        assert!(!matcher.matches_flow(Some(&flow(CLIENT))));
        assert!(matcher.matches_flow(Some(&flow(HTTP))));
    }

    #[test]
    fn responses_without_a_flow_follow_hubble() {
        let allow = FlowMatcher::new(&[filter(r#"{"verdict": ["FORWARDED"]}"#)], &[]).unwrap();
        assert!(!allow.matches_flow(None));
        let negated_label =
            FlowMatcher::new(&[filter(r#"{"source_label": ["!k8s:app"]}"#)], &[]).unwrap();
        assert!(negated_label.matches_flow(None));
        let deny = FlowMatcher::new(&[], &[filter(r#"{"verdict": ["DROPPED"]}"#)]).unwrap();
        assert!(deny.matches_flow(None));
    }

    #[test]
    fn invalid_filters_are_refused_when_compiled() {
        for bad in [
            r#"{"source_ip": ["10.0.0.300"]}"#,
            r#"{"protocol": ["smtp"]}"#,
            r#"{"http_status_code": ["600"]}"#,
            r#"{"http_path": ["("]}"#,
            r#"{"source_port": ["70000"]}"#,
            r#"{"source_fqdn": ["bad name"]}"#,
            r#"{"http_method": ["GET"], "event_type": [{"type": 4}]}"#,
        ] {
            assert!(FlowMatcher::new(&[filter(bad)], &[]).is_err(), "{bad}");
        }
    }

    fn error(filter_json: &str) -> String {
        match FlowMatcher::new(&[filter(filter_json)], &[]) {
            Ok(_) => panic!("{filter_json} compiles"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn refusals_carry_hubbles_messages() {
        for (bad, message) in [
            (
                r#"{"source_label": ["bad selector"]}"#,
                "invalid source label filter: unable to parse requirement: found 'selector', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                r#"{"node_labels": ["a=("]}"#,
                "invalid node label filter: unable to parse requirement: found '(', expected: identifier",
            ),
            (
                r#"{"source_ip": ["10.0.0.300"]}"#,
                r#"invalid IP address "10.0.0.300" in filter: ParseAddr("10.0.0.300"): IPv4 field has value >255"#,
            ),
            (
                r#"{"destination_ip": ["10.0.0.0/33"]}"#,
                r#"invalid IP prefix "10.0.0.0/33" in filter: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range"#,
            ),
            (
                r#"{"destination_ip": ["10.0.0.0/08"]}"#,
                r#"invalid IP prefix "10.0.0.0/08" in filter: netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08""#,
            ),
            (
                r#"{"source_ip": ["nope"]}"#,
                r#"invalid IP address "nope" in filter: ParseAddr("nope"): unable to parse IP"#,
            ),
            (
                r#"{"source_ip": ["10..1.2"]}"#,
                r#"invalid IP address "10..1.2" in filter: ParseAddr("10..1.2"): IPv4 field must have at least one digit (at ".1.2")"#,
            ),
            (
                r#"{"protocol": ["SMTP"]}"#,
                r#"invalid protocol filter: unknown protocol: "SMTP""#,
            ),
            (
                r#"{"http_status_code": ["600"]}"#,
                r#"invalid http status code filter: invalid status code prefix: "600""#,
            ),
            (
                r#"{"source_port": ["70000"]}"#,
                r#"invalid source port filter: invalid port "70000": strconv.ParseUint: parsing "70000": value out of range"#,
            ),
            (
                r#"{"destination_port": ["+80"]}"#,
                r#"invalid destination port filter: invalid port "+80": strconv.ParseUint: parsing "+80": invalid syntax"#,
            ),
            (
                r#"{"http_path": ["("]}"#,
                "invalid http path filter: (: error parsing regexp: missing closing ): `(`",
            ),
            (
                r#"{"http_url": ["a)"]}"#,
                "invalid http url filter: a): error parsing regexp: unexpected ): `a)`",
            ),
            (
                r#"{"dns_query": ["x[a"]}"#,
                "invalid DNS query filter: failed to compile regexp: error parsing regexp: missing closing ]: `[a`",
            ),
            (
                r#"{"http_path": ["*"]}"#,
                "invalid http path filter: *: error parsing regexp: missing argument to repetition operator: `*`",
            ),
            (
                r#"{"http_path": ["\\q"]}"#,
                r"invalid http path filter: \q: error parsing regexp: invalid escape sequence: `\q`",
            ),
            (
                r#"{"source_fqdn": ["bad name"]}"#,
                "' ': invalid rune in pattern",
            ),
            (r#"{"node_name": ["a/b/c"]}"#, "too many slashes in pattern"),
            (
                r#"{"source_pod": [""]}"#,
                "invalid filter, name must not be empty",
            ),
            (
                r#"{"destination_service": [""]}"#,
                "invalid destination service filter: invalid filter, name must not be empty",
            ),
            (
                r#"{"http_header": [{"key": "a", "value": "b"}], "event_type": [{"type": 1}]}"#,
                "filtering by http headers requires the event type filter to only match 'l7' events",
            ),
        ] {
            assert_eq!(error(bad), message, "{bad}");
        }
    }

    #[test]
    fn http_headers_go_with_l7_or_any_event_type() {
        let header = r#""http_header": [{"key": "X-Id", "value": "7"}]"#;
        assert!(allows(&format!("{{{header}}}"), HTTP));
        assert!(allows(
            &format!(r#"{{{header}, "event_type": [{{"type": 1}}, {{"type": 129}}]}}"#),
            HTTP
        ));
    }

    #[test]
    fn request_uri_paths_follow_go() {
        for (url, path) in [
            ("/v1/items?x=1", Some("/v1/items")),
            ("/a%20b", Some("/a b")),
            ("/a+b#frag", Some("/a+b#frag")),
            ("http://echo:8080/v1/items?x=/y", Some("/v1/items")),
            ("http://echo?x=/y", Some("")),
            ("http:/just/a/path", Some("/just/a/path")),
            ("HTTP://host", Some("")),
            ("mailto:someone", Some("")),
            ("*", Some("*")),
            ("//host/path", Some("//host/path")),
            ("http://user:pw@host/p", Some("/p")),
            ("relative/path", None),
            ("1http://host/p", None),
            (":foo", None),
            ("http://host:port/p", None),
            ("http://ho st/p", None),
            ("http://[::1/p", None),
            ("http://[::1]:80/p", Some("/p")),
            ("/bad%zzescape", None),
            ("/ctl\u{1}", None),
            ("", None),
        ] {
            assert_eq!(request_uri_path(url).as_deref(), path, "{url}");
        }
    }
}
