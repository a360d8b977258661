//! The parts of a flow that compact, dict and table output share: hosts,
//! identities, the event type, the verdict and the summary, rendered as
//! Hubble renders them.

use std::fmt::Write;

use super::{
    names,
    style::{Color, Style},
};
use crate::proto::flow::{
    AuthType, DebugCapturePoint, Endpoint, Flow, L7FlowType, Policy, Service,
    SocketTranslationPoint, TrafficDirection, Verdict, layer4, layer7,
};

/// Cilium's monitor message types, as carried in `event_type.type`.
const MESSAGE_TYPE_DROP: i32 = 1;
const MESSAGE_TYPE_CAPTURE: i32 = 3;
const MESSAGE_TYPE_TRACE: i32 = 4;
const MESSAGE_TYPE_POLICY_VERDICT: i32 = 5;
const MESSAGE_TYPE_TRACE_SOCK: i32 = 7;

/// Which end of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

/// Renders the pieces of flows with one set of options.
#[derive(Debug, Clone, Copy)]
pub struct FlowRenderer {
    pub style: Style,
    pub ip_translation: bool,
    pub policy_names: bool,
}

impl FlowRenderer {
    /// The host of one side: pod, service or DNS names when IP translation
    /// is on, else the address; with the port when there is one. Flows
    /// without an IP header show their MAC addresses.
    pub fn write_host(&self, out: &mut String, flow: &Flow, side: Side) {
        if flow.ip.is_none() {
            if flow.ethernet.is_some() {
                self.style.start(out, Color::Cyan);
                write_host_name(out, flow, side, self.ip_translation);
                self.style.end(out);
            }
            return;
        }
        self.style.start(out, Color::Cyan);
        let host_start = out.len();
        write_host_name(out, flow, side, self.ip_translation);
        if let Some(port) = port(flow, side).filter(|&port| port != 0) {
            // net.JoinHostPort brackets any host with a colon in it.
            if out[host_start..].contains(':') {
                out.insert(host_start, '[');
                out.push(']');
            }
            out.push(':');
            self.style.start(out, Color::Yellow);
            out.push_str(itoa::Buffer::new().format(port));
            self.style.end(out);
        }
        self.style.end(out);
    }

    /// `(reserved-name)` or `(ID:n)`.
    pub fn write_identity(&self, out: &mut String, flow: &Flow, side: Side) {
        let endpoint = match side {
            Side::Source => &flow.source,
            Side::Destination => &flow.destination,
        };
        let identity = endpoint.as_ref().map_or(0, |e| e.identity);
        self.style.start(out, Color::Magenta);
        match names::reserved_identity(identity) {
            Some(name) => {
                out.push('(');
                out.push_str(name);
                out.push(')');
            }
            None => {
                out.push_str("(ID:");
                out.push_str(itoa::Buffer::new().format(identity));
                out.push(')');
            }
        }
        self.style.end(out);
    }

    /// The verdict; policy verdict events say ALLOWED, DENIED or AUDITED.
    pub fn write_verdict(&self, out: &mut String, flow: &Flow) {
        let is_policy_verdict = event_type(flow) == MESSAGE_TYPE_POLICY_VERDICT;
        let verdict = Verdict::try_from(flow.verdict).ok();
        let color = match verdict {
            Some(Verdict::Forwarded | Verdict::Redirected) => Some(Color::Green),
            Some(Verdict::Dropped | Verdict::Error) => Some(Color::Red),
            Some(Verdict::Audit | Verdict::Traced | Verdict::Translated) => Some(Color::Yellow),
            Some(Verdict::Unknown) | None => None,
        };
        if let Some(color) = color {
            self.style.start(out, color);
        }
        match verdict {
            Some(Verdict::Forwarded | Verdict::Redirected) if is_policy_verdict => {
                out.push_str("ALLOWED");
                self.write_policy_names(
                    out,
                    flow,
                    &flow.egress_allowed_by,
                    &flow.ingress_allowed_by,
                );
            }
            Some(Verdict::Dropped | Verdict::Error) if is_policy_verdict => {
                out.push_str("DENIED");
                self.write_policy_names(out, flow, &flow.egress_denied_by, &flow.ingress_denied_by);
            }
            Some(Verdict::Audit) if is_policy_verdict => out.push_str("AUDITED"),
            _ => names::write_enum(out, verdict.map(|v| v.as_str_name()), flow.verdict),
        }
        if color.is_some() {
            self.style.end(out);
        }
    }

