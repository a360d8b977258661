//! `-o json` / `-o jsonpb` written straight from a response's wire bytes:
//! each message is read once for where its fields are, then written in
//! declaration order (protojson's order, which the wire need not follow),
//! with no message decoded and nothing allocated per flow. Decoding every
//! string and label into prost's types and serialising them again was two
//! thirds of the cost of following a relay as JSON.
//!
//! It writes what `json::write_response` writes for the same response, and
//! declines (`Declined`) whatever it does not do the same way, for the
//! printer to decode the response and print it as before: responses other
//! than flows, `google.protobuf.Any` and the other well-known types the
//! flow API does not use, a singular field sent twice (prost merges or
//! keeps the last), and bytes that prost would refuse, so that they fail
//! with prost's own error.

use super::gojson;
use crate::proto::Timestamp;

/// The response is not one this writer takes; nothing useful was written.
#[derive(Debug)]
pub(super) struct Declined;

// MESSAGES, ENUMS and RESPONSE: the API as build.rs found it in proto/.
include!(concat!(env!("OUT_DIR"), "/wire_schema.rs"));

struct MessageSchema {
    /// In declaration order.
    fields: &'static [Field],
    /// Field number and index into `fields`, by number.
    by_number: &'static [(u32, u16)],
    /// Index into `fields` by number, for the numbers below 256 (most
    /// are): `NONE` where there is no such field.
    dense: &'static [u16],
}

const NONE: u16 = u16::MAX;

struct Field {
    /// `"name":`, as protojson with proto names writes the key.
    key: &'static [u8],
    kind: Kind,
    repeated: bool,
    /// Written even when zero: messages, oneof members, `optional`.
    presence: bool,
    oneof: Option<u16>,
    /// `GetFlowsResponse.flow`: the one response member written here.
    flow: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Scalar(Scalar),
    Message(u16),
    Timestamp,
    /// `google.protobuf.BoolValue` and the like: the bare value.
    Wrapper(Scalar),
    /// What is declined: Any, the other well-known types, and the scalar
    /// types the API does not use (zigzag, fixed-width, floating point,
    /// bytes).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    Int32,
    Int64,
    Uint32,
    Uint64,
    Bool,
    String,
    Enum(u16),
}

/// An enum's values, by number: `"NAME"` quoted, ready to write.
struct EnumNames(&'static [(i32, &'static [u8])]);

impl MessageSchema {
    fn field(&self, number: u32) -> Option<u16> {
        if let Some(&index) = self.dense.get(number as usize) {
            return (index != NONE).then_some(index);
        }
        if number < 256 {
            return None;
        }
        self.by_number
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|at| self.by_number[at].1)
    }
}

impl EnumNames {
    fn name(&self, number: i32) -> Option<&'static [u8]> {
        self.0
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|at| self.0[at].1)
    }
}

/// Where one field of a message is in its bytes.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    /// Index into the message's declared fields.
    field: u16,
    wire_type: u8,
    /// The value: a varint's bytes, a fixed value's, or a length-delimited
    /// field's contents.
    start: u32,
    end: u32,
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const FIXED32: u8 = 5;

/// prost's recursion limit: deeper messages are declined, for prost to
/// refuse.
const DEPTH: u32 = 100;

/// Writes responses as JSON from their wire bytes; the one scratch list of
/// field positions is reused for every message.
#[derive(Default)]
pub(super) struct WireJson {
    occurrences: Vec<Occurrence>,
}

impl WireJson {
    /// Writes the `GetFlowsResponse` encoded in `bytes`, which must hold a
    /// flow, as one line of JSON onto the end of `out`. When it declines,
    /// `out` is as it was.
    pub(super) fn write_response(
        &mut self,
        out: &mut Vec<u8>,
        bytes: &[u8],
    ) -> Result<(), Declined> {
        let mark = out.len();
        self.occurrences.clear();
        let written = Writer {
            occurrences: &mut self.occurrences,
            out,
        }
        .response(bytes);
        match written {
            Ok(()) => {
                out.push(b'\n');
                Ok(())
            }
            Err(Declined) => {
                out.truncate(mark);
                Err(Declined)
            }
        }
    }
}

