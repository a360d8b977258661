//! Filter and selector flags of `hubble observe` on the conformance corpus:
//! the flows selected, and the filters `--print-raw-filters` shows.

mod support;

use support::{assert_cases_conform, cases};

/// The cases of tests/conformance_output.rs, which need no filter flag.
const OUTPUT_CASES: &[&str] = &[
    "compact",
    "dict",
    "table",
    "json",
    "print_node_name",
    "time_yearmonthday",
    "time_yearmonthdayhour",
    "time_yearmonthdayhourminute",
    "time_rfc3339",
    "time_rfc3339milli",
    "time_rfc3339micro",
    "time_rfc3339nano",
    "time_rfc1123z",
    "numeric",
    "no_ip_translation",
];

#[test]
fn every_other_case_conforms() {
    let names: Vec<String> = cases()
        .into_iter()
        .map(|case| case.name)
        .filter(|name| !OUTPUT_CASES.contains(&name.as_str()))
        .collect();
    assert!(names.len() > 70, "the corpus has all its filter cases");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_cases_conform(&names);
}
