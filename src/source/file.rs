//! Flows from a capture of jsonpb lines, as `hubble observe -o jsonpb`
//! writes them, answered with a relay's semantics: the request's filters,
//! `--first`/`--last` and `--since`/`--until` (by the response's time) are
//! applied here, since no server does it.
//!
//! Input is read in blocks of whole lines. A regular file is read on the
//! printer's thread, as blocks are needed: its reads never wait long, and a
//! second thread would only add hand-overs and move every block between
//! cores. Stdin and other pipes get a reader thread that only moves bytes,
//! so that a slow pipe never blocks the printer's runtime. Decoding,
//! selection and printing happen on the printer's thread either way, where
//! each response is allocated and freed by the same thread (cheaper, and
//! less memory held by the allocator than when two threads trade objects).

use std::{
    collections::VecDeque,
    fs::File,
    io::{self, Read},
    pin::Pin,
    sync::mpsc as std_mpsc,
    task::{Context, Poll},
    thread,
};

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::Stream;

use super::{Item, ResponseStream, SourceError, jsonpb};
use crate::{
    filter::FlowMatcher,
    proto::{Timestamp, observer::GetFlowsRequest, observer::GetFlowsResponse},
};

/// Blocks of lines that may wait for the printer. With one waiting, one
/// being printed and one being filled, both threads stay busy; more only
/// holds memory.
const QUEUE_DEPTH: usize = 1;

/// A block is handed over once it holds this much, or when the input has
/// nothing more ready. Each hand-over may wake the other thread: reading a
/// million flows with 64 KiB blocks took about 0.8 s of system time, with
/// 256 KiB blocks about 0.3 s. A regular file, read in place with no thread
/// to wake, still took 0.07 s more with 64 KiB blocks (four times the
/// reads, at about 4 µs each here).
const BLOCK_SIZE: usize = 256 * 1024;

/// Hubble's bound on `--last` for file input, which keeps that many
/// responses in memory until the end.
const MAX_LAST: u64 = 1_000_000;

/// Responses read from a file or from stdin (`-`).
pub struct FileSource {
    path: String,
    lean: bool,
}

impl FileSource {
    /// A source for `--input-file PATH`; `-` means stdin.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            lean: false,
        }
    }

    /// Lets flows leave out what compact, dict and table output never print
    /// (see the `jsonpb` module), which makes reading several times cheaper.
    /// Flows stay whole when the request's filters need more.
    pub fn headline_only(mut self) -> Self {
        self.lean = true;
        self
    }

    /// Starts reading and answers `request` as a relay would. Fails early if
    /// the file cannot be opened or the request's filters are invalid.
    pub fn get_flows(&self, request: &GetFlowsRequest) -> Result<ResponseStream, SourceError> {
        let read_error = |source| SourceError::Read {
            path: self.path.clone(),
            source,
        };
        let (reader, regular): (Box<dyn Read + Send>, bool) = if self.path == "-" {
            (Box::new(io::stdin()), false)
        } else {
            let file = File::open(&self.path).map_err(read_error)?;
            let regular = file.metadata().map_err(read_error)?.is_file();
            (Box::new(file), regular)
        };
        let selection = Selection::new(request)?;
        let lean = self.lean && !selection.matcher.needs_whole_flows();
        let feed = if regular {
            Feed::Direct(BlockReader::new(reader))
        } else {
            let reader = BlockReader::new(reader);
            let (blocks, receiver) = mpsc::channel(QUEUE_DEPTH);
            let (recycle, recycled) = std_mpsc::channel();
            thread::Builder::new()
                .name("hubl-file-reader".into())
                .spawn(move || read_blocks(reader, &blocks, &recycled))
                .map_err(read_error)?;
            Feed::Thread { receiver, recycle }
        };
        Ok(Box::pin(Lines {
            path: self.path.clone(),
            feed,
            block: Vec::new(),
            end: 0,
            offset: 0,
            line_number: 0,
            selection,
            lean,
            sent: 0,
            last: VecDeque::new(),
            warned_unknown: false,
            pending: None,
            finished: false,
        }))
    }
}

/// A block of input, or why there is no more.
enum Block {
    /// A buffer whose first bytes (as many as the count says) are whole
    /// lines, each ending with a newline (the last one may not, at the end
    /// of the input). The rest is scratch space, kept for reuse.
    Lines(Vec<u8>, usize),
    Failed(io::Error),
}

