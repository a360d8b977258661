//! From filter flags to the FlowFilters `hubble observe` sends.
//!
//! Hubble builds two candidate filters as flags arrive: a "left" one that
//! takes the source side of two-sided flags (`--pod`, `--ip`, ...) and a
//! "right" one for the destination side; one-sided flags go into both. The
//! result is one filter when both end up equal, else both (OR-ed).
//! Namespace flags are held back and folded into the pod and service
//! conditions at the end. `--not` sends the next flag to a second tracker
//! whose filters become the denylist.

use super::{FilterError, cel, go_quote};
use crate::{
    cli::FilterFlag,
    proto::flow::{
        EventTypeFilter, FlowFilter, HttpHeader, IpVersion, NetworkInterface, TcpFlags,
        TrafficDirection, Verdict, Workload, flow_filter::Experimental,
    },
};

/// Flags that cannot be combined in one list, as Hubble groups them.
const CONFLICTS: &[&[&str]] = &[
    &[
        "from-fqdn",
        "from-ip",
        "ip",
        "fqdn",
        "from-namespace",
        "namespace",
        "from-all-namespaces",
        "all-namespaces",
    ],
    &["from-fqdn", "from-ip", "ip", "fqdn", "from-pod", "pod"],
    &[
        "to-fqdn",
        "to-ip",
        "ip",
        "fqdn",
        "to-namespace",
        "namespace",
        "to-all-namespaces",
        "all-namespaces",
    ],
    &["to-fqdn", "to-ip", "ip", "fqdn", "to-pod", "pod"],
    &["to-pod", "namespace", "all-namespaces"],
    &["from-pod", "namespace", "all-namespaces"],
    &["to-service", "namespace", "all-namespaces"],
    &["from-service", "namespace", "all-namespaces"],
    &["label", "from-label"],
    &["label", "to-label"],
    &["service", "from-service"],
    &["service", "to-service"],
    &["port", "to-port"],
    &["port", "from-port"],
    &["identity", "to-identity"],
    &["identity", "from-identity"],
    &["workload", "to-workload"],
    &["workload", "from-workload"],
    &["encrypted", "unencrypted"],
];

/// Flags with a short form, named as pflag names them in errors.
fn display_name(name: &str) -> String {
    let short = match name {
        "type" => "t",
        "namespace" => "n",
        "all-namespaces" => "A",
        "label" => "l",
        "ipv4" => "4",
        "ipv6" => "6",
        _ => return format!("--{name}"),
    };
    format!("-{short}, --{name}")
}

/// Reserved identities by name, for `--identity` and friends.
const RESERVED_IDENTITIES: &[(&str, u32)] = &[
    ("host", 1),
    ("world", 2),
    ("unmanaged", 3),
    ("health", 4),
    ("init", 5),
    ("remote-node", 6),
    ("kube-apiserver", 7),
    ("ingress", 8),
    ("world-ipv4", 9),
    ("world-ipv6", 10),
    ("overlay-to-encrypt", 11),
];

/// Trace observation point names, as `-t trace:NAME` takes them.
const TRACE_POINTS: &[(&str, i32)] = &[
    ("to-endpoint", 0),
    ("to-proxy", 1),
    ("to-host", 2),
    ("to-stack", 3),
    ("to-overlay", 4),
    ("from-endpoint", 5),
    ("from-proxy", 6),
    ("from-host", 7),
    ("from-stack", 8),
    ("from-overlay", 9),
    ("from-network", 10),
    ("to-network", 11),
    ("from-crypto", 12),
    ("to-crypto", 13),
];

/// Agent notification names, as `-t agent:NAME` takes them.
const AGENT_SUBTYPES: &[(&str, i32)] = &[
    ("unspecified", 0),
    ("message", 1),
    ("agent-started", 2),
    ("policy-updated", 3),
    ("policy-deleted", 4),
    ("endpoint-regenerate-success", 5),
    ("endpoint-regenerate-failure", 6),
    ("endpoint-created", 7),
    ("endpoint-deleted", 8),
    ("ipcache-upserted", 9),
    ("ipcache-deleted", 10),
];

