//! What only the latest Hubble prints, and so the v0.11.6 corpus cannot
//! show: reserved identities 9 and 10, crypto trace points, the newest drop
//! reasons, SCTP ports, escaped control characters, IP trace IDs, auth
//! types, policy names, colours, lost events and node status records.
//!
//! The golden files were checked line by line against Hubble's printer
//! (hubble/pkg/printer/printer.go of cilium/cilium 1.19). Set
//! `UPDATE_GOLDEN=1` to rewrite them after a deliberate change.

mod support;

use std::{fs, path::Path};

use support::run_hubl;

const CASES: &[(&str, &[&str])] = &[
    ("compact", &[]),
    ("dict", &["-o", "dict"]),
    ("table", &["-o", "table"]),
    ("table_node_name", &["-o", "table", "--print-node-name"]),
    ("dict_node_name", &["-o", "dict", "--print-node-name"]),
    (
        "compact_color_names",
        &[
            "--color",
            "always",
            "--print-policy-names",
            "--print-node-name",
        ],
    ),
    ("dict_numeric", &["-o", "dict", "--numeric"]),
    ("jsonpb", &["-o", "jsonpb"]),
];

#[test]
fn latest_rendering_matches_golden_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let input = root.join("fixtures/latest/flows.jsonl");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, flags) in CASES {
        let mut args: Vec<String> = vec!["observe".into(), "--input-file".into()];
        args.push(input.display().to_string());
        if !flags.contains(&"--color") {
            args.extend(["--color".into(), "never".into()]);
        }
        args.extend(flags.iter().map(|flag| flag.to_string()));
        let output = run_hubl(&args, b"");
        assert!(output.status.success(), "{name}: hubl failed");
        for (stream, actual) in [("out", &output.stdout), ("err", &output.stderr)] {
            let path = root.join(format!("golden/latest_{name}.{stream}"));
            if update {
                fs::write(&path, actual).expect("golden file is writable");
                continue;
            }
            let expected = fs::read(&path).unwrap_or_default();
            if &expected != actual {
                failures.push(format!(
                    "{}: expected\n{}\nactual\n{}",
                    path.display(),
                    String::from_utf8_lossy(&expected),
                    String::from_utf8_lossy(actual)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
