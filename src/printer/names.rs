//! The names Hubble prints for numbers the datapath reports: drop reasons,
//! trace observation points, reserved security identities, policy match
//! types, and proto enum values. Taken from Cilium 1.19 (`pkg/monitor/api`,
//! `pkg/identity`), which is what the latest `hubble` prints.

use std::fmt::Write;

/// Drop reason texts by code (`pkg/monitor/api/drop.go`). Codes without a
/// text print as `CODE, 0`.
pub fn drop_reason(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "Success",
        2 => "Invalid packet",
        3 => "Interface",
        4 => "Interface Decrypted",
        5 => "LB, sock cgroup: No backend slot entry found",
        6 => "LB, sock cgroup: No backend entry found",
        7 => "LB, sock cgroup: Reverse entry update failed",
        8 => "LB, sock cgroup: Reverse entry stale",
        9 => "Fragmented packet",
        10 => "Fragmented packet entry update failed",
        11 => "Missed tail call to custom program",
        12 => "Interface Decrypting",
        13 => "Interface Encrypting",
        14 => "LB: sock cgroup: Reverse entry delete succeeded",
        15 => "MTU error message",
        130 => "Invalid source mac",
        131 => "Invalid destination mac",
        132 => "Invalid source ip",
        133 => "Policy denied",
        134 => "Invalid packet",
        135 => "CT: Truncated or invalid header",
        136 => "Fragmentation needed",
        137 => "CT: Unknown L4 protocol",
        138 => "CT: Can't create entry from packet",
        139 => "Unsupported L3 protocol",
        140 => "Missed tail call",
        141 => "Error writing to packet",
        142 => "Unknown L4 protocol",
        143 => "Unknown ICMPv4 code",
        144 => "Unknown ICMPv4 type",
        145 => "Unknown ICMPv6 code",
        146 => "Unknown ICMPv6 type",
        147 => "Error retrieving tunnel key",
        148 => "Error retrieving tunnel options",
        149 => "Invalid Geneve option",
        150 => "Unknown L3 target address",
        151 => "Stale or unroutable IP",
        152 => "No matching local container found",
        153 => "Error while correcting L3 checksum",
        154 => "Error while correcting L4 checksum",
        155 => "CT: Map insertion failed",
        156 => "Invalid IPv6 extension header",
        157 => "IP fragmentation not supported",
        158 => "Service backend not found",
        160 => "No tunnel/encapsulation endpoint (datapath BUG!)",
        161 => "NAT 46/64 not enabled",
        162 => "Reached EDT rate-limiting drop horizon",
        163 => "Unknown connection tracking state",
        164 => "Local host is unreachable",
        165 => "No configuration available to perform policy decision",
        166 => "Unsupported L2 protocol",
        167 => "No mapping for NAT masquerade",
        168 => "Unsupported protocol for NAT masquerade",
        169 => "FIB lookup failed",
        170 => "Encapsulation traffic is prohibited",
        171 => "Invalid identity",
        172 => "Unknown sender",
        173 => "NAT not needed",
        174 => "Is a ClusterIP",
        175 => "First logical datagram fragment not found",
        176 => "Forbidden ICMPv6 message",
        177 => "Denied by LB src range check",
        178 => "Socket lookup failed",
        179 => "Socket assign failed",
        180 => "Proxy redirection not supported for protocol",
        181 => "Policy denied by denylist",
        182 => "VLAN traffic disallowed by VLAN filter",
        183 => "Incorrect VNI from VTEP",
        184 => "Failed to update or lookup TC buffer",
        185 => "No SID was found for the IP address",
        186 => "SRv6 state was removed during tail call",
        187 => "L3 translation from IPv4 to IPv6 failed (NAT46)",
        188 => "L3 translation from IPv6 to IPv4 failed (NAT64)",
        189 => "Authentication required",
        190 => "No conntrack map found",
        191 => "No nat map found",
        192 => "Invalid ClusterID",
        193 => "Unsupported packet protocol for DSR encapsulation",
        194 => "No egress gateway found",
        195 => "Traffic is unencrypted",
        196 => "TTL exceeded",
        197 => "No node ID found",
        198 => "Rate limited",
        199 => "IGMP handled",
        200 => "IGMP subscribed",
        201 => "Multicast handled",
        202 => "Host datapath not ready",
        203 => "Endpoint policy program not available",
        204 => "No Egress IP configured",
        205 => "Punt to proxy",
        _ => return None,
    })
}

/// Writes the drop reason of a drop event's sub-type, as Hubble does.
pub fn write_drop_reason(out: &mut String, code: u8) {
    match drop_reason(code) {
        Some(text) => out.push_str(text),
        None => {
            let _ = write!(out, "{code}, 0");
        }
    }
}

/// Trace observation point names by sub-type of a trace event
/// (`pkg/monitor/api/types.go`).
pub fn trace_observation_point(point: u8) -> Option<&'static str> {
    Some(match point {
        0 => "to-endpoint",
        1 => "to-proxy",
        2 => "to-host",
        3 => "to-stack",
        4 => "to-overlay",
        5 => "from-endpoint",
        6 => "from-proxy",
        7 => "from-host",
        8 => "from-stack",
        9 => "from-overlay",
        10 => "from-network",
        11 => "to-network",
        12 => "from-crypto",
        13 => "to-crypto",
        _ => return None,
    })
}

/// Names of the reserved security identities (`pkg/identity`); any other
/// identity prints as `ID:n`.
pub fn reserved_identity(identity: u32) -> Option<&'static str> {
    Some(match identity {
        0 => "unknown",
        1 => "host",
        2 => "world",
        3 => "unmanaged",
        4 => "health",
        5 => "init",
        6 => "remote-node",
        7 => "kube-apiserver",
        8 => "ingress",
        9 => "world-ipv4",
        10 => "world-ipv6",
        _ => return None,
    })
}

/// What a policy verdict matched on (`api.PolicyMatchType`).
pub fn policy_match_type(kind: u32) -> &'static str {
    match kind {
        0 => "none",
        1 => "L3-Only",
        2 => "L3-L4",
        3 => "L4-Only",
        4 => "all",
        5 => "L3-Proto",
        6 => "Proto-Only",
        _ => "unknown",
    }
}

/// Writes a proto enum value as Go's generated `String()` does: its name
/// when known, else its number.
pub fn write_enum(out: &mut String, name: Option<&str>, value: i32) {
    match name {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "{value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_drop_reasons_print_their_code() {
        let mut out = String::new();
        write_drop_reason(&mut out, 206);
        assert_eq!(out, "206, 0");
        out.clear();
        write_drop_reason(&mut out, 133);
        assert_eq!(out, "Policy denied");
    }

    #[test]
    fn latest_names_are_known() {
        assert_eq!(reserved_identity(9), Some("world-ipv4"));
        assert_eq!(reserved_identity(11), None);
        assert_eq!(trace_observation_point(13), Some("to-crypto"));
        assert_eq!(trace_observation_point(14), None);
        assert_eq!(drop_reason(190), Some("No conntrack map found"));
        assert_eq!(policy_match_type(7), "unknown");
    }
}