/// Event type names of `-t`.
const EVENT_TYPES: &[(&str, i32)] = &[
    ("drop", 1),
    ("debug", 2),
    ("capture", 3),
    ("trace", 4),
    ("policy-verdict", 5),
    ("trace-sock", 7),
    ("l7", 129),
    ("agent", 130),
];

/// The filters of one list (allow or deny) as flags arrive.
#[derive(Default)]
struct Tracker {
    left: Option<FlowFilter>,
    right: Option<FlowFilter>,
    namespaces: Vec<String>,
    source_namespaces: Vec<String>,
    destination_namespaces: Vec<String>,
    /// Flags seen, for conflicts and for resetting defaults.
    changed: Vec<&'static str>,
}

impl Tracker {
    fn both(&mut self, update: impl Fn(&mut FlowFilter)) {
        update(self.left.get_or_insert_with(FlowFilter::default));
        update(self.right.get_or_insert_with(FlowFilter::default));
    }

    fn sides(&mut self, left: impl FnOnce(&mut FlowFilter), right: impl FnOnce(&mut FlowFilter)) {
        left(self.left.get_or_insert_with(FlowFilter::default));
        right(self.right.get_or_insert_with(FlowFilter::default));
    }

    fn check_conflicts(&self) -> Result<(), String> {
        for group in CONFLICTS {
            for flag in group.iter().filter(|flag| self.changed.contains(flag)) {
                if let Some(other) = group
                    .iter()
                    .find(|other| *other != flag && self.changed.contains(other))
                {
                    return Err(format!("filters --{flag} and --{other} cannot be combined"));
                }
            }
        }
        Ok(())
    }

