//! Field masks: a relay sends only the flow fields a request asks for
//! (`--field-mask`, or the default mask of compact, dict and table output),
//! which is much less to encode, send and decode.
//!
//! The capture holds responses encoded, so a mask is applied to the
//! encoding: the fields kept are copied as they are, in their order, which
//! is the encoding prost gives the masked flow, and nothing is decoded.

use bytes::{BufMut, BytesMut};
use prost::encoding::{
    WireType, decode_key, decode_varint, encode_key, encode_varint, encoded_len_varint,
};
use tonic::Status;

use crate::proto::message_descriptor;

/// GetFlowsResponse's field that holds a flow.
const FLOW_FIELD: u32 = 1;

/// A request's field mask, checked once: top-level flow fields, or one
/// field of the source or destination endpoint.
pub struct FieldMask {
    /// The flow fields kept whole, by number.
    whole: Tags,
    /// The endpoints kept in part, by number, and their fields kept.
    parts: Vec<(u32, Tags)>,
}

/// A set of field numbers, looked up for every field of every flow sent:
/// a bit for the low numbers that most fields have.
#[derive(Default)]
struct Tags {
    low: u64,
    high: Vec<u32>,
}

impl Tags {
    fn insert(&mut self, tag: u32) {
        if tag < 64 {
            self.low |= 1 << tag;
        } else if !self.high.contains(&tag) {
            self.high.push(tag);
        }
    }

    fn contains(&self, tag: u32) -> bool {
        if tag < 64 {
            self.low & (1 << tag) != 0
        } else {
            self.high.contains(&tag)
        }
    }
}

/// An encoding that is not protobuf: a bug in the store, as it only holds
/// what prost encoded.
#[derive(Debug, thiserror::Error)]
#[error("a stored response is not valid protobuf")]
pub struct Malformed;

impl From<prost::DecodeError> for Malformed {
    fn from(_: prost::DecodeError) -> Self {
        Self
    }
}

impl FieldMask {
    /// Checks the paths against Flow's fields; `None` keeps every field.
    pub fn new(paths: &[String]) -> Result<Option<Self>, Status> {
        if paths.is_empty() {
            return Ok(None);
        }
        let number = |message: &str, name: &str| {
            message_descriptor(message)?
                .field
                .iter()
                .find(|field| field.name() == name)
                .and_then(|field| u32::try_from(field.number()).ok())
        };
        let mut mask = Self {
            whole: Tags::default(),
            parts: Vec::new(),
        };
        for path in paths {
            let invalid = || {
                Status::invalid_argument(format!(
                    "invalid field mask path {path:?} for message flow.Flow"
                ))
            };
            let (field, sub_field) = match path.split_once('.') {
                Some((field, sub)) => (field, Some(sub)),
                None => (path.as_str(), None),
            };
            let tag = number("flow.Flow", field).ok_or_else(invalid)?;
            match sub_field {
                None => mask.whole.insert(tag),
                Some(sub) if matches!(field, "source" | "destination") => {
                    let sub = number("flow.Endpoint", sub).ok_or_else(invalid)?;
                    match mask.parts.iter_mut().find(|(kept, _)| *kept == tag) {
                        Some((_, fields)) => fields.insert(sub),
                        None => {
                            let mut fields = Tags::default();
                            fields.insert(sub);
                            mask.parts.push((tag, fields));
                        }
                    }
                }
                Some(_) => return Err(invalid()),
            }
        }
        Ok(Some(mask))
    }

    /// Appends `response` (a GetFlowsResponse's encoding) to `out` with its
    /// flow masked; responses other than flows are appended whole.
    pub fn apply(&self, response: &[u8], out: &mut BytesMut) -> Result<(), Malformed> {
        for field in fields(response) {
            let field = field?;
            if field.tag == FLOW_FIELD && field.wire_type == WireType::LengthDelimited {
                nested(out, FLOW_FIELD, field.payload.len(), |out| {
                    self.write_flow(field.payload, out)
                })?;
            } else {
                out.put_slice(field.raw);
            }
        }
        Ok(())
    }

