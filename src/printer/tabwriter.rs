//! Column alignment exactly as Go's `text/tabwriter` does it for Hubble's
//! table (minimum width 2, padding 3, spaces, no flags), so that `-o table`
//! matches to the byte, including on odd input such as cells with tabs or
//! newlines in them.

use std::io::{self, Write};

#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// Bytes of text.
    size: usize,
    /// Characters of text: Go measures cells in runes.
    width: usize,
    /// Terminated by a tab (rather than a vertical tab).
    htab: bool,
}

const MIN_WIDTH: usize = 2;
const PADDING: usize = 3;

/// Buffers cells until a line without tabs or the end, then writes them
/// aligned.
#[derive(Debug, Default)]
pub struct TabWriter {
    text: Vec<u8>,
    /// Complete lines, then the line being written (never empty).
    lines: Vec<Vec<Cell>>,
    cell: Cell,
    widths: Vec<usize>,
}

impl TabWriter {
    pub fn new() -> Self {
        Self {
            lines: vec![Vec::new()],
            ..Self::default()
        }
    }

    /// Adds text; whole blocks that can no longer change are written out.
    pub fn write(&mut self, out: &mut impl Write, text: &[u8]) -> io::Result<()> {
        let mut start = 0;
        for (index, &byte) in text.iter().enumerate() {
            if !matches!(byte, b'\t' | b'\x0b' | b'\n' | b'\x0c') {
                continue;
            }
            self.append(&text[start..index]);
            start = index + 1;
            let cells = self.terminate_cell(byte == b'\t');
            if byte == b'\n' || byte == b'\x0c' {
                self.lines.push(Vec::new());
                // A line of one cell cannot affect the alignment of the
                // lines after it, so everything so far is final.
                if byte == b'\x0c' || cells == 1 {
                    self.flush(out)?;
                }
            }
        }
        self.append(&text[start..]);
        Ok(())
    }

    /// Writes everything buffered, ending an unterminated last cell.
    pub fn flush(&mut self, out: &mut impl Write) -> io::Result<()> {
        if self.cell.size > 0 {
            self.terminate_cell(false);
        }
        let mut output = Vec::with_capacity(self.text.len() + self.lines.len() * 16);
        self.format(&mut output, 0, 0, self.lines.len());
        out.write_all(&output)?;
        self.text.clear();
        self.lines.clear();
        self.lines.push(Vec::new());
        self.cell = Cell::default();
        Ok(())
    }

    fn append(&mut self, text: &[u8]) {
        self.text.extend_from_slice(text);
        self.cell.size += text.len();
        self.cell.width += String::from_utf8_lossy(text).chars().count();
    }

    fn terminate_cell(&mut self, htab: bool) -> usize {
        self.cell.htab = htab;
        let line = self
            .lines
            .last_mut()
            .expect("there is always a current line");
        line.push(self.cell);
        self.cell = Cell::default();
        line.len()
    }

    /// Aligns column by column: a column block is a run of consecutive lines
    /// that have a cell in that column (not counting each line's last cell).
    fn format(
        &mut self,
        out: &mut Vec<u8>,
        mut pos: usize,
        mut line0: usize,
        line1: usize,
    ) -> usize {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            pos = self.write_lines(out, pos, line0, this);
            line0 = this;
            let mut width = MIN_WIDTH;
            while this < line1 && column + 1 < self.lines[this].len() {
                width = width.max(self.lines[this][column].width + PADDING);
                this += 1;
            }
            self.widths.push(width);
            pos = self.format(out, pos, line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(out, pos, line0, line1)
    }

    fn write_lines(&self, out: &mut Vec<u8>, mut pos: usize, line0: usize, line1: usize) -> usize {
        for index in line0..line1 {
            for (column, cell) in self.lines[index].iter().enumerate() {
                if cell.size > 0 {
                    out.extend_from_slice(&self.text[pos..pos + cell.size]);
                    pos += cell.size;
                }
                if let Some(&width) = self.widths.get(column) {
                    out.resize(out.len() + width.saturating_sub(cell.width), b' ');
                }
            }
            if index + 1 == self.lines.len() {
                // The line still being written: only its unterminated text.
                out.extend_from_slice(&self.text[pos..pos + self.cell.size]);
                pos += self.cell.size;
            } else {
                out.push(b'\n');
            }
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(input: &str) -> String {
        let mut writer = TabWriter::new();
        let mut out = Vec::new();
        writer.write(&mut out, input.as_bytes()).unwrap();
        writer.flush(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn aligns_columns_with_padding() {
        assert_eq!(
            table("A\tBB\tlast\nCCCC\tD\tx\n"),
            "A      BB   last\nCCCC   D    x\n"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(table("é\tx\nab\ty\n"), "é    x\nab   y\n");
    }

    #[test]
    fn a_line_without_tabs_ends_the_block() {
        assert_eq!(
            table("a\tb\nplain\nlonger\tc\n"),
            "a   b\nplain\nlonger   c\n"
        );
    }

    #[test]
    fn blocks_follow_the_number_of_cells() {
        assert_eq!(
            table("a\tb\tc\nd\te\naaaaaa\tb\tc\n"),
            "a        b   c\nd        e\naaaaaa   b   c\n"
        );
    }
}
