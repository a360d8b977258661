//! A small JSON reader for the `jsonpb` module: it walks one line in place,
//! borrowing strings from it, and gives up (`None`) on anything it does not
//! read exactly as serde_json would. Giving up is never an error: the
//! caller then decodes the line with serde_json, which reports it.
//!
//! Going by hand instead of through serde cut the time to read a line's
//! headline by about 40% (`cargo bench --bench printers -- decode`): keys
//! are matched as bytes, values headline output never prints are checked
//! without being kept, and string ends are found eight bytes at a time.

use std::borrow::Cow;

use crate::proto::{ProtoNumber, Timestamp};

/// Deeper values are left to serde_json, whose own limit is 128.
const MAX_DEPTH: u32 = 100;

/// Strings given back after use, whose buffers new strings reuse: a flow
/// holds a dozen to forty strings, and allocating and freeing each one for
/// every line costs more than reading it. Buffers are sorted by capacity
/// (powers of two), so that a string gets one it fits in.
#[derive(Default)]
pub struct Strings {
    by_capacity: [Vec<String>; Self::CLASSES],
    count: usize,
    lists: Vec<Vec<String>>,
}

impl Strings {
    /// Enough for the strings and lists of a few flows.
    const MAX_STRINGS: usize = 256;
    const MAX_LISTS: usize = 16;
    /// Capacities up to 2^12; larger buffers are freed: keeping them would
    /// grow memory for good.
    const CLASSES: usize = 13;

    /// The class of a capacity: its highest bit.
    fn class(capacity: usize) -> usize {
        (usize::BITS - 1 - capacity.leading_zeros()) as usize
    }

    /// Keeps a string's buffer; empty buffers (fields a line did not have)
    /// are worth nothing.
    pub fn give(&mut self, string: String) {
        let capacity = string.capacity();
        if capacity > 0
            && self.count < Self::MAX_STRINGS
            && let Some(class) = self.by_capacity.get_mut(Self::class(capacity))
        {
            class.push(string);
            self.count += 1;
        }
    }

    pub fn give_list(&mut self, mut list: Vec<String>) {
        for string in list.drain(..) {
            self.give(string);
        }
        if self.lists.len() < Self::MAX_LISTS && list.capacity() > 0 {
            self.lists.push(list);
        }
    }

    fn string(&mut self, text: &str) -> String {
        // Every buffer in this class and above holds the text.
        let first = Self::class(text.len().max(1).next_power_of_two());
        let reused = self.by_capacity.iter_mut().skip(first).find_map(Vec::pop);
        match reused {
            Some(mut string) => {
                self.count -= 1;
                string.clear();
                string.push_str(text);
                string
            }
            None => text.to_owned(),
        }
    }

    fn list(&mut self) -> Vec<String> {
        self.lists.pop().unwrap_or_default()
    }
}

/// A position in one line of JSON.
pub struct Cursor<'a, 'p> {
    /// Whether fields that headline output never prints are only checked.
    headline_only: bool,
    /// Whether the value being read is only checked, not kept: strings and
    /// lists are then left empty, never allocated.
    checking: bool,
    strings: &'p mut Strings,
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: u32,
    /// The last time read, by its text: a response and its flow carry the
    /// same one.
    time: Option<(&'a str, Timestamp)>,
}

impl<'a, 'p> Cursor<'a, 'p> {
    /// A cursor at the start of `line`. Lines with control bytes are left
    /// to serde_json: JSON allows them only as whitespace (tabs, newlines),
    /// which this reader does not skip, and never inside strings, where the
    /// string scans stop at them.
    pub fn new(line: &'a str, headline_only: bool, strings: &'p mut Strings) -> Self {
        Self {
            headline_only,
            checking: false,
            strings,
            text: line,
            bytes: line.as_bytes(),
            at: 0,
            depth: 0,
            time: None,
        }
    }

