//! `hubl observe --input-file`: bad lines are reported and skipped, and flag
//! conflicts are refused before anything is read.

mod support;

use support::run_hubl;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const GOOD: &str = r#"{"flow":{"Summary":"kept"}}"#;

#[test]
fn a_malformed_line_is_reported_with_its_number_and_skipped() {
    let input = format!("{GOOD}\nnot json\n\n{GOOD}\r\n{{\"flow\":{{\"verdict\":true}}}}\n{GOOD}");
    let output = run_hubl(
        &args(&["observe", "--input-file", "-", "--color", "never"]),
        input.as_bytes(),
    );
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches("(kept)").count(), 3, "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Warning: line 2: "), "{stderr}");
    assert!(stderr.contains("Warning: line 5: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}

#[test]
fn unknown_fields_are_dropped_with_one_warning() {
    let input = r#"{"flow":{"Summary":"a","new_field":1}}
{"flow":{"Summary":"b","other_new_field":{"x":1}}}
"#;
    let output = run_hubl(&args(&["observe", "--input-file", "-"]), input.as_bytes());
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("(a)") && stdout.contains("(b)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("\"flow.new_field\""), "{stderr}");
}

/// An enum name from a newer Cilium reads as the unknown value, as
/// hubble v1.19.4 reads it (`N/A: ... VERDICT_UNKNOWN`), with one warning
/// for it and any unknown field after it.
#[test]
fn unknown_enum_names_read_as_unknown_with_one_warning() {
    let input = r#"{"flow":{"Summary":"a","verdict":"REDIRECTED_TO_MARS"}}
{"flow":{"Summary":"b","verdict":"FORWARDED","drop_reason_desc":"NEW_REASON","new_field":1}}
{"flow":{"Summary":"c","verdict":null,"proxy_port":"1e2"}}
"#;
    let output = run_hubl(&args(&["observe", "--input-file", "-"]), input.as_bytes());
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].ends_with("VERDICT_UNKNOWN (a)"), "{stdout}");
    assert!(lines[1].ends_with("FORWARDED (b)"), "{stdout}");
    assert!(lines[2].ends_with("VERDICT_UNKNOWN (c)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "Warning: line 1: unknown Verdict value \"REDIRECTED_TO_MARS\" read as unknown (the capture is from a newer Hubble API); further unknown fields and values are dropped silently"
    );
}

#[test]
fn silent_errors_hide_warnings() {
    let output = run_hubl(
        &args(&["observe", "--input-file", "-", "-s"]),
        b"not json\n",
    );
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
}

#[test]
fn table_output_cannot_follow() {
    let output = run_hubl(
        &args(&["observe", "--input-file", "-", "-o", "table", "--follow"]),
        GOOD.as_bytes(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "table output format is not compatible with follow mode\n"
    );
}

#[test]
fn first_and_last_select_from_a_file() {
    let input: String = (1..=5)
        .map(|i| format!("{{\"flow\":{{\"Summary\":\"f{i}\"}}}}\n"))
        .collect();
    let summaries = |flags: &[&str]| {
        let mut list = vec!["observe", "--input-file", "-"];
        list.extend_from_slice(flags);
        let output = run_hubl(&args(&list), input.as_bytes());
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| {
                line.rsplit('(')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches(')')
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(summaries(&[]), ["f1", "f2", "f3", "f4", "f5"]);
    assert_eq!(summaries(&["--first", "2"]), ["f1", "f2"]);
    assert_eq!(summaries(&["--last", "2"]), ["f4", "f5"]);
    let too_many = run_hubl(
        &args(&["observe", "--input-file", "-", "--last", "1000001"]),
        input.as_bytes(),
    );
    assert_eq!(too_many.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&too_many.stderr).contains("--last must be <= 1_000_000"));
}

#[test]
fn cel_expressions_select_as_the_equivalent_flags_do() {
    let capture =
        std::fs::read(support::conformance_dir().join("flows.jsonl")).expect("the corpus");
    let run = |flags: &[&str]| {
        let mut list = vec!["observe", "--input-file", "-", "--color", "never"];
        list.extend_from_slice(flags);
        let output = run_hubl(&args(&list), &capture);
        assert!(output.status.success(), "{flags:?}: {output:?}");
        output.stdout
    };
    let by_cel = run(&["--cel-expression", "_flow.verdict == Verdict.DROPPED"]);
    assert!(!by_cel.is_empty());
    assert_eq!(by_cel, run(&["--verdict", "DROPPED"]));
    let dns = run(&[
        "--cel-expression",
        "_flow.source.namespace == 'kube-system' && _flow.l4.UDP.destination_port == 53u",
    ]);
    assert!(!dns.is_empty());
    assert_eq!(
        dns,
        run(&[
            "--from-namespace",
            "kube-system",
            "--protocol",
            "udp",
            "--to-port",
            "53"
        ])
    );
}

/// Lines are read in blocks of 256 KiB, from a file by hubl's own thread
/// and from a pipe by a reader thread: a longer line, and a last line with
/// no newline, are still read whole either way.
#[test]
fn long_lines_and_a_last_line_without_newline_are_read_whole() {
    let long = "x".repeat(600_000);
    let input = format!(
        "{GOOD}\n{{\"flow\":{{\"Summary\":\"{long}\"}}}}\n{GOOD}\n{{\"flow\":{{\"Summary\":\"end\"}}}}"
    );
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), &input).expect("the capture is written");
    let path = file.path().to_str().expect("a UTF-8 path");
    for (source, stdin) in [("-", input.as_bytes()), (path, &b""[..])] {
        for output_format in ["compact", "jsonpb"] {
            let output = run_hubl(
                &args(&["observe", "--input-file", source, "-o", output_format]),
                stdin,
            );
            assert!(output.status.success());
            assert!(output.stderr.is_empty(), "{output:?}");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(lines.len(), 4, "{source} {output_format}");
            assert!(lines[1].contains(&long), "{source} {output_format}");
            assert!(lines[3].contains("end"), "{source} {output_format}");
        }
    }
}

