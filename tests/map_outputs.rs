//! `hubl map` on the demo capture and the conformance corpus: golden
//! Mermaid, DOT and JSON at Hubble UI's grouping and collapsed, the same
//! map from the demo relay over gRPC as from the file, Graphviz
//! accepting the DOT, hubl's own SVG and the HTML page in Chromium. Set `UPDATE_GOLDEN=1` to rewrite the golden files
//! after a deliberate change.

mod support;

use std::{
    fs,
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use support::run_hubl;

const INPUTS: &[(&str, &str)] = &[
    ("corpus", "tests/fixtures/conformance/flows.jsonl"),
    ("demo", "assets/demo.jsonl"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn hubl(args: &[String]) -> String {
    let output = run_hubl(args, b"");
    assert!(
        output.status.success(),
        "hubl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "hubl {args:?} warned: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `hubl map --input-file INPUT FLAGS...`.
fn map(input: &str, flags: &str) -> String {
    let mut args = vec![
        "map".to_owned(),
        "--input-file".to_owned(),
        root().join(input).display().to_string(),
    ];
    args.extend(flags.split_whitespace().map(str::to_owned));
    hubl(&args)
}

/// Each case: the golden file's name and the flags.
fn cases() -> Vec<(String, String)> {
    let mut cases = Vec::new();
    for (input, _) in INPUTS {
        for (extension, format) in [("mmd", "mermaid"), ("dot", "dot"), ("json", "json")] {
            cases.push((format!("{input}.{extension}"), format!("-o {format}")));
        }
        for level in ["namespace", "workload", "pod"] {
            cases.push((
                format!("{input}_{level}.mmd"),
                format!("-o mermaid --group-by {level}"),
            ));
        }
    }
    cases.push((
        "demo_cilium_test.dot".to_owned(),
        "-o dot --namespace cilium-test".to_owned(),
    ));
    cases
}

fn input_of(name: &str) -> &'static str {
    INPUTS
        .iter()
        .find(|(input, _)| name.starts_with(input))
        .map(|(_, path)| *path)
        .expect("a known input")
}

#[test]
fn golden_maps() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, flags) in cases() {
        let actual = map(input_of(&name), &flags);
        let path = root().join("tests/golden/map").join(&name);
        if update {
            fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        if actual != expected {
            failures.push(format!("{name} ({flags}):\n{actual}"));
        }
    }
    assert!(failures.is_empty(), "maps differ:\n{}", failures.join("\n"));
}

#[test]
fn demo_relay_draws_the_capture_s_map() {
    let from_file = map("assets/demo.jsonl", "-o json");
    let over_grpc = hubl(&["map".into(), "--demo".into(), "-o".into(), "json".into()]);
    assert_eq!(over_grpc, from_file);
}

#[test]
fn json_has_stable_keys_and_every_link_s_cards() {
    let text = map("tests/fixtures/conformance/flows.jsonl", "-o json");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cards = value["cards"].as_array().unwrap();
    let links = value["links"].as_array().unwrap();
    assert!(!cards.is_empty() && !links.is_empty());
    let ids: Vec<&str> = cards.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for card in cards {
        // serde_json's map sorts keys.
        let keys: Vec<&str> = card
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "dns_names",
                "id",
                "identity",
                "kinds",
                "labels",
                "name",
                "namespace",
                "workloads"
            ]
        );
    }
    for link in links {
        for side in ["source", "destination"] {
            assert!(ids.contains(&link[side].as_str().unwrap()), "{link}");
        }
        let id = format!(
            "{} {} {}:{}",
            link["source"].as_str().unwrap(),
            match link["protocol"].as_str().unwrap() {
                "ICMPv4" => "ICMP_V4",
                "ICMPv6" => "ICMP_V6",
                "TCP" => "TCP",
                "UDP" => "UDP",
                _ => "UNKNOWN_IP_PROTOCOL",
            },
            link["destination"].as_str().unwrap(),
            link["port"]
        );
        assert_eq!(link["id"], id.as_str());
        let flows = link["flows"].as_u64().unwrap();
        assert!(flows >= link["forwarded"].as_u64().unwrap() + link["dropped"].as_u64().unwrap());
    }
}

#[test]
fn follow_stops_after_duration() {
    let text = hubl(&[
        "map".into(),
        "--demo".into(),
        "--follow".into(),
        "--duration".into(),
        "2s".into(),
        "-o".into(),
        "json".into(),
    ]);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(!value["links"].as_array().unwrap().is_empty(), "{text}");
}

/// Graphviz must lay out every DOT map. Without `dot` this fails: `.ci/run`
/// installs Debian's graphviz, and a machine without it cannot check the
/// maps.
#[test]
fn graphviz_accepts_the_dot() {
    let dot = Command::new("dot").arg("-V").output();
    assert!(
        dot.is_ok_and(|o| o.status.success()),
        "Graphviz's `dot` is needed by this test: apt-get install graphviz (.ci/run does)"
    );
    for (name, flags) in cases().into_iter().filter(|(_, f)| f.contains("-o dot")) {
        let text = map(input_of(&name), &flags);
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let errors = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && errors.is_empty(),
            "{name}: {errors}"
        );
        // Graphviz writes hyphens as character references.
        let svg = String::from_utf8(output.stdout)
            .unwrap()
            .replace("&#45;", "-");
        assert!(svg.contains("<svg"), "{name}");
        // Every card is drawn.
        let json: serde_json::Value =
            serde_json::from_str(&map(input_of(&name), &flags.replace("-o dot", "-o json")))
                .unwrap();
        for card in json["cards"].as_array().unwrap() {
            let title = card["name"].as_str().unwrap();
            assert!(svg.contains(&xml_escape(title)), "{name}: no card {title}");
        }
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG hubl lays out itself is well-formed XML and names every card.
#[test]
fn svg_parses_and_names_every_card() {
    for (_, input) in INPUTS {
        let svg = map(input, "-o svg");
        let document = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{input}: the SVG is not XML: {e}"));
        assert_eq!(document.root_element().tag_name().name(), "svg");
        let texts: Vec<&str> = document
            .descendants()
            .filter(|node| node.is_text())
            .filter_map(|node| node.text())
            .map(str::trim)
            .collect();
        let json: serde_json::Value = serde_json::from_str(&map(input, "-o json")).unwrap();
        for card in json["cards"].as_array().unwrap() {
            let name = card["name"].as_str().unwrap();
            assert!(texts.contains(&name), "{input}: no card {name} in the SVG");
        }
        let labels = texts.iter().filter(|t| t.contains(" flow")).count();
        assert_eq!(labels, json["links"].as_array().unwrap().len(), "{input}");
    }
}

/// The HTML page, opened in headless Chromium, shows every card of the
/// demo. Without Chromium this fails: `.ci/run` installs Debian's
/// chromium.
#[test]
fn chromium_shows_every_card_of_the_demo() {
    let html = map("assets/demo.jsonl", "-o html");
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("map.html");
    fs::write(&page, &html).unwrap();
    let profile = dir.path().join("profile");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("Chromium is needed by this test: apt-get install chromium (.ci/run does): {e}")
        });
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(dom.contains("<svg"), "no SVG in the page: {dom}");
    let json: serde_json::Value =
        serde_json::from_str(&map("assets/demo.jsonl", "-o json")).unwrap();
    let cards = json["cards"].as_array().unwrap();
    assert!(cards.len() >= 7, "{json}");
    for card in cards {
        let name = card["name"].as_str().unwrap();
        assert!(
            dom.contains(&format!(">{}<", xml_escape(name))),
            "Chromium's page has no card {name}"
        );
    }
    // Every link's flow table is in the page for the hover.
    for (index, _) in json["links"].as_array().unwrap().iter().enumerate() {
        assert!(dom.contains(&format!("id=\"link-{index}\"")), "{index}");
    }
}
