//! A capture of jsonpb lines, read once and shared by every client.
//!
//! Each response is kept as its protobuf encoding, which is what the relay
//! sends and about a sixth of the memory of the decoded message: a capture
//! of a million flows fits in well under a gigabyte. The encodings lie in
//! chunks of about a megabyte, and an index beside them holds what choosing
//! responses needs without decoding them: whether each is a flow, and its
//! time. Only filters decode a flow, and only when a request has them.

use std::{
    collections::BTreeSet,
    io::{self, BufRead},
};

use bytes::Bytes;
use prost::Message;

use crate::{
    proto::{
        Timestamp,
        observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
    },
    source::decode_line,
};

/// The size of a chunk of encoded responses: large enough that chunks cost
/// nothing to keep track of, small enough that rewriting the capture one
/// chunk at a time (`shift_times`) needs little more memory.
const CHUNK: usize = 1 << 20;

/// The responses of a capture and what the relay reports about it.
pub struct Capture {
    chunks: Vec<Bytes>,
    entries: Vec<Entry>,
    flows: u64,
    /// Node names seen in flows, sorted.
    pub nodes: Vec<String>,
    /// (cluster, namespace) pairs seen in endpoints, sorted.
    pub namespaces: Vec<(String, String)>,
}

/// Where a response's encoding lies, and what selecting it needs.
#[derive(Clone, Copy)]
struct Entry {
    chunk: u32,
    start: u32,
    end: u32,
    is_flow: bool,
    time: Option<Timestamp>,
}

/// A line of the capture that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: u64,
    pub reason: String,
}

/// A stored response that does not decode: a bug in the store, as it only
/// holds what prost encoded.
#[derive(Debug, thiserror::Error)]
#[error("stored response {index} does not decode: {source}")]
pub struct CorruptResponse {
    index: usize,
    #[source]
    source: prost::DecodeError,
}

impl Capture {
    /// Parses a capture held in memory; lines that do not decode are
    /// returned apart, with their numbers, so that the caller can report
    /// them.
    pub fn parse(text: &[u8]) -> (Self, Vec<BadLine>) {
        let mut loader = Loader::default();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            loader.line(index as u64 + 1, line);
        }
        loader.finish()
    }

    /// Reads a capture line by line, as `parse` does, without holding its
    /// text: a capture's jsonpb is about twice the size of what is kept.
    pub fn read(mut reader: impl BufRead) -> io::Result<(Self, Vec<BadLine>)> {
        let mut loader = Loader::default();
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(loader.finish());
            }
            number += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            loader.line(number, text);
        }
    }

    /// How many responses the capture holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether response `index` is a flow (rather than a node status or
    /// lost events).
    pub fn is_flow(&self, index: usize) -> bool {
        self.entries[index].is_flow
    }

    /// The time of response `index`.
    pub fn time(&self, index: usize) -> Option<Timestamp> {
        self.entries[index].time
    }

    /// The encoding of response `index`, sharing the capture's memory.
    pub fn encoded(&self, index: usize) -> Bytes {
        let entry = self.entries[index];
        self.chunks[entry.chunk as usize].slice(entry.start as usize..entry.end as usize)
    }

    /// Response `index`, decoded.
    pub fn decode(&self, index: usize) -> Result<GetFlowsResponse, CorruptResponse> {
        GetFlowsResponse::decode(self.encoded(index))
            .map_err(|source| CorruptResponse { index, source })
    }

    /// How many of the responses are flows.
    pub fn flow_count(&self) -> u64 {
        self.flows
    }

    /// Moves every timestamp of the capture by one amount, so that its
    /// last response is at `now`: history and the live replay, whose
    /// flows are stamped with the time they are sent, then share one
    /// clock, and `--since 5m` finds the capture's last minutes. The last
    /// response in the capture's order, not the latest time, is the end, so
    /// that a stray time far ahead does not throw the rest into the past;
    /// what would leave the range of timestamps stops at its bound.
    ///
    /// The capture is rewritten one chunk at a time, so that the old and
    /// the new encodings are never both held whole.
    pub fn shift_times(&mut self, now: Timestamp) {
        let Some(end) = self.entries.iter().rev().find_map(|e| e.time) else {
            return;
        };
        let shift = nanos(now) - nanos(end);
        let moved = |time: &mut Option<Timestamp>| {
            if let Some(time) = time {
                *time = from_nanos(nanos(*time) + shift);
            }
        };
        let mut entries = self.entries.iter_mut().peekable();
        for (index, chunk) in self.chunks.iter_mut().enumerate() {
            let mut rewritten = Vec::with_capacity(chunk.len());
            while let Some(entry) = entries.next_if(|e| e.chunk as usize == index) {
                let stored = &chunk[entry.start as usize..entry.end as usize];
                let start = rewritten.len();
                match GetFlowsResponse::decode(stored) {
                    Ok(mut response) => {
                        moved(&mut response.time);
                        match &mut response.response_types {
                            Some(ResponseTypes::Flow(flow)) => moved(&mut flow.time),
                            Some(ResponseTypes::LostEvents(lost)) => {
                                moved(&mut lost.first);
                                moved(&mut lost.last);
                            }
                            _ => {}
                        }
                        entry.time = response.time;
                        response.encode_raw(&mut rewritten);
                    }
                    // Only what prost encoded is stored: should it not
                    // decode, it is kept as it is rather than lost.
                    Err(_) => rewritten.extend_from_slice(stored),
                }
                entry.start = offset(start);
                entry.end = offset(rewritten.len());
            }
            *chunk = Bytes::from(rewritten);
        }
    }
}

