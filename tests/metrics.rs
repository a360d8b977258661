//! `hubl metrics`: golden expositions for the demo capture and the
//! conformance corpus, counts checked against the handlers' rules computed
//! here independently, Hubble's refusals, and scrapes of `/metrics` while
//! flows stream in from the in-process relay.
//!
//! The golden files were checked by hand against cilium/cilium 1.19's
//! `pkg/hubble/metrics/*/handler.go` (label names and order, which flows
//! count, label values). Set `UPDATE_GOLDEN=1` to rewrite them after a
//! deliberate change.

mod support;

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use support::{
    hubl_command,
    relay::{FakeRelay, Script, responses_of},
    run_hubl,
};

/// The context options of Hubble's own documentation, for every handler
/// of the example set.
const CONTEXT_SPEC: &str = "dns:query;ignoreAAAA;sourceContext=pod|ip;destinationContext=dns|ip,\
drop:sourceContext=namespace;destinationContext=workload-name|reserved-identity,\
tcp:labelsContext=source_namespace,destination_namespace,traffic_direction,\
flow:sourceContext=workload-name|reserved-identity;destinationContext=app|identity,\
icmp:sourceContext=pod-name;destinationEgressContext=ip;destinationContext=namespace,\
httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction";

/// Every other handler, with options.
const OTHERS_SPEC: &str = "port-distribution:sourceContext=pod-short,\
flows-to-world:any-drop;port;sourceContext=namespace,\
policy:sourceContext=app|identity;destinationContext=pod,kafka";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn demo() -> PathBuf {
    root().join("assets/demo.jsonl")
}