    fn set(&mut self, name: &'static str, value: &str) -> Result<(), String> {
        if !self.changed.contains(&name) {
            self.changed.push(name);
        }
        self.check_conflicts()?;
        let value = value.to_owned();
        match name {
            "uuid" => self.both(|f| f.uuid.push(value.clone())),
            "fqdn" => self.sides(
                |f| f.source_fqdn.push(value.clone()),
                |f| f.destination_fqdn.push(value.clone()),
            ),
            "from-fqdn" => self.both(|f| f.source_fqdn.push(value.clone())),
            "to-fqdn" => self.both(|f| f.destination_fqdn.push(value.clone())),
            "pod" => self.sides(
                |f| f.source_pod.push(value.clone()),
                |f| f.destination_pod.push(value.clone()),
            ),
            "from-pod" => self.both(|f| f.source_pod.push(value.clone())),
            "to-pod" => self.both(|f| f.destination_pod.push(value.clone())),
            "ip" => self.sides(
                |f| f.source_ip.push(value.clone()),
                |f| f.destination_ip.push(value.clone()),
            ),
            "from-ip" => self.both(|f| f.source_ip.push(value.clone())),
            "to-ip" => self.both(|f| f.destination_ip.push(value.clone())),
            "snat-ip" => self.both(|f| f.source_ip_xlated.push(value.clone())),
            "ipv4" => self.both(|f| f.ip_version.push(IpVersion::IPv4 as i32)),
            "ipv6" => self.both(|f| f.ip_version.push(IpVersion::IPv6 as i32)),
            "ip-version" => {
                let version = match value.to_ascii_lowercase().as_str() {
                    "4" | "v4" | "ipv4" | "ip4" => IpVersion::IPv4,
                    "6" | "v6" | "ipv6" | "ip6" => IpVersion::IPv6,
                    _ => IpVersion::IpNotUsed,
                };
                self.both(|f| f.ip_version.push(version as i32));
            }
            "label" => self.sides(
                |f| f.source_label.push(value.clone()),
                |f| f.destination_label.push(value.clone()),
            ),
            "from-label" => self.both(|f| f.source_label.push(value.clone())),
            "to-label" => self.both(|f| f.destination_label.push(value.clone())),
            "namespace" => self.namespaces.push(value),
            "from-namespace" => self.source_namespaces.push(value),
            "to-namespace" => self.destination_namespaces.push(value),
            "all-namespaces" => self.namespaces.push(String::new()),
            "from-all-namespaces" => self.source_namespaces.push(String::new()),
            "to-all-namespaces" => self.destination_namespaces.push(String::new()),
            "service" => self.sides(
                |f| f.source_service.push(value.clone()),
                |f| f.destination_service.push(value.clone()),
            ),
            "from-service" => self.both(|f| f.source_service.push(value.clone())),
            "to-service" => self.both(|f| f.destination_service.push(value.clone())),
            "port" => self.sides(
                |f| f.source_port.push(value.clone()),
                |f| f.destination_port.push(value.clone()),
            ),
            "from-port" => self.both(|f| f.source_port.push(value.clone())),
            "to-port" => self.both(|f| f.destination_port.push(value.clone())),
            "trace-id" => self.both(|f| f.trace_id.push(value.clone())),
            "ip-trace-id" => {
                if value == "0" {
                    return Err("invalid --ip-trace-id value; must be greater than 0".into());
                }
                let id: u64 = value.parse().map_err(|e| {
                    format!(
                        "invalid --ip-trace-id value: strconv.ParseUint: parsing {value:?}: {}",
                        go_parse_error(&e)
                    )
                })?;
                self.both(|f| f.ip_trace_id.push(id));
            }
            "verdict" => {
                let verdict = Verdict::from_str_name(&value)
                    .ok_or_else(|| format!("invalid --verdict value: {value}"))?;
                self.both(|f| f.verdict.push(verdict as i32));
            }
            "drop-reason-desc" => {
                if value.is_empty() {
                    return Err("empty --drop-reason-desc value".into());
                }
                let reason = crate::proto::flow::DropReason::from_str_name(&value)
                    .ok_or_else(|| format!("invalid --drop-reason-desc value: {value}"))?;
                self.both(|f| f.drop_reason_desc.push(reason as i32));
            }
            "http-status" => self.both(|f| f.http_status_code.push(value.clone())),
            "http-method" => self.both(|f| f.http_method.push(value.clone())),
            "http-path" => self.both(|f| f.http_path.push(value.clone())),
            "http-url" => self.both(|f| f.http_url.push(value.clone())),
            "http-header" => {
                let (key, header_value) = value.split_once(':').ok_or_else(|| {
                    format!("invalid http-header value {value:?}, expected name:value")
                })?;
                let header = HttpHeader {
                    key: key.to_owned(),
                    value: header_value.to_owned(),
                };
                self.both(|f| f.http_header.push(header.clone()));
            }
            "type" => {
                let filter = parse_event_type(&value)?;
                self.both(|f| f.event_type.push(filter));
            }
            "protocol" => self.both(|f| f.protocol.push(value.clone())),
            "workload" => {
                let workload = parse_workload(&value);
                self.sides(
                    |f| f.source_workload.push(workload.clone()),
                    |f| f.destination_workload.push(workload.clone()),
                );
            }
            "from-workload" => {
                let workload = parse_workload(&value);
                self.both(|f| f.source_workload.push(workload.clone()));
            }
            "to-workload" => {
                let workload = parse_workload(&value);
                self.both(|f| f.destination_workload.push(workload.clone()));
            }
            "identity" => {
                let identity = parse_identity(&value)?;
                self.sides(
                    |f| f.source_identity.push(identity),
                    |f| f.destination_identity.push(identity),
                );
            }
            "from-identity" => {
                let identity = parse_identity(&value)?;
                self.both(|f| f.source_identity.push(identity));
            }
            "to-identity" => {
                let identity = parse_identity(&value)?;
                self.both(|f| f.destination_identity.push(identity));
            }
            "node-name" => self.both(|f| f.node_name.push(value.clone())),
            "node-label" => self.both(|f| f.node_labels.push(value.clone())),
            "cluster" => self.sides(
                |f| f.source_cluster_name.push(value.clone()),
                |f| f.destination_cluster_name.push(value.clone()),
            ),
            "from-cluster" => self.both(|f| f.source_cluster_name.push(value.clone())),
            "to-cluster" => self.both(|f| f.destination_cluster_name.push(value.clone())),
            "tcp-flags" => {
                let flags = parse_tcp_flags(&value)?;
                self.both(|f| f.tcp_flags.push(flags));
            }
            "traffic-direction" => {
                let direction = match value.to_ascii_lowercase().as_str() {
                    "ingress" => TrafficDirection::Ingress,
                    "egress" => TrafficDirection::Egress,
                    other => {
                        return Err(format!(
                            "{other}: invalid traffic direction, expected ingress or egress"
                        ));
                    }
                };
                self.both(|f| f.traffic_direction.push(direction as i32));
            }
            "cel-expression" => {
                // Checked here, as the server would, so that a typo is an
                // error before anything is sent rather than no flows.
                cel::validate(&value).map_err(|error| error.to_string())?;
                self.both(|f| {
                    f.experimental
                        .get_or_insert_with(Experimental::default)
                        .cel_expression
                        .push(value.clone())
                })
            }
            "interface" => self.both(|f| {
                f.interface.push(NetworkInterface {
                    index: 0,
                    name: value.clone(),
                })
            }),
            "encrypted" => self.both(|f| f.encrypted.push(true)),
            "unencrypted" => self.both(|f| f.encrypted.push(false)),
            _ => unreachable!("every filter flag of the cli is handled: {name}"),
        }
        self.check_namespace_conflicts()
    }

