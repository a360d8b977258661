//! Where hubl once differed from the latest Hubble, compared with what
//! hubble v1.19.4 printed: tests/fixtures/hubble-1.19.4 holds, for each case
//! of its cases.tsv, hubble's stdout, stderr and exit code on input.jsonl
//! (recorded with scripts/hubble-fixtures.sh).
//!
//! hubl must exit as hubble did and print the same stdout to the byte. Its
//! stderr is hubble's, except that an error may carry hubl's context
//! (`...: `) before hubble's text, and that hubl adds the warnings listed in
//! `EXTRA_WARNINGS` where hubble says nothing. Log lines (`time=... level=...`)
//! are compared without their time, and hubl logs each distinct one once
//! where hubble repeats it for every flow.

mod support;

use std::{fs, path::PathBuf};

use support::run_hubl;

/// Lines hubl prints on stderr where hubble prints nothing, by case.
const EXTRA_WARNINGS: &[(&str, &str)] = &[
    (
        "time_format_unknown",
        "Warning: unknown --time-format \"bogus\", printing times as StampMilli; the formats \
         are YearMonthDay, YearMonthDayHour, YearMonthDayHourMinute, StampMilli, RFC3339, \
         RFC3339Milli, RFC3339Micro, RFC3339Nano, RFC1123Z",
    ),
    (
        "time_format_empty",
        "Warning: unknown --time-format \"\", printing times as StampMilli; the formats are \
         YearMonthDay, YearMonthDayHour, YearMonthDayHourMinute, StampMilli, RFC3339, \
         RFC3339Milli, RFC3339Micro, RFC3339Nano, RFC1123Z",
    ),
    (
        "time_format_unknown_dict",
        "Warning: unknown --time-format \"Unix\", printing times as StampMilli; the formats \
         are YearMonthDay, YearMonthDayHour, YearMonthDayHourMinute, StampMilli, RFC3339, \
         RFC3339Milli, RFC3339Micro, RFC3339Nano, RFC1123Z",
    ),
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hubble-1.19.4")
}

fn read(name: &str) -> String {
    let path = fixtures().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every case of cases.tsv: its name and arguments.
fn cases() -> Vec<(String, Vec<String>)> {
    read("cases.tsv")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split('\t').map(str::to_owned);
            let name = fields.next().expect("a case has a name");
            (name, fields.collect())
        })
        .collect()
}

/// How hubl's stderr differs from hubble's, or `None` when it does not.
fn stderr_difference(name: &str, hubble: &str, code: i32, hubl: &str) -> Option<String> {
    let extra: Vec<&str> = EXTRA_WARNINGS
        .iter()
        .filter(|(case, _)| *case == name)
        .map(|(_, line)| *line)
        .collect();
    let mut lines: Vec<&str> = hubl.lines().collect();
    for warning in &extra {
        match lines.iter().position(|line| line == warning) {
            Some(at) => {
                lines.remove(at);
            }
            None => return Some(format!("no warning {warning:?}")),
        }
    }
    let rest = log_once(&lines.join("\n"));
    let hubble = log_once(hubble);
    let hubble = hubble.trim_end();
    if code == 0 {
        (rest != hubble).then(|| format!("expected {hubble:?}"))
    } else {
        // hubl may say what it was doing before hubble's message.
        let error = rest.find(hubble).map(|at| &rest[at..]);
        (error != Some(hubble)).then(|| format!("expected ...: {hubble:?}"))
    }
}

/// `stderr` with each log line's time left out and each distinct log line
/// kept once; other lines as they are.
fn log_once(stderr: &str) -> String {
    let mut seen = Vec::new();
    let mut kept = Vec::new();
    for line in stderr.lines() {
        match line
            .strip_prefix("time=")
            .and_then(|rest| rest.split_once(' '))
        {
            Some((_, record)) if !seen.contains(&record) => {
                seen.push(record);
                kept.push(record);
            }
            Some(_) => {}
            None => kept.push(line),
        }
    }
    kept.join("\n")
}

#[test]
fn hubl_prints_what_hubble_printed() {
    let input = fs::read(fixtures().join("input.jsonl")).expect("input.jsonl");
    let mut failures = Vec::new();
    let cases = cases();
    assert!(!cases.is_empty());
    for (name, flags) in &cases {
        let mut args = vec!["observe".to_owned(), "--input-file".into(), "-".into()];
        args.extend(flags.iter().cloned());
        let output = run_hubl(&args, &input);
        let code: i32 = read(&format!("{name}.code")).trim().parse().expect("code");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(code) {
            failures.push(format!("{name}: exit {:?}, hubble {code}", output.status));
        }
        if stdout != read(&format!("{name}.out")) {
            failures.push(format!("{name}: stdout differs:\n{stdout}"));
        }
        if let Some(difference) =
            stderr_difference(name, &read(&format!("{name}.err")), code, &stderr)
        {
            failures.push(format!("{name}: stderr {stderr:?}: {difference}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_extra_warning_belongs_to_a_case() {
    let cases = cases();
    for (case, _) in EXTRA_WARNINGS {
        assert!(cases.iter().any(|(name, _)| name == case), "{case}");
    }
}

#[test]
fn silent_errors_silence_the_time_format_warning() {
    let args: Vec<String> = ["observe", "--input-file", "-", "--time-format", "x", "-s"]
        .map(String::from)
        .to_vec();
    let output = run_hubl(&args, &fs::read(fixtures().join("input.jsonl")).unwrap());
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        read("time_format_unknown.out")
    );
}
