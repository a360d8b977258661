//! `port-distribution`: `hubble_port_distribution_total`
//! (`pkg/hubble/metrics/port-distribution`).

use crate::proto::flow::{Flow, Verdict, layer4::Protocol};

use super::{Family, Handler, Options, Scratch, context::ContextOptions};

pub struct PortDistributionHandler {
    context: ContextOptions,
    families: [Family; 1],
}

impl PortDistributionHandler {
    pub fn new(options: &Options) -> Result<Self, super::MetricsError> {
        let context = ContextOptions::parse(options)?;
        let labels = context.after(&["protocol", "port"]);
        Ok(Self {
            context,
            families: [Family::counter(
                "hubble_port_distribution",
                "Numbers of packets distributed by destination port",
                labels,
            )],
        })
    }
}

impl Handler for PortDistributionHandler {
    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
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
        self.context.push_values(flow, false, key);
        self.families[0].add(key, 1, scratch.now);
    }

    fn families(&self) -> &[Family] {
        &self.families
    }

    fn families_mut(&mut self) -> &mut [Family] {
        &mut self.families
    }

    fn context(&self) -> &ContextOptions {
        &self.context
    }
}
