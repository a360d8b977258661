//! Colours and terminal escaping, as Hubble's printer applies them.
//!
//! Hubble colours through fatih/color, which resets with `ESC[0m`; the
//! sequences are written here rather than through a colour crate so that the
//! bytes are the same (owo-colors, for one, resets with `ESC[39m`).

use std::io::{self, Write};

/// The colours Hubble uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Magenta,
    Cyan,
}

impl Color {
    fn start(self) -> &'static str {
        match self {
            Color::Red => "\x1b[31m",
            Color::Green => "\x1b[32m",
            Color::Yellow => "\x1b[33m",
            Color::Magenta => "\x1b[35m",
            Color::Cyan => "\x1b[36m",
        }
    }
}

const RESET: &str = "\x1b[0m";

/// Every sequence the printer itself writes: with colour on, Hubble lets
/// these through its escaper untouched, wherever they appear (blue is in
/// its palette, though unused).
const ALLOWED: [&[u8]; 7] = [
    b"\x1b[31m",
    b"\x1b[32m",
    b"\x1b[33m",
    b"\x1b[34m",
    b"\x1b[35m",
    b"\x1b[36m",
    b"\x1b[0m",
];

/// Whether colour is on, and the writing helpers that depend on it.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Starts `color`, if colours are on.
    pub fn start(self, out: &mut String, color: Color) {
        if self.color {
            out.push_str(color.start());
        }
    }

    /// Ends a coloured span.
    pub fn end(self, out: &mut String) {
        if self.color {
            out.push_str(RESET);
        }
    }

    /// Writes `text` in `color`.
    pub fn paint(self, out: &mut String, color: Color, text: &str) {
        self.start(out, color);
        out.push_str(text);
        self.end(out);
    }

    /// Writes a rendered record, escaping terminal control characters that
    /// came from the cluster as Hubble does: ESC as `^[` and CR as `\r`.
    pub fn write_escaped(self, out: &mut impl Write, text: &str) -> io::Result<()> {
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut search = 0;
        while let Some(offset) = memchr::memchr2(b'\x1b', b'\r', &bytes[search..]) {
            let at = search + offset;
            if bytes[at] == b'\x1b'
                && self.color
                && let Some(kept) = ALLOWED.iter().find(|seq| bytes[at..].starts_with(seq))
            {
                search = at + kept.len();
                continue;
            }
            out.write_all(&bytes[start..at])?;
            out.write_all(if bytes[at] == b'\r' { b"\\r" } else { b"^[" })?;
            start = at + 1;
            search = start;
        }
        out.write_all(&bytes[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(color: bool, text: &str) -> String {
        let mut out = Vec::new();
        Style { color }.write_escaped(&mut out, text).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(escaped(false, "a\x1b[2Jb\r\nc"), "a^[[2Jb\\r\nc");
        assert_eq!(escaped(false, "\x1b[31mred\x1b[0m"), "^[[31mred^[[0m");
    }

    #[test]
    fn own_colours_survive_when_colour_is_on() {
        assert_eq!(
            escaped(true, "\x1b[31mred\x1b[0m\x1b[2J"),
            "\x1b[31mred\x1b[0m^[[2J"
        );
        assert_eq!(escaped(true, "\x1b\x1b[36m"), "^[\x1b[36m");
    }
}
