//! `hubl observe --aggregate-by` on the conformance corpus and the demo
//! capture: golden summaries at each grouping level and in each format,
//! the same summary over gRPC as from the file, and eviction under
//! `--max-groups`. Set `UPDATE_GOLDEN=1` to rewrite the golden files after
//! a deliberate change.

mod support;

use std::{fs, path::Path};

use support::run_hubl;

const LEVELS: &[&str] = &["pod", "workload", "namespace", "identity", "ip"];

const INPUTS: &[(&str, &str)] = &[
    ("corpus", "tests/fixtures/conformance/flows.jsonl"),
    ("demo", "assets/demo.jsonl"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `hubl observe --input-file INPUT FLAGS...`; stdout and stderr.
fn summary(input: &str, flags: &[String]) -> (String, String) {
    let mut args = vec![
        "observe".to_owned(),
        "--input-file".to_owned(),
        root().join(input).display().to_string(),
    ];
    args.extend(flags.iter().cloned());
    let output = run_hubl(&args, b"");
    assert!(
        output.status.success(),
        "hubl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8(output.stdout).expect("UTF-8 output"),
        String::from_utf8(output.stderr).expect("UTF-8 errors"),
    )
}

fn flags(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Each case: a name and the flags after the input.
fn cases() -> Vec<(String, Vec<String>)> {
    let mut cases = Vec::new();
    for (input, _) in INPUTS {
        for level in LEVELS {
            cases.push((
                format!("{input}_{level}"),
                flags(&format!(
                    "-o table --aggregate-by source:{level},destination:{level},port,verdict"
                )),
            ));
        }
        cases.push((
            format!("{input}_other_keys"),
            flags("-o table --aggregate-by protocol,verdict,drop-reason,direction,node,l7"),
        ));
        cases.push((
            format!("{input}_compact"),
            flags("--aggregate-by source:workload,destination:workload,port --sort-by key"),
        ));
        cases.push((
            format!("{input}_json"),
            flags("-o json --aggregate-by source:workload,destination,port,protocol,verdict"),
        ));
    }
    cases.push((
        "demo_drops".to_owned(),
        flags(
            "-o table --aggregate-by source,destination,port,drop-reason --verdict DROPPED --sort-by dropped",
        ),
    ));
    cases.push((
        "demo_numeric".to_owned(),
        flags("--numeric --aggregate-by source,destination,port"),
    ));
    cases
}

#[test]
fn summaries_match_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, flags) in cases() {
        let input = if name.starts_with("corpus") {
            INPUTS[0].1
        } else {
            INPUTS[1].1
        };
        let (stdout, stderr) = summary(input, &flags);
        assert_eq!(stderr, "", "{name}: unexpected warnings");
        let path = root().join(format!("tests/golden/aggregate/{name}.out"));
        if update {
            fs::write(&path, &stdout).expect("golden file is writable");
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_default();
        if expected != stdout {
            failures.push(format!(
                "{}: expected\n{expected}\nactual\n{stdout}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_flow_is_counted_once_at_every_level() {
    for (_, input) in INPUTS {
        let lines = fs::read_to_string(root().join(input)).unwrap();
        let flows = lines
            .lines()
            .filter(|line| line.contains("\"flow\""))
            .count() as u64;
        for level in LEVELS {
            let (stdout, _) = summary(
                input,
                &flags(&format!(
                    "-o json --aggregate-by source:{level},destination:{level}"
                )),
            );
            let counted: u64 = stdout
                .lines()
                .map(|line| {
                    let group: serde_json::Value = serde_json::from_str(line).unwrap();
                    group["flows"].as_u64().unwrap()
                })
                .sum();
            assert_eq!(counted, flows, "{input} at {level}");
        }
    }
}

#[test]
fn json_groups_have_the_same_keys() {
    let (stdout, _) = summary(
        INPUTS[1].1,
        &flags("-o jsonpb --aggregate-by source,destination,port,l7"),
    );
    let keys: Vec<Vec<String>> = stdout
        .lines()
        .map(|line| {
            let group: serde_json::Value = serde_json::from_str(line).unwrap();
            group.as_object().unwrap().keys().cloned().collect()
        })
        .collect();
    assert!(keys.len() > 5);
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    for key in [
        "source",
        "destination",
        "port",
        "l7",
        "flows",
        "flows_per_second",
        "dropped",
    ] {
        assert!(keys[0].iter().any(|k| k == key), "{key} missing");
    }
}

#[test]
fn the_demo_relay_gives_the_capture_summary() {
    let flags = flags("-o table --aggregate-by source,destination,port,verdict");
    let (from_file, _) = summary(INPUTS[1].1, &flags);
    let mut args = vec![
        "observe".to_owned(),
        "--demo".to_owned(),
        "--all".to_owned(),
    ];
    args.extend(flags);
    let output = run_hubl(&args, b"");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The demo relay shifts the capture to end now, which moves the seen
    // times and the rate windows; the groups and their counts stay.
    let columns = |table: &str| -> Vec<Vec<String>> {
        table
            .lines()
            .skip(1)
            .map(|line| {
                let fields: Vec<&str> = line
                    .split("   ")
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .collect();
                // SOURCE, DESTINATION, PORT, VERDICT, FLOWS, then FLOWS/S,
                // FORWARDED, DROPPED, FIRST SEEN, LAST SEEN, LATENCY, REASON.
                [0, 1, 2, 3, 4, 6, 7, 10, 11]
                    .iter()
                    .map(|&i| fields.get(i).copied().unwrap_or_default().to_owned())
                    .collect()
            })
            .collect()
    };
    let demo = String::from_utf8_lossy(&output.stdout);
    assert_eq!(demo.lines().next(), from_file.lines().next());
    assert_eq!(columns(&demo), columns(&from_file));
}

#[test]
fn max_groups_evicts_and_says_so() {
    let (stdout, stderr) = summary(
        INPUTS[1].1,
        &flags("-o json --aggregate-by source,destination,port,verdict --max-groups 3"),
    );
    assert_eq!(stdout.lines().count(), 3);
    let kept: u64 = stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["flows"]
                .as_u64()
                .unwrap()
        })
        .sum();
    // "Warning: G groups (F flows) were evicted to stay within --max-groups 3; ..."
    let words: Vec<&str> = stderr.split_whitespace().collect();
    assert_eq!(words[0], "Warning:", "{stderr}");
    let groups: u64 = words[1].parse().unwrap();
    let flows: u64 = words[3].trim_start_matches('(').parse().unwrap();
    assert!(groups >= 6, "the demo has 9 groups: {stderr}");
    assert_eq!(
        kept + flows,
        762,
        "every flow is kept or counted as evicted"
    );
    assert!(stderr.contains("--max-groups 3"), "{stderr}");
}

#[test]
fn bad_keys_and_formats_are_refused() {
    let args = flags("observe --input-file /dev/null --aggregate-by source:cluster");
    let output = run_hubl(&args, b"");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid --aggregate-by key \"source:cluster\""),
        "{stderr}"
    );
    let args = flags("observe --input-file /dev/null --aggregate-by port -o dict");
    let output = run_hubl(&args, b"");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("dict output format is not compatible with --aggregate-by")
    );
}

#[test]
fn follow_prints_a_summary_every_interval_and_at_ctrl_c() {
    let output = std::process::Command::new("timeout")
        .args(["--preserve-status", "-s", "INT", "2"])
        .arg(env!("CARGO_BIN_EXE_hubl"))
        .args(flags(
            "observe --demo --follow --aggregate-by source:namespace,destination:namespace -o table --aggregate-interval 400ms",
        ))
        .env("HUBBLE_CONFIG", "/nonexistent/hubl-test-config.yaml")
        .output()
        .expect("timeout and hubl run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summaries = stdout.matches("SOURCE").count();
    // Four or so intervals, and the summary printed at Ctrl-C.
    assert!(summaries >= 3, "{summaries} summaries:\n{stdout}");
    assert!(stdout.contains("cilium-test"), "{stdout}");
    assert_eq!(output.status.code(), Some(130), "Ctrl-C exits 130");
}

#[test]
fn top_batch_mode_prints_the_table_each_interval() {
    let args =
        flags("top --demo --iterations 2 --aggregate-interval 300ms --namespace cilium-test");
    let output = run_hubl(&args, b"");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.matches("hubl top - demo relay").count(),
        2,
        "{stdout}"
    );
    assert!(
        stdout.contains("filters: --namespace cilium-test"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("SOURCE").count(), 2, "{stdout}");
    // The namespace filter keeps kube-system's own traffic out.
    assert!(!stdout.contains("kube-system/pinger"), "{stdout}");
}

/// Hosts are named as Hubble's compact output names them: every pod-level
/// name is one that `hubble observe` printed for the corpus.
#[test]
fn pod_level_names_are_hubbles_compact_hosts() {
    let printed =
        fs::read_to_string(root().join("tests/fixtures/conformance/expected/compact.out"))
            .expect("Hubble's compact output of the corpus");
    let (stdout, _) = summary(
        INPUTS[0].1,
        &flags("-o json --aggregate-by source,destination"),
    );
    let mut checked = 0;
    for line in stdout.lines() {
        let group: serde_json::Value = serde_json::from_str(line).unwrap();
        for side in ["source", "destination"] {
            let name = group[side].as_str().unwrap();
            if name.is_empty() {
                continue;
            }
            // Hubble's terminal escaping, as compact output applies it.
            let name = name.replace('\x1b', "^[").replace('\r', "\\r");
            let found = [
                format!("{name}:"),
                format!("{name} ("),
                format!("[{name}]:"),
            ]
            .iter()
            .any(|host| printed.contains(host.as_str()));
            assert!(found, "{side} {name:?} is not a host Hubble printed");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} names checked");
}
