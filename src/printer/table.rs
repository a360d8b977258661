//! `-o table`: aligned columns under a header, written when the stream ends.

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
};

fn render_header(printer: &Context, out: &mut String) {
    if printer.records > 0 {
        return;
    }
    out.push_str("TIMESTAMP\t");
    if printer.options.node_name {
        out.push_str("NODE\t");
    }
    out.push_str("SOURCE\tDESTINATION\tTYPE\tVERDICT\tSUMMARY\n");
}

pub(super) fn render_flow(printer: &Context, out: &mut String, flow: &Flow) {
    let renderer = &printer.renderer;
    render_header(printer, out);
    printer
        .flow_times
        .write(out, flow.time.as_ref(), printer.options.time_format);
    out.push('\t');
    if printer.options.node_name {
        out.push_str(&flow.node_name);
        out.push('\t');
    }
    renderer.write_host(out, flow, Side::Source);
    out.push('\t');
    renderer.write_host(out, flow, Side::Destination);
    out.push('\t');
    write_flow_type(out, flow);
    out.push('\t');
    renderer.write_verdict(out, flow);
    out.push('\t');
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
    render_header(printer, out);
    write_time(out, response.time.as_ref(), options.time_format);
    out.push('\t');
    if options.node_name {
        out.push_str(status::node_or_dash(&response.node_name));
        out.push('\t');
    }
    status::write_lost_source(out, lost);
    out.push_str("\t-\tEVENTS LOST\t-\t");
    let _ = write!(
        out,
        "CPU({}) - {}",
        status::lost_cpu(lost),
        lost.num_events_lost
    );
    status::write_lost_range(out, lost, options.time_format);
    out.push('\n');
}