    /// Appends the kept fields of `flow`, in their order.
    fn write_flow(&self, flow: &[u8], out: &mut BytesMut) -> Result<(), Malformed> {
        for field in fields(flow) {
            let field = field?;
            // A whole field takes in any of its parts.
            if self.whole.contains(field.tag) {
                out.put_slice(field.raw);
                continue;
            }
            let Some((_, kept)) = self.parts.iter().find(|(tag, _)| *tag == field.tag) else {
                continue;
            };
            if field.wire_type != WireType::LengthDelimited {
                return Err(Malformed);
            }
            nested(out, field.tag, field.payload.len(), |out| {
                for sub in fields(field.payload) {
                    let sub = sub?;
                    if kept.contains(sub.tag) {
                        out.put_slice(sub.raw);
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Appends a message field `tag` whose value, at most `most` bytes long,
/// `write` appends: in one pass, with room for the longest length, the
/// value moved back if its length takes fewer bytes (as prost writes the
/// shortest).
fn nested(
    out: &mut BytesMut,
    tag: u32,
    most: usize,
    write: impl FnOnce(&mut BytesMut) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    encode_key(tag, WireType::LengthDelimited, out);
    let at = out.len();
    let room = encoded_len_varint(most as u64);
    out.put_bytes(0, room);
    write(out)?;
    let len = out.len() - at - room;
    let used = encoded_len_varint(len as u64);
    // Only a value longer than `most` needs more room: a bug, refused
    // rather than written over.
    if used > room {
        return Err(Malformed);
    }
    out.copy_within(at + room.., at + used);
    out.truncate(at + used + len);
    let mut length = &mut out[at..at + used];
    encode_varint(len as u64, &mut length);
    Ok(())
}

/// One field of an encoded message.
struct Field<'a> {
    tag: u32,
    wire_type: WireType,
    /// The whole field: key and value.
    raw: &'a [u8],
    /// A length-delimited field's value; empty for others.
    payload: &'a [u8],
}

/// The fields of an encoded message, in order.
fn fields(mut bytes: &[u8]) -> impl Iterator<Item = Result<Field<'_>, Malformed>> {
    std::iter::from_fn(move || (!bytes.is_empty()).then(|| next_field(&mut bytes)))
}

fn next_field<'a>(bytes: &mut &'a [u8]) -> Result<Field<'a>, Malformed> {
    let whole: &'a [u8] = bytes;
    let (tag, wire_type) = decode_key(bytes)?;
    let payload = match wire_type {
        WireType::Varint => {
            decode_varint(bytes)?;
            &[][..]
        }
        WireType::SixtyFourBit => {
            take(bytes, 8)?;
            &[][..]
        }
        WireType::ThirtyTwoBit => {
            take(bytes, 4)?;
            &[][..]
        }
        WireType::LengthDelimited => {
            let len = usize::try_from(decode_varint(bytes)?).map_err(|_| Malformed)?;
            take(bytes, len)?
        }
        // proto3 has no groups, and Hubble's API is proto3.
        WireType::StartGroup | WireType::EndGroup => return Err(Malformed),
    };
    let raw = &whole[..whole.len() - bytes.len()];
    Ok(Field {
        tag,
        wire_type,
        raw,
        payload,
    })
}

/// The next `len` bytes.
fn take<'a>(bytes: &mut &'a [u8], len: usize) -> Result<&'a [u8], Malformed> {
    if bytes.len() < len {
        return Err(Malformed);
    }
    let (taken, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use serde_json::Value;

    use super::*;
    use crate::{
        filter::DEFAULT_FIELD_MASK,
        proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
        source::decode_line,
    };

    fn mask(paths: &[&str]) -> FieldMask {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        FieldMask::new(&paths).unwrap().unwrap()
    }

    fn masked(mask: &FieldMask, response: &GetFlowsResponse) -> Vec<u8> {
        let mut out = BytesMut::new();
        mask.apply(&response.encode_to_vec(), &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn keeps_only_the_masked_fields() {
        let response: GetFlowsResponse = serde_json::from_str(
            r#"{"flow":{"verdict":"DROPPED","node_name":"n1","uuid":"u",
                "source":{"identity":5,"namespace":"a","labels":["k8s:x=y"]}},
                "node_name":"n1","time":"2023-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let out = masked(&mask(&["verdict", "source.identity"]), &response);
        let masked = GetFlowsResponse::decode(&out[..]).unwrap();
        assert_eq!(masked.node_name, "n1");
        assert_eq!(masked.time, response.time);
        let (Some(ResponseTypes::Flow(flow)), Some(ResponseTypes::Flow(original))) =
            (masked.response_types, response.response_types)
        else {
            unreachable!()
        };
        assert_eq!(flow.verdict, original.verdict);
        assert_eq!(flow.node_name, "");
        assert_eq!(flow.uuid, "");
        let source = flow.source.unwrap();
        assert_eq!(source.identity, 5);
        assert!(source.namespace.is_empty() && source.labels.is_empty());
    }

    #[test]
    fn unknown_paths_are_refused() {
        assert!(FieldMask::new(&["nope".into()]).is_err());
        assert!(FieldMask::new(&["source.nope".into()]).is_err());
        assert!(FieldMask::new(&["verdict.x".into()]).is_err());
        assert!(FieldMask::new(&["source.labels.x".into()]).is_err());
        assert!(FieldMask::new(&[]).unwrap().is_none());
        let error = FieldMask::new(&["time".into(), "l4.TCP".into()])
            .err()
            .unwrap();
        assert_eq!(
            error.message(),
            "invalid field mask path \"l4.TCP\" for message flow.Flow"
        );
    }

    /// `value` (a response's JSON) with only the masked flow fields, as
    /// the old mask on decoded flows left them.
    fn masked_json(mut value: Value, paths: &[&str]) -> Value {
        let Some(flow) = value.get_mut("flow").and_then(Value::as_object_mut) else {
            return value;
        };
        let mut kept = serde_json::Map::new();
        for path in paths {
            match path.split_once('.') {
                None => {
                    if let Some(field) = flow.get(*path) {
                        kept.insert(path.to_string(), field.clone());
                    }
                }
                Some((endpoint, sub)) => {
                    let Some(from) = flow.get(endpoint) else {
                        continue;
                    };
                    let to = kept
                        .entry(endpoint)
                        .or_insert_with(|| Value::Object(Default::default()));
                    if paths.contains(&endpoint) {
                        *to = from.clone();
                    } else if let Some(field) = from.get(sub) {
                        to[sub] = field.clone();
                    }
                }
            }
        }
        *flow = kept;
        value
    }

    #[test]
    fn masks_the_corpus_as_prost_encodes_the_masked_flows() {
        let text = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/conformance/flows.jsonl"),
        )
        .unwrap();
        let every_field: Vec<String> = message_descriptor("flow.Flow")
            .unwrap()
            .field
            .iter()
            .map(|field| field.name().to_owned())
            .collect();
        let every_field: Vec<&str> = every_field.iter().map(String::as_str).collect();
        let masks: [&[&str]; 6] = [
            DEFAULT_FIELD_MASK,
            &["verdict", "source.identity"],
            &["source.namespace", "source", "destination.labels"],
            &["destination.workloads", "l7", "destination.ID", "Summary"],
            &["time", "node_labels", "extensions", "policy_log"],
            &every_field,
        ];
        let mut flows = 0;
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let (response, _) = decode_line(line).unwrap();
            flows += usize::from(matches!(
                response.response_types,
                Some(ResponseTypes::Flow(_))
            ));
            for paths in masks {
                let out = masked(&mask(paths), &response);
                let decoded = GetFlowsResponse::decode(&out[..]).unwrap();
                assert_eq!(decoded.encode_to_vec(), out, "{paths:?}: {response:?}");
                assert_eq!(
                    serde_json::to_value(&decoded).unwrap(),
                    masked_json(serde_json::to_value(&response).unwrap(), paths),
                    "{paths:?}"
                );
            }
            assert_eq!(
                masked(&mask(&every_field), &response),
                response.encode_to_vec()
            );
        }
        assert!(flows > 300, "{flows}");
    }
}
