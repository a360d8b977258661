//! Names Hubble's handlers give to numbers: Go enum strings, DNS rcodes,
//! gopacket's ICMP type and code names.

use std::fmt::Write as _;

use crate::proto::flow::{self, Flow, layer4::Protocol, layer7::Record};

/// Cilium's monitor message types (`pkg/monitor/api/types.go`).
pub const MESSAGE_TYPE_DROP: i32 = 1;
pub const MESSAGE_TYPE_CAPTURE: i32 = 3;
pub const MESSAGE_TYPE_TRACE: i32 = 4;
pub const MESSAGE_TYPE_POLICY_VERDICT: i32 = 5;
pub const MESSAGE_TYPE_ACCESS_LOG: i32 = 129;

/// The event type of a flow (0 when it has none, as Go's getters give).
pub fn event_type(flow: &Flow) -> i32 {
    flow.event_type.as_ref().map_or(0, |t| t.r#type)
}

/// `v1.FlowProtocol` (`pkg/hubble/api/v1/flow.go`, as vendored by hubble
/// v1.19.4): the L7 protocol of an access log, else the L4 protocol.
pub fn flow_protocol(flow: &Flow) -> &'static str {
    match event_type(flow) {
        MESSAGE_TYPE_ACCESS_LOG => match flow.l7.as_ref().and_then(|l7| l7.record.as_ref()) {
            Some(Record::Dns(_)) => "DNS",
            Some(Record::Http(_)) => "HTTP",
            #[allow(deprecated)]
            Some(Record::Kafka(_)) => "Kafka",
            None => "Unknown L7",
        },
        MESSAGE_TYPE_DROP
        | MESSAGE_TYPE_TRACE
        | MESSAGE_TYPE_POLICY_VERDICT
        | MESSAGE_TYPE_CAPTURE => match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
            Some(Protocol::Tcp(_)) => "TCP",
            Some(Protocol::Udp(_)) => "UDP",
            Some(Protocol::IcmPv4(_)) => "ICMPv4",
            Some(Protocol::IcmPv6(_)) => "ICMPv6",
            Some(Protocol::Sctp(_)) => "SCTP",
            Some(Protocol::Vrrp(_)) => "VRRP",
            Some(Protocol::Igmp(_)) => "IGMP",
            None => "Unknown L4",
        },
        _ => "Unknown flow",
    }
}

pub fn verdict(value: i32) -> Option<&'static str> {
    flow::Verdict::try_from(value).ok().map(|v| v.as_str_name())
}

pub fn drop_reason(value: i32) -> Option<&'static str> {
    flow::DropReason::try_from(value)
        .ok()
        .map(|v| v.as_str_name())
}

pub fn ip_version(value: i32) -> Option<&'static str> {
    flow::IpVersion::try_from(value)
        .ok()
        .map(|v| v.as_str_name())
}

pub fn traffic_direction(value: i32) -> Option<&'static str> {
    flow::TrafficDirection::try_from(value)
        .ok()
        .map(|v| v.as_str_name())
}

pub fn lost_event_source(value: i32) -> Option<&'static str> {
    flow::LostEventSource::try_from(value)
        .ok()
        .map(|v| v.as_str_name())
}

/// `rcodeNames` of Hubble's DNS handler; a code it does not name gives "".
pub fn dns_rcode(code: u32) -> &'static str {
    match code {
        0 => "No Error",
        1 => "Format Error",
        2 => "Server Failure",
        3 => "Non-Existent Domain",
        4 => "Not Implemented",
        5 => "Query Refused",
        6 => "Name Exists when it should not",
        7 => "RR Set Exists when it should not",
        8 => "RR Set that should exist does not",
        9 => "Not Authorized",
        10 => "Name not contained in zone",
        11 => "DSO-TYPE Not Implemented",
        16 => "Bad OPT Version",
        17 => "Key not recognized",
        18 => "Signature out of time window",
        19 => "Bad TKEY Mode",
        20 => "Duplicate key name",
        21 => "Algorithm not supported",
        22 => "Bad Truncation",
        23 => "Bad/missing Server Cookie",
        _ => "",
    }
}