    /// Whether only spaces are left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// The next byte that is not a space, left in place.
    fn peek(&mut self) -> Option<u8> {
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        // Most captures have no spaces between tokens: the byte itself first.
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            return Some(());
        }
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Reads an object, calling `field` with each key; `field` must read or
    /// skip the value.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.sequence(b'{', b'}', |cursor| {
            let key = cursor.key()?;
            cursor.eat(b':')?;
            field(cursor, key)
        })
    }

    /// Reads an array, calling `item` for each element; `item` must read or
    /// skip it.
    pub fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', item)
    }

    /// Reads `open`, then entries separated by commas, then `close`.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut entry: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.enter()?;
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                entry(self)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    byte if byte == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// An array read into a vector, one `item` per element.
    pub fn vec<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut items = Vec::new();
        self.array(|cursor| {
            let item = item(cursor)?;
            if !cursor.checking {
                items.push(item);
            }
            Some(())
        })?;
        Some(items)
    }

    /// A key, as raw bytes. Keys with escapes are left to serde_json: no
    /// field name needs one.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.at;
        let end = string_stop(self.bytes, start)?;
        (self.bytes[end] == b'"').then(|| {
            self.at = end + 1;
            &self.bytes[start..end]
        })
    }

    /// Steps over a string whose opening quote has been read, giving the
    /// index of its closing quote and whether it holds escapes.
    fn string_end(&mut self) -> Option<(usize, bool)> {
        let mut at = self.at;
        let mut escaped = false;
        loop {
            at = string_stop(self.bytes, at)?;
            match self.bytes[at] {
                b'"' => {
                    self.at = at + 1;
                    return Some((at, escaped));
                }
                b'\\' => {}
                _control => return None,
            }
            escaped = true;
            // The escaped byte cannot end the string; serde_json checks the
            // escape itself below.
            at += 2;
        }
    }

    /// A string, borrowed from the line unless it holds escapes (then
    /// `escaped_str` reads it).
    pub fn str(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        let end = string_stop(self.bytes, start)?;
        if self.bytes[end] == b'"' {
            self.at = end + 1;
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        self.escaped_str(start)
    }

    /// A string from `start`, just after its opening quote, that holds an
    /// escape or a control byte.
    #[inline(never)]
    fn escaped_str(&mut self, start: usize) -> Option<Cow<'a, str>> {
        self.at = start;
        let (end, escaped) = self.string_end()?;
        if escaped {
            serde_json::from_str(&self.text[start - 1..=end])
                .ok()
                .map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(&self.text[start..end]))
        }
    }

    pub fn string(&mut self) -> Option<String> {
        match self.str()? {
            _ if self.checking => Some(String::new()),
            Cow::Borrowed(text) => Some(self.strings.string(text)),
            Cow::Owned(text) => Some(text),
        }
    }

    pub fn strings(&mut self) -> Option<Vec<String>> {
        if self.checking {
            return self
                .array(|cursor| cursor.str().map(drop))
                .map(|()| Vec::new());
        }
        let mut list = self.strings.list();
        self.array(|cursor| {
            list.push(cursor.string()?);
            Some(())
        })?;
        Some(list)
    }

    pub fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..].starts_with(word).then(|| {
            self.at += word.len();
        })
    }

    /// A timestamp, as protojson reads it.
    pub fn timestamp(&mut self) -> Option<Timestamp> {
        match self.str()? {
            Cow::Borrowed(text) => match self.time {
                Some((last, time)) if last == text => Some(time),
                _ => {
                    let time = Timestamp::parse(text).ok()?;
                    self.time = Some((text, time));
                    Some(time)
                }
            },
            Cow::Owned(text) => Timestamp::parse(&text).ok(),
        }
    }

    /// A proto3 JSON number, or a string holding one, read from its text as
    /// protojson reads it (`crate::proto::go_integer`), so exactly as the
    /// full decoder reads it.
    pub fn number<T: ProtoNumber>(&mut self) -> Option<T> {
        match self.peek()? {
            b'"' => return T::from_json_string(&self.str()?),
            // Nearly every number of a capture is a few digits: read them
            // as they are stepped over. Twenty digits may not fit in 64
            // bits; those, fractions and exponents go the long way.
            first @ b'1'..=b'9' => {
                let start = self.at;
                let mut value = u64::from(first - b'0');
                let mut at = start + 1;
                while let Some(&digit) = self.bytes.get(at)
                    && digit.is_ascii_digit()
                    && at - start < 19
                {
                    value = value * 10 + u64::from(digit - b'0');
                    at += 1;
                }
                if !matches!(self.bytes.get(at), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
                    self.at = at;
                    return T::from_digits(value);
                }
            }
            _ => {}
        }
        let (text, _) = self.number_text()?;
        T::from_json(text)
    }

    /// A number as JSON spells it, and whether it is an integer.
    fn number_text(&mut self) -> Option<(&'a str, bool)> {
        let start = self.at;
        let digits = |cursor: &mut Self| {
            let from = cursor.at;
            while cursor.bytes.get(cursor.at).is_some_and(u8::is_ascii_digit) {
                cursor.at += 1;
            }
            (cursor.at > from).then_some(())
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        let mut integer = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            digits(self)?;
            integer = false;
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            digits(self)?;
            integer = false;
        }
        Some((&self.text[start..self.at], integer))
    }

    /// An enum value, by name or by number, as protojson accepts it.
    pub fn enumeration<E: Into<i32>>(&mut self, by_name: fn(&str) -> Option<E>) -> Option<i32> {
        if self.peek()? == b'"' {
            by_name(&self.str()?).map(Into::into)
        } else {
            self.number()
        }
    }

    /// Reads a field that headline output never prints into `slot`, or
    /// only checks it when only the headline is wanted: a line must be
    /// taken or refused alike in both readings, so a skipped field is held
    /// to every rule a read one is (types, names, keys given once), but
    /// nothing of it is kept.
    pub fn extra<T>(
        &mut self,
        slot: &mut T,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<()> {
        if self.headline_only {
            let checking = std::mem::replace(&mut self.checking, true);
            let value = read(self);
            self.checking = checking;
            value.map(drop)
        } else {
            *slot = read(self)?;
            Some(())
        }
    }
}

