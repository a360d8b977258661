//! What flows are grouped by: `--aggregate-by KEY[,KEY...]`, and the text
//! of each part of a flow's key.
//!
//! Endpoints are named as compact output names them (the printer's own
//! code does it), at the level asked for. Replies are counted from the
//! original sender's point of view, as compact output shows them (`<-`):
//! their source and destination swap and the port is the server's, so that
//! a request and its reply land in one group.

use std::{
    cmp::Ordering,
    fmt::{self, Write},
};

use super::labels;
use crate::{
    printer::{self, HostName, Side},
    proto::flow::{Endpoint, Flow, L7FlowType, TrafficDirection, Verdict, layer4, layer7},
};

/// How coarsely an endpoint is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// `namespace/pod`, or the service, DNS names or address, as compact
    /// output prints the host.
    Pod,
    /// `namespace/workload`; endpoints without a workload as at `Pod`,
    /// except that a bare address with a reserved identity takes the
    /// identity's name (`world`, `host`, ...).
    Workload,
    /// The namespace; outside the cluster, DNS names, the reserved
    /// identity's name or the address.
    Namespace,
    /// The security identity as compact output writes it: `world`, `ID:n`.
    Identity,
    /// The IP address (the MAC address for flows without an IP header).
    Ip,
    /// Hubble UI's service card (`backend/domain/service`): the security
    /// identity for cluster endpoints, else `Kind/workload`, else the
    /// first DNS name or `world` followed by `-sender` or `-receiver`.
    Service,
}

impl Level {
    /// The levels `hubl top`'s `g` goes through. Service is left out: it
    /// needs labels, which top's reading of a capture skips.
    pub const ALL: [Level; 5] = [
        Level::Pod,
        Level::Workload,
        Level::Namespace,
        Level::Identity,
        Level::Ip,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Level::Pod => "pod",
            Level::Workload => "workload",
            Level::Namespace => "namespace",
            Level::Identity => "identity",
            Level::Ip => "ip",
            Level::Service => "service",
        }
    }

    /// The next level in `ALL`, wrapping around (`hubl top`'s `g`).
    pub fn next(self) -> Level {
        let at = Level::ALL.iter().position(|&l| l == self).unwrap_or(0);
        Level::ALL[(at + 1) % Level::ALL.len()]
    }

    fn parse(text: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .chain([Level::Service])
            .find(|level| level.name() == text)
    }
}

/// One part of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Source(Level),
    Destination(Level),
    /// The destination port (TCP, UDP, SCTP).
    Port,
    /// The L4 protocol: TCP, UDP, ICMPv4, ...
    Protocol,
    Verdict,
    /// Drop reason text of dropped flows, as compact output prints it.
    DropReason,
    /// Traffic direction: INGRESS, EGRESS.
    Direction,
    /// The node that observed the flow.
    Node,
    /// HTTP method and status class, DNS query types and rcode.
    L7,
}

impl Field {
    /// The name used in `--aggregate-by` and as the JSON key.
    pub fn name(self) -> &'static str {
        match self {
            Field::Source(_) => "source",
            Field::Destination(_) => "destination",
            Field::Port => "port",
            Field::Protocol => "protocol",
            Field::Verdict => "verdict",
            Field::DropReason => "drop_reason",
            Field::Direction => "direction",
            Field::Node => "node",
            Field::L7 => "l7",
        }
    }

    /// The column heading of table output.
    pub fn heading(self) -> &'static str {
        match self {
            Field::Source(_) => "SOURCE",
            Field::Destination(_) => "DESTINATION",
            Field::Port => "PORT",
            Field::Protocol => "PROTOCOL",
            Field::Verdict => "VERDICT",
            Field::DropReason => "DROP REASON",
            Field::Direction => "DIRECTION",
            Field::Node => "NODE",
            Field::L7 => "L7",
        }
    }

    /// Whether this part needs what a headline-only reading of a capture
    /// leaves out (workloads, HTTP and DNS record contents).
    fn needs_whole_flows(self) -> bool {
        matches!(
            self,
            Field::Source(Level::Workload | Level::Service)
                | Field::Destination(Level::Workload | Level::Service)
                | Field::L7
        )
    }
}

