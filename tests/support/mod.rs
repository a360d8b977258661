//! Shared helpers of the integration tests: running the `hubl` binary and
//! comparing its output with the conformance corpus of `hubble observe`.

#![allow(dead_code)] // each test binary uses its own subset

pub mod paced;
pub mod relay;

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The directory of the conformance corpus copied from `hubble observe`.
pub fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

/// `hubl ARGS`, in UTC, without colour or configuration from the
/// environment, with its standard streams piped.
pub fn hubl_command<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hubl"));
    command
        .args(args)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .env_remove("HUBBLE_SERVER")
        .env("HUBBLE_CONFIG", "/nonexistent/hubl-test-config.yaml")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `hubl ARGS` (see `hubl_command`) with `stdin` as standard input.
pub fn run_hubl(args: &[String], stdin: &[u8]) -> Output {
    let mut child = hubl_command(args).spawn().expect("the hubl binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // hubl may exit before reading everything (an error case): a broken
        // pipe here is expected then.
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().expect("hubl finishes");
    writer.join().expect("the stdin writer does not panic");
    output
}

/// The cases that need no filter flag: tests/conformance_output.rs runs
/// them, tests/conformance_filters.rs every other one.
pub const OUTPUT_CASES: &[&str] = &[
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

/// One case of `cases.tsv`: its name and its flags, split as a shell would.
pub struct Case {
    pub name: String,
    pub flags: Vec<String>,
}

/// Every case of the corpus.
pub fn cases() -> Vec<Case> {
    let text = fs::read_to_string(conformance_dir().join("cases.tsv")).expect("cases.tsv");
    text.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, flags) = line.split_once('\t').unwrap_or((line, ""));
            Case {
                name: name.to_owned(),
                flags: shell_words::split(flags).expect("cases.tsv flags are shell-quoted"),
            }
        })
        .collect()
}

