//! Flows from a capture of jsonpb lines, as `hubble observe -o jsonpb`
//! writes them, answered with a relay's semantics: the request's filters,
//! `--first`/`--last` and `--since`/`--until` (by the response's time) are
//! applied here, since no server does it.

use std::{
    collections::VecDeque,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    thread,
};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ResponseStream, SourceError};
use crate::{
    filter::FlowMatcher,
    proto::{Timestamp, observer::GetFlowsRequest, observer::GetFlowsResponse},
};

/// How many decoded responses may wait for the printer. Decoding runs on its
/// own thread, so this bounds memory while letting both sides work at once.
const QUEUE_DEPTH: usize = 1024;

/// Responses read from a file or from stdin (`-`).
pub struct FileSource {
    path: String,
}

impl FileSource {
    /// A source for `--input-file PATH`; `-` means stdin.
    pub fn new(path: impl Into<String>) -> Self {
        Self { path: path.into() }
    }

    /// Starts reading and answers `request` as a relay would. Fails early if
    /// the file cannot be opened or the request's filters are invalid.
    pub fn get_flows(&self, request: &GetFlowsRequest) -> Result<ResponseStream, SourceError> {
        let reader: Box<dyn Read + Send> = if self.path == "-" {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(&self.path).map_err(|source| SourceError::Read {
                path: self.path.clone(),
                source,
            })?)
        };
        let selection = Selection::new(request)?;
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let path = self.path.clone();
        thread::Builder::new()
            .name("hubl-file-source".into())
            .spawn(move || {
                let reader = BufReader::with_capacity(256 * 1024, reader);
                read_lines(reader, &path, selection, &sender);
            })
            .map_err(|source| SourceError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }
}

/// Which responses of the capture the request asks for.
struct Selection {
    matcher: FlowMatcher,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    limit: Limit,
}

enum Limit {
    /// Every matching response (`--all`, `--follow`, or no number).
    All,
    /// The first N matching responses; reading stops after them.
    First(u64),
    /// The last N matching responses, kept in a ring until the end.
    Last(usize),
}

impl Selection {
    fn new(request: &GetFlowsRequest) -> Result<Self, SourceError> {
        let matcher = FlowMatcher::new(&request.whitelist, &request.blacklist)?;
        let limit = match request.number {
            0 | u64::MAX => Limit::All,
            n if request.first => Limit::First(n),
            n => Limit::Last(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        Ok(Self {
            matcher,
            since: request.since,
            until: request.until,
            limit,
        })
    }

    fn wants(&self, response: &GetFlowsResponse) -> bool {
        // Hubble compares with the response's own time; a response without
        // one counts as the Unix epoch.
        let time = response.time.unwrap_or_default();
        if self.since.is_some_and(|since| time < since) {
            return false;
        }
        if self.until.is_some_and(|until| time > until) {
            return false;
        }
        self.matcher.matches(response)
    }
}

/// Reads, decodes and selects lines until the input ends, the limit is
/// reached or the receiver goes away.
fn read_lines(
    mut reader: impl BufRead,
    path: &str,
    selection: Selection,
    sender: &mpsc::Sender<Result<GetFlowsResponse, SourceError>>,
) {
    let mut line = Vec::with_capacity(4096);
    let mut line_number = 0u64;
    let mut sent = 0u64;
    let mut last = match selection.limit {
        Limit::Last(n) => Some(VecDeque::with_capacity(n.min(QUEUE_DEPTH))),
        _ => None,
    };
    let mut warned_unknown = false;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(source) => {
                let _ = sender.blocking_send(Err(SourceError::Read {
                    path: path.to_owned(),
                    source,
                }));
                return;
            }
        }
        line_number += 1;
        let text = trim_line_end(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let response = match decode(text) {
            Ok((response, unknown)) => {
                if let Some(field) = unknown
                    && !warned_unknown
                {
                    warned_unknown = true;
                    let warning = SourceError::UnknownField {
                        line: line_number,
                        field,
                    };
                    if sender.blocking_send(Err(warning)).is_err() {
                        return;
                    }
                }
                response
            }
            Err(reason) => {
                let error = SourceError::Malformed {
                    line: line_number,
                    reason,
                };
                if sender.blocking_send(Err(error)).is_err() {
                    return;
                }
                continue;
            }
        };
        if !selection.wants(&response) {
            continue;
        }
        match (&selection.limit, &mut last) {
            (Limit::Last(n), Some(ring)) => {
                if *n == 0 {
                    continue;
                }
                if ring.len() == *n {
                    ring.pop_front();
                }
                ring.push_back(response);
            }
            (Limit::First(n), _) => {
                if sender.blocking_send(Ok(response)).is_err() {
                    return;
                }
                sent += 1;
                if sent >= *n {
                    return;
                }
            }
            _ => {
                if sender.blocking_send(Ok(response)).is_err() {
                    return;
                }
            }
        }
    }
    for response in last.into_iter().flatten() {
        if sender.blocking_send(Ok(response)).is_err() {
            return;
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Decodes one jsonpb line. Unknown fields are dropped, as the latest Hubble
/// does; the first one met is returned so that the caller can warn once.
fn decode(text: &[u8]) -> Result<(GetFlowsResponse, Option<String>), String> {
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let mut unknown = None;
    let response: GetFlowsResponse = serde_ignored::deserialize(&mut deserializer, |path| {
        unknown.get_or_insert_with(|| path.to_string());
    })
    .map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok((response, unknown))
}