/// Where the first `"`, `\\` or control byte at or after `from` is: where
/// a string either ends, holds an escape, or cannot be read here. Most
/// strings and keys in flows are short (names, addresses), too short for
/// memchr's vector setup to pay: a word at a time is faster for them, and
/// takes most keys in one step. (Two words a step cost as much per byte.)
#[inline(always)]
fn string_stop(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let found = string_stops_in(u64::from_le_bytes(chunk.try_into().ok()?));
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|offset| at + offset)
}

/// The high bit of each byte of `word` (little-endian) that may be a `"`,
/// a `\\` or a control byte; the lowest set bit always marks the first such
/// byte (bytes above a match can be false positives, never those below).
/// Checking for control bytes here, in the strings, replaced a pass over
/// each whole line: outside strings, the reader takes only the bytes of
/// JSON's tokens and spaces.
fn string_stops_in(word: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    // Mycroft's test for bytes below n, (x - n) & !x: with bit 1 flipped, a
    // quote is 0x20 and control bytes stay below it, so one test finds
    // both; a backslash is a zero byte once xored with itself.
    let quotes_or_controls = word ^ (ONES * 0x02);
    let backslashes = word ^ (ONES * u64::from(b'\\'));
    (quotes_or_controls.wrapping_sub(ONES * 0x21) & !quotes_or_controls
        | backslashes.wrapping_sub(ONES) & !backslashes)
        & HIGH
}

/// The fields of one object already read: the full decoder refuses a field
/// given twice, so the lean one leaves such lines to it.
#[derive(Default)]
pub struct Seen(u64);

impl Seen {
    pub fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1u64 << field;
        let first = self.0 & bit == 0;
        self.0 |= bit;
        first.then_some(())
    }
}

