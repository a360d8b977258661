//! `-o dict`: one `KEY: VALUE` block per event, blocks separated by a line
//! of dashes.

use std::fmt::Write;

use super::{
    Context,
    flow::{Side, write_flow_type},
    status,
    time::write_time,
};
use crate::proto::{
    flow::{Flow, LostEvent},
    observer::GetFlowsResponse,
    relay::NodeStatusEvent,
};

pub(super) const SEPARATOR: &str = "------------\n";

pub(super) fn render_flow(printer: &Context, out: &mut String, flow: &Flow) {
    let options = &printer.options;
    let renderer = &printer.renderer;
    if printer.records > 0 {
        out.push_str(SEPARATOR);
    }
    out.push_str("  TIMESTAMP: ");
    printer
        .flow_times
        .write(out, flow.time.as_ref(), options.time_format);
    if options.node_name {
        out.push_str("\n       NODE: ");
        out.push_str(&flow.node_name);
    }
    out.push_str("\n     SOURCE: ");
    renderer.write_host(out, flow, Side::Source);
    out.push_str("\nDESTINATION: ");
    renderer.write_host(out, flow, Side::Destination);
    out.push_str("\n       TYPE: ");
    write_flow_type(out, flow);
    out.push_str("\n    VERDICT: ");
    renderer.write_verdict(out, flow);
    out.push_str("\n    SUMMARY: ");
    renderer.write_summary(out, flow);
    out.push('\n');
}

pub(super) fn render_lost_events(
    printer: &Context,
    out: &mut String,
    response: &GetFlowsResponse,
    lost: &LostEvent,
) {
    let options = &printer.options;
    if printer.records > 0 {
        out.push_str(SEPARATOR);
    }
    out.push_str("  TIMESTAMP: ");
    write_time(out, response.time.as_ref(), options.time_format);
    if options.node_name {
        out.push_str("\n       NODE: ");
        out.push_str(status::node_or_dash(&response.node_name));
    }
    out.push_str("\n     SOURCE: ");
    status::write_lost_source(out, lost);
    out.push_str("\n       TYPE: EVENTS LOST\n    VERDICT: -\n    SUMMARY: ");
    let _ = write!(
        out,
        "CPU({}) - {}",
        status::lost_cpu(lost),
        lost.num_events_lost
    );
    status::write_lost_range(out, lost, options.time_format);
    out.push('\n');
}

/// The node status block, written to stderr; the separator goes there too,
/// so that it still separates records when both streams share a terminal.
pub(super) fn render_node_status(
    printer: &Context,
    out: &mut String,
    response: &GetFlowsResponse,
    event: &NodeStatusEvent,
) {
    if printer.records > 0 {
        out.push_str(SEPARATOR);
    }
    out.push_str("  TIMESTAMP: ");
    write_time(out, response.time.as_ref(), printer.options.time_format);
    out.push_str("\n      STATE: ");
    status::write_node_state(out, event);
    out.push_str("\n      NODES: ");
    status::write_node_names(out, &event.node_names);
    out.push_str("\n    MESSAGE: ");
    if event.message.is_empty() {
        out.push_str("N/A");
    } else {
        status::push_go_quoted(out, &event.message);
    }
    out.push('\n');
}
