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

    /// How many of the responses are flows.
    pub fn flow_count(&self) -> u64 {
        self.responses
            .iter()
            .filter(|r| matches!(r.response_types, Some(ResponseTypes::Flow(_))))
            .count() as u64
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
}