    /// A namespace flag with a pod or service of another namespace, or a
    /// pod and a service of different namespaces. As Hubble, each filter
    /// reports every kind of conflict it has, one per line, and the left
    /// filter is checked first.
    fn check_namespace_conflicts(&self) -> Result<(), String> {
        for filter in [&self.left, &self.right].into_iter().flatten() {
            let errors: Vec<String> = [
                namespace_conflict(&self.namespaces, &filter.source_pod),
                namespace_conflict(&self.namespaces, &filter.source_service),
                namespace_conflict(&self.namespaces, &filter.destination_pod),
                namespace_conflict(&self.namespaces, &filter.destination_service),
                namespace_conflict(&self.source_namespaces, &filter.source_pod),
                namespace_conflict(&self.source_namespaces, &filter.source_service),
                namespace_conflict(&self.destination_namespaces, &filter.destination_pod),
                namespace_conflict(&self.destination_namespaces, &filter.destination_service),
                service_conflict(&filter.source_pod, &filter.source_service),
                service_conflict(&filter.destination_pod, &filter.destination_service),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !errors.is_empty() {
                return Err(errors.join("\n"));
            }
        }
        Ok(())
    }

    /// The filters of this list, with namespaces folded in.
    fn into_filters(self) -> Vec<FlowFilter> {
        if self.left.is_none()
            && self.right.is_none()
            && self.namespaces.is_empty()
            && self.source_namespaces.is_empty()
            && self.destination_namespaces.is_empty()
        {
            return Vec::new();
        }
        let mut left = self.left.unwrap_or_default();
        let mut right = self.right.unwrap_or_default();
        if !self.destination_namespaces.is_empty() {
            apply_destination(&mut left, &self.destination_namespaces);
            apply_destination(&mut right, &self.destination_namespaces);
        }
        if !self.source_namespaces.is_empty() {
            apply_source(&mut left, &self.source_namespaces);
            apply_source(&mut right, &self.source_namespaces);
        }
        if !self.namespaces.is_empty() {
            apply_source(&mut left, &self.namespaces);
            apply_destination(&mut right, &self.namespaces);
        }
        if left == right {
            vec![left]
        } else {
            vec![left, right]
        }
    }
}

/// The namespace a `namespace/name` names; empty for a bare or `/name`.
fn namespace_of(name: &str) -> &str {
    name.split_once('/').map_or("", |(namespace, _)| namespace)
}

/// The first name outside one of the namespaces.
fn namespace_conflict(namespaces: &[String], names: &[String]) -> Option<String> {
    namespaces.iter().find_map(|namespace| {
        names.iter().find_map(|name| {
            let named = namespace_of(name);
            (!named.is_empty() && named != namespace).then(|| {
                format!(
                    "namespace conflict: {} does not contain {}",
                    go_quote(namespace),
                    go_quote(name)
                )
            })
        })
    })
}

/// The first service outside the namespace of a namespaced pod.
fn service_conflict(pods: &[String], services: &[String]) -> Option<String> {
    pods.iter().find_map(|pod| {
        let pod_namespace = namespace_of(pod);
        if pod_namespace.is_empty() {
            return None;
        }
        services
            .iter()
            .find(|service| namespace_of(service) != pod_namespace)
            .map(|service| {
                format!(
                    "namespace of service {} conflict with pod {}",
                    go_quote(service),
                    go_quote(pod_namespace)
                )
            })
    })
}

fn apply_source(filter: &mut FlowFilter, namespaces: &[String]) {
    if filter.source_pod.is_empty() && filter.source_service.is_empty() {
        filter.source_pod = vec![String::new()];
    }
    filter.source_pod = with_namespaces(&filter.source_pod, namespaces);
    filter.source_service = with_namespaces(&filter.source_service, namespaces);
}

fn apply_destination(filter: &mut FlowFilter, namespaces: &[String]) {
    if filter.destination_pod.is_empty() && filter.destination_service.is_empty() {
        filter.destination_pod = vec![String::new()];
    }
    filter.destination_pod = with_namespaces(&filter.destination_pod, namespaces);
    filter.destination_service = with_namespaces(&filter.destination_service, namespaces);
}

/// `name` becomes `namespace/name` for each namespace, unless it already
/// names one.
fn with_namespaces(names: &[String], namespaces: &[String]) -> Vec<String> {
    if namespaces.is_empty() || names.is_empty() {
        return names.to_vec();
    }
    let mut result = Vec::new();
    for name in names {
        if name.contains('/') {
            result.push(name.clone());
            continue;
        }
        for namespace in namespaces {
            result.push(format!("{namespace}/{name}"));
        }
    }
    result
}

fn parse_workload(value: &str) -> Workload {
    match value.split_once('/') {
        Some((kind, name)) => Workload {
            kind: kind.to_owned(),
            name: name.to_owned(),
        },
        None => Workload {
            kind: String::new(),
            name: value.to_owned(),
        },
    }
}

fn parse_identity(value: &str) -> Result<u32, String> {
    if let Some(&(_, id)) = RESERVED_IDENTITIES.iter().find(|(name, _)| *name == value) {
        return Ok(id);
    }
    parse_go_uint(value).ok_or_else(|| {
        let names: Vec<String> = RESERVED_IDENTITIES
            .iter()
            .map(|&(name, id)| {
                // Go prints identity 11 by number: it has no display name.
                if id == 11 {
                    id.to_string()
                } else {
                    name.to_owned()
                }
            })
            .collect();
        format!(
            "invalid security identity, expected one of [{}] or a numeric value",
            names.join(" ")
        )
    })
}

/// An unsigned 32-bit number in Go's base-prefix syntax (`0x`, `0o`, `0b`,
/// a leading `0` for octal, `_` between digits).
fn parse_go_uint(value: &str) -> Option<u32> {
    let digits = value.replace('_', "");
    let (radix, digits) =
        if let Some(rest) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
            (16, rest.to_owned())
        } else if let Some(rest) = digits.strip_prefix("0o").or(digits.strip_prefix("0O")) {
            (8, rest.to_owned())
        } else if let Some(rest) = digits.strip_prefix("0b").or(digits.strip_prefix("0B")) {
            (2, rest.to_owned())
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, digits[1..].to_owned())
        } else {
            (10, digits)
        };
    if digits.is_empty() || digits.starts_with('+') {
        return None;
    }
    u32::from_str_radix(&digits, radix).ok()
}

