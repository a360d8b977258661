//! `GetFlowsResponse`s read from the gRPC wire headline only, for compact,
//! dict and table output: the fields that the jsonpb headline reading leaves
//! out (see `jsonpb.rs`: labels, workloads, HTTP and Kafka contents, DNS
//! answers, trace context, ...) are stepped over, never allocated.
//! Everything else is decoded by prost's own code for each field, so that
//! what is kept reads exactly as a whole decoding reads it.
//!
//! A skipped field is checked for its framing only (its length fits in
//! the message); its content is not validated, as no output reads it.

use prost::{
    DecodeError, Message,
    bytes::{Buf, Bytes},
    encoding::{DecodeContext, WireType, check_wire_type, decode_key, merge_loop, skip_field},
};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstEncoder;

use super::SourceError;
use crate::proto::{
    Timestamp,
    flow::{Dns, Endpoint, Flow, Layer4, Layer7, Policy, layer4, layer7},
    observer::{GetFlowsRequest, GetFlowsResponse, get_flows_response::ResponseTypes},
};

/// Sends a `GetFlowsRequest` as prost does and reads each response with
/// the decoder `D`: [`FlowsDecoder`] or [`EncodedDecoder`].
#[derive(Debug, Clone, Copy)]
pub(super) struct GetFlowsCodec<D>(pub D);

impl<D> Codec for GetFlowsCodec<D>
where
    D: Decoder<Error = Status> + Copy + Send + 'static,
    D::Item: Send + 'static,
{
    type Encode = GetFlowsRequest;
    type Decode = D::Item;
    type Encoder = ProstEncoder<GetFlowsRequest>;
    type Decoder = D;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        self.0
    }
}

/// Reads each response from one contiguous slice of the received frame,
/// whole or headline only: through tonic's `DecodeBuf` (a `Buf` over a
/// `BytesMut`, bounds-checked at each step), varint reads and advances
/// were a sixth of the profile.
#[derive(Debug, Clone, Copy)]
pub(super) struct FlowsDecoder {
    pub headline_only: bool,
}

impl Decoder for FlowsDecoder {
    type Item = GetFlowsResponse;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<GetFlowsResponse>, Status> {
        let length = buf.remaining();
        let decoded = if buf.chunk().len() == length {
            let decoded = self.decode_slice(buf.chunk());
            buf.advance(length);
            decoded
        } else {
            self.decode_slice(&buf.copy_to_bytes(length))
        };
        // As tonic's prost codec reports a message that does not decode.
        decoded
            .map(Some)
            .map_err(|error| Status::internal(error.to_string()))
    }
}

impl FlowsDecoder {
    fn decode_slice(self, bytes: &[u8]) -> Result<GetFlowsResponse, DecodeError> {
        if self.headline_only {
            decode_headline(bytes)
        } else {
            GetFlowsResponse::decode(bytes)
        }
    }
}

/// A `GetFlowsResponse` as received, not decoded, for output written
/// straight from the wire bytes (`-o json`). The bytes are a slice of the
/// received frame, not a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(Bytes);

impl Encoded {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The response decoded whole; bytes that do not decode fail as a
    /// decoded stream fails on them.
    pub fn decode(&self) -> Result<GetFlowsResponse, SourceError> {
        GetFlowsResponse::decode(self.bytes())
            .map_err(|error| SourceError::Status(Status::internal(error.to_string())))
    }

    /// `GetFlowsResponse.time` of a flow or a lost-events notice, read from
    /// that field alone; `None` for node status and for bytes that do not
    /// decode.
    pub(super) fn time(&self) -> Option<Timestamp> {
        let mut buf = self.bytes();
        let mut time = None;
        let mut buffered = false;
        while buf.has_remaining() {
            let (tag, wire_type) = decode_key(&mut buf).ok()?;
            match tag {
                RESPONSE_FLOW | RESPONSE_LOST_EVENTS => buffered = true,
                RESPONSE_NODE_STATUS => buffered = false,
                RESPONSE_TIME => {
                    let mut value = time.unwrap_or_default();
                    prost::encoding::message::merge(
                        wire_type,
                        &mut value,
                        &mut buf,
                        DecodeContext::default(),
                    )
                    .ok()?;
                    time = Some(value);
                    continue;
                }
                _ => {}
            }
            skip(tag, wire_type, &mut buf).ok()?;
        }
        time.filter(|_| buffered)
    }
}