/// A `--aggregate-by` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "invalid --aggregate-by key {0:?}: expected source[:LEVEL], destination[:LEVEL], port, protocol, verdict, drop-reason, direction, node or l7, with LEVEL one of pod, workload, namespace, identity, ip, service"
    )]
    Unknown(String),
    #[error("--aggregate-by names {0:?} twice")]
    Repeated(String),
    #[error("--aggregate-by needs at least one key")]
    Empty,
}

/// The parts of a grouping key, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    fields: Vec<Field>,
    /// Name hosts as `--ip-translation` does (off with `--numeric`).
    ip_translation: bool,
}

impl Key {
    pub fn new(fields: Vec<Field>) -> Result<Self, KeyError> {
        if fields.is_empty() {
            return Err(KeyError::Empty);
        }
        for (index, field) in fields.iter().enumerate() {
            if fields[..index].iter().any(|f| f.name() == field.name()) {
                return Err(KeyError::Repeated(field.name().replace('_', "-")));
            }
        }
        Ok(Self {
            fields,
            ip_translation: true,
        })
    }

    /// Parses `source:workload,destination,port`; a side without a level
    /// is named at `Pod` level.
    pub fn parse(values: &[String]) -> Result<Self, KeyError> {
        let mut fields = Vec::new();
        for value in values.iter().flat_map(|v| v.split(',')) {
            let value = value.trim();
            let unknown = || KeyError::Unknown(value.to_owned());
            let (name, level) = match value.split_once(':') {
                Some((name, level)) => (name, Some(Level::parse(level).ok_or_else(unknown)?)),
                None => (value, None),
            };
            let field = match (name, level) {
                ("source", level) => Field::Source(level.unwrap_or(Level::Pod)),
                ("destination", level) => Field::Destination(level.unwrap_or(Level::Pod)),
                ("port", None) => Field::Port,
                ("protocol", None) => Field::Protocol,
                ("verdict", None) => Field::Verdict,
                ("drop-reason" | "drop_reason", None) => Field::DropReason,
                ("direction", None) => Field::Direction,
                ("node", None) => Field::Node,
                ("l7", None) => Field::L7,
                _ => return Err(unknown()),
            };
            fields.push(field);
        }
        Self::new(fields)
    }