struct Writer<'a> {
    occurrences: &'a mut Vec<Occurrence>,
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn response(&mut self, bytes: &[u8]) -> Result<(), Declined> {
        let message = &MESSAGES[usize::from(RESPONSE)];
        let base = self.occurrences.len();
        self.scan(message, bytes)?;
        let mut flow = false;
        for occurrence in &self.occurrences[base..] {
            let field = &message.fields[usize::from(occurrence.field)];
            if field.oneof.is_some() && !field.flow {
                return Err(Declined);
            }
            flow |= field.flow;
        }
        if !flow {
            return Err(Declined);
        }
        self.fields(RESPONSE, bytes, base, 0)
    }

    /// Notes where each known field of `message` is in `bytes`, by
    /// declaration order; unknown fields are stepped over, as prost drops
    /// them.
    fn scan(&mut self, message: &MessageSchema, bytes: &[u8]) -> Result<(), Declined> {
        let base = self.occurrences.len();
        let mut sorted = true;
        let mut at = 0;
        while at < bytes.len() {
            let key = u32::try_from(varint(bytes, &mut at)?).map_err(|_| Declined)?;
            let (number, wire_type) = (key >> 3, key.to_le_bytes()[0] & 7);
            if number == 0 {
                return Err(Declined);
            }
            let mut start = at;
            match wire_type {
                VARINT => {
                    varint(bytes, &mut at)?;
                }
                FIXED64 => at += 8,
                LENGTH_DELIMITED => {
                    let length = varint(bytes, &mut at)?;
                    start = at;
                    at = usize::try_from(length)
                        .ok()
                        .and_then(|length| at.checked_add(length))
                        .ok_or(Declined)?;
                }
                FIXED32 => at += 4,
                // Groups, which prost reads for unknown fields only, and
                // wire types that do not exist.
                _ => return Err(Declined),
            }
            if at > bytes.len() {
                return Err(Declined);
            }
            if let Some(field) = message.field(number) {
                sorted &= self.occurrences.len() == base
                    || self
                        .occurrences
                        .last()
                        .is_some_and(|last| last.field <= field);
                self.occurrences.push(Occurrence {
                    field,
                    wire_type,
                    start: u32::try_from(start).map_err(|_| Declined)?,
                    end: u32::try_from(at).map_err(|_| Declined)?,
                });
            }
        }
        // By field, and within a field in the order sent (a repeated
        // field's elements may be interleaved with other fields).
        if !sorted {
            self.occurrences[base..].sort_unstable_by_key(|o| (o.field, o.start));
        }
        Ok(())
    }

    /// Writes the fields noted from `base` on, then forgets them.
    fn fields(
        &mut self,
        message: u16,
        bytes: &[u8],
        base: usize,
        depth: u32,
    ) -> Result<(), Declined> {
        let message = &MESSAGES[usize::from(message)];
        let end = self.occurrences.len();
        let mut oneofs_seen = 0_u64;
        let mut empty = true;
        let mut at = base;
        self.out.push(b'{');
        while at < end {
            let first = self.occurrences[at];
            let mut next = at + 1;
            while next < end && self.occurrences[next].field == first.field {
                next += 1;
            }
            let field = &message.fields[usize::from(first.field)];
            let mark = self.out.len();
            if !empty {
                self.out.push(b',');
            }
            self.out.extend_from_slice(field.key);
            let written = if field.repeated {
                self.repeated(field.kind, bytes, at..next, depth)?
            } else {
                if let Some(oneof) = field.oneof {
                    // A second member of a oneof replaces the first.
                    let bit = 1_u64.checked_shl(u32::from(oneof)).ok_or(Declined)?;
                    if oneofs_seen & bit != 0 {
                        return Err(Declined);
                    }
                    oneofs_seen |= bit;
                }
                if next - at > 1 {
                    return Err(Declined);
                }
                self.singular(field, bytes, first, depth)?
            };
            if written {
                empty = false;
            } else {
                self.out.truncate(mark);
            }
            at = next;
        }
        self.out.push(b'}');
        self.occurrences.truncate(base);
        Ok(())
    }

    /// A singular field's value; `false` if proto3 leaves it out (zero,
    /// without presence).
    fn singular(
        &mut self,
        field: &Field,
        bytes: &[u8],
        value: Occurrence,
        depth: u32,
    ) -> Result<bool, Declined> {
        match field.kind {
            Kind::Scalar(scalar) => {
                expect(value.wire_type, wire_type(scalar))?;
                self.scalar(scalar, span(bytes, value), field.presence)
            }
            Kind::Message(message) => {
                expect(value.wire_type, LENGTH_DELIMITED)?;
                self.message(message, span(bytes, value), depth)?;
                Ok(true)
            }
            Kind::Timestamp => {
                expect(value.wire_type, LENGTH_DELIMITED)?;
                self.timestamp(span(bytes, value))?;
                Ok(true)
            }
            Kind::Wrapper(scalar) => {
                expect(value.wire_type, LENGTH_DELIMITED)?;
                self.wrapper(scalar, span(bytes, value))?;
                Ok(true)
            }
            Kind::Other => Err(Declined),
        }
    }

    /// A repeated field's elements, packed or not; `false` if there are none.
    fn repeated(
        &mut self,
        kind: Kind,
        bytes: &[u8],
        range: std::ops::Range<usize>,
        depth: u32,
    ) -> Result<bool, Declined> {
        self.out.push(b'[');
        let mut elements = 0;
        for index in range {
            let element = self.occurrences[index];
            let value = span(bytes, element);
            match kind {
                Kind::Scalar(scalar)
                    if element.wire_type == LENGTH_DELIMITED && scalar != Scalar::String =>
                {
                    self.packed(scalar, value, &mut elements)?;
                }
                Kind::Scalar(scalar) => {
                    expect(element.wire_type, wire_type(scalar))?;
                    self.comma(&mut elements);
                    self.scalar(scalar, value, true)?;
                }
                Kind::Message(message) => {
                    expect(element.wire_type, LENGTH_DELIMITED)?;
                    self.comma(&mut elements);
                    self.message(message, value, depth)?;
                }
                // No repeated Timestamp or wrapper is in the API.
                Kind::Timestamp | Kind::Wrapper(_) | Kind::Other => return Err(Declined),
            }
        }
        if elements == 0 {
            return Ok(false);
        }
        self.out.push(b']');
        Ok(true)
    }

    /// The separator before an array's next element.
    fn comma(&mut self, elements: &mut usize) {
        if *elements > 0 {
            self.out.push(b',');
        }
        *elements += 1;
    }

    /// A packed run of varints, as more elements of the array.
    fn packed(
        &mut self,
        scalar: Scalar,
        mut bytes: &[u8],
        elements: &mut usize,
    ) -> Result<(), Declined> {
        expect(wire_type(scalar), VARINT)?;
        while !bytes.is_empty() {
            let mut length = 0;
            varint(bytes, &mut length)?;
            let (value, rest) = bytes.split_at(length);
            bytes = rest;
            self.comma(elements);
            self.scalar(scalar, value, true)?;
        }
        Ok(())
    }

    fn message(&mut self, message: u16, bytes: &[u8], depth: u32) -> Result<(), Declined> {
        if depth >= DEPTH {
            return Err(Declined);
        }
        let base = self.occurrences.len();
        self.scan(&MESSAGES[usize::from(message)], bytes)?;
        self.fields(message, bytes, base, depth + 1)
    }

    /// One scalar; `false` (nothing written) when it is zero and `write_zero`
    /// is not set.
    fn scalar(&mut self, scalar: Scalar, value: &[u8], write_zero: bool) -> Result<bool, Declined> {
        if scalar == Scalar::String {
            if value.is_empty() && !write_zero {
                return Ok(false);
            }
            gojson::write_utf8(self.out, value).map_err(|_| Declined)?;
            return Ok(true);
        }
        let raw = varint(value, &mut 0)?;
        let mut number = itoa::Buffer::new();
        // protojson writes 64-bit integers as strings.
        let quoted = |out: &mut Vec<u8>, text: &str| {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        };
        // The truncations are prost's: an int32 sent as a 64-bit varint
        // reads as its low 32 bits.
        #[allow(clippy::cast_possible_truncation)]
        let low = raw as u32;
        // Zero as read: a 32-bit field sent as 2^32 is zero, and left out.
        let zero = match scalar {
            Scalar::Int32 | Scalar::Uint32 | Scalar::Enum(_) => low == 0,
            _ => raw == 0,
        };
        if zero && !write_zero {
            return Ok(false);
        }
        match scalar {
            Scalar::Int32 => self
                .out
                .extend_from_slice(number.format(low.cast_signed()).as_bytes()),
            Scalar::Uint32 => self.out.extend_from_slice(number.format(low).as_bytes()),
            Scalar::Int64 => quoted(self.out, number.format(raw.cast_signed())),
            Scalar::Uint64 => quoted(self.out, number.format(raw)),
            Scalar::Bool => self
                .out
                .extend_from_slice(if raw != 0 { b"true" } else { b"false" }),
            Scalar::Enum(enumeration) => {
                let value = low.cast_signed();
                match ENUMS[usize::from(enumeration)].name(value) {
                    Some(name) => self.out.extend_from_slice(name),
                    None => self.out.extend_from_slice(number.format(value).as_bytes()),
                }
            }
            // Written above, from the bytes themselves.
            Scalar::String => return Err(Declined),
        }
        Ok(true)
    }

    /// protojson's RFC 3339 form; out of its range is declined, for the
    /// printer's own error.
    fn timestamp(&mut self, mut bytes: &[u8]) -> Result<(), Declined> {
        let mut time = Timestamp::default();
        while !bytes.is_empty() {
            let mut at = 0;
            let key = varint(bytes, &mut at)?;
            if key & 7 != u64::from(VARINT) {
                return Err(Declined);
            }
            let value = varint(bytes, &mut at)?;
            // prost's truncations, as for any int64 and int32.
            #[allow(clippy::cast_possible_truncation)]
            match key >> 3 {
                1 => time.seconds = value.cast_signed(),
                2 => time.nanos = (value as u32).cast_signed(),
                _ => return Err(Declined),
            }
            bytes = &bytes[at..];
        }
        let mut text = [0; 30];
        let length = time.format_utc(&mut text).ok_or(Declined)?;
        self.out.push(b'"');
        self.out.extend_from_slice(&text[..length]);
        self.out.push(b'"');
        Ok(())
    }

    /// A wrapper's bare value, zero included.
    fn wrapper(&mut self, scalar: Scalar, mut bytes: &[u8]) -> Result<(), Declined> {
        let mut value: &[u8] = &[];
        while !bytes.is_empty() {
            let mut at = 0;
            let key = varint(bytes, &mut at)?;
            if key >> 3 != 1 || key & 7 != u64::from(wire_type(scalar)) {
                return Err(Declined);
            }
            let start = match wire_type(scalar) {
                LENGTH_DELIMITED => {
                    let length = usize::try_from(varint(bytes, &mut at)?).map_err(|_| Declined)?;
                    let start = at;
                    at = at.checked_add(length).ok_or(Declined)?;
                    start
                }
                _ => {
                    let start = at;
                    varint(bytes, &mut at)?;
                    start
                }
            };
            value = bytes.get(start..at).ok_or(Declined)?;
            bytes = &bytes[at..];
        }
        if value.is_empty() && scalar != Scalar::String {
            value = &[0];
        }
        self.scalar(scalar, value, true).map(drop)
    }
}