fn parse_tcp_flags(value: &str) -> Result<TcpFlags, String> {
    let mut flags = TcpFlags::default();
    for flag in value.split(',') {
        match flag.to_ascii_uppercase().as_str() {
            "SYN" => flags.syn = true,
            "FIN" => flags.fin = true,
            "RST" => flags.rst = true,
            "PSH" => flags.psh = true,
            "ACK" => flags.ack = true,
            "URG" => flags.urg = true,
            "ECE" => flags.ece = true,
            "CWR" => flags.cwr = true,
            "NS" => flags.ns = true,
            _ => return Err(format!("unknown tcp flag: {flag}")),
        }
    }
    Ok(flags)
}

fn parse_event_type(value: &str) -> Result<EventTypeFilter, String> {
    let (kind, sub_type) = match value.split_once(':') {
        Some((kind, sub_type)) => (kind, Some(sub_type)),
        None => (value, None),
    };
    let mut filter = EventTypeFilter::default();
    let known = EVENT_TYPES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|&(_, t)| t);
    filter.r#type = match known {
        Some(number) => number,
        None => {
            let number: u32 = kind.parse().map_err(|e| {
                format!(
                    "unable to parse type '{kind}', not a known type name and unable to parse as numeric value: strconv.ParseUint: parsing {kind:?}: {}",
                    go_parse_error(&e)
                )
            })?;
            number as i32
        }
    };
    if let Some(sub_type) = sub_type {
        let named = match known {
            Some(4) => TRACE_POINTS.iter().find(|(name, _)| *name == sub_type),
            Some(130) => AGENT_SUBTYPES.iter().find(|(name, _)| *name == sub_type),
            _ => None,
        };
        filter.match_sub_type = true;
        filter.sub_type = match named {
            Some(&(_, number)) => number,
            None => {
                let number: u32 = sub_type.parse().map_err(|e| {
                    format!(
                        "unable to parse event sub-type '{sub_type}', not a known sub-type name and unable to parse as numeric value: strconv.ParseUint: parsing {sub_type:?}: {}",
                        go_parse_error(&e)
                    )
                })?;
                number as i32
            }
        };
    }
    Ok(filter)
}