    /// ` BY name (kind), ...` with `--print-policy-names`.
    fn write_policy_names(
        &self,
        out: &mut String,
        flow: &Flow,
        egress: &[Policy],
        ingress: &[Policy],
    ) {
        if !self.policy_names {
            return;
        }
        let policies = match TrafficDirection::try_from(flow.traffic_direction) {
            Ok(TrafficDirection::Egress) => egress,
            Ok(TrafficDirection::Ingress) => ingress,
            _ => return,
        };
        let named = policies
            .iter()
            .filter(|policy| !policy.kind.is_empty() && !policy.name.is_empty());
        for (index, policy) in named.enumerate() {
            out.push_str(if index == 0 { " BY " } else { ", " });
            out.push_str(&policy.name);
            out.push_str(" (");
            out.push_str(&policy.kind);
            out.push(')');
        }
    }

    /// The summary, with the IP trace ID before it and the auth type after.
    pub fn write_summary(&self, out: &mut String, flow: &Flow) {
        if let Some(trace) = flow.ip_trace_id.as_ref().filter(|t| t.trace_id > 0) {
            let _ = write!(out, "IP Trace ID: {}; ", trace.trace_id);
        }
        #[allow(deprecated)]
        out.push_str(&flow.summary);
        let auth = AuthType::try_from(flow.auth_type).ok();
        if auth == Some(AuthType::Disabled) {
            return;
        }
        out.push_str("; Auth: ");
        let color = if auth == Some(AuthType::TestAlwaysFail) {
            Color::Red
        } else {
            Color::Green
        };
        self.style.start(out, color);
        names::write_enum(out, auth.map(|a| a.as_str_name()), flow.auth_type);
        self.style.end(out);
    }
}

/// What names a host in compact output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostName {
    Pod,
    Service,
    DnsNames,
    /// The IP (or, without an IP header, MAC) address, or nothing at all.
    Address,
}

/// The host of one side as compact output names it, without colour or
/// port: `namespace/pod`, `namespace/service` or the DNS names when IP
/// translation is on, else the address (the MAC address for flows without
/// an IP header). Says which it wrote.
pub fn write_host_name(
    out: &mut String,
    flow: &Flow,
    side: Side,
    ip_translation: bool,
) -> HostName {
    let Some(ip) = &flow.ip else {
        if let Some(ethernet) = &flow.ethernet {
            out.push_str(match side {
                Side::Source => &ethernet.source,
                Side::Destination => &ethernet.destination,
            });
        }
        return HostName::Address;
    };
    let (address, endpoint, service, dns_names) = match side {
        Side::Source => (
            &ip.source,
            &flow.source,
            &flow.source_service,
            &flow.source_names,
        ),
        Side::Destination => (
            &ip.destination,
            &flow.destination,
            &flow.destination_service,
            &flow.destination_names,
        ),
    };
    if ip_translation {
        let pod = endpoint.as_ref().map_or("", |e: &Endpoint| &e.pod_name);
        let service_name = service.as_ref().map_or("", |s: &Service| &s.name);
        // A service's namespace wins over the pod's, as in Hubble.
        let namespace = match service {
            Some(service) => &service.namespace,
            None => endpoint.as_ref().map_or("", |e| &e.namespace),
        };
        if !pod.is_empty() {
            push_path_join(out, namespace, pod);
            return HostName::Pod;
        } else if !service_name.is_empty() {
            push_path_join(out, namespace, service_name);
            return HostName::Service;
        } else if !dns_names.is_empty() {
            for (index, name) in dns_names.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(name);
            }
            return HostName::DnsNames;
        }
    }
    out.push_str(address);
    HostName::Address
}