/// Reads each `GetFlowsResponse` as its bytes, undecoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct EncodedDecoder;

impl Decoder for EncodedDecoder {
    type Item = Encoded;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Encoded>, Status> {
        let length = buf.remaining();
        Ok(Some(Encoded(buf.copy_to_bytes(length))))
    }
}

/// Reads one encoded `GetFlowsResponse`, headline only.
pub fn decode_headline(mut buf: impl Buf) -> Result<GetFlowsResponse, DecodeError> {
    let mut response = GetFlowsResponse::default();
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        if tag == RESPONSE_FLOW {
            if !matches!(response.response_types, Some(ResponseTypes::Flow(_))) {
                response.response_types = Some(ResponseTypes::Flow(Box::default()));
            }
            if let Some(ResponseTypes::Flow(flow)) = &mut response.response_types {
                nested(wire_type, &mut **flow, &mut buf, flow_field)?;
            }
        } else {
            response.merge_field(tag, wire_type, &mut buf, DecodeContext::default())?;
        }
    }
    Ok(response)
}

/// `GetFlowsResponse`'s fields: the oneof of what it holds, and its time.
const RESPONSE_FLOW: u32 = 1;
const RESPONSE_NODE_STATUS: u32 = 2;
const RESPONSE_LOST_EVENTS: u32 = 3;
const RESPONSE_TIME: u32 = 1001;

/// Flow fields that compact, dict and table output never print:
/// drop_reason, reply, interface, trace_context, socket_cookie, cgroup_id,
/// node_labels, file, tunnel, emitter, policy_log, aggregate, extensions.
/// The UUID (34) is not printed either but kept: a resumed `--follow`
/// tells the flows it printed already from new ones by their contents.
const SKIPPED_FLOW_FIELDS: &[u32] = &[3, 16, 28, 30, 32, 33, 37, 38, 39, 41, 21006, 21007, 150_000];

fn flow_field<B: Buf>(
    flow: &mut Flow,
    tag: u32,
    wire_type: WireType,
    buf: &mut B,
) -> Result<(), DecodeError> {
    match tag {
        6 => nested(
            wire_type,
            flow.l4.get_or_insert_default(),
            buf,
            layer4_field,
        ),
        8 => nested(
            wire_type,
            flow.source.get_or_insert_default(),
            buf,
            endpoint_field,
        ),
        9 => nested(
            wire_type,
            flow.destination.get_or_insert_default(),
            buf,
            endpoint_field,
        ),
        15 => nested(
            wire_type,
            flow.l7.get_or_insert_default(),
            buf,
            layer7_field,
        ),
        21001 => policy(wire_type, &mut flow.egress_allowed_by, buf),
        21002 => policy(wire_type, &mut flow.ingress_allowed_by, buf),
        21004 => policy(wire_type, &mut flow.egress_denied_by, buf),
        21005 => policy(wire_type, &mut flow.ingress_denied_by, buf),
        _ if SKIPPED_FLOW_FIELDS.contains(&tag) => skip(tag, wire_type, buf),
        _ => flow.merge_field(tag, wire_type, buf, DecodeContext::default()),
    }
}

/// Endpoint: cluster_name (7), labels (4) and workloads (6) are skipped.
fn endpoint_field<B: Buf>(
    endpoint: &mut Endpoint,
    tag: u32,
    wire_type: WireType,
    buf: &mut B,
) -> Result<(), DecodeError> {
    match tag {
        4 | 6 | 7 => skip(tag, wire_type, buf),
        _ => endpoint.merge_field(tag, wire_type, buf, DecodeContext::default()),
    }
}

/// Layer4: VRRP (6) and IGMP (7) keep their protocol, not their contents.
fn layer4_field<B: Buf>(
    l4: &mut Layer4,
    tag: u32,
    wire_type: WireType,
    buf: &mut B,
) -> Result<(), DecodeError> {
    match tag {
        6 => kind_only(
            &mut l4.protocol,
            |protocol| matches!(protocol, layer4::Protocol::Vrrp(_)),
            || layer4::Protocol::Vrrp(Default::default()),
            tag,
            wire_type,
            buf,
        ),
        7 => kind_only(
            &mut l4.protocol,
            |protocol| matches!(protocol, layer4::Protocol::Igmp(_)),
            || layer4::Protocol::Igmp(Default::default()),
            tag,
            wire_type,
            buf,
        ),
        _ => l4.merge_field(tag, wire_type, buf, DecodeContext::default()),
    }
}