/// Go's wording for a number that does not parse.
fn go_parse_error(error: &std::num::ParseIntError) -> &'static str {
    match error.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            "value out of range"
        }
        _ => "invalid syntax",
    }
}

/// The allowlist and denylist for the filter flags, in the order typed.
pub fn build_filters(
    flags: &[FilterFlag],
) -> Result<(Vec<FlowFilter>, Vec<FlowFilter>), FilterError> {
    let mut allow = Tracker::default();
    let mut deny = Tracker::default();
    let mut negate_next = false;
    for flag in flags {
        if flag.name == "not" {
            if negate_next {
                return Err(FilterError::Invalid(format!(
                    "invalid argument {:?} for \"--not\" flag: consecutive --not statements",
                    flag.value
                )));
            }
            negate_next = true;
            continue;
        }
        let tracker = if std::mem::take(&mut negate_next) {
            &mut deny
        } else {
            &mut allow
        };
        // pflag wraps every error of a flag's setter this way.
        tracker.set(flag.name, &flag.value).map_err(|message| {
            FilterError::Invalid(format!(
                "invalid argument {:?} for {:?} flag: {message}",
                flag.value,
                display_name(flag.name)
            ))
        })?;
    }
    if negate_next {
        return Err(FilterError::Invalid(
            "trailing --not found in the arguments".into(),
        ));
    }
    Ok((allow.into_filters(), deny.into_filters()))
}