/// Runs one conformance case and returns what differs from Hubble's output,
/// or `None` when it conforms.
pub fn check_case(case: &Case) -> Option<String> {
    let dir = conformance_dir();
    let flows = fs::read(dir.join("flows.jsonl")).expect("flows.jsonl");
    let mut args: Vec<String> = ["observe", "--input-file", "-", "--color", "never"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(case.flags.iter().cloned());
    let output = run_hubl(&args, &flows);
    let expected = fs::read(dir.join("expected").join(format!("{}.out", case.name)))
        .expect("expected output exists");
    let stderr = String::from_utf8_lossy(&output.stderr);

    let should_fail = case.name.starts_with("error_");
    if output.status.success() == should_fail {
        return Some(format!(
            "{}: exit status {:?}, expected {}; stderr: {stderr}",
            case.name,
            output.status.code(),
            if should_fail { "failure" } else { "success" }
        ));
    }
    let is_json = case
        .flags
        .windows(2)
        .any(|w| w[0] == "-o" && (w[1] == "json" || w[1] == "jsonpb"));
    let is_raw = case.flags.iter().any(|f| f == "--print-raw-filters");
    let diff = if is_raw {
        compare_raw_filters(&output.stdout, &expected)
    } else if is_json {
        compare_json_lines(&output.stdout, &expected)
    } else {
        compare_bytes(&output.stdout, &expected)
    };
    diff.map(|d| format!("{}: {d}\nstderr: {stderr}", case.name))
}

/// Runs the named cases and fails with every difference at once.
pub fn assert_cases_conform(names: &[&str]) {
    let all = cases();
    let mut failures = Vec::new();
    for name in names {
        let case = all
            .iter()
            .find(|case| case.name == *name)
            .unwrap_or_else(|| panic!("no case named {name} in cases.tsv"));
        if let Some(diff) = check_case(case) {
            failures.push(diff);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

fn compare_bytes(actual: &[u8], expected: &[u8]) -> Option<String> {
    if actual == expected {
        return None;
    }
    let actual = String::from_utf8_lossy(actual);
    let expected = String::from_utf8_lossy(expected);
    let actual_lines: Vec<&str> = actual.split('\n').collect();
    let expected_lines: Vec<&str> = expected.split('\n').collect();
    for (index, (a, e)) in actual_lines.iter().zip(&expected_lines).enumerate() {
        if a != e {
            return Some(format!(
                "line {} differs\n  expected: {e:?}\n  actual:   {a:?}",
                index + 1
            ));
        }
    }
    Some(format!(
        "{} lines, expected {}",
        actual_lines.len(),
        expected_lines.len()
    ))
}

fn compare_json_lines(actual: &[u8], expected: &[u8]) -> Option<String> {
    let parse = |text: &[u8]| -> Result<Vec<serde_json::Value>, String> {
        String::from_utf8_lossy(text)
            .lines()
            .map(|line| serde_json::from_str(line).map_err(|e| format!("{e}: {line}")))
            .collect()
    };
    let actual = match parse(actual) {
        Ok(lines) => lines,
        Err(error) => return Some(format!("output is not JSON lines: {error}")),
    };
    let expected = parse(expected).expect("the expected output is JSON lines");
    for (index, (a, e)) in actual.iter().zip(&expected).enumerate() {
        if a != e {
            return Some(format!(
                "line {} differs\n  expected: {e}\n  actual:   {a}",
                index + 1
            ));
        }
    }
    (actual.len() != expected.len())
        .then(|| format!("{} lines, expected {}", actual.len(), expected.len()))
}

/// `--print-raw-filters` writes YAML whose list entries are JSON documents;
/// only their meaning is compared, since Hubble's YAML library changed its
/// layout between versions.
fn compare_raw_filters(actual: &[u8], expected: &[u8]) -> Option<String> {
    let parse = |text: &[u8]| -> Result<Vec<(String, Vec<serde_json::Value>)>, String> {
        let mut sections: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
        let mut pending: Option<String> = None;
        let text = String::from_utf8_lossy(text);
        for line in text.lines() {
            let trimmed = line.trim_start();
            if line == "{}" {
                // The empty document: no filters at all.
                continue;
            }
            if let Some(entry) = trimmed.strip_prefix("- ") {
                if let Some(done) = pending.take() {
                    push_entry(&mut sections, &done)?;
                }
                pending = Some(entry.to_owned());
            } else if !line.starts_with(' ') && line.ends_with(':') {
                if let Some(done) = pending.take() {
                    push_entry(&mut sections, &done)?;
                }
                sections.push((line.trim_end_matches(':').to_owned(), Vec::new()));
            } else if let Some(entry) = pending.as_mut() {
                // A folded continuation line of yaml.v2.
                entry.push(' ');
                entry.push_str(trimmed);
            } else if !line.trim().is_empty() {
                return Err(format!("unexpected line {line:?}"));
            }
        }
        if let Some(done) = pending.take() {
            push_entry(&mut sections, &done)?;
        }
        Ok(sections)
    };
    match (parse(actual), parse(expected)) {
        (Ok(a), Ok(e)) if a == e => None,
        (Ok(a), Ok(e)) => Some(format!(
            "filters differ\n  expected: {e:?}\n  actual:   {a:?}"
        )),
        (Err(error), _) => Some(format!(
            "output is not the YAML Hubble writes: {error}\n{}",
            String::from_utf8_lossy(actual)
        )),
        (_, Err(error)) => Some(format!("expected output unreadable: {error}")),
    }
}

fn push_entry(
    sections: &mut [(String, Vec<serde_json::Value>)],
    entry: &str,
) -> Result<(), String> {
    let quoted = entry
        .strip_prefix('\'')
        .and_then(|e| e.strip_suffix('\''))
        .ok_or_else(|| format!("entry is not single-quoted: {entry}"))?;
    let json = quoted.replace("''", "'");
    let value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    let (_, entries) = sections
        .last_mut()
        .ok_or_else(|| format!("entry outside a section: {entry}"))?;
    entries.push(value);
    Ok(())
}
