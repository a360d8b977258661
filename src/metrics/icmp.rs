//! `icmp`: `hubble_icmp_total` (`pkg/hubble/metrics/icmp`).

use crate::proto::flow::{Flow, layer4::Protocol};

use super::{Family, Handler, Options, Scratch, context::ContextOptions, names};

pub struct IcmpHandler {
    context: ContextOptions,
    families: [Family; 1],
}

impl IcmpHandler {
    pub fn new(options: &Options) -> Result<Self, super::MetricsError> {
        let context = ContextOptions::parse(options)?;
        let labels = context.after(&["family", "type"]);
        Ok(Self {
            context,
            families: [Family::counter(
                "hubble_icmp",
                "Number of ICMP messages",
                labels,
            )],
        })
    }
}

impl Handler for IcmpHandler {
    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
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
