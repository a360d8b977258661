//! The output formats of `hubble observe`, byte for byte, on the conformance
//! corpus (cases that need no filter flag).

mod support;

use support::assert_cases_conform;

#[test]
fn output_formats_conform() {
    assert_cases_conform(&["compact", "dict", "table", "json"]);
}

#[test]
fn print_node_name_conforms() {
    assert_cases_conform(&["print_node_name"]);
}

#[test]
fn time_formats_conform() {
    assert_cases_conform(&[
        "time_yearmonthday",
        "time_yearmonthdayhour",
        "time_yearmonthdayhourminute",
        "time_rfc3339",
        "time_rfc3339milli",
        "time_rfc3339micro",
        "time_rfc3339nano",
        "time_rfc1123z",
    ]);
}

#[test]
fn numeric_and_ip_translation_conform() {
    assert_cases_conform(&["numeric", "no_ip_translation"]);
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