/// Cuts input into blocks of whole lines. Input is read straight into the
/// blocks; only the partial line at the end of a block is copied, to the
/// start of the next one. Used blocks come back to be filled again; they
/// keep their length, so that buffers are zeroed only when first made.
struct BlockReader {
    reader: Box<dyn Read + Send>,
    block: Vec<u8>,
    filled: usize,
    /// Where the whole lines of the block given out in place end: the
    /// partial line after them is still in it.
    given: usize,
    /// An error met after some lines: given out after them.
    failed: Option<io::Error>,
    done: bool,
}

impl BlockReader {
    fn new(reader: Box<dyn Read + Send>) -> Self {
        Self {
            reader,
            block: vec![0; BLOCK_SIZE],
            filled: 0,
            given: 0,
            failed: None,
            done: false,
        }
    }

    /// The next block, or `None` at the end of the input. `spare` gives the
    /// buffer that the partial line at the end of the block moves to, so
    /// that the block can be read while this one fills.
    fn next_block(&mut self, spare: impl FnOnce() -> Vec<u8>) -> Option<Block> {
        let end = match self.fill()? {
            Ok(end) => end,
            Err(block) => return Some(block),
        };
        let partial = end..self.filled;
        let mut next = spare();
        if next.len() < partial.len() * 2 {
            next.resize(partial.len() * 2, 0);
        }
        next[..partial.len()].copy_from_slice(&self.block[partial.clone()]);
        self.filled = partial.len();
        let full = std::mem::replace(&mut self.block, next);
        Some(Block::Lines(full, end))
    }

    /// The next block, for a reader that is done with the last one (`used`,
    /// empty the first time) before it asks: the partial line moves to the
    /// front of the same buffer, and one buffer serves the whole input.
    fn next_block_in_place(&mut self, used: Vec<u8>) -> Option<Block> {
        if !used.is_empty() {
            self.block = used;
            self.block.copy_within(self.given..self.filled, 0);
            self.filled -= self.given;
        }
        let end = match self.fill()? {
            Ok(end) => end,
            Err(block) => {
                // Nothing of the input is left in it.
                self.given = 0;
                return Some(block);
            }
        };
        self.given = end;
        Some(Block::Lines(std::mem::take(&mut self.block), end))
    }

    /// Reads until the block holds whole lines and the input has nothing
    /// more ready or the block is full. `Ok` has where the whole lines end;
    /// `Err` a block to give out as it is, at the end of the input or on an
    /// error. `None` once the input has ended.
    fn fill(&mut self) -> Option<Result<usize, Block>> {
        if let Some(error) = self.failed.take() {
            return Some(Err(Block::Failed(error)));
        }
        if self.done {
            return None;
        }
        loop {
            if self.filled == self.block.len() {
                // One line longer than the block: make room for it.
                self.block.resize(self.block.len() * 2, 0);
            }
            let wanted = self.block.len() - self.filled;
            let read = match self.reader.read(&mut self.block[self.filled..]) {
                Ok(0) => {
                    self.done = true;
                    let filled = std::mem::take(&mut self.filled);
                    return (filled > 0)
                        .then(|| Err(Block::Lines(std::mem::take(&mut self.block), filled)));
                }
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.done = true;
                    let filled = std::mem::take(&mut self.filled);
                    if filled == 0 {
                        return Some(Err(Block::Failed(error)));
                    }
                    self.failed = Some(error);
                    return Some(Err(Block::Lines(std::mem::take(&mut self.block), filled)));
                }
            };
            self.filled += read;
            // A short read means the input has nothing more ready (a pipe)
            // or is ending: what was read must not wait.
            if read == wanted && self.filled < self.block.len() {
                continue;
            }
            let Some(last_newline) = memchr::memrchr(b'\n', &self.block[..self.filled]) else {
                continue;
            };
            return Some(Ok(last_newline + 1));
        }
    }
}

/// The reader thread of a pipe: reads blocks until the input ends or the
/// printer goes away. Used blocks come back through `recycled`.
fn read_blocks(
    mut reader: BlockReader,
    blocks: &mpsc::Sender<Block>,
    recycled: &std_mpsc::Receiver<Vec<u8>>,
) {
    let spare = || recycled.try_recv().unwrap_or_else(|_| vec![0; BLOCK_SIZE]);
    while let Some(block) = reader.next_block(spare) {
        if blocks.blocking_send(block).is_err() {
            return;
        }
    }
}

