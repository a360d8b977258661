//! A capture of jsonpb lines, parsed once and shared by every client.

use std::{collections::BTreeSet, sync::Arc};

use crate::{
    proto::{
        Timestamp,
        observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
    },
    source::decode_line,
};

/// The responses of a capture and what the relay reports about it.
pub struct Capture {
    pub responses: Vec<Arc<GetFlowsResponse>>,
    /// Node names seen in flows, sorted.
    pub nodes: Vec<String>,
    /// (cluster, namespace) pairs seen in endpoints, sorted.
    pub namespaces: Vec<(String, String)>,
}

/// A line of the capture that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: u64,
    pub reason: String,
}

impl Capture {
    /// Parses a capture; lines that do not decode are returned apart, with
    /// their numbers, so that the caller can report them.
    pub fn parse(text: &[u8]) -> (Self, Vec<BadLine>) {
        let mut responses = Vec::new();
        let mut bad = Vec::new();
        let mut nodes = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let response = match decode_line(line) {
                Ok((response, _)) => response,
                Err(reason) => {
                    bad.push(BadLine {
                        line: index as u64 + 1,
                        reason,
                    });
                    continue;
                }
            };
            if let Some(ResponseTypes::Flow(flow)) = &response.response_types {
                if !flow.node_name.is_empty() {
                    nodes.insert(flow.node_name.clone());
                }
                for endpoint in [&flow.source, &flow.destination].into_iter().flatten() {
                    if !endpoint.namespace.is_empty() {
                        namespaces
                            .insert((endpoint.cluster_name.clone(), endpoint.namespace.clone()));
                    }
                }
            }
            responses.push(Arc::new(response));
        }
        (
            Self {
                responses,
                nodes: nodes.into_iter().collect(),
                namespaces: namespaces.into_iter().collect(),
            },
            bad,
        )
    }

    /// Moves every timestamp of the capture by one amount, so that its
    /// last response is at `now`: history and the live replay, whose
    /// flows are stamped with the time they are sent, then share one
    /// clock, and `--since 5m` finds the capture's last minutes. The last
    /// response in the capture's order, not the latest time, is the end, so
    /// that a stray time far ahead does not throw the rest into the past;
    /// what would leave the range of timestamps stops at its bound.
    pub fn shift_times(&mut self, now: Timestamp) {
        let Some(end) = self.responses.iter().rev().find_map(|r| r.time) else {
            return;
        };
        let shift = nanos(now) - nanos(end);
        let moved = |time: &mut Option<Timestamp>| {
            if let Some(time) = time {
                *time = from_nanos(nanos(*time) + shift);
            }
        };
        for response in &mut self.responses {
            let response = Arc::make_mut(response);
            moved(&mut response.time);
            match &mut response.response_types {
                Some(ResponseTypes::Flow(flow)) => moved(&mut flow.time),
                Some(ResponseTypes::LostEvents(lost)) => {
                    moved(&mut lost.first);
                    moved(&mut lost.last);
                }
                _ => {}
            }
        }
    }

    /// How many of the responses are flows.
    pub fn flow_count(&self) -> u64 {
        self.responses
            .iter()
            .filter(|r| matches!(r.response_types, Some(ResponseTypes::Flow(_))))
            .count() as u64
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
        assert_eq!(capture.responses.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
        assert_eq!(capture.nodes, ["n1", "n2"]);
        assert_eq!(capture.namespaces, [(String::new(), "a".to_owned())]);
    }

    #[test]
    fn shifted_times_end_now_and_keep_their_gaps() {
        let text = b"{\"flow\":{\"time\":\"2023-01-01T00:00:00.75Z\"},\"time\":\"2023-01-01T00:00:00.75Z\"}\n\
            {\"lost_events\":{\"first\":\"2023-01-01T00:00:01Z\",\"last\":\"2023-01-01T00:00:02Z\"},\"time\":\"2023-01-01T00:00:02Z\"}\n\
            {\"flow\":{\"time\":\"2023-01-01T00:00:03.5Z\"},\"time\":\"2023-01-01T00:00:03.5Z\"}\n";
        let (mut capture, _) = Capture::parse(text);
        let now = Timestamp::parse("2026-12-01T10:00:00.25Z").unwrap();
        capture.shift_times(now);
        let time = |t: Option<Timestamp>| t.unwrap().to_datetime().unwrap().to_rfc3339();
        let flow_time = |r: &GetFlowsResponse| match &r.response_types {
            Some(ResponseTypes::Flow(flow)) => time(flow.time),
            _ => unreachable!(),
        };
        assert_eq!(
            time(capture.responses[2].time),
            "2026-12-01T10:00:00.250+00:00"
        );
        assert_eq!(
            flow_time(&capture.responses[2]),
            "2026-12-01T10:00:00.250+00:00"
        );
        assert_eq!(
            time(capture.responses[0].time),
            "2026-12-01T09:59:57.500+00:00"
        );
        assert_eq!(
            flow_time(&capture.responses[0]),
            "2026-12-01T09:59:57.500+00:00"
        );
        let Some(ResponseTypes::LostEvents(lost)) = &capture.responses[1].response_types else {
            unreachable!()
        };
        assert_eq!(time(lost.first), "2026-12-01T09:59:57.750+00:00");
        assert_eq!(time(lost.last), "2026-12-01T09:59:58.750+00:00");
    }

    #[test]
    fn the_last_response_is_the_end_and_the_range_is_kept() {
        let text = b"{\"flow\":{},\"time\":\"9999-12-31T23:59:59Z\"}\n\
            {\"flow\":{},\"time\":\"2023-01-01T00:00:00Z\"}\n";
        let (mut capture, _) = Capture::parse(text);
        capture.shift_times(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        let seconds = |i: usize| capture.responses[i].time.unwrap().seconds;
        assert_eq!(seconds(1), 1_767_225_600);
        assert_eq!(seconds(0), 253_402_300_799);
    }
}
