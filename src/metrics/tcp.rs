//! `tcp`: `hubble_tcp_flags_total` (`pkg/hubble/metrics/tcp`).

use crate::proto::flow::{Flow, Verdict, layer4::Protocol};

use super::{Family, Handler, Options, Scratch, context::ContextOptions, flow::push_enum, names};

pub struct TcpHandler {
    context: ContextOptions,
    families: [Family; 1],
}

impl TcpHandler {
    pub fn new(options: &Options) -> Result<Self, super::MetricsError> {
        let context = ContextOptions::parse(options)?;
        let labels = context.after(&["flag", "family"]);
        Ok(Self {
            context,
            families: [Family::counter(
                "hubble_tcp_flags",
                "TCP flag occurrences",
                labels,
            )],
        })
    }
}

impl Handler for TcpHandler {
    fn process(&mut self, flow: &Flow, scratch: &mut Scratch) {
        if flow.verdict != Verdict::Forwarded as i32 && flow.verdict != Verdict::Redirected as i32 {
            return;
        }
        let (Some(ip), Some(Protocol::Tcp(tcp))) = (
            flow.ip.as_ref(),
            flow.l4.as_ref().and_then(|l4| l4.protocol.as_ref()),
        ) else {
            return;
        };
        let Some(flags) = tcp.flags.as_ref() else {
            return;
        };
        // One count per flag: FIN, then SYN or SYN-ACK, then RST.
        let mut counted = [None; 3];
        if flags.fin {
            counted[0] = Some("FIN");
        }
        if flags.syn {
            counted[1] = Some(if flags.ack { "SYN-ACK" } else { "SYN" });
        }
        if flags.rst {
            counted[2] = Some("RST");
        }
        for flag in counted.into_iter().flatten() {
            let key = &mut scratch.key;
            key.clear();
            key.push(flag);
            push_enum(key, names::ip_version(ip.ip_version), ip.ip_version);
            self.context.push_values(flow, false, key);
            self.families[0].add(key, 1, scratch.now);
        }
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