/// Layer7: DNS (100) without its answers; HTTP (101) and Kafka (102) keep
/// their kind, not their contents.
fn layer7_field<B: Buf>(
    l7: &mut Layer7,
    tag: u32,
    wire_type: WireType,
    buf: &mut B,
) -> Result<(), DecodeError> {
    match tag {
        100 => {
            if !matches!(l7.record, Some(layer7::Record::Dns(_))) {
                l7.record = Some(layer7::Record::Dns(Dns::default()));
            }
            match &mut l7.record {
                Some(layer7::Record::Dns(dns)) => nested(wire_type, dns, buf, dns_field),
                _ => Ok(()),
            }
        }
        101 => kind_only(
            &mut l7.record,
            |record| matches!(record, layer7::Record::Http(_)),
            || layer7::Record::Http(Default::default()),
            tag,
            wire_type,
            buf,
        ),
        #[allow(deprecated, reason = "Kafka is deprecated in the API")]
        102 => kind_only(
            &mut l7.record,
            |record| matches!(record, layer7::Record::Kafka(_)),
            || layer7::Record::Kafka(Default::default()),
            tag,
            wire_type,
            buf,
        ),
        _ => l7.merge_field(tag, wire_type, buf, DecodeContext::default()),
    }
}

/// DNS: ips (2), ttl (3), cnames (4), rcode (6), qtypes (7) and rrtypes (8)
/// are skipped.
fn dns_field<B: Buf>(
    dns: &mut Dns,
    tag: u32,
    wire_type: WireType,
    buf: &mut B,
) -> Result<(), DecodeError> {
    match tag {
        2 | 3 | 4 | 6 | 7 | 8 => skip(tag, wire_type, buf),
        _ => dns.merge_field(tag, wire_type, buf, DecodeContext::default()),
    }
}

/// One more policy of a repeated field, without its labels (3) and
/// revision (4).
fn policy<B: Buf>(
    wire_type: WireType,
    policies: &mut Vec<Policy>,
    buf: &mut B,
) -> Result<(), DecodeError> {
    let mut policy = Policy::default();
    nested(
        wire_type,
        &mut policy,
        buf,
        |policy, tag, wire_type, buf| match tag {
            3 | 4 => skip(tag, wire_type, buf),
            _ => policy.merge_field(tag, wire_type, buf, DecodeContext::default()),
        },
    )?;
    policies.push(policy);
    Ok(())
}

/// A oneof member of which only the kind is printed: it is set to `kind`
/// (unless it is of that kind already, as prost merges a repeated member)
/// and its contents are stepped over.
fn kind_only<T, B: Buf>(
    member: &mut Option<T>,
    is_kind: fn(&T) -> bool,
    kind: fn() -> T,
    tag: u32,
    wire_type: WireType,
    buf: &mut B,
) -> Result<(), DecodeError> {
    check_wire_type(WireType::LengthDelimited, wire_type)?;
    if !member.as_ref().is_some_and(is_kind) {
        *member = Some(kind());
    }
    skip(tag, wire_type, buf)
}

fn skip<B: Buf>(tag: u32, wire_type: WireType, buf: &mut B) -> Result<(), DecodeError> {
    skip_field(wire_type, tag, buf, DecodeContext::default())
}

