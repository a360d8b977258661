//! The output formats of `hubble observe`, byte for byte, on the conformance
//! corpus (cases that need no filter flag).

mod support;

use support::{OUTPUT_CASES, assert_cases_conform};

/// Formats, time formats, node names, numeric output and IP translation.
#[test]
fn output_cases_conform() {
    assert_cases_conform(OUTPUT_CASES);
}

/// Beyond the corpus's parsed comparison: hubl's JSON lines are the very
/// bytes Hubble's `json.Encoder` writes (key order, HTML-safe escapes).
#[test]
fn json_output_is_byte_identical() {
    let dir = support::conformance_dir();
    let flows = std::fs::read(dir.join("flows.jsonl")).expect("flows.jsonl");
    let args: Vec<String> = ["observe", "--input-file", "-", "-o", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let output = support::run_hubl(&args, &flows);
    let expected = std::fs::read(dir.join("expected/json.out")).expect("json.out");
    assert!(output.status.success());
    assert!(
        output.stdout == expected,
        "JSON output differs from hubble's bytes"
    );
}