/// The event type column: L7 protocol and type, trace observation point,
/// drop reason, policy verdict match, capture point or socket translation.
pub fn write_flow_type(out: &mut String, flow: &Flow) {
    if let Some(l7) = &flow.l7 {
        // Kafka records are deprecated in the API but still printed.
        #[allow(deprecated)]
        let protocol = match &l7.record {
            Some(layer7::Record::Http(_)) => "http",
            Some(layer7::Record::Dns(_)) => "dns",
            Some(layer7::Record::Kafka(_)) => "kafka",
            None => "l7",
        };
        out.push_str(protocol);
        out.push('-');
        match L7FlowType::try_from(l7.r#type) {
            Ok(kind) => {
                for c in kind.as_str_name().chars() {
                    out.push(c.to_ascii_lowercase());
                }
            }
            Err(_) => {
                let _ = write!(out, "{}", l7.r#type);
            }
        }
        if let Some(layer7::Record::Dns(dns)) = &l7.record {
            out.push(' ');
            out.push_str(&dns.observation_source);
        }
        return;
    }
    // Sub-types are uint8 in the datapath; Hubble truncates them likewise.
    let sub_type = flow.event_type.as_ref().map_or(0, |e| e.sub_type) as u8;
    match event_type(flow) {
        MESSAGE_TYPE_TRACE => match names::trace_observation_point(sub_type) {
            Some(name) => out.push_str(name),
            None => {
                let _ = write!(out, "{sub_type}");
            }
        },
        MESSAGE_TYPE_DROP => names::write_drop_reason(out, sub_type),
        MESSAGE_TYPE_POLICY_VERDICT => {
            out.push_str("policy-verdict:");
            out.push_str(names::policy_match_type(flow.policy_match_type));
            out.push(' ');
            let direction = TrafficDirection::try_from(flow.traffic_direction).ok();
            names::write_enum(
                out,
                direction.map(|d| d.as_str_name()),
                flow.traffic_direction,
            );
        }
        MESSAGE_TYPE_CAPTURE => {
            let point = DebugCapturePoint::try_from(flow.debug_capture_point).ok();
            names::write_enum(
                out,
                point.map(|p| p.as_str_name()),
                flow.debug_capture_point,
            );
        }
        MESSAGE_TYPE_TRACE_SOCK => {
            let point = SocketTranslationPoint::try_from(flow.sock_xlate_point).ok();
            match point {
                Some(SocketTranslationPoint::SockXlatePointPostDirectionFwd) => {
                    out.push_str("post-xlate-fwd")
                }
                Some(SocketTranslationPoint::SockXlatePointPostDirectionRev) => {
                    out.push_str("post-xlate-rev")
                }
                Some(SocketTranslationPoint::SockXlatePointPreDirectionFwd) => {
                    out.push_str("pre-xlate-fwd")
                }
                Some(SocketTranslationPoint::SockXlatePointPreDirectionRev) => {
                    out.push_str("pre-xlate-rev")
                }
                _ => names::write_enum(out, point.map(|p| p.as_str_name()), flow.sock_xlate_point),
            }
        }
        _ => out.push_str("UNKNOWN"),
    }
}

fn event_type(flow: &Flow) -> i32 {
    flow.event_type.as_ref().map_or(0, |e| e.r#type)
}

/// The port of one side, for TCP, UDP and SCTP.
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

/// `namespace/name` as Go's `path.Join` writes it: empty parts left out and
/// the result cleaned (`//`, `.` and `..` resolved).
pub fn push_path_join(out: &mut String, namespace: &str, name: &str) {
    // Kubernetes names never need cleaning; anything with a slash or a dot
    // segment takes the general path.
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && memchr::memchr(b'/', part.as_bytes()).is_none()
    };
    if namespace.is_empty() {
        if plain(name) {
            out.push_str(name);
        } else {
            push_cleaned(out, name);
        }
    } else if plain(namespace) && plain(name) {
        out.push_str(namespace);
        out.push('/');
        out.push_str(name);
    } else {
        push_cleaned(out, &format!("{namespace}/{name}"));
    }
}

/// Go's `path.Clean`, for the rare names that need it.
fn push_cleaned(out: &mut String, path: &str) {
    let rooted = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => match segments.last() {
                Some(&last) if last != ".." => {
                    segments.pop();
                }
                _ if rooted => {}
                _ => segments.push(".."),
            },
            _ => segments.push(segment),
        }
    }
    if rooted {
        out.push('/');
    } else if segments.is_empty() {
        out.push('.');
    }
    out.push_str(&segments.join("/"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(namespace: &str, name: &str) -> String {
        let mut out = String::new();
        push_path_join(&mut out, namespace, name);
        out
    }

    #[test]
    fn path_join_cleans_like_go() {
        assert_eq!(joined("ns", "pod"), "ns/pod");
        assert_eq!(joined("", "pod"), "pod");
        assert_eq!(joined("ns", "a/../b"), "ns/b");
        assert_eq!(joined("ns/", "/pod"), "ns/pod");
        assert_eq!(joined("", "../x"), "../x");
        assert_eq!(joined("ns", "../../x"), "../x");
        assert_eq!(joined("", "."), ".");
        assert_eq!(joined("/ns", "../pod"), "/pod");
        assert_eq!(joined("ns", "pod/"), "ns/pod");
    }
}
