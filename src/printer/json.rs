//! `-o json` / `-o jsonpb`: proto3 JSON with proto field names.

use std::io::{self, Write};

use crate::proto::observer::GetFlowsResponse;

/// Writes `response` as one line of JSON.
pub fn write_response(out: &mut impl Write, response: &GetFlowsResponse) -> io::Result<()> {
    serde_json::to_writer(&mut *out, response).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