    /// Names hosts by address only, as `--numeric` or
    /// `--ip-translation=false` ask.
    pub fn with_ip_translation(mut self, on: bool) -> Self {
        self.ip_translation = on;
        self
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The same key with both sides named at `level`.
    pub fn at_level(&self, level: Level) -> Self {
        let fields = self
            .fields
            .iter()
            .map(|field| match field {
                Field::Source(_) => Field::Source(level),
                Field::Destination(_) => Field::Destination(level),
                other => *other,
            })
            .collect();
        Self {
            fields,
            ip_translation: self.ip_translation,
        }
    }

    /// The level of the first side in the key, if any.
    pub fn level(&self) -> Option<Level> {
        self.fields.iter().find_map(|field| match field {
            Field::Source(level) | Field::Destination(level) => Some(*level),
            _ => None,
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.fields.iter().any(|field| field.name() == name)
    }

    /// Whether flows must be read in full for this key.
    pub fn needs_whole_flows(&self) -> bool {
        self.fields.iter().any(|field| field.needs_whole_flows())
    }

    /// The field-mask paths a server must send for this key beyond those
    /// the compact format needs.
    pub fn extra_mask_paths(&self) -> &'static [&'static str] {
        let service = self.fields.iter().any(|f| {
            matches!(
                f,
                Field::Source(Level::Service) | Field::Destination(Level::Service)
            )
        });
        if service {
            return SERVICE_MASK_PATHS;
        }
        let workload = self.fields.iter().any(|f| {
            matches!(
                f,
                Field::Source(Level::Workload) | Field::Destination(Level::Workload)
            )
        });
        match workload {
            true => &["source.workloads", "destination.workloads"],
            false => &[],
        }
    }

    /// Encodes the key of `flow` into `out` (cleared first): the parts'
    /// texts with `SEPARATOR` between them, which UTF-8 never contains, so
    /// that parts cannot run into each other. `name` is scratch space.
    /// Nothing is allocated once the buffers have grown to the longest key.
    pub fn encode(&self, flow: &Flow, out: &mut Vec<u8>, name: &mut String) {
        out.clear();
        let reply = flow.is_reply.as_ref().is_some_and(|reply| reply.value);
        for (index, field) in self.fields.iter().enumerate() {
            if index > 0 {
                out.push(SEPARATOR);
            }
            name.clear();
            self.write_part(name, flow, *field, reply);
            out.extend_from_slice(name.as_bytes());
        }
    }

    fn write_part(&self, out: &mut String, flow: &Flow, field: Field, reply: bool) {
        let (source, destination) = match reply {
            true => (Side::Destination, Side::Source),
            false => (Side::Source, Side::Destination),
        };
        match field {
            Field::Source(level) => self.write_endpoint(out, flow, source, level),
            Field::Destination(level) => self.write_endpoint(out, flow, destination, level),
            Field::Port => {
                if let Some(port) = port(flow, destination).filter(|&port| port != 0) {
                    out.push_str(itoa::Buffer::new().format(port));
                }
            }
            Field::Protocol => out.push_str(protocol(flow)),
            Field::Verdict => match Verdict::try_from(flow.verdict) {
                Ok(verdict) => out.push_str(verdict.as_str_name()),
                Err(_) => out.push_str(itoa::Buffer::new().format(flow.verdict)),
            },
            Field::DropReason => write_drop_reason(out, flow),
            Field::Direction => {
                if let Ok(direction) = TrafficDirection::try_from(flow.traffic_direction) {
                    out.push_str(direction.as_str_name());
                }
            }
            Field::Node => out.push_str(&flow.node_name),
            Field::L7 => write_l7(out, flow),
        }
    }

    fn write_endpoint(&self, out: &mut String, flow: &Flow, side: Side, level: Level) {
        let endpoint = match side {
            Side::Source => flow.source.as_ref(),
            Side::Destination => flow.destination.as_ref(),
        };
        let identity = endpoint.map_or(0, |e| e.identity);
        match level {
            Level::Pod => {
                printer::write_host_name(out, flow, side, self.ip_translation);
            }
            Level::Ip => {
                printer::write_host_name(out, flow, side, false);
            }
            Level::Identity => write_identity(out, identity),
            Level::Service => {
                let names = match side {
                    Side::Source => &flow.source_names,
                    Side::Destination => &flow.destination_names,
                };
                write_service_id(out, endpoint, names, side == Side::Destination);
            }
            Level::Workload => {
                if self.ip_translation
                    && let Some(endpoint) = endpoint
                    && let Some(workload) = endpoint.workloads.first()
                    && !workload.name.is_empty()
                {
                    printer::write_path_join(out, &endpoint.namespace, &workload.name);
                    return;
                }
                self.write_outside(out, flow, side, identity, Level::Pod);
            }
            Level::Namespace => {
                if self.ip_translation {
                    let namespace = endpoint.map_or("", |e: &Endpoint| &e.namespace);
                    let service = match side {
                        Side::Source => flow.source_service.as_ref(),
                        Side::Destination => flow.destination_service.as_ref(),
                    };
                    let namespace = match namespace.is_empty() {
                        true => service.map_or("", |s| &s.namespace),
                        false => namespace,
                    };
                    if !namespace.is_empty() {
                        out.push_str(namespace);
                        return;
                    }
                }
                self.write_outside(out, flow, side, identity, Level::Namespace);
            }
        }
    }

    /// Names an endpoint that has no workload (or namespace): as compact
    /// output does, except that a bare address with a reserved identity
    /// (world, host, remote-node, ...) takes the identity's name.
    fn write_outside(&self, out: &mut String, flow: &Flow, side: Side, identity: u32, at: Level) {
        let start = out.len();
        let names = match side {
            Side::Source => &flow.source_names,
            Side::Destination => &flow.destination_names,
        };
        if at == Level::Namespace && self.ip_translation && !names.is_empty() {
            for (index, name) in names.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(name);
            }
            return;
        }
        let written = printer::write_host_name(out, flow, side, self.ip_translation);
        if self.ip_translation
            && written == HostName::Address
            && identity != 0
            && let Some(reserved) = printer::reserved_identity(identity)
        {
            out.truncate(start);
            out.push_str(reserved);
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, field) in self.fields.iter().enumerate() {
            if index > 0 {
                f.write_char(',')?;
            }
            f.write_str(&field.name().replace('_', "-"))?;
            if let Field::Source(level) | Field::Destination(level) = field {
                write!(f, ":{}", level.name())?;
            }
        }
        Ok(())
    }
}

/// What Hubble UI's service cards are made of.
const SERVICE_MASK_PATHS: &[&str] = &[
    "source.labels",
    "destination.labels",
    "source.workloads",
    "destination.workloads",
    "source_names",
    "destination_names",
];

/// Hubble UI's `getServiceId`: the card an endpoint belongs to. The side
/// only tells apart cards outside the cluster, so that the world one talks
/// to and the world that talks to one are two cards.
pub fn write_service_id(
    out: &mut String,
    endpoint: Option<&Endpoint>,
    names: &[String],
    receiver: bool,
) {
    let labels = endpoint.map_or(&[][..], |e| &e.labels);
    let identity = endpoint.map_or(0, |e| e.identity);
    if identity > 0 && !labels::props(labels).is(labels::Kind::World) {
        out.push_str(itoa::Buffer::new().format(identity));
        return;
    }
    if let Some(workload) = endpoint.and_then(|e| e.workloads.first())
        && !workload.name.is_empty()
        && !workload.kind.is_empty()
    {
        out.push_str(&workload.kind);
        out.push('/');
        out.push_str(&workload.name);
        return;
    }
    match names.first() {
        Some(name) => out.push_str(name),
        None => out.push_str("world"),
    }
    out.push_str(if receiver { "-receiver" } else { "-sender" });
}

/// The parts of an encoded key, in order.
pub fn parts(encoded: &[u8]) -> impl Iterator<Item = &str> {
    encoded
        .split(|&byte| byte == SEPARATOR)
        // The parts were written from `str`s, so they are UTF-8.
        .map(|text| std::str::from_utf8(text).unwrap_or_default())
}

/// Orders encoded keys as their parts, text by text: where they first
/// differ, a part that ends there (at a separator, or at the end of the
/// key) comes first. Adding one to each byte makes the separator the
/// smallest; no text is decoded.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => a[at].wrapping_add(1).cmp(&b[at].wrapping_add(1)),
        None => a.len().cmp(&b.len()),
    }
}

