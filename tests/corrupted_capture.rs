//! A capture of 6000 randomly corrupted lines (tests/corrupt/generator.rs)
//! read in every format: hubl prints the same flows as hubble v1.19.4 did
//! on it (tests/fixtures/corrupted/, made by its make.sh), reports every
//! line hubble refused with its line number, and refuses no other.

mod support;

#[path = "corrupt/generator.rs"]
mod generator;

use std::path::Path;

use support::run_hubl;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/corrupted");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// FNV-1a, 64 bits, as fnv.py computes it.
fn fnv(data: &[u8]) -> String {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn capture() -> Vec<u8> {
    let capture = generator::capture(include_str!("fixtures/conformance/flows.jsonl"));
    assert_eq!(
        fnv(&capture),
        fixture("capture.fnv").trim(),
        "the generator no longer makes the capture hubble read: run tests/fixtures/corrupted/make.sh"
    );
    capture
}

fn observe(format: &str, capture: &[u8]) -> (String, String) {
    let args: Vec<String> = ["observe", "--input-file", "-", "-o", format]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let output = run_hubl(&args, capture);
    assert!(output.status.success(), "{format}: {:?}", output.status);
    (
        String::from_utf8(output.stdout).expect("output is UTF-8"),
        String::from_utf8(output.stderr).expect("errors are UTF-8"),
    )
}

/// The line numbers hubble refused, in order.
fn refused_by_hubble() -> Vec<u64> {
    fixture("rejected.tsv")
        .lines()
        .map(|line| line.split('\t').next().unwrap().parse().unwrap())
        .collect()
}

/// Checks hubl's stderr against hubble's: one `line N: ...; skipping it`
/// per line hubble refused and no other, hubble's other messages (node
/// status), and a single warning for what this API does not know, on the
/// value hubble's single warning names.
fn check_errors(format: &str, stderr: &str) {
    let mut refused = Vec::new();
    let mut unknown = Vec::new();
    let mut other = Vec::new();
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("Warning: line ") {
            let (number, message) = rest.split_once(": ").expect("a numbered warning");
            let number: u64 = number.parse().expect("a line number");
            if message.ends_with("; skipping it") {
                refused.push(number);
            } else {
                unknown.push(message.to_owned());
            }
        } else {
            other.push(line.to_owned());
        }
    }
    assert!(
        refused == refused_by_hubble(),
        "{format}: the lines refused differ from hubble's ({} against {})",
        refused.len(),
        refused_by_hubble().len()
    );
    let hubble = fixture(&format!("stderr-{format}.txt"));
    let (hubble_unknown, hubble_other): (Vec<&str>, Vec<&str>) = hubble
        .lines()
        .partition(|line| line.contains("unknown field detected"));
    assert_eq!(other, hubble_other, "{format}: other messages");
    assert_eq!(hubble_unknown.len(), 1);
    assert_eq!(unknown.len(), 1, "{format}: {unknown:?}");
    // hubble: ... error="proto: (...): invalid value for enum field verdict: \"FORWARDD\""
    let quoted = hubble_unknown[0].trim_end_matches("\\\"\"");
    let value = &quoted[quoted.rfind("\\\"").expect("a quoted value") + 2..];
    assert!(
        unknown[0].contains(value),
        "{format}: {:?} does not name {value}",
        unknown[0]
    );
}

#[test]
fn compact_and_dict_print_what_hubble_printed() {
    let capture = capture();
    for format in ["compact", "dict"] {
        let (stdout, stderr) = observe(format, &capture);
        let expected = fixture(&format!("{format}.out"));
        if stdout != expected {
            let (at, (got, want)) = stdout
                .lines()
                .zip(expected.lines())
                .enumerate()
                .find(|(_, (got, want))| got != want)
                .unwrap_or((0, ("(lengths differ)", "")));
            panic!(
                "{format}: output line {} differs:\n  hubl:   {got}\n  hubble: {want}",
                at + 1
            );
        }
        check_errors(format, &stderr);
    }
}

#[test]
fn json_and_table_print_what_hubble_printed() {
    let capture = capture();
    for format in ["json", "table"] {
        let (stdout, stderr) = observe(format, &capture);
        let expected = fixture(&format!("{format}.fnv"));
        let expected: Vec<&str> = expected.lines().collect();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{format}: lines printed");
        for (at, (line, hash)) in lines.iter().zip(&expected).enumerate() {
            assert_eq!(
                fnv(line.as_bytes()),
                *hash,
                "{format}: output line {} differs: {line}",
                at + 1
            );
        }
        check_errors(format, &stderr);
    }
}

/// The corruptions reach what the issue names: hubble took a third of the
/// lines that hubl refused before protojson's rules were followed.
#[test]
fn the_capture_holds_the_corruptions_it_is_meant_to() {
    let capture = capture();
    let text = String::from_utf8_lossy(&capture);
    for needle in [
        ":null",
        "\"1e2\"",
        "1e-400",
        "99999999999999999999999",
        "\\ud800",
        "\u{fffd}",
    ] {
        assert!(text.contains(needle), "no {needle} in the capture");
    }
    let refused = refused_by_hubble().len();
    assert!((1000..5000).contains(&refused), "{refused} lines refused");
}
