//! Pieces of the records that are not flows: node status events from
//! hubble-relay and lost-events notices, shared by the text formats.

use std::fmt::Write;

use super::{TimeFormat, names, time::write_time};
use crate::proto::{
    flow::{LostEvent, LostEventSource},
    relay::{NodeState, NodeStatusEvent},
};

/// Hubble lists node names up to about this many bytes, then says how many
/// it left out.
const NODE_NAMES_CUT_OFF: usize = 50;

pub(super) fn write_lost_source(out: &mut String, lost: &LostEvent) {
    let source = LostEventSource::try_from(lost.source).ok();
    names::write_enum(out, source.map(|s| s.as_str_name()), lost.source);
}

pub(super) fn lost_cpu(lost: &LostEvent) -> i32 {
    lost.cpu.as_ref().map_or(0, |cpu| cpu.value)
}

/// ` (first: T, last: T)` when the event says when the loss began and ended.
pub(super) fn write_lost_range(out: &mut String, lost: &LostEvent, format: TimeFormat) {
    if let (Some(first), Some(last)) = (&lost.first, &lost.last) {
        out.push_str(" (first: ");
        write_time(out, Some(first), format);
        out.push_str(", last: ");
        write_time(out, Some(last), format);
        out.push(')');
    }
}

pub(super) fn node_or_dash(name: &str) -> &str {
    if name.is_empty() { "-" } else { name }
}

pub(super) fn write_node_state(out: &mut String, event: &NodeStatusEvent) {
    let state = NodeState::try_from(event.state_change).ok();
    names::write_enum(out, state.map(|s| s.as_str_name()), event.state_change);
}

/// Whether Hubble shows this state without `--debug`: only trouble.
pub(super) fn is_trouble(event: &NodeStatusEvent) -> bool {
    matches!(
        NodeState::try_from(event.state_change),
        Ok(NodeState::NodeError | NodeState::NodeUnavailable)
    )
}

/// The message of a node status line in compact and table output.
pub(super) fn write_node_status_message(out: &mut String, event: &NodeStatusEvent) {
    let count = event.node_names.len();
    match NodeState::try_from(event.state_change) {
        Ok(NodeState::NodeConnected) => {
            let _ = write!(out, "Receiving flows from {count} nodes: ");
        }
        Ok(NodeState::NodeUnavailable) => {
            let _ = write!(out, "{count} nodes are unavailable: ");
        }
        Ok(NodeState::NodeGone) => {
            let _ = write!(out, "{count} nodes removed from cluster: ");
        }
        Ok(NodeState::NodeError) => {
            out.push_str("Error ");
            push_go_quoted(out, &event.message);
            let _ = write!(out, " on {count} nodes: ");
        }
        Ok(NodeState::UnknownNodeState) | Err(_) => {
            // Hubble prints the event in protobuf text format here.
            out.push_str("unknown node status event: state_change:");
            write_node_state(out, event);
            for name in &event.node_names {
                out.push_str(" node_names:");
                push_go_quoted(out, name);
            }
            if !event.message.is_empty() {
                out.push_str(" message:");
                push_go_quoted(out, &event.message);
            }
            return;
        }
    }
    write_node_names(out, &event.node_names);
}

/// Node names joined by `, `, cut after about 50 bytes with
/// ` (and N more)`; at least one name is always shown.
pub(super) fn write_node_names(out: &mut String, names: &[String]) {
    let mut length = 0;
    let mut shown = names.len();
    for (index, name) in names.iter().enumerate() {
        length += name.len() + 2;
        if length > NODE_NAMES_CUT_OFF && index > 0 {
            shown = index;
            break;
        }
    }
    for (index, name) in names[..shown].iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
    }
    if shown < names.len() {
        let _ = write!(out, " (and {} more)", names.len() - shown);
    }
}

/// A double-quoted string with Go's `strconv.Quote` escapes.
pub(super) fn push_go_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_cut_after_fifty_bytes() {
        let names: Vec<String> = (0..10).map(|i| format!("kube-ovn-worker{i}")).collect();
        let mut out = String::new();
        write_node_names(&mut out, &names);
        assert_eq!(out, "kube-ovn-worker0, kube-ovn-worker1 (and 8 more)");
        out.clear();
        write_node_names(&mut out, &["a".repeat(80)]);
        assert_eq!(out, "a".repeat(80));
    }

    #[test]
    fn quoting_follows_go() {
        let mut out = String::new();
        push_go_quoted(&mut out, "a\"b\\c\n\x01\u{85}é");
        assert_eq!(out, r#""a\"b\\c\n\x01\u0085é""#);
    }
}