/// The position of `name` in `names`, for numbering fields at compile time.
pub const fn field_index(names: &[&[u8]], name: &[u8]) -> u32 {
    let mut index = 0;
    while index < names.len() {
        let candidate = names[index];
        if candidate.len() == name.len() {
            let mut at = 0;
            while at < name.len() && candidate[at] == name[at] {
                at += 1;
            }
            if at == name.len() {
                assert!(index < 64, "Seen holds 64 fields");
                return index as u32;
            }
        }
        index += 1;
    }
    panic!("field name not in the list");
}

/// Matches a key against an object's field names and runs the arm of the
/// field, refusing unknown fields and fields given twice:
/// `fields!(key, seen, { b"name" => expression, ... })`.
macro_rules! fields {
    ($key:expr, $seen:expr, { $($name:literal => $read:expr),* $(,)? }) => {{
        const NAMES: &[&[u8]] = &[$($name),*];
        match $key {
            $($name => {
                $seen.first(const { $crate::source::scan::field_index(NAMES, $name) })?;
                $read;
            })*
            _ => return None,
        }
        Some(())
    }};
}

pub(crate) use fields;

#[cfg(test)]
mod tests {
    use super::{Strings, string_stop, string_stops_in};

    fn stops(byte: u8) -> bool {
        byte == b'"' || byte == b'\\' || byte < 0x20
    }

    #[test]
    fn string_stops_are_found_at_the_first_one() {
        let mut next = crate::testing::numbers(0x5eed);
        // Every byte value at every position, then random chunks biased
        // towards the bytes around the ones that stop.
        let mut chunks: Vec<[u8; 8]> = Vec::new();
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut chunk = [b'a'; 8];
                chunk[at] = byte;
                chunks.push(chunk);
            }
        }
        const NEAR: &[u8] = b"\x00\x01\x1f !\"#[\\]\x7f\x80\xa2\xdc\xff";
        for _ in 0..200_000 {
            let mut chunk = [0u8; 8];
            for byte in &mut chunk {
                *byte = match next(4) {
                    0 => NEAR[next(NEAR.len() as u64) as usize],
                    1 => next(256) as u8,
                    _ => b'a' + next(26) as u8,
                };
            }
            chunks.push(chunk);
        }
        for chunk in chunks {
            let found = string_stops_in(u64::from_le_bytes(chunk));
            let first = chunk.iter().position(|&b| stops(b));
            assert_eq!(
                (found != 0).then(|| found.trailing_zeros() as usize / 8),
                first,
                "{chunk:?}"
            );
            let mut line = chunk.to_vec();
            line.extend_from_slice(&chunk[..next(8) as usize]);
            let from = next(line.len() as u64 + 1) as usize;
            let expected = line[from..]
                .iter()
                .position(|&b| stops(b))
                .map(|at| from + at);
            assert_eq!(string_stop(&line, from), expected, "{line:?} from {from}");
        }
    }

    #[test]
    fn strings_get_a_buffer_they_fit_in() {
        let mut strings = Strings::default();
        strings.give(String::with_capacity(128));
        strings.give(String::with_capacity(8));
        strings.give(String::new());
        let long = strings.string(&"x".repeat(90));
        assert_eq!(long.capacity(), 128, "the large buffer, not a new one");
        let short = strings.string("abc");
        assert_eq!((short.as_str(), short.capacity()), ("abc", 8));
        // Nothing left: empty buffers are not kept.
        assert_eq!(strings.string("new").capacity(), 3);
    }

    #[test]
    fn kept_buffers_are_bounded() {
        let mut strings = Strings::default();
        for _ in 0..1000 {
            strings.give(String::with_capacity(16));
        }
        strings.give(String::with_capacity(1 << 20));
        assert_eq!(strings.count, Strings::MAX_STRINGS);
        assert!(
            strings
                .by_capacity
                .iter()
                .flatten()
                .all(|s| s.capacity() == 16)
        );
    }
}
