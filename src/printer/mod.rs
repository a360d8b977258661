//! Hubble's output formats, byte for byte.
//!
//! Each record is rendered into a reused string, then written through the
//! terminal escaper into a buffered writer: no allocation per flow once the
//! string has grown to the longest record.

mod compact;
mod dict;
mod events;
mod flow;
mod gojson;
pub(super) mod json;
pub(crate) mod names;
mod nodes;
mod raw_filters;
mod server_status;
mod status;
mod style;
mod table;
mod tabwriter;
mod time;
mod wire_json;

use std::io::{self, Write};

use self::flow::FlowRenderer;
pub use self::raw_filters::write_raw_filters;
pub use self::{
    events::EventPrinter,
    nodes::{ListFormat, write_namespaces, write_nodes, write_peer_change},
    server_status::{StatusFormat, write_server_status},
};
/// The pieces other rooms reuse to name what they show as compact output
/// names it (`aggregate`, `hubl top`).
pub use self::{
    flow::{HostName, Side, push_path_join as write_path_join, write_host_name},
    names::{drop_reason, reserved_identity, write_drop_reason},
    style::Style,
    tabwriter::TabWriter,
    time::write_time,
};
use crate::proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};

/// The output format (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per flow.
    Compact,
    /// `KEY: VALUE` blocks separated by dashes.
    Dict,
    /// Tab-aligned columns, written when the stream ends.
    Table,
    /// proto3 JSON, one response per line (`json` and `jsonpb`).
    Json,
}

/// How timestamps are written (`--time-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    StampMilli,
    YearMonthDay,
    YearMonthDayHour,
    YearMonthDayHourMinute,
    Rfc3339,
    Rfc3339Milli,
    Rfc3339Micro,
    Rfc3339Nano,
    Rfc1123Z,
}

/// Everything that shapes the output.
#[derive(Debug, Clone, Copy)]
pub struct PrintOptions {
    pub format: Format,
    pub time_format: TimeFormat,
    pub node_name: bool,
    pub policy_names: bool,
    /// Colours for compact and dict output (never for the table).
    pub color: bool,
    pub ip_translation: bool,
    /// Show every node status event, not only errors (`--debug`).
    pub debug: bool,
}

/// What the format modules need to render a record.
struct Context {
    options: PrintOptions,
    renderer: FlowRenderer,
    /// Records written so far: the table header and dict separators depend
    /// on it.
    records: u64,
    flow_times: time::FlowTimes,
}

/// Writes responses in the chosen format: flows to `out`, node status
/// events to `err`.
pub struct Printer<W: Write, E: Write> {
    context: Context,
    scratch: String,
    /// JSON is serialised here, then written at once: many small writes
    /// straight into a BufWriter cost more than one copy.
    json: Vec<u8>,
    wire_json: wire_json::WireJson,
    table: Option<TabWriter>,
    out: W,
    err: E,
}

impl<W: Write, E: Write> Printer<W, E> {
    pub fn new(options: PrintOptions, out: W, err: E) -> Self {
        let color = options.color && matches!(options.format, Format::Compact | Format::Dict);
        Self {
            context: Context {
                options,
                renderer: FlowRenderer {
                    style: Style { color },
                    ip_translation: options.ip_translation,
                    policy_names: options.policy_names,
                },
                records: 0,
                flow_times: time::FlowTimes::default(),
            },
            scratch: String::with_capacity(512),
            json: Vec::with_capacity(2048),
            wire_json: wire_json::WireJson::default(),
            table: (options.format == Format::Table).then(TabWriter::new),
            out,
            err,
        }
    }

    /// Writes one response: a flow, a node status event or a lost-events
    /// notice. Responses of other kinds print nothing.
    pub fn write_response(&mut self, response: &GetFlowsResponse) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let result = self.write_with(&mut scratch, response);
        self.scratch = scratch;
        result
    }

    fn write_with(&mut self, text: &mut String, response: &GetFlowsResponse) -> io::Result<()> {
        let format = self.context.options.format;
        let context = &self.context;
        match &response.response_types {
            Some(ResponseTypes::Flow(flow)) => {
                match format {
                    Format::Json => return self.write_json(response, false),
                    Format::Compact => compact::render_flow(context, text, flow),
                    Format::Dict => dict::render_flow(context, text, flow),
                    Format::Table => table::render_flow(context, text, flow),
                }
                self.emit(text)?;
                self.context.records += 1;
            }
            Some(ResponseTypes::LostEvents(lost)) => {
                match format {
                    Format::Json => return self.write_json(response, false),
                    Format::Compact => compact::render_lost_events(context, text, response, lost),
                    Format::Dict => dict::render_lost_events(context, text, response, lost),
                    Format::Table => table::render_lost_events(context, text, response, lost),
                }
                self.emit(text)?;
                self.context.records += 1;
            }
            Some(ResponseTypes::NodeStatus(event)) => {
                if !self.context.options.debug && !status::is_trouble(event) {
                    return Ok(());
                }
                // Flows already buffered come first, as they came first.
                self.out.flush()?;
                match format {
                    Format::Json => return self.write_json(response, true),
                    Format::Dict => {
                        dict::render_node_status(context, text, response, event);
                        if self.context.records == 0 {
                            self.context.records = 1;
                        }
                    }
                    Format::Compact | Format::Table => {
                        compact::render_node_status(context, text, response, event)
                    }
                }
                self.context
                    .renderer
                    .style
                    .write_escaped(&mut self.err, text)?;
                self.err.flush()?;
            }
            None => {}
        }
        Ok(())
    }

    /// Writes a response received as `bytes` as a line of JSON written
    /// straight from them, when the format is JSON and the response is a
    /// flow that `wire_json` takes. `false` (nothing written) otherwise: the
    /// caller decodes the response for `write_response`.
    pub fn write_wire_json(&mut self, bytes: &[u8]) -> io::Result<bool> {
        if self.context.options.format != Format::Json {
            return Ok(false);
        }
        self.json.clear();
        if self
            .wire_json
            .write_response(&mut self.json, bytes)
            .is_err()
        {
            return Ok(false);
        }
        self.out.write_all(&self.json)?;
        Ok(true)
    }

    /// One response as a line of JSON, to stdout or (node status) stderr.
    fn write_json(&mut self, response: &GetFlowsResponse, to_err: bool) -> io::Result<()> {
        self.json.clear();
        json::write_response(&mut self.json, response)?;
        match to_err {
            true => self.err.write_all(&self.json),
            false => self.out.write_all(&self.json),
        }
    }

    fn emit(&mut self, text: &str) -> io::Result<()> {
        match &mut self.table {
            Some(table) => {
                let mut escaped = Vec::with_capacity(text.len());
                self.context
                    .renderer
                    .style
                    .write_escaped(&mut escaped, text)?;
                table.write(&mut self.out, &escaped)
            }
            None => self
                .context
                .renderer
                .style
                .write_escaped(&mut self.out, text),
        }
    }

    /// Flushes what is buffered, so that output appears while the stream is
    /// idle.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.err.flush()
    }

    /// Ends the output (the table is written here) and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(table) = &mut self.table {
            table.flush(&mut self.out)?;
        }
        self.flush()
    }
}