fn wire_type(scalar: Scalar) -> u8 {
    match scalar {
        Scalar::String => LENGTH_DELIMITED,
        _ => VARINT,
    }
}

fn expect(wire_type: u8, expected: u8) -> Result<(), Declined> {
    match wire_type == expected {
        true => Ok(()),
        false => Err(Declined),
    }
}

fn span(bytes: &[u8], occurrence: Occurrence) -> &[u8] {
    &bytes[occurrence.start as usize..occurrence.end as usize]
}

/// A varint as prost reads one: at most ten bytes, the tenth at most 1.
/// Most are one byte (keys, lengths, enums), read inline.
#[inline]
fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, Declined> {
    match bytes.get(*at) {
        Some(&byte) if byte < 0x80 => {
            *at += 1;
            Ok(u64::from(byte))
        }
        _ => long_varint(bytes, at),
    }
}

fn long_varint(bytes: &[u8], at: &mut usize) -> Result<u64, Declined> {
    let mut value = 0_u64;
    for shift in 0..10 {
        let byte = *bytes.get(*at).ok_or(Declined)?;
        *at += 1;
        if shift == 9 && byte > 1 {
            return Err(Declined);
        }
        value |= u64::from(byte & 0x7f) << (shift * 7);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(Declined)
}

#[cfg(test)]
mod tests {
    use prost::{
        Message,
        encoding::{WireType, encode_key, encode_varint},
    };

    use super::*;
    use crate::proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes};

    /// What the printer writes for `bytes` when it decodes them, or `None`
    /// where it fails (bytes prost refuses, a time protojson cannot write)
    /// or writes no flow.
    fn decoded_line(bytes: &[u8]) -> Option<Vec<u8>> {
        let response = GetFlowsResponse::decode(bytes).ok()?;
        if !matches!(response.response_types, Some(ResponseTypes::Flow(_))) {
            return None;
        }
        let mut out = Vec::new();
        crate::printer::json::write_response(&mut out, &response).ok()?;
        Some(out)
    }

    fn wire_line(bytes: &[u8]) -> Option<Vec<u8>> {
        let mut out = b"before".to_vec();
        let written = WireJson::default().write_response(&mut out, bytes);
        match written {
            Ok(()) => Some(out.split_off(6)),
            Err(Declined) => {
                assert_eq!(out, b"before", "a declined response left output behind");
                None
            }
        }
    }

    /// Every response of the conformance corpus and the demo capture, as a
    /// server encodes it.
    fn captured() -> Vec<Vec<u8>> {
        include_str!("../../tests/fixtures/conformance/flows.jsonl")
            .lines()
            .chain(include_str!("../../examples/cilium-test.jsonl").lines())
            .filter_map(|line| crate::source::decode_line(line.as_bytes()).ok())
            .map(|(response, _)| response.encode_to_vec())
            .collect()
    }

    #[test]
    fn captured_flows_are_written_as_the_decoding_printer_writes_them() {
        let mut compared = 0;
        for bytes in captured() {
            let Some(expected) = decoded_line(&bytes) else {
                continue;
            };
            let written = wire_line(&bytes);
            assert_eq!(
                written.as_deref().map(String::from_utf8_lossy),
                Some(String::from_utf8_lossy(&expected)),
                "{}",
                String::from_utf8_lossy(&expected)
            );
            compared += 1;
        }
        assert!(compared > 100, "only {compared} flows compared");
    }

    /// Random messages of the API's own schema, well formed or broken in
    /// the ways a server or a network could break them.
    struct Generator {
        rng: fastrand::Rng,
        /// Break one message in a hundred.
        faults: bool,
        broken: bool,
    }

    const TEXTS: &[&str] = &[
        "",
        "a",
        "kube-system",
        "k8s:app=<web>&\"x\"",
        "line\nbreak\ttab\u{1}",
        "\u{2028}\u{2029}é漢字",
        "back\\slash",
        "10.0.0.1",
    ];

    impl Generator {
        fn message(&mut self, index: u16, depth: u32, out: &mut Vec<u8>) {
            let message = &MESSAGES[usize::from(index)];
            let mut pieces: Vec<Vec<u8>> = Vec::new();
            let mut oneofs = Vec::new();
            for (number, field_index) in message.by_number {
                let field = &message.fields[usize::from(*field_index)];
                // Always a flow, for a response; Any only among faults.
                let wanted = match (field.flow, field.kind, field.oneof) {
                    (true, _, _) => true,
                    (false, _, Some(_)) if depth == 0 => false,
                    (false, Kind::Other, _) => self.fault(),
                    _ => self.rng.u8(..) >= 120,
                };
                if !wanted {
                    continue;
                }
                if let Some(oneof) = field.oneof {
                    if oneofs.contains(&oneof) && !self.fault() {
                        continue;
                    }
                    oneofs.push(oneof);
                }
                let count = match field.repeated {
                    true => self.rng.usize(0..4),
                    false if self.fault() => 2,
                    false => 1,
                };
                let packed = field.repeated
                    && matches!(field.kind, Kind::Scalar(s) if s != Scalar::String)
                    && self.rng.bool();
                let mut run = Vec::new();
                for _ in 0..count {
                    let mut piece = Vec::new();
                    if packed {
                        self.value(field.kind, depth, &mut run);
                        continue;
                    }
                    let kind = field.kind;
                    let wire = self.wire_type(kind);
                    encode_key(*number, wire, &mut piece);
                    let mut value = Vec::new();
                    self.value(kind, depth, &mut value);
                    if wire == WireType::LengthDelimited {
                        encode_varint(value.len() as u64, &mut piece);
                    }
                    piece.extend_from_slice(&value);
                    pieces.push(piece);
                }
                if packed {
                    let mut piece = Vec::new();
                    encode_key(*number, WireType::LengthDelimited, &mut piece);
                    encode_varint(run.len() as u64, &mut piece);
                    piece.extend_from_slice(&run);
                    pieces.push(piece);
                }
            }
            if self.rng.u8(..) < 20 {
                // A field from a newer API.
                let mut piece = Vec::new();
                encode_key(
                    self.rng.u32(9000..9100),
                    WireType::LengthDelimited,
                    &mut piece,
                );
                encode_varint(3, &mut piece);
                piece.extend_from_slice(b"new");
                pieces.push(piece);
            }
            // Servers need not send fields in declaration order, nor in
            // number order.
            if self.rng.bool() {
                self.rng.shuffle(&mut pieces);
            }
            for piece in pieces {
                out.extend_from_slice(&piece);
            }
            if self.fault() {
                match self.rng.u8(0..3) {
                    0 => out.truncate(out.len().saturating_sub(1)),
                    1 => out.push(0x80),
                    _ => out.extend_from_slice(&[0x0f, 0x00]),
                }
            }
        }

        fn fault(&mut self) -> bool {
            let fault = self.faults && self.rng.u8(..) < 3;
            self.broken |= fault;
            fault
        }

        fn wire_type(&mut self, kind: Kind) -> WireType {
            let expected = match kind {
                Kind::Scalar(scalar) => match super::wire_type(scalar) {
                    VARINT => WireType::Varint,
                    _ => WireType::LengthDelimited,
                },
                _ => WireType::LengthDelimited,
            };
            match self.fault() {
                true if expected == WireType::Varint => WireType::LengthDelimited,
                true => WireType::Varint,
                false => expected,
            }
        }

        fn value(&mut self, kind: Kind, depth: u32, out: &mut Vec<u8>) {
            match kind {
                Kind::Scalar(Scalar::String) => {
                    let text = TEXTS[self.rng.usize(..TEXTS.len())];
                    out.extend_from_slice(text.as_bytes());
                    if self.fault() {
                        out.push(0xff);
                    }
                }
                Kind::Scalar(scalar) => {
                    let value = match self.rng.u8(0..7) {
                        0 => 0,
                        1 => 1,
                        2 => u64::MAX,
                        3 => u64::from(self.rng.u32(..)),
                        4 => (-5_i64).cast_unsigned(),
                        // Zero in 32 bits, as prost reads a 32-bit field.
                        5 => 1 << 32,
                        _ => self.rng.u64(..),
                    };
                    let value = match scalar {
                        Scalar::Enum(_) if self.rng.bool() => self.rng.u64(0..20),
                        Scalar::Bool => value & 1,
                        _ => value,
                    };
                    encode_varint(value, out);
                }
                Kind::Message(index) if depth < 6 => self.message(index, depth + 1, out),
                Kind::Message(_) => {}
                Kind::Timestamp => {
                    let seconds = match self.rng.u8(0..8) {
                        0 => {
                            self.broken = true;
                            -62_135_596_801
                        }
                        1 => 0,
                        _ => self.rng.i64(-62_135_596_800..253_402_300_799),
                    };
                    let nanos = match self.rng.u8(0..6) {
                        0 => 0,
                        1 => 123_000_000,
                        2 => 123_456_000,
                        // Out of protojson's range: its own error.
                        3 => {
                            self.broken = true;
                            1_000_000_000
                        }
                        _ => self.rng.i32(0..1_000_000_000),
                    };
                    Timestamp { seconds, nanos }
                        .encode(out)
                        .expect("a Vec grows");
                }
                Kind::Wrapper(scalar) => {
                    if self.rng.bool() {
                        let wire = self.wire_type(Kind::Scalar(scalar));
                        encode_key(1, wire, out);
                        let mut value = Vec::new();
                        self.value(Kind::Scalar(scalar), depth, &mut value);
                        if wire == WireType::LengthDelimited {
                            encode_varint(value.len() as u64, out);
                        }
                        out.extend_from_slice(&value);
                    }
                }
                // Any: the extensions of a newer Cilium.
                Kind::Other => {
                    encode_key(1, WireType::LengthDelimited, out);
                    encode_varint(4, out);
                    out.extend_from_slice(b"t/x.");
                }
            }
        }

        fn response(&mut self) -> Vec<u8> {
            let mut out = Vec::new();
            self.message(RESPONSE, 0, &mut out);
            out
        }
    }

    /// The property: whatever is written is what the decoding printer
    /// writes; whatever the decoding printer fails on is declined; and
    /// well-formed flows without extensions are all taken.
    #[test]
    fn random_responses_are_written_as_the_decoding_printer_writes_them() {
        let (mut taken, mut declined) = (0, 0);
        for seed in 0..20_000 {
            let mut generator = Generator {
                rng: fastrand::Rng::with_seed(seed),
                faults: seed % 2 == 1,
                broken: false,
            };
            let bytes = generator.response();
            let expected = decoded_line(&bytes);
            let written = wire_line(&bytes);
            if !generator.broken && expected.is_some() {
                assert!(
                    written.is_some(),
                    "seed {seed}: a well-formed flow was declined"
                );
            }
            match (&written, &expected) {
                (Some(written), Some(expected)) => {
                    assert_eq!(
                        String::from_utf8_lossy(written),
                        String::from_utf8_lossy(expected),
                        "seed {seed}"
                    );
                    taken += 1;
                }
                (Some(written), None) => panic!(
                    "seed {seed}: wrote {} for a response the printer refuses",
                    String::from_utf8_lossy(written)
                ),
                (None, _) => declined += 1,
            }
        }
        assert!(taken > 8000, "taken {taken}, declined {declined}");
    }

    #[test]
    fn other_responses_are_declined() {
        use crate::proto::relay::NodeStatusEvent;
        let node_status = GetFlowsResponse {
            response_types: Some(ResponseTypes::NodeStatus(NodeStatusEvent::default())),
            ..GetFlowsResponse::default()
        };
        assert_eq!(wire_line(&node_status.encode_to_vec()), None);
        assert_eq!(
            wire_line(&GetFlowsResponse::default().encode_to_vec()),
            None
        );
    }
}