/// An offset within a chunk; chunks are smaller than 4 GiB, as `Loader`
/// refuses larger responses.
fn offset(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// Builds a capture line by line.
#[derive(Default)]
struct Loader {
    chunks: Vec<Bytes>,
    chunk: Vec<u8>,
    entries: Vec<Entry>,
    flows: u64,
    nodes: BTreeSet<String>,
    namespaces: BTreeSet<(String, String)>,
    bad: Vec<BadLine>,
}

impl Loader {
    fn line(&mut self, number: u64, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let response = match decode_line(line) {
            Ok((response, _)) => response,
            Err(reason) => {
                self.bad.push(BadLine {
                    line: number,
                    reason,
                });
                return;
            }
        };
        let size = response.encoded_len();
        // Chunks are indexed with 32-bit offsets; the time shift may grow
        // a response by a few bytes, hence the margin.
        if size > (u32::MAX >> 1) as usize {
            self.bad.push(BadLine {
                line: number,
                reason: format!("a response of {size} bytes is more than a relay sends"),
            });
            return;
        }
        let is_flow = match &response.response_types {
            Some(ResponseTypes::Flow(flow)) => {
                if !flow.node_name.is_empty() && !self.nodes.contains(&flow.node_name) {
                    self.nodes.insert(flow.node_name.clone());
                }
                for endpoint in [&flow.source, &flow.destination].into_iter().flatten() {
                    if !endpoint.namespace.is_empty() {
                        self.namespaces
                            .insert((endpoint.cluster_name.clone(), endpoint.namespace.clone()));
                    }
                }
                true
            }
            _ => false,
        };
        if self.chunk.capacity() - self.chunk.len() < size {
            self.seal();
            self.chunk = Vec::with_capacity(CHUNK.max(size));
        }
        let start = self.chunk.len();
        response.encode_raw(&mut self.chunk);
        self.entries.push(Entry {
            chunk: offset(self.chunks.len()),
            start: offset(start),
            end: offset(self.chunk.len()),
            is_flow,
            time: response.time,
        });
        self.flows += u64::from(is_flow);
    }

    /// Puts the chunk being filled with the others.
    fn seal(&mut self) {
        if !self.chunk.is_empty() {
            self.chunks
                .push(Bytes::from(std::mem::take(&mut self.chunk)));
        }
    }

    fn finish(mut self) -> (Capture, Vec<BadLine>) {
        self.seal();
        self.entries.shrink_to_fit();
        (
            Capture {
                chunks: self.chunks,
                entries: self.entries,
                flows: self.flows,
                nodes: self.nodes.into_iter().collect(),
                namespaces: self.namespaces.into_iter().collect(),
            },
            self.bad,
        )
    }
}

fn nanos(time: Timestamp) -> i128 {
    i128::from(time.seconds) * 1_000_000_000 + i128::from(time.nanos)
}

/// A time from nanoseconds since the epoch, within 0001-01-01 to
/// 9999-12-31, the range of a protobuf Timestamp.
fn from_nanos(nanos: i128) -> Timestamp {
    const FIRST: i128 = -62_135_596_800 * 1_000_000_000;
    const LAST: i128 = 253_402_300_799 * 1_000_000_000 + 999_999_999;
    let nanos = nanos.clamp(FIRST, LAST);
    Timestamp {
        seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

/// Seconds from `earlier` to `later` (negative if it is not later).
pub fn gap_seconds(earlier: Timestamp, later: Timestamp) -> f64 {
    (later.seconds - earlier.seconds) as f64 + f64::from(later.nanos - earlier.nanos) / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_numbered_and_the_rest_kept() {
        let text = b"{\"flow\":{\"node_name\":\"n1\",\"source\":{\"namespace\":\"a\"}},\"time\":\"2023-01-01T00:00:00Z\"}\nnot json\n\n{\"flow\":{\"node_name\":\"n2\"},\"time\":\"2023-01-01T00:00:02Z\"}\n";
        let (capture, bad) = Capture::parse(text);
        assert_eq!(capture.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
        assert_eq!(capture.nodes, ["n1", "n2"]);
        assert_eq!(capture.namespaces, [(String::new(), "a".to_owned())]);
        let (read, bad_read) = Capture::read(&text[..]).unwrap();
        assert_eq!(bad_read, bad);
        assert_eq!(read.len(), 2);
    }

    #[test]
    fn responses_are_stored_as_prost_encodes_them() {
        let text = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/conformance/flows.jsonl"),
        )
        .unwrap();
        let (capture, bad) = Capture::parse(&text);
        let (read, bad_read) = Capture::read(&text[..]).unwrap();
        assert_eq!(bad, bad_read);
        let lines = text
            .split(|&b| b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace));
        let mut flows = 0;
        for (index, line) in lines.enumerate() {
            let (response, _) = decode_line(line.strip_suffix(b"\r").unwrap_or(line)).unwrap();
            assert_eq!(
                &capture.encoded(index)[..],
                response.encode_to_vec(),
                "{index}"
            );
            assert_eq!(read.encoded(index), capture.encoded(index));
            assert_eq!(capture.decode(index).unwrap(), response);
            assert_eq!(capture.time(index), response.time);
            let is_flow = matches!(response.response_types, Some(ResponseTypes::Flow(_)));
            assert_eq!(capture.is_flow(index), is_flow);
            flows += u64::from(is_flow);
        }
        assert_eq!(capture.len(), 400);
        assert_eq!(capture.flow_count(), flows);
    }

    #[test]
    fn chunks_hold_many_responses_and_large_ones_whole() {
        let big = "x".repeat(CHUNK + 10);
        let mut text = String::new();
        for i in 0..3000 {
            let uuid = if i == 1500 { big.as_str() } else { "a flow" };
            text.push_str(&format!(
                "{{\"flow\":{{\"uuid\":\"{uuid}\",\"node_name\":\"n{i}\"}}}}\n"
            ));
        }
        let (capture, bad) = Capture::parse(text.as_bytes());
        assert_eq!(bad, []);
        assert!(capture.chunks.len() >= 2, "{}", capture.chunks.len());
        for i in 0..3000 {
            let response = capture.decode(i).unwrap();
            let Some(ResponseTypes::Flow(flow)) = response.response_types else {
                unreachable!()
            };
            assert_eq!(flow.node_name, format!("n{i}"));
            assert_eq!(flow.uuid.len(), if i == 1500 { big.len() } else { 6 });
        }
    }

    fn time(t: Option<Timestamp>) -> String {
        t.unwrap().to_datetime().unwrap().to_rfc3339()
    }

    fn flow_time(r: &GetFlowsResponse) -> String {
        match &r.response_types {
            Some(ResponseTypes::Flow(flow)) => time(flow.time),
            _ => unreachable!(),
        }
    }

    #[test]
    fn shifted_times_end_now_and_keep_their_gaps() {
        let text = b"{\"flow\":{\"time\":\"2023-01-01T00:00:00.75Z\"},\"time\":\"2023-01-01T00:00:00.75Z\"}\n\
            {\"lost_events\":{\"first\":\"2023-01-01T00:00:01Z\",\"last\":\"2023-01-01T00:00:02Z\"},\"time\":\"2023-01-01T00:00:02Z\"}\n\
            {\"flow\":{\"time\":\"2023-01-01T00:00:03.5Z\"},\"time\":\"2023-01-01T00:00:03.5Z\"}\n";
        let (mut capture, _) = Capture::parse(text);
        let now = Timestamp::parse("2026-12-01T10:00:00.25Z").unwrap();
        capture.shift_times(now);
        let responses: Vec<GetFlowsResponse> = (0..3).map(|i| capture.decode(i).unwrap()).collect();
        assert_eq!(time(responses[2].time), "2026-12-01T10:00:00.250+00:00");
        assert_eq!(time(capture.time(2)), "2026-12-01T10:00:00.250+00:00");
        assert_eq!(flow_time(&responses[2]), "2026-12-01T10:00:00.250+00:00");
        assert_eq!(time(responses[0].time), "2026-12-01T09:59:57.500+00:00");
        assert_eq!(time(capture.time(0)), "2026-12-01T09:59:57.500+00:00");
        assert_eq!(flow_time(&responses[0]), "2026-12-01T09:59:57.500+00:00");
        let Some(ResponseTypes::LostEvents(lost)) = &responses[1].response_types else {
            unreachable!()
        };
        assert_eq!(time(lost.first), "2026-12-01T09:59:57.750+00:00");
        assert_eq!(time(lost.last), "2026-12-01T09:59:58.750+00:00");
    }

    #[test]
    fn shifting_rewrites_every_chunk() {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!(
                "{{\"flow\":{{\"time\":\"2023-01-01T00:00:00.{i:05}Z\",\"uuid\":\"{}\"}},\
                 \"time\":\"2023-01-01T00:00:00.{i:05}Z\"}}\n",
                "s".repeat(100)
            ));
        }
        let (mut capture, _) = Capture::parse(text.as_bytes());
        assert!(capture.chunks.len() >= 2);
        capture.shift_times(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        for (i, expected) in [
            (0, "2025-12-31T23:59:59.80001Z"),
            (10_000, "2025-12-31T23:59:59.90001Z"),
            (19_999, "2026-01-01T00:00:00Z"),
        ] {
            let response = capture.decode(i).unwrap();
            let expected = Timestamp::parse(expected).unwrap();
            assert_eq!(response.time, Some(expected), "{i}");
            assert_eq!(capture.time(i), Some(expected), "{i}");
            assert_eq!(time(Some(expected)), flow_time(&response));
        }
    }

    #[test]
    fn the_last_response_is_the_end_and_the_range_is_kept() {
        let text = b"{\"flow\":{},\"time\":\"9999-12-31T23:59:59Z\"}\n\
            {\"flow\":{},\"time\":\"2023-01-01T00:00:00Z\"}\n";
        let (mut capture, _) = Capture::parse(text);
        capture.shift_times(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        let seconds = |i: usize| capture.decode(i).unwrap().time.unwrap().seconds;
        assert_eq!(seconds(1), 1_767_225_600);
        assert_eq!(seconds(0), 253_402_300_799);
    }
}