/// Reads a length-delimited message into `value`, field by field.
fn nested<T, B: Buf>(
    wire_type: WireType,
    value: &mut T,
    buf: &mut B,
    mut field: impl FnMut(&mut T, u32, WireType, &mut B) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    check_wire_type(WireType::LengthDelimited, wire_type)?;
    merge_loop(value, buf, DecodeContext::default(), |value, buf, _| {
        let (tag, wire_type) = decode_key(buf)?;
        field(value, tag, wire_type, buf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{decode_line, decode_line_lean};

    /// Every response of the conformance corpus and the demo capture.
    fn captured() -> impl Iterator<Item = &'static str> {
        include_str!("../../tests/fixtures/conformance/flows.jsonl")
            .lines()
            .chain(include_str!("../../examples/cilium-test.jsonl").lines())
            .filter(|line| !line.trim().is_empty())
    }

    /// What the wire headline keeps is what the jsonpb headline reading
    /// keeps (which the printers are checked against), the UUID aside.
    #[test]
    fn the_wire_headline_is_the_jsonpb_headline() {
        let mut compared = 0;
        for line in captured() {
            let Ok((whole, _)) = decode_line(line.as_bytes()) else {
                continue;
            };
            let mut headline = decode_headline(whole.encode_to_vec().as_slice()).unwrap();
            let Some(expected) = decode_line_lean(line) else {
                continue;
            };
            if let Some(ResponseTypes::Flow(flow)) = &mut headline.response_types {
                flow.uuid.clear();
            }
            assert_eq!(headline, expected, "{line}");
            compared += 1;
        }
        assert!(compared > 100, "only {compared} responses compared");
    }

    /// Skipped fields still have to be well framed, as prost requires.
    #[test]
    fn a_skipped_field_that_overruns_its_message_is_an_error() {
        // flow { node_labels (37): length 100, 1 byte present }
        let flow = [0xaa, 0x02, 100, b'x'];
        let mut response = vec![0x0a, flow.len() as u8];
        response.extend_from_slice(&flow);
        assert!(decode_headline(response.as_slice()).is_err());
        assert!(GetFlowsResponse::decode(response.as_slice()).is_err());
    }

    /// Oneof members whose kind alone is kept, and what is stepped over
    /// next to what is kept, on a response made for it.
    #[test]
    #[allow(deprecated, reason = "Kafka is deprecated in the API")]
    fn kinds_are_kept_without_their_contents() {
        use crate::proto::flow::{Http, Igmp, Kafka, Vrrp};
        let headline = |l4: Option<layer4::Protocol>, l7: Option<layer7::Record>| {
            let flow = Flow {
                uuid: "u-1".into(),
                node_labels: vec!["zone=a".into()],
                l4: Some(Layer4 { protocol: l4 }),
                l7: Some(Layer7 {
                    record: l7,
                    latency_ns: 7,
                    ..Layer7::default()
                }),
                source: Some(Endpoint {
                    namespace: "ns".into(),
                    labels: vec!["k8s:app=a".into()],
                    cluster_name: "c".into(),
                    ..Endpoint::default()
                }),
                egress_allowed_by: vec![Policy {
                    name: "allow".into(),
                    labels: vec!["l".into()],
                    revision: 3,
                    ..Policy::default()
                }],
                ..Flow::default()
            };
            let response = GetFlowsResponse {
                response_types: Some(ResponseTypes::Flow(Box::new(flow))),
                ..GetFlowsResponse::default()
            };
            match decode_headline(response.encode_to_vec().as_slice())
                .unwrap()
                .response_types
            {
                Some(ResponseTypes::Flow(flow)) => *flow,
                other => panic!("{other:?}"),
            }
        };
        let vrrp = Vrrp {
            vrid: 4,
            ..Vrrp::default()
        };
        let http = Http {
            code: 200,
            url: "http://x/".into(),
            ..Http::default()
        };
        let flow = headline(
            Some(layer4::Protocol::Vrrp(vrrp)),
            Some(layer7::Record::Http(http)),
        );
        assert_eq!(
            flow.l4.unwrap().protocol,
            Some(layer4::Protocol::Vrrp(Vrrp::default()))
        );
        let l7 = flow.l7.unwrap();
        assert_eq!(l7.record, Some(layer7::Record::Http(Http::default())));
        assert_eq!(l7.latency_ns, 7);
        assert_eq!(flow.uuid, "u-1");
        assert!(flow.node_labels.is_empty());
        let source = flow.source.unwrap();
        assert_eq!(
            (source.namespace.as_str(), source.cluster_name.as_str()),
            ("ns", "")
        );
        assert!(source.labels.is_empty());
        assert_eq!(
            flow.egress_allowed_by,
            [Policy {
                name: "allow".into(),
                ..Policy::default()
            }]
        );
        let igmp = Igmp {
            group_address: "224.0.0.1".into(),
            ..Igmp::default()
        };
        let kafka = Kafka {
            topic: "t".into(),
            ..Kafka::default()
        };
        let flow = headline(
            Some(layer4::Protocol::Igmp(igmp)),
            Some(layer7::Record::Kafka(kafka)),
        );
        assert_eq!(
            flow.l4.unwrap().protocol,
            Some(layer4::Protocol::Igmp(Igmp::default()))
        );
        let no_kafka = Some(layer7::Record::Kafka(Kafka::default()));
        assert_eq!(flow.l7.unwrap().record, no_kafka);
    }
}