/// Between the parts of an encoded key: a byte no UTF-8 text contains.
/// One byte, where a length would take four, for keys held in memory.
const SEPARATOR: u8 = 0xFF;

/// The identity as compact output writes it, without the parentheses.
fn write_identity(out: &mut String, identity: u32) {
    match printer::reserved_identity(identity) {
        Some(name) => out.push_str(name),
        None => {
            out.push_str("ID:");
            out.push_str(itoa::Buffer::new().format(identity));
        }
    }
}

fn port(flow: &Flow, side: Side) -> Option<u32> {
    let ports = match flow.l4.as_ref()?.protocol.as_ref()? {
        layer4::Protocol::Tcp(tcp) => (tcp.source_port, tcp.destination_port),
        layer4::Protocol::Udp(udp) => (udp.source_port, udp.destination_port),
        layer4::Protocol::Sctp(sctp) => (sctp.source_port, sctp.destination_port),
        _ => return None,
    };
    Some(match side {
        Side::Source => ports.0,
        Side::Destination => ports.1,
    })
}

/// The L4 protocol as Hubble's JSON names it.
fn protocol(flow: &Flow) -> &'static str {
    match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
        Some(layer4::Protocol::Tcp(_)) => "TCP",
        Some(layer4::Protocol::Udp(_)) => "UDP",
        Some(layer4::Protocol::IcmPv4(_)) => "ICMPv4",
        Some(layer4::Protocol::IcmPv6(_)) => "ICMPv6",
        Some(layer4::Protocol::Sctp(_)) => "SCTP",
        Some(layer4::Protocol::Vrrp(_)) => "VRRP",
        Some(layer4::Protocol::Igmp(_)) => "IGMP",
        None => "",
    }
}

/// Cilium's monitor message type of drop events.
const MESSAGE_TYPE_DROP: i32 = 1;

/// The drop reason of a dropped flow, as compact output prints it for drop
/// events; other dropped flows give the reason's enum name.
fn write_drop_reason(out: &mut String, flow: &Flow) {
    if !matches!(Verdict::try_from(flow.verdict), Ok(Verdict::Dropped)) {
        return;
    }
    if let Some(code) = drop_code(flow) {
        printer::write_drop_reason(out, code);
    }
}

/// The datapath's drop reason code of a drop event.
pub fn drop_code(flow: &Flow) -> Option<u8> {
    let event = flow.event_type.as_ref()?;
    if event.r#type == MESSAGE_TYPE_DROP {
        // Sub-types are uint8 in the datapath; Hubble truncates them too.
        return Some(event.sub_type as u8);
    }
    let code = flow.drop_reason_desc;
    (code != 0).then_some(code as u8)
}

