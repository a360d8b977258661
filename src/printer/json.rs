//! `-o json` / `-o jsonpb`: proto3 JSON with proto field names, one
//! response per line, byte for byte as Hubble's `json.Encoder` writes it.

use std::io;

use super::gojson;

use crate::proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};

/// Writes `response` as one line of JSON. The response is written field by
/// field because protojson follows declaration order, where the oneof
/// (`flow`, ...) comes before `node_name` and `time`, while pbjson puts
/// oneofs last; keeping Hubble's order keeps diffs against its output clean.
pub fn write_response(out: &mut Vec<u8>, response: &GetFlowsResponse) -> io::Result<()> {
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, name: &str| {
        out.extend_from_slice(if first { b"{\"" } else { b",\"" });
        first = false;
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    };
    match &response.response_types {
        Some(ResponseTypes::Flow(flow)) => {
            key(out, "flow");
            gojson::extend_compact(out, flow)?;
        }
        Some(ResponseTypes::NodeStatus(status)) => {
            key(out, "node_status");
            gojson::extend_compact(out, status)?;
        }
        Some(ResponseTypes::LostEvents(lost)) => {
            key(out, "lost_events");
            gojson::extend_compact(out, lost)?;
        }
        None => {}
    }
    if !response.node_name.is_empty() {
        key(out, "node_name");
        gojson::extend_compact(out, &response.node_name)?;
    }
    if let Some(time) = &response.time {
        key(out, "time");
        gojson::extend_compact(out, time)?;
    }
    if first {
        out.push(b'{');
    }
    out.extend_from_slice(b"}\n");
    Ok(())
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
            response_types: Some(ResponseTypes::Flow(Box::new(Flow {
                node_name: "n1".into(),
                ..Flow::default()
            }))),
        };
        assert_eq!(
            line(&response),
            "{\"flow\":{\"node_name\":\"n1\"},\"node_name\":\"n1\",\"time\":\"1970-01-01T00:00:00Z\"}\n"
        );
    }

    #[test]
    fn html_characters_are_escaped_as_go_does() {
        let mut out = Vec::new();
        super::gojson::extend_compact(&mut out, &"a<b>&c\u{2028}\u{2029}é\"").unwrap();
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
            response_types: Some(ResponseTypes::Flow(Box::default())),
        };
        let ours: serde_json::Value = serde_json::from_str(&line(&response)).unwrap();
        assert_eq!(ours, serde_json::to_value(&response).unwrap());
    }
}