/// A type's name and, for types that use the code, the names of its codes.
type TypeInfo = (&'static str, Option<&'static [(u8, &'static str)]>);

fn icmpv4_type(kind: u8) -> Option<TypeInfo> {
    const UNREACHABLE: &[(u8, &str)] = &[
        (0, "Net"),
        (1, "Host"),
        (2, "Protocol"),
        (3, "Port"),
        (4, "FragmentationNeeded"),
        (5, "SourceRoutingFailed"),
        (6, "NetUnknown"),
        (7, "HostUnknown"),
        (8, "SourceIsolated"),
        (9, "NetAdminProhibited"),
        (10, "HostAdminProhibited"),
        (11, "NetTOS"),
        (12, "HostTOS"),
        (13, "CommAdminProhibited"),
        (14, "HostPrecedence"),
        (15, "PrecedenceCutoff"),
    ];
    const TIME_EXCEEDED: &[(u8, &str)] =
        &[(0, "TTLExceeded"), (1, "FragmentReassemblyTimeExceeded")];
    const PARAMETER_PROBLEM: &[(u8, &str)] = &[
        (0, "PointerIndicatesError"),
        (1, "MissingOption"),
        (2, "BadLength"),
    ];
    const REDIRECT: &[(u8, &str)] = &[(0, "Net"), (1, "Host"), (2, "TOS+Net"), (3, "TOS+Host")];
    Some(match kind {
        0 => ("EchoReply", None),
        3 => ("DestinationUnreachable", Some(UNREACHABLE)),
        4 => ("SourceQuench", None),
        5 => ("Redirect", Some(REDIRECT)),
        8 => ("EchoRequest", None),
        9 => ("RouterAdvertisement", None),
        10 => ("RouterSolicitation", None),
        11 => ("TimeExceeded", Some(TIME_EXCEEDED)),
        12 => ("ParameterProblem", Some(PARAMETER_PROBLEM)),
        13 => ("TimestampRequest", None),
        14 => ("TimestampReply", None),
        15 => ("InfoRequest", None),
        16 => ("InfoReply", None),
        17 => ("AddressMaskRequest", None),
        18 => ("AddressMaskReply", None),
        _ => return None,
    })
}

fn icmpv6_type(kind: u8) -> Option<TypeInfo> {
    const UNREACHABLE: &[(u8, &str)] = &[
        (0, "NoRouteToDst"),
        (1, "AdminProhibited"),
        (2, "BeyondScopeOfSrc"),
        (3, "AddressUnreachable"),
        (4, "PortUnreachable"),
        (5, "SrcAddressFailedPolicy"),
        (6, "RejectRouteToDst"),
    ];
    const TIME_EXCEEDED: &[(u8, &str)] = &[
        (0, "HopLimitExceeded"),
        (1, "FragmentReassemblyTimeExceeded"),
    ];
    const PARAMETER_PROBLEM: &[(u8, &str)] = &[
        (0, "ErroneousHeaderField"),
        (1, "UnrecognizedNextHeader"),
        (2, "UnrecognizedIPv6Option"),
    ];
    Some(match kind {
        1 => ("DestinationUnreachable", Some(UNREACHABLE)),
        2 => ("PacketTooBig", None),
        3 => ("TimeExceeded", Some(TIME_EXCEEDED)),
        4 => ("ParameterProblem", Some(PARAMETER_PROBLEM)),
        128 => ("EchoRequest", None),
        129 => ("EchoReply", None),
        133 => ("RouterSolicitation", None),
        134 => ("RouterAdvertisement", None),
        135 => ("NeighborSolicitation", None),
        136 => ("NeighborAdvertisement", None),
        137 => ("Redirect", None),
        _ => return None,
    })
}

/// gopacket's `ICMPv4TypeCode.String()` (`v6` for `ICMPv6TypeCode`). The
/// handler passes Hubble's 32-bit type and code through `uint8`, so they
/// wrap as Go's conversion does.
pub fn write_icmp_type_code(out: &mut String, v6: bool, kind: u32, code: u32) {
    let (kind, code) = (kind as u8, code as u8);
    let info = if v6 {
        icmpv6_type(kind)
    } else {
        icmpv4_type(kind)
    };
    let _ = match info {
        None => write!(out, "{kind}({code})"),
        Some((name, None)) if code == 0 => write!(out, "{name}"),
        Some((name, None)) => write!(out, "{name}(Code: {code})"),
        Some((name, Some(codes))) => match codes.iter().find(|(c, _)| *c == code) {
            Some((_, code_name)) => write!(out, "{name}({code_name})"),
            None => write!(out, "{name}(Code: {code})"),
        },
    };
}

/// `monitorAPI.PolicyMatchType(...).String()`, lowercased by the policy
/// handler.
pub fn policy_match_type(kind: u32) -> &'static str {
    match kind {
        0 => "none",
        1 => "l3-only",
        2 => "l3-l4",
        3 => "l4-only",
        4 => "all",
        5 => "l3-proto",
        6 => "proto-only",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn icmp(v6: bool, kind: u32, code: u32) -> String {
        let mut out = String::new();
        write_icmp_type_code(&mut out, v6, kind, code);
        out
    }

    #[test]
    fn icmp_names_are_gopackets() {
        assert_eq!(icmp(false, 8, 0), "EchoRequest");
        assert_eq!(icmp(false, 8, 1), "EchoRequest(Code: 1)");
        assert_eq!(icmp(false, 3, 3), "DestinationUnreachable(Port)");
        assert_eq!(icmp(false, 3, 99), "DestinationUnreachable(Code: 99)");
        assert_eq!(icmp(false, 42, 7), "42(7)");
        assert_eq!(icmp(true, 128, 0), "EchoRequest");
        assert_eq!(icmp(true, 1, 4), "DestinationUnreachable(PortUnreachable)");
        assert_eq!(icmp(true, 130, 0), "130(0)");
        // uint8(256 + 8) is 8.
        assert_eq!(icmp(false, 264, 0), "EchoRequest");
    }
}
