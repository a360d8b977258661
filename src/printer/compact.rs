//! `-o compact`, the default: one line per event.
//!
//! `TIME [NODE]: SRC (ID) -> DST (ID) TYPE VERDICT (SUMMARY)`

use std::fmt::Write;

use super::{
    Context,
    flow::{FlowRenderer, Side, write_flow_type},
    status,
    time::write_time,
};
use crate::proto::{
    flow::{Flow, LostEvent},
    observer::GetFlowsResponse,
    relay::NodeStatusEvent,
};

pub(super) fn render_flow(printer: &Context, out: &mut String, flow: &Flow) {
    let options = &printer.options;
    let renderer: &FlowRenderer = &printer.renderer;
    printer
        .flow_times
        .write(out, flow.time.as_ref(), options.time_format);
    if options.node_name {
        out.push_str(" [");
        out.push_str(&flow.node_name);
        out.push(']');
    }
    out.push_str(": ");
    // Replies are shown from the original sender's point of view; flows of
    // unknown direction get `<>`.
    let (first, arrow, second) = match flow.is_reply.as_ref().map(|reply| reply.value) {
        None => (Side::Source, "<>", Side::Destination),
        Some(false) => (Side::Source, "->", Side::Destination),
        Some(true) => (Side::Destination, "<-", Side::Source),
    };
    renderer.write_host(out, flow, first);
    out.push(' ');
    renderer.write_identity(out, flow, first);
    out.push(' ');
    out.push_str(arrow);
    out.push(' ');
    renderer.write_host(out, flow, second);
    out.push(' ');
    renderer.write_identity(out, flow, second);
    out.push(' ');
    write_flow_type(out, flow);
    out.push(' ');
    renderer.write_verdict(out, flow);
    out.push_str(" (");
    renderer.write_summary(out, flow);
    out.push_str(")\n");
}

pub(super) fn render_lost_events(
    printer: &Context,
    out: &mut String,
    response: &GetFlowsResponse,
    lost: &LostEvent,
) {
    write_time(out, response.time.as_ref(), printer.options.time_format);
    out.push_str(" EVENTS LOST: ");
    status::write_lost_source(out, lost);
    let _ = write!(
        out,
        " CPU({}) {}",
        status::lost_cpu(lost),
        lost.num_events_lost
    );
    status::write_lost_range(out, lost, printer.options.time_format);
    out.push('\n');
}

/// Node status for compact and table output: one line on stderr.
pub(super) fn render_node_status(
    printer: &Context,
    out: &mut String,
    response: &GetFlowsResponse,
    event: &NodeStatusEvent,
) {
    write_time(out, response.time.as_ref(), printer.options.time_format);
    out.push_str(" [");
    out.push_str(&response.node_name);
    out.push_str("]: ");
    status::write_node_status_message(out, event);
    out.push('\n');
}
