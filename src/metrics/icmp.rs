//! `icmp`: `hubble_icmp_total` (`pkg/hubble/metrics/icmp`).

use crate::proto::flow::{Flow, layer4::Protocol};

use super::{
    Scratch,
    counter::{Count, Tally},
    names,
};

pub struct Icmp;

impl Count for Icmp {
    const NAME: &'static str = "hubble_icmp";
    const HELP: &'static str = "Number of ICMP messages";
    const LABELS: &'static [&'static str] = &["family", "type"];

    fn count(flow: &Flow, scratch: &mut Scratch, tally: &mut Tally<'_>) {
        let (v6, kind, code) = match flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()) {
            Some(Protocol::IcmPv4(icmp)) => (false, icmp.r#type, icmp.code),
            Some(Protocol::IcmPv6(icmp)) => (true, icmp.r#type, icmp.code),
            _ => return,
        };
        scratch.text.clear();
        names::write_icmp_type_code(&mut scratch.text, v6, kind, code);
        let key = &mut scratch.key;
        key.clear();
        // Hubble's handler labels ICMPv6 messages family="IPv4" too; kept
        // so that dashboards built on agents' metrics match.
        key.push("IPv4");
        key.push(&scratch.text);
        tally.add(key);
    }
}
