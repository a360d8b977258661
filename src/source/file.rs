//! Flows from a capture of jsonpb lines, as `hubble observe -o jsonpb`
//! writes them, answered with a relay's semantics: the request's filters,
//! `--first`/`--last` and `--since`/`--until` (by the response's time) are
//! applied here, since no server does it.

use std::{
    collections::VecDeque,
    fs::File,
    io::{self, BufRead, BufReader, Read},
    pin::Pin,
    task::{Context, Poll, ready},
    thread,
};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};

use super::{Item, ResponseStream, SourceError};
use crate::{
    filter::FlowMatcher,
    proto::{Timestamp, observer::GetFlowsRequest, observer::GetFlowsResponse},
};

/// How many batches of decoded responses may wait for the printer. Decoding
/// runs on its own thread, so this bounds memory while letting both sides
/// work at once.
const QUEUE_DEPTH: usize = 2;

/// Hubble's bound on `--last` for file input, which keeps that many
/// responses in memory until the end.
const MAX_LAST: u64 = 1_000_000;

/// Responses handed over at once: one wake-up of the printer per batch
/// rather than per flow.
const BATCH: usize = 128;

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
        let mut batcher = Batcher {
            sender,
            items: Vec::with_capacity(BATCH),
        };
        let path = self.path.clone();
        thread::Builder::new()
            .name("hubl-file-source".into())
            .spawn(move || {
                let reader = BufReader::with_capacity(256 * 1024, reader);
                read_lines(reader, &path, selection, &mut batcher);
                batcher.flush();
            })
            .map_err(|source| SourceError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(Box::pin(BatchStream {
            receiver: ReceiverStream::new(receiver),
            current: Vec::new().into_iter(),
        }))
    }
}

/// Collects responses into batches for the channel.
struct Batcher {
    sender: mpsc::Sender<Vec<Item>>,
    items: Vec<Item>,
}

impl Batcher {
    /// Queues `item`; false once the printer has gone away.
    fn push(&mut self, item: Item) -> bool {
        self.items.push(item);
        self.items.len() < BATCH || self.flush()
    }

    /// Hands over what is queued; false once the printer has gone away.
    fn flush(&mut self) -> bool {
        if self.items.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.items, Vec::with_capacity(BATCH));
        self.sender.blocking_send(batch).is_ok()
    }
}

/// The responses of the batches, one at a time.
struct BatchStream {
    receiver: ReceiverStream<Vec<Item>>,
    current: std::vec::IntoIter<Item>,
}

impl Stream for BatchStream {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        loop {
            if let Some(item) = self.current.next() {
                return Poll::Ready(Some(item));
            }
            match ready!(Pin::new(&mut self.receiver).poll_next(cx)) {
                Some(batch) => self.current = batch.into_iter(),
                None => return Poll::Ready(None),
            }
        }
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
            n if n > MAX_LAST => return Err(SourceError::LastTooLarge(n)),
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
    mut reader: BufReader<Box<dyn Read + Send>>,
    path: &str,
    selection: Selection,
    batcher: &mut Batcher,
) {
    let mut line = Vec::with_capacity(4096);
    let mut line_number = 0u64;
    let mut sent = 0u64;
    let mut last = match selection.limit {
        Limit::Last(n) => Some(VecDeque::with_capacity(n.min(BATCH))),
        _ => None,
    };
    let mut warned_unknown = false;
    loop {
        line.clear();
        // About to wait for more input: what is decoded must not wait too.
        if reader.buffer().is_empty() && !batcher.flush() {
            return;
        }
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(source) => {
                batcher.push(Err(SourceError::Read {
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
        let response = match decode_line(text) {
            Ok((response, unknown)) => {
                if let Some(field) = unknown
                    && !warned_unknown
                {
                    warned_unknown = true;
                    let warning = SourceError::UnknownField {
                        line: line_number,
                        field,
                    };
                    if !batcher.push(Err(warning)) {
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
                if !batcher.push(Err(error)) {
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
                if !batcher.push(Ok(response)) {
                    return;
                }
                sent += 1;
                if sent >= *n {
                    return;
                }
            }
            _ => {
                if !batcher.push(Ok(response)) {
                    return;
                }
            }
        }
    }
    for response in last.into_iter().flatten() {
        if !batcher.push(Ok(response)) {
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
pub fn decode_line(text: &[u8]) -> Result<(GetFlowsResponse, Option<String>), String> {
    // One UTF-8 check for the whole line is cheaper than one per string.
    let text = std::str::from_utf8(text).map_err(|e| format!("invalid UTF-8: {e}"))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut unknown = None;
    let response: GetFlowsResponse = serde_ignored::deserialize(&mut deserializer, |path| {
        // serde_ignored marks the message inside a oneof as `?`: leave it out.
        unknown.get_or_insert_with(|| path.to_string().replace(".?", ""));
    })
    .map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok((response, unknown))
}