/// Where blocks come from: read here as needed, or handed over by a reader
/// thread.
enum Feed {
    Direct(BlockReader),
    Thread {
        receiver: mpsc::Receiver<Block>,
        recycle: std_mpsc::Sender<Vec<u8>>,
    },
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

/// The stream of selected responses, decoded line by line as it is polled.
struct Lines {
    path: String,
    feed: Feed,
    block: Vec<u8>,
    /// Where the lines in `block` end.
    end: usize,
    offset: usize,
    line_number: u64,
    selection: Selection,
    /// Whether lines are read leanly when they allow it.
    lean: bool,
    /// Responses given out, for `--first`.
    sent: u64,
    /// The last N responses, for `--last`, given out at the end.
    last: VecDeque<GetFlowsResponse>,
    warned_unknown: bool,
    /// A response to give out after the warning given out before it.
    pending: Option<GetFlowsResponse>,
    finished: bool,
}

impl Lines {
    /// The next item of the current block, if it has one.
    fn next_in_block(&mut self) -> Option<Item> {
        while self.offset < self.end {
            let rest = &self.block[self.offset..self.end];
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |at| at + 1);
            self.offset += end;
            self.line_number += 1;
            let line = trim_line_end(&rest[..end]);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line_number = self.line_number;
            let read = match self.lean {
                true => jsonpb::decode,
                false => jsonpb::decode_whole,
            };
            let decoded = match simdutf8::basic::from_utf8(line).ok().and_then(read) {
                Some(response) => Ok((response, None)),
                None => decode(line, !self.warned_unknown),
            };
            let (response, unknown) = match decoded {
                Ok(decoded) => decoded,
                Err(reason) => {
                    return Some(Err(SourceError::Malformed {
                        line: line_number,
                        reason,
                    }));
                }
            };
            let warning = unknown.filter(|_| !self.warned_unknown).map(|unknown| {
                self.warned_unknown = true;
                match unknown {
                    Unknown::Field(field) => SourceError::UnknownField {
                        line: line_number,
                        field,
                    },
                    Unknown::EnumValue(value) => SourceError::UnknownEnumValue {
                        line: line_number,
                        enum_name: value.enum_name,
                        value: value.value,
                    },
                }
            });
            let selected = self.select(response);
            return match (warning, selected) {
                (Some(warning), selected) => {
                    self.pending = selected;
                    Some(Err(warning))
                }
                (None, Some(response)) => Some(Ok(response)),
                (None, None) => continue,
            };
        }
        None
    }

    /// Applies the request to one response: given out now, kept for the
    /// end, or dropped.
    fn select(&mut self, response: GetFlowsResponse) -> Option<GetFlowsResponse> {
        if !self.selection.wants(&response) {
            jsonpb::recycle(response);
            return None;
        }
        match self.selection.limit {
            Limit::All => Some(response),
            Limit::First(n) => {
                self.sent += 1;
                if self.sent >= n {
                    // Enough: skip the rest of the block; the reader stops
                    // when it sees the channel close.
                    self.finished = true;
                    self.offset = self.end;
                    if let Feed::Thread { receiver, .. } = &mut self.feed {
                        receiver.close();
                    }
                }
                Some(response)
            }
            Limit::Last(n) => {
                if n > 0 {
                    if self.last.len() == n {
                        self.last.pop_front();
                    }
                    self.last.push_back(response);
                }
                None
            }
        }
    }
}