fn corpus() -> PathBuf {
    root().join("tests/fixtures/conformance/flows.jsonl")
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn metrics_of(capture: &Path, extra: &[&str]) -> String {
    let mut args = strings(&["metrics", "--input-file"]);
    args.push(capture.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = run_hubl(&args, b"");
    assert!(
        output.status.success(),
        "hubl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 exposition")
}

#[test]
fn expositions_match_golden_files() {
    let cases: &[(&str, &Path, &[&str])] = &[
        ("demo.prom", &demo(), &[]),
        ("demo_context.prom", &demo(), &["--metrics", CONTEXT_SPEC]),
        ("demo_others.prom", &demo(), &["--metrics", OTHERS_SPEC]),
        ("demo.openmetrics", &demo(), &["-o", "openmetrics"]),
        (
            "demo_context.openmetrics",
            &demo(),
            &["-o", "openmetrics", "--metrics", CONTEXT_SPEC],
        ),
        ("demo.json", &demo(), &["-o", "json"]),
        ("conformance.prom", &corpus(), &[]),
        (
            "conformance_context.prom",
            &corpus(),
            &["--metrics", CONTEXT_SPEC],
        ),
        (
            "conformance_others.prom",
            &corpus(),
            &["--metrics", OTHERS_SPEC],
        ),
        (
            "conformance_filtered.prom",
            &corpus(),
            &["--namespace", "cilium-test", "--verdict", "DROPPED"],
        ),
    ];
    let dir = root().join("tests/golden/metrics");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, capture, flags) in cases {
        let actual = metrics_of(capture, flags);
        let path = dir.join(name);
        if update {
            fs::create_dir_all(&dir).expect("golden dir");
            fs::write(&path, &actual).expect("golden file written");
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            failures.push(format!("{name} differs from {}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The Prometheus exposition as `family name -> [(labels, value)]`.
fn samples(exposition: &str) -> BTreeMap<String, Vec<(String, f64)>> {
    let mut map: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let (head, value) = line.rsplit_once(' ').expect("a sample line");
        let (name, labels) = head.split_once('{').unwrap_or((head, ""));
        map.entry(name.to_owned())
            .or_default()
            .push((labels.to_owned(), value.parse().expect("a number")));
    }
    map
}

fn total(samples: &BTreeMap<String, Vec<(String, f64)>>, name: &str, with: &str) -> f64 {
    samples.get(name).map_or(0.0, |s| {
        s.iter()
            .filter(|(l, _)| l.contains(with))
            .map(|(_, v)| v)
            .sum()
    })
}

/// The flows of a capture, with the lowerCamelCase keys protojson also
/// accepts (`isReply`) spelled as the proto names them (`is_reply`).
fn flows(capture: &Path) -> Vec<Value> {
    fn snake(value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, value)| {
                        let key = if key.starts_with(|c: char| c.is_ascii_lowercase()) {
                            key.chars()
                                .flat_map(|c| match c.is_ascii_uppercase() {
                                    true => vec!['_', c.to_ascii_lowercase()],
                                    false => vec![c],
                                })
                                .collect()
                        } else {
                            key
                        };
                        (key, snake(value))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(snake).collect()),
            other => other,
        }
    }
    fs::read_to_string(capture)
        .expect("capture")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|response| response.get("flow").cloned())
        .map(snake)
        .collect()
}

/// The handlers' rules, written again from Hubble's code, on raw JSON.
#[test]
fn counts_follow_the_handlers_rules() {
    for capture in [demo(), corpus()] {
        let flows = flows(&capture);
        let all = "dns,drop,tcp,flow,icmp,httpV2,port-distribution,flows-to-world,policy";
        let got = samples(&metrics_of(&capture, &["--metrics", all]));
        // Captures may spell enums by number.
        let verdict = |f: &Value| match &f["verdict"] {
            Value::Number(n) => [
                "VERDICT_UNKNOWN",
                "FORWARDED",
                "DROPPED",
                "ERROR",
                "AUDIT",
                "REDIRECTED",
                "TRACED",
                "TRANSLATED",
            ]
            .get(n.as_u64().unwrap_or(99) as usize)
            .map_or(String::new(), |v| v.to_string()),
            v => v.as_str().unwrap_or("").to_owned(),
        };
        let forwarded = |f: &Value| matches!(verdict(f).as_str(), "FORWARDED" | "REDIRECTED");
        let is_reply = |f: &Value| f["is_reply"].as_bool();
        let count = |keep: &dyn Fn(&Value) -> bool| flows.iter().filter(|f| keep(f)).count() as f64;
        let name = capture.display();

        // flow: every flow, once.
        assert_eq!(
            total(&got, "hubble_flows_processed_total", ""),
            flows.len() as f64,
            "{name}"
        );
        assert_eq!(
            total(&got, "hubl_flows_received_total", ""),
            flows.len() as f64
        );
        // drop: DROPPED only.
        assert_eq!(
            total(&got, "hubble_drop_total", ""),
            count(&|f| verdict(f) == "DROPPED"),
            "{name}"
        );
        // tcp: forwarded or redirected with an IP layer, one count per flag.
        let tcp_flag = |f: &Value, flag: &str| {
            forwarded(f)
                && !f["IP"].is_null()
                && f["l4"]["TCP"]["flags"][flag].as_bool() == Some(true)
        };
        assert_eq!(
            total(&got, "hubble_tcp_flags_total", "flag=\"SYN\""),
            count(&|f| tcp_flag(f, "SYN") && !tcp_flag(f, "ACK")),
            "{name}"
        );
        assert_eq!(
            total(&got, "hubble_tcp_flags_total", "flag=\"SYN-ACK\""),
            count(&|f| tcp_flag(f, "SYN") && tcp_flag(f, "ACK")),
            "{name}"
        );
        assert_eq!(
            total(&got, "hubble_tcp_flags_total", "flag=\"FIN\""),
            count(&|f| tcp_flag(f, "FIN")),
            "{name}"
        );
        // icmp: every ICMP flow, all under family="IPv4".
        let icmp = count(&|f| !f["l4"]["ICMPv4"].is_null() || !f["l4"]["ICMPv6"].is_null());
        assert_eq!(total(&got, "hubble_icmp_total", ""), icmp, "{name}");
        assert_eq!(
            total(&got, "hubble_icmp_total", "family=\"IPv4\""),
            icmp,
            "{name}"
        );
        // dns: queries are requests or drops, responses the other replies.
        let dns = |f: &Value| !f["l7"]["dns"].is_null();
        assert_eq!(
            total(&got, "hubble_dns_queries_total", ""),
            count(&|f| dns(f) && (verdict(f) == "DROPPED" || is_reply(f) != Some(true))),
            "{name}"
        );
        assert_eq!(
            total(&got, "hubble_dns_responses_total", ""),
            count(&|f| dns(f) && verdict(f) != "DROPPED" && is_reply(f) == Some(true)),
            "{name}"
        );
        // httpV2: responses only.
        let http_response = |f: &Value| !f["l7"]["http"].is_null() && f["l7"]["type"] == "RESPONSE";
        assert_eq!(
            total(&got, "hubble_http_requests_total", ""),
            count(&http_response),
            "{name}"
        );
        assert_eq!(
            total(&got, "hubble_http_request_duration_seconds_count", ""),
            count(&http_response),
            "{name}"
        );
        // port-distribution: forwarded requests known not to be replies.
        let l4_known = |f: &Value| {
            ["TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6"]
                .iter()
                .any(|p| !f["l4"][p].is_null())
        };
        assert_eq!(
            total(&got, "hubble_port_distribution_total", ""),
            count(&|f| forwarded(f) && is_reply(f) == Some(false) && l4_known(f)),
            "{name}"
        );
        // policy: policy verdicts not from the host, and L7 records.
        // protojson also takes numbers as strings.
        let int = |v: &Value| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        let event_type = |f: &Value| int(&f["event_type"]["type"]).unwrap_or(0);
        assert_eq!(
            total(&got, "hubble_policy_verdicts_total", ""),
            count(&|f| {
                (event_type(f) == 5 && int(&f["source"]["identity"]) != Some(1))
                    || event_type(f) == 129
            }),
            "{name}"
        );
    }
}

#[test]
fn filters_narrow_what_is_counted() {
    let got = samples(&metrics_of(
        &corpus(),
        &["--metrics", "flow", "--verdict", "DROPPED"],
    ));
    let series = &got["hubble_flows_processed_total"];
    assert!(!series.is_empty());
    assert!(
        series
            .iter()
            .all(|(labels, _)| labels.contains("verdict=\"DROPPED\""))
    );
    let dropped = flows(&corpus())
        .iter()
        .filter(|f| f["verdict"] == "DROPPED")
        .count() as f64;
    assert_eq!(total(&got, "hubble_flows_processed_total", ""), dropped);
}

#[test]
fn specs_hubble_refuses_are_refused_with_its_reason() {
    let cases = [
        ("flow,nope", "metric 'nope' does not exist"),
        ("http,httpV2", "plugin http conflicts with plugin httpV2"),
        (
            "flow:sourceContext=bogus",
            "unable to initialize metric 'flow': unknown context 'bogus'",
        ),
        (
            "dns:labelsContext=source_port",
            "unable to initialize metric 'dns': invalid labelsContext value: source_port",
        ),
    ];
    for (spec, reason) in cases {
        let mut args = strings(&["metrics", "--input-file", "-", "--metrics"]);
        args.push(spec.to_owned());
        let output = run_hubl(&args, b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{spec}: {stderr}");
        assert!(
            stderr.contains("invalid --metrics") && stderr.contains(reason),
            "{spec}: {stderr}"
        );
    }
}

#[test]
fn the_spec_also_comes_from_hubble_metrics() {
    let mut command = hubl_command(&strings(&["metrics", "-o", "prometheus", "--input-file"]));
    command.arg(demo()).env("HUBBLE_METRICS", "icmp");
    let output = command.output().expect("hubl runs");
    assert!(output.status.success());
    let got = samples(&String::from_utf8_lossy(&output.stdout));
    let families: Vec<&str> = got
        .keys()
        .map(String::as_str)
        .filter(|name| name.starts_with("hubble_"))
        .collect();
    assert_eq!(families, ["hubble_icmp_total"]);
}

/// A running `hubl metrics` serving on a free port.
struct Exporter {
    child: Child,
    address: String,
}

impl Exporter {
    fn start(args: &[String]) -> Self {
        let mut all = strings(&["metrics", "--listen", "127.0.0.1:0"]);
        all.extend(args.iter().cloned());
        let mut child = hubl_command(&all)
            .stdin(Stdio::null())
            .spawn()
            .expect("hubl runs");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut stderr = BufReader::new(stderr);
        let mut line = String::new();
        stderr
            .read_line(&mut line)
            .expect("hubl says where it serves");
        // Keep reading, so that hubl's warnings never meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let address = line
            .trim()
            .strip_prefix("Serving Hubble metrics on http://")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Self { child, address }
    }

    /// `GET /metrics` with `accept`: the Content-Type and the body.
    fn scrape(&self, accept: &str) -> (String, String) {
        let mut stream = TcpStream::connect(&self.address).expect("the exporter accepts");
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n",
            self.address
        )
        .expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("content-type: "))
            .unwrap_or_default()
            .to_owned();
        (content_type, body.to_owned())
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn scrapes_see_counts_grow_while_flows_stream_in() {
    let capture = fs::read(demo()).expect("the demo capture");
    let responses = responses_of(&capture);
    let expected = responses.len() as f64;
    let relay = FakeRelay::start(Script {
        responses,
        hold_open: true,
        pace: Some(Duration::from_millis(2)),
        ..Script::default()
    });
    let exporter = Exporter::start(&strings(&["--server", &relay.server()]));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let (content_type, body) = exporter.scrape("text/plain");
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        let received = total(&samples(&body), "hubl_flows_received_total", "");
        if seen.last() != Some(&received) {
            seen.push(received);
        }
        if received == expected {
            // Everything counted: the same exposition as the capture's,
            // less the lag gauge only a live stream has.
            let from_file = metrics_of(&demo(), &[]);
            let live: String = body
                .split_inclusive('\n')
                .filter(|l| !l.contains("hubl_stream_lag_seconds"))
                .collect();
            assert_eq!(live, from_file);
            break;
        }
        assert!(Instant::now() < deadline, "counts stalled at {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        seen.len() > 2,
        "flows were not counted as they came: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    // The request follows, with every field: metrics read what no printed
    // format shows.
    let requests = relay.requests();
    assert!(requests[0].follow);
    assert!(requests[0].field_mask.is_none());
}

#[test]
fn openmetrics_is_negotiated() {
    let exporter = Exporter::start(&strings(&["--demo"]));
    let (content_type, body) = exporter.scrape(
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    );
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert!(body.contains("# TYPE hubl_flows_received counter"));
}
