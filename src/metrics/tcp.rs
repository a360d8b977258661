//! `tcp`: `hubble_tcp_flags_total` (`pkg/hubble/metrics/tcp`).

use crate::proto::flow::{Flow, Verdict, layer4::Protocol};

use super::{
    Scratch,
    counter::{Count, Tally},
    flow::push_enum,
    names,
};

pub struct Tcp;

impl Count for Tcp {
    const NAME: &'static str = "hubble_tcp_flags";
    const HELP: &'static str = "TCP flag occurrences";
    const LABELS: &'static [&'static str] = &["flag", "family"];

    fn count(flow: &Flow, scratch: &mut Scratch, tally: &mut Tally<'_>) {
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
            tally.add(key);
        }
    }
}
