//! Filter and selector flags of `hubble observe` on the conformance corpus:
//! the flows selected, and the filters `--print-raw-filters` shows.

mod support;

use support::{OUTPUT_CASES, assert_cases_conform, cases};

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