/// `kubectl logs -f ... | hubl observe --input-file -`: each flow is printed
/// when its line arrives, not when a block fills or the input ends.
#[test]
fn a_piped_stream_is_printed_as_it_arrives() {
    use std::{
        io::{BufRead, BufReader, Write},
        process::Stdio,
        sync::mpsc,
        time::Duration,
    };
    let mut child = support::hubl_command(&["observe", "--input-file", "-", "--color", "never"])
        .stderr(Stdio::null())
        .spawn()
        .expect("the hubl binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    for summary in ["first", "second"] {
        writeln!(input, r#"{{"flow":{{"Summary":"{summary}"}}}}"#).expect("hubl reads");
        input.flush().expect("hubl reads");
        let line = received
            .recv_timeout(Duration::from_secs(20))
            .expect("the flow is printed while the input stays open");
        assert!(line.contains(summary), "{line}");
    }
    drop(input);
    assert!(child.wait().expect("hubl exits").success());
}

/// Compact output reads flows leanly, without the fields it does not
/// print; filters on those fields must still see them.
#[test]
fn filters_on_unprinted_fields_still_select_from_a_file() {
    let input = r#"{"flow":{"uuid":"u-1","Summary":"one","source":{"cluster_name":"east","labels":["k8s:app=a"]},"interface":{"index":3,"name":"eth0"}}}
{"flow":{"uuid":"u-2","Summary":"two","source":{"cluster_name":"west","labels":["k8s:app=b"]},"interface":{"index":4,"name":"eth1"}}}
"#;
    for (flags, wanted) in [
        (&["--uuid", "u-2"][..], "(two)"),
        (&["--cluster", "east"][..], "(one)"),
        (&["--interface", "eth1"][..], "(two)"),
        (&["--label", "app=a"][..], "(one)"),
    ] {
        let mut list = vec!["observe", "--input-file", "-", "-o", "compact"];
        list.extend_from_slice(flags);
        let output = run_hubl(&args(&list), input.as_bytes());
        assert!(output.status.success(), "{flags:?}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(stdout.lines().count(), 1, "{flags:?}: {stdout}");
        assert!(stdout.contains(wanted), "{flags:?}: {stdout}");
    }
}

/// Filters the file is read with are built as Hubble's server builds them,
/// and refused with its messages.
#[test]
fn invalid_filters_are_refused_with_hubbles_messages() {
    for (flags, message) in [
        (
            &["--label", "bad selector"][..],
            "invalid source label filter: unable to parse requirement: found 'selector', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            &["--to-label", "k8s:app in (a, -b)"][..],
            "invalid destination label filter: unable to parse requirement: values[0][k8s.app]: Invalid value: \"-b\"",
        ),
        (
            &["-t", "drop", "--http-header", "X-Id:7"][..],
            "filtering by http headers requires the event type filter to only match 'l7' events",
        ),
        (
            &["--http-path", "("][..],
            "invalid http path filter: (: error parsing regexp: missing closing ): `(`",
        ),
        (
            &["--from-ip", "10.0.0.0/33"][..],
            "invalid IP prefix \"10.0.0.0/33\" in filter: netip.ParsePrefix(\"10.0.0.0/33\"): prefix length out of range",
        ),
    ] {
        let mut list = vec!["observe", "--input-file", "-"];
        list.extend(flags);
        let output = run_hubl(&args(&list), GOOD.as_bytes());
        assert_eq!(output.status.code(), Some(1), "{flags:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
}

#[test]
fn labels_and_http_paths_select_as_hubble_selects() {
    let input = r#"{"flow":{"Summary":"web","source":{"labels":["k8s:app=web","cidr:10.1.2.0/24"]},"l7":{"http":{"url":"http://web:80/api/v1?q=/x"}}}}
{"flow":{"Summary":"db","source":{"labels":["container:app=db","cidr:192.168.0.0/16"]},"l7":{"http":{"url":"/api/v2%2Fdb"}}}}
"#;
    for (flags, kept) in [
        (&["--from-label", "app"][..], &["web", "db"][..]),
        (&["--from-label", "k8s:app"][..], &["web"][..]),
        (&["--from-label", "app notin (web)"][..], &["db"][..]),
        (&["--from-label", "cidr:10.0.0.0/8"][..], &["web"][..]),
        (&["--from-label", "!cidr:10.0.0.0/8"][..], &["db"][..]),
        (&["--http-path", "^/api/v1$"][..], &["web"][..]),
        (&["--http-path", "x$"][..], &[][..]),
        (&["--http-path", "^/api/v2/db$"][..], &["db"][..]),
    ] {
        let mut list = vec!["observe", "--input-file", "-", "-o", "json"];
        list.extend(flags);
        let output = run_hubl(&args(&list), input.as_bytes());
        assert!(output.status.success(), "{flags:?}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let printed: Vec<&str> = ["web", "db"]
            .into_iter()
            .filter(|name| stdout.contains(&format!("\"Summary\":\"{name}\"")))
            .collect();
        assert_eq!(printed, kept, "{flags:?}: {stdout}");
    }
}
