//! A capture of randomly corrupted jsonpb lines, generated the same on
//! every run from the conformance flows: byte flips, cuts, inserted quotes,
//! braces and escapes, huge and oddly written numbers, nulls, unknown enum
//! names, bad UTF-8. Shared by `tests/corrupted_capture.rs` and
//! `examples/corrupted_capture.rs` (which writes it out for hubble).

/// How many lines the capture has.
pub const LINES: usize = 6000;

/// Repeatable pseudo-random numbers below a bound (xorshift).
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn pick<'a>(&mut self, choices: &[&'a [u8]]) -> &'a [u8] {
        choices[self.below(choices.len())]
    }
}

/// Inserted anywhere: JSON punctuation, escapes good and bad, bad UTF-8.
const SPLICES: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\",
    b"\\\"",
    b"\\u00e9",
    b"\\ud800",
    b"\\ud83d\\ude00",
    b"\\x",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b" ",
    b"\t",
    b"null",
    b"-",
];

/// Put in place of a number's digits.
const NUMBERS: &[&[u8]] = &[
    b"99999999999999999999999",
    b"18446744073709551615",
    b"4294967296",
    b"1e2",
    b"1e-400",
    b"1e400",
    b"1.5",
    b"1.0",
    b"-0",
    b"-1",
    b"\"42\"",
    b"\"1e2\"",
    b"\"1e+}\"",
    b"\" 7\"",
    b"\"7 x\"",
    b"0.5e1",
    b"100e-2",
    b"1E1",
    b"01",
    b"null",
    b"\"\"",
    b"true",
];

/// Put in place of a string value.
const STRINGS: &[&[u8]] = &[
    b"null",
    b"1",
    b"\"\"",
    b"[]",
    b"{}",
    b"true",
    b"\"\\u0041\"",
];

/// The corrupted capture: `LINES` lines, each ending with a newline, none
/// holding another newline or a carriage return.
pub fn capture(flows: &str) -> Vec<u8> {
    let lines: Vec<&[u8]> = flows
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::as_bytes)
        .collect();
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::new();
    for _ in 0..LINES {
        let mut line = lines[random.below(lines.len())].to_vec();
        // A few lines stay intact, so that corrupted ones sit among good
        // ones as in a real capture.
        let corruptions = random.below(4);
        for _ in 0..corruptions {
            corrupt(&mut random, &mut line);
        }
        line.retain(|&b| b != b'\n' && b != b'\r');
        if line.iter().all(u8::is_ascii_whitespace) {
            line = b"{".to_vec();
        }
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    out
}

fn corrupt(random: &mut Random, line: &mut Vec<u8>) {
    if line.is_empty() {
        line.push(b'{');
        return;
    }
    let at = random.below(line.len());
    match random.below(9) {
        // A byte flipped to any value but a line end.
        0 => line[at] ^= 1 << random.below(8),
        1 => {
            let splice = random.pick(SPLICES);
            line.splice(at..at, splice.iter().copied());
        }
        2 => line.truncate(at.max(1)),
        3 => drop(line.remove(at)),
        // A number rewritten.
        4 => {
            if let Some((start, end)) = find(line, at, |b| b.is_ascii_digit()) {
                let number = random.pick(NUMBERS);
                line.splice(start..end, number.iter().copied());
            }
        }
        // A string value replaced.
        5 => {
            if let Some((start, end)) = string_value(line, at) {
                let value = random.pick(STRINGS);
                line.splice(start..end, value.iter().copied());
            }
        }
        // An enum name a newer Cilium might send: a letter of an upper-case
        // name changed.
        6 => {
            if let Some((start, end)) = find(line, at, |b| b.is_ascii_uppercase() || b == b'_')
                && end - start > 3
            {
                let letter = start + random.below(end - start);
                line[letter] = b'A' + random.below(26) as u8;
            }
        }
        // A key dropped with its value's first token, or a value nulled.
        7 => {
            if let Some((start, end)) = string_value(line, at) {
                line.splice(start..end, b"null".iter().copied());
            }
        }
        _ => {
            let byte = random.below(256) as u8;
            line.insert(at, byte);
        }
    }
}

/// The run of bytes matching `wanted` at or after `from`.
fn find(line: &[u8], from: usize, wanted: impl Fn(u8) -> bool) -> Option<(usize, usize)> {
    let start = from + line[from..].iter().position(|&b| wanted(b))?;
    let end = start + line[start..].iter().take_while(|&&b| wanted(b)).count();
    Some((start, end))
}

/// The first string value (after `":`) at or after `from`, quotes included.
fn string_value(line: &[u8], from: usize) -> Option<(usize, usize)> {
    let start = from + line[from..].windows(2).position(|w| w == b":\"")? + 1;
    let end = start + 1 + line[start + 1..].iter().position(|&b| b == b'"')? + 1;
    Some((start, end))
}
