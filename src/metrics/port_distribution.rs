//! `port-distribution`: `hubble_port_distribution_total`
//! (`pkg/hubble/metrics/port-distribution`).

use crate::proto::flow::{Flow, Verdict, layer4::Protocol};

use super::{
    Scratch,
    counter::{Count, Tally},
};

pub struct PortDistribution;

impl Count for PortDistribution {
    const NAME: &'static str = "hubble_port_distribution";
    const HELP: &'static str = "Numbers of packets distributed by destination port";
    const LABELS: &'static [&'static str] = &["protocol", "port"];

    fn count(flow: &Flow, scratch: &mut Scratch, tally: &mut Tally<'_>) {
        // A flow not known to be a request may be a reply to an
        // ephemeral port: Hubble leaves it out.
        let skip_reply = flow.is_reply.as_ref().is_none_or(|r| r.value);
        if (flow.verdict != Verdict::Forwarded as i32 && flow.verdict != Verdict::Redirected as i32)
            || skip_reply
        {
            return;
        }
        let (protocol, port) = match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
            Some(Protocol::Tcp(tcp)) => ("TCP", tcp.destination_port),
            Some(Protocol::Udp(udp)) => ("UDP", udp.destination_port),
            Some(Protocol::Sctp(sctp)) => ("SCTP", sctp.destination_port),
            Some(Protocol::IcmPv4(_)) => ("ICMPv4", 0),
            Some(Protocol::IcmPv6(_)) => ("ICMPv6", 0),
            _ => return,
        };
        let key = &mut scratch.key;
        key.clear();
        key.push(protocol);
        key.push_number(u64::from(port));
        tally.add(key);
    }
}