/// `http GET 2xx`, `dns A NXDOMAIN`, `kafka`; empty without L7.
fn write_l7(out: &mut String, flow: &Flow) {
    let Some(l7) = &flow.l7 else { return };
    let response = l7.r#type == L7FlowType::Response as i32;
    #[allow(deprecated)]
    match &l7.record {
        Some(layer7::Record::Http(http)) => {
            out.push_str("http");
            if !http.method.is_empty() {
                out.push(' ');
                out.push_str(&http.method);
            }
            if response && http.code > 0 {
                let _ = write!(out, " {}xx", http.code / 100);
            }
        }
        Some(layer7::Record::Dns(dns)) => {
            out.push_str("dns");
            for (index, qtype) in dns.qtypes.iter().enumerate() {
                out.push(if index == 0 { ' ' } else { ',' });
                out.push_str(qtype);
            }
            if response {
                out.push(' ');
                match dns_rcode(dns.rcode) {
                    Some(name) => out.push_str(name),
                    None => {
                        let _ = write!(out, "RCODE{}", dns.rcode);
                    }
                }
            }
        }
        Some(layer7::Record::Kafka(_)) => out.push_str("kafka"),
        None => out.push_str("l7"),
    }
}

/// DNS response codes by their RFC 1035/6895 mnemonics.
fn dns_rcode(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Result<Key, KeyError> {
        Key::parse(&[text.to_owned()])
    }

    #[test]
    fn parses_keys_with_levels() {
        let parsed = key("source:workload,destination,port,drop-reason").unwrap();
        assert_eq!(
            parsed.fields(),
            [
                Field::Source(Level::Workload),
                Field::Destination(Level::Pod),
                Field::Port,
                Field::DropReason
            ]
        );
        assert_eq!(
            parsed.to_string(),
            "source:workload,destination:pod,port,drop-reason"
        );
        assert!(parsed.needs_whole_flows());
        assert!(!key("source,destination").unwrap().needs_whole_flows());
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(matches!(key("sauce"), Err(KeyError::Unknown(_))));
        assert!(matches!(key("source:cluster"), Err(KeyError::Unknown(_))));
        assert!(matches!(key("port:pod"), Err(KeyError::Unknown(_))));
        assert_eq!(key("port,port"), Err(KeyError::Repeated("port".to_owned())));
        assert_eq!(Key::parse(&[]), Err(KeyError::Empty));
    }

    #[test]
    fn levels_cycle() {
        let mut level = Level::Pod;
        for _ in 0..Level::ALL.len() {
            level = level.next();
        }
        assert_eq!(level, Level::Pod);
    }

    #[test]
    fn encoded_keys_sort_as_their_parts() {
        let keys = [
            ["a", "b"],
            ["ab", ""],
            ["", "zz"],
            ["a", ""],
            ["ab", "a"],
            ["a\u{0}", "b"],
            ["\u{7f}", "b"],
            ["é", "a"],
            ["a", "bc"],
            ["a", "b\u{10ffff}"],
        ];
        let mut encoded: Vec<Vec<u8>> = keys
            .iter()
            .map(|[first, second]| [first.as_bytes(), &[SEPARATOR], second.as_bytes()].concat())
            .collect();
        let by_parts = |a: &Vec<u8>, b: &Vec<u8>| parts(a).cmp(parts(b));
        for a in &encoded {
            assert_eq!(parts(a).count(), 2);
            for b in &encoded {
                assert_eq!(compare(a, b), by_parts(a, b), "{a:?} {b:?}");
            }
        }
        encoded.sort_by(|a, b| compare(a, b));
        assert!(encoded.is_sorted_by(|a, b| by_parts(a, b).is_le()));
    }

    #[test]
    fn encoded_parts_decode() {
        let mut out = Vec::new();
        let flow = Flow {
            node_name: "kind-worker".into(),
            verdict: Verdict::Dropped as i32,
            ..Flow::default()
        };
        key("node,verdict,port")
            .unwrap()
            .encode(&flow, &mut out, &mut String::new());
        assert_eq!(
            parts(&out).collect::<Vec<_>>(),
            ["kind-worker", "DROPPED", ""]
        );
    }
}