impl Stream for Lines {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = &mut *self;
        loop {
            if let Some(response) = this.pending.take() {
                return Poll::Ready(Some(Ok(response)));
            }
            if this.finished && this.offset >= this.end {
                return Poll::Ready(this.last.pop_front().map(Ok));
            }
            if let Some(item) = this.next_in_block() {
                return Poll::Ready(Some(item));
            }
            if this.finished {
                continue;
            }
            let next = match &mut this.feed {
                // Read only when the block is done with: one buffer.
                Feed::Direct(reader) => reader.next_block_in_place(std::mem::take(&mut this.block)),
                Feed::Thread { receiver, .. } => match receiver.poll_recv(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(next) => next,
                },
            };
            match next {
                Some(Block::Lines(block, end)) => {
                    let used = std::mem::replace(&mut this.block, block);
                    this.end = end;
                    this.offset = 0;
                    if let Feed::Thread { recycle, .. } = &this.feed
                        && !used.is_empty()
                    {
                        // The reader may be gone; the block is then dropped.
                        let _ = recycle.send(used);
                    }
                }
                Some(Block::Failed(source)) => {
                    this.finished = true;
                    this.end = 0;
                    return Poll::Ready(Some(Err(SourceError::Read {
                        path: this.path.clone(),
                        source,
                    })));
                }
                None => this.finished = true,
            }
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What a line had that this build does not know, dropped from the flow:
/// reported once per input, as Hubble reports the first line it could read
/// only by discarding unknown fields and enum values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    /// A field, by its path in the response.
    Field(String),
    /// An enum value name, read as 0.
    EnumValue(crate::proto::UnknownEnumValue),
}

/// Decodes one jsonpb line as Hubble's protojson does. What this build does
/// not know is dropped, as the latest Hubble does; the first thing met is
/// returned so that the caller can warn once.
///
/// One difference is left: protojson's tokenizer also takes a number that
/// ends in a bare exponent mark (`"port":80e,`, read as 80), which is not
/// JSON and which serde_json refuses. Taking it would mean a JSON parser of
/// our own for the fallback path, for lines that only a corrupted capture
/// holds; such a line is reported with its number, so nothing is lost
/// silently.
pub fn decode_line(text: &[u8]) -> Result<(GetFlowsResponse, Option<Unknown>), String> {
    decode(text, true)
}

/// `decode_line`, naming what is unknown only if `name_unknown`: finding a
/// field's path means decoding the line a second time.
fn decode(text: &[u8], name_unknown: bool) -> Result<(GetFlowsResponse, Option<Unknown>), String> {
    // One UTF-8 check for the whole line is cheaper than one per string.
    let text = std::str::from_utf8(text).map_err(|e| format!("invalid UTF-8: {e}"))?;
    let (response, dropped) = crate::proto::noting_unknown_fields(|| {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let response = GetFlowsResponse::deserialize(&mut deserializer)?;
        deserializer.end().map(|()| response)
    });
    let response = response.map_err(|e| e.to_string())?;
    if !(dropped.anything() && name_unknown) {
        return Ok((response, None));
    }
    if !dropped.field {
        return Ok((response, dropped.enum_value.map(Unknown::EnumValue)));
    }
    let mut unknown = None;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let _: Result<GetFlowsResponse, _> = serde_ignored::deserialize(&mut deserializer, |path| {
        // serde_ignored marks the message inside a oneof as `?`: leave it out.
        unknown.get_or_insert_with(|| path.to_string().replace(".?", ""));
    });
    // The path is only a nicety: the warning stands without it.
    let field = unknown.unwrap_or_else(|| "?".to_owned());
    Ok((response, Some(Unknown::Field(field))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input given out a few bytes at a time, then maybe an error.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        sizes: Vec<usize>,
        fail: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return match std::mem::take(&mut self.fail) {
                    true => Err(io::Error::other("gone")),
                    false => Ok(0),
                };
            }
            let size = self.sizes[self.at % self.sizes.len()];
            let n = size.min(out.len()).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Every byte given out, in order, as blocks of whole lines, then the
    /// error if any; both ways of taking blocks.
    fn read_all(data: &[u8], sizes: &[usize], fail: bool, in_place: bool) -> (Vec<u8>, bool) {
        let mut reader = BlockReader::new(Box::new(Trickle {
            data: data.to_vec(),
            at: 0,
            sizes: sizes.to_vec(),
            fail,
        }));
        let (mut out, mut failed, mut used) = (Vec::new(), false, Vec::new());
        loop {
            let block = match in_place {
                true => reader.next_block_in_place(std::mem::take(&mut used)),
                false => reader.next_block(|| std::mem::take(&mut used)),
            };
            match block {
                Some(Block::Lines(block, end)) => {
                    let lines = &block[..end];
                    let whole = lines.ends_with(b"\n") || out.len() + end == data.len();
                    assert!(whole, "a block ends inside a line");
                    out.extend_from_slice(lines);
                    used = block;
                }
                Some(Block::Failed(_)) => failed = true,
                None => return (out, failed),
            }
        }
    }

    #[test]
    fn blocks_hold_every_line_whole() {
        let mut data = Vec::new();
        let mut random = crate::testing::numbers(7);
        for line in 0..1000 {
            let len = match line {
                // Longer than a block, which must grow for it.
                600 => BLOCK_SIZE + 1000,
                _ => random(2000) as usize,
            };
            data.extend(std::iter::repeat_n(b'a' + (line % 26) as u8, len));
            data.push(b'\n');
        }
        data.extend_from_slice(b"no newline at the end");
        for sizes in [&[BLOCK_SIZE][..], &[4096, 100_000, 13], &[65_536, 300]] {
            for fail in [false, true] {
                for in_place in [false, true] {
                    let (out, failed) = read_all(&data, sizes, fail, in_place);
                    assert!(out == data, "sizes {sizes:?}, in place {in_place}");
                    assert_eq!(failed, fail);
                }
            }
        }
    }
}
