//! `-o json` / `-o jsonpb`: proto3 JSON with proto field names, one
//! response per line, byte for byte as Hubble's `json.Encoder` writes it.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

use crate::proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};

/// Writes `response` as one line of JSON. The response is written field by
/// field because protojson follows declaration order, where the oneof
/// (`flow`, ...) comes before `node_name` and `time`, while pbjson puts
/// oneofs last; keeping Hubble's order keeps diffs against its output clean.
pub fn write_response(out: &mut impl Write, response: &GetFlowsResponse) -> io::Result<()> {
    let mut first = true;
    let mut key = |out: &mut dyn Write, name: &str| -> io::Result<()> {
        out.write_all(if first { b"{\"" } else { b",\"" })?;
        first = false;
        out.write_all(name.as_bytes())?;
        out.write_all(b"\":")
    };
    match &response.response_types {
        Some(ResponseTypes::Flow(flow)) => {
            key(out, "flow")?;
            write_value(out, flow)?;
        }
        Some(ResponseTypes::NodeStatus(status)) => {
            key(out, "node_status")?;
            write_value(out, status)?;
        }
        Some(ResponseTypes::LostEvents(lost)) => {
            key(out, "lost_events")?;
            write_value(out, lost)?;
        }
        None => {}
    }
    if !response.node_name.is_empty() {
        key(out, "node_name")?;
        write_value(out, &response.node_name)?;
    }
    if let Some(time) = &response.time {
        key(out, "time")?;
        write_value(out, time)?;
    }
    if first {
        out.write_all(b"{")?;
    }
    out.write_all(b"}\n")
}

fn write_value(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    value
        .serialize(&mut Serializer::with_formatter(out, GoFormatter))
        .map_err(io::Error::from)
}

/// Compact JSON with Go's HTML-safe escapes: `<`, `>`, `&`, U+2028 and
/// U+2029 as `\u` sequences, as `encoding/json` writes them by default.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            let escape: &[u8] = match byte {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
                0xe2 if bytes[index..].starts_with(b"\xe2\x80\xa8") => b"\\u2028",
                0xe2 if bytes[index..].starts_with(b"\xe2\x80\xa9") => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&bytes[start..index])?;
            writer.write_all(escape)?;
            start = index + if byte == 0xe2 { 3 } else { 1 };
        }
        writer.write_all(&bytes[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Timestamp, flow::Flow};

    fn line(response: &GetFlowsResponse) -> String {
        let mut out = Vec::new();
        write_response(&mut out, response).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_in_declaration_order() {
        let response = GetFlowsResponse {
            node_name: "n1".into(),
            time: Some(Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            response_types: Some(ResponseTypes::Flow(Flow {
                node_name: "n1".into(),
                ..Flow::default()
            })),
        };
        assert_eq!(
            line(&response),
            "{\"flow\":{\"node_name\":\"n1\"},\"node_name\":\"n1\",\"time\":\"1970-01-01T00:00:00Z\"}\n"
        );
    }

    #[test]
    fn html_characters_are_escaped_as_go_does() {
        let mut out = Vec::new();
        write_value(&mut out, &"a<b>&c\u{2028}\u{2029}é\"").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\u003cb\u003e\u0026c\u2028\u2029é\"""#
        );
    }

    #[test]
    fn empty_response_is_an_empty_object() {
        assert_eq!(line(&GetFlowsResponse::default()), "{}\n");
    }

    #[test]
    fn agrees_with_the_generated_serializer() {
        let response = GetFlowsResponse {
            node_name: "n1".into(),
            time: None,
            response_types: Some(ResponseTypes::Flow(Flow::default())),
        };
        let ours: serde_json::Value = serde_json::from_str(&line(&response)).unwrap();
        assert_eq!(ours, serde_json::to_value(&response).unwrap());
    }
}
