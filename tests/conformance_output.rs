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
