//! `hubl serve` answers as a relay would: the same flows as `--input-file`
//! for the same filters, Hubble's selectors, following, many clients, and
//! bad capture lines reported at start-up.

#[path = "support/pki.rs"]
mod pki;
mod support;

use std::{
    fs,
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    sync::Arc,
};

use hubl::{
    proto::{
        flow::{FlowFilter, Verdict},
        observer::{
            GetFlowsRequest, get_flows_response::ResponseTypes, observer_client::ObserverClient,
        },
    },
    serve::{Capture, ServeOptions, TlsFiles, listen, serve},
};
use support::{conformance_dir, run_hubl};
use tokio_stream::StreamExt;

/// A replay relay on a runtime of its own, serving the conformance corpus.
struct Relay {
    address: SocketAddr,
    runtime: tokio::runtime::Runtime,
}

impl Relay {
    fn start(rate: Option<u32>) -> Self {
        Self::start_with(ServeOptions { rate, tls: None })
    }

    fn start_with(options: ServeOptions) -> Self {
        let text = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
        Self::serving(&text, options)
    }

    fn serving(text: &[u8], options: ServeOptions) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (capture, _) = Capture::parse(text);
        let address = runtime.block_on(async {
            let listener = listen("127.0.0.1:0").await.expect("a port");
            let address = listener.local_addr().expect("an address");
            tokio::spawn(serve(
                listener,
                Arc::new(capture),
                options,
                std::future::pending(),
            ));
            address
        });
        Self { address, runtime }
    }

    fn server(&self) -> String {
        self.address.to_string()
    }
}

fn observe(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["observe".to_string(), "--color".into(), "never".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn server_side_filtering_matches_file_filtering() {
    let relay = Relay::start(None);
    let capture = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
    for filters in [
        &["--namespace", "cilium-test"][..],
        &["--verdict", "DROPPED", "--protocol", "tcp"],
        &["--not", "--namespace", "kube-system", "--to-port", "8080"],
        &["-t", "trace:to-endpoint", "--from-label", "k8s:kind=client"],
        &["--fqdn", "*.cilium.io"],
        &["--http-status", "5+"],
        &["--last", "7", "--to-namespace", "cilium-test"],
        &["--first", "3", "--verdict", "FORWARDED"],
        &[
            "--since",
            "2023-01-01T00:00:00Z",
            "--until",
            "2023-01-02T12:00:00Z",
        ],
    ] {
        let mut from_file = observe(&["--input-file", "-"]);
        from_file.extend(filters.iter().map(|s| s.to_string()));
        if !filters
            .iter()
            .any(|f| *f == "--last" || *f == "--first" || *f == "--since")
        {
            from_file.push("--all".into());
        }
        let mut from_relay = from_file.clone();
        from_relay.splice(3..5, ["--server".to_string(), relay.server()]);
        // The file path has no server to strip fields; ask for all of them.
        from_relay.push("--use-default-field-masks=false".into());
        let expected = run_hubl(&from_file, &capture);
        let actual = run_hubl(&from_relay, b"");
        assert!(actual.status.success(), "{filters:?}: {actual:?}");
        assert!(!expected.stdout.is_empty(), "{filters:?} selects something");
        assert!(
            actual.stdout == expected.stdout,
            "{filters:?}: relay and file differ\n{}\n---\n{}",
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout)
        );
    }
}

#[test]
fn the_default_field_mask_strips_what_compact_output_does_not_need() {
    let relay = Relay::start(None);
    let args = |mask: &str| {
        let mut args = observe(&[
            "--server",
            &relay.server(),
            "--all",
            "--fqdn",
            "*.cilium.io",
        ]);
        args.push(format!("--use-default-field-masks={mask}"));
        args
    };
    let full = run_hubl(&args("false"), b"");
    let masked = run_hubl(&args("true"), b"");
    assert!(full.status.success() && masked.status.success());
    let (full, masked) = (
        String::from_utf8_lossy(&full.stdout),
        String::from_utf8_lossy(&masked.stdout),
    );
    assert_eq!(full.lines().count(), masked.lines().count());
    // Hubble's default mask has no source_names/destination_names: the
    // relay sends none, so names give way to addresses, as with hubble.
    assert!(full.contains("cilium.io"), "{full}");
    assert!(!masked.contains("cilium.io,"), "{masked}");
}

#[test]
fn status_nodes_and_namespaces_come_from_the_capture() {
    let relay = Relay::start(None);
    let status = run_hubl(&["status".into(), "--server".into(), relay.server()], b"");
    assert!(status.status.success(), "{status:?}");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("Healthcheck (via "), "{text}");
    assert!(text.contains("Current/Max Flows: 393/393"), "{text}");
    assert!(text.contains("Connected Nodes: 5/5"), "{text}");
    let nodes = run_hubl(
        &[
            "list".into(),
            "nodes".into(),
            "--server".into(),
            relay.server(),
        ],
        b"",
    );
    let text = String::from_utf8_lossy(&nodes.stdout);
    assert!(text.contains("kube-ovn-worker2"), "{text}");
    let namespaces = run_hubl(
        &[
            "list".into(),
            "namespaces".into(),
            "--server".into(),
            relay.server(),
        ],
        b"",
    );
    let text = String::from_utf8_lossy(&namespaces.stdout);
    assert!(
        text.contains("cilium-test") && text.contains("kube-system"),
        "{text}"
    );
}

#[test]
fn following_replays_with_fresh_timestamps() {
    let relay = Relay::start(Some(2000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubl"))
        .args(["observe", "--server", &relay.server(), "-f", "-o", "jsonpb"])
        .env("HUBBLE_CONFIG", "/nonexistent/hubl-test-config.yaml")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hubl runs");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let now = chrono::Utc::now();
    let mut seen = 0;
    for line in lines.by_ref().take(500) {
        let line = line.expect("a line");
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if let Some(time) = value["flow"]["time"].as_str() {
            let time = chrono::DateTime::parse_from_rfc3339(time).expect("a time");
            assert!((time.with_timezone(&chrono::Utc) - now).num_seconds().abs() < 60);
        }
        seen += 1;
    }
    assert_eq!(seen, 500, "the replay goes on past the capture's end");
    child.kill().expect("hubl stops");
    let _ = child.wait();
}

#[test]
fn fifty_clients_and_some_leave_mid_stream() {
    let relay = Relay::start(Some(20_000));
    let address = format!("http://{}", relay.address);
    relay.runtime.block_on(async move {
        let mut tasks = Vec::new();
        for client in 0..50 {
            let address = address.clone();
            tasks.push(tokio::spawn(async move {
                let mut observer = ObserverClient::connect(address).await.expect("connects");
                let request = GetFlowsRequest {
                    number: 10,
                    follow: true,
                    ..GetFlowsRequest::default()
                };
                let mut stream = observer
                    .get_flows(request)
                    .await
                    .expect("a stream")
                    .into_inner();
                // Every third client goes away early; the others read on.
                let wanted = if client % 3 == 0 { 5 } else { 300 };
                let mut received = 0;
                while received < wanted {
                    match stream.next().await {
                        Some(Ok(_)) => received += 1,
                        other => panic!("client {client}: stream ended early: {other:?}"),
                    }
                }
                received
            }));
        }
        for (client, task) in tasks.into_iter().enumerate() {
            let received = task.await.expect("the client task completes");
            assert_eq!(received, if client % 3 == 0 { 5 } else { 300 });
        }
    });
}

#[test]
fn a_malformed_capture_line_is_reported_at_start_up() {
    let dir = std::env::temp_dir().join(format!("hubl-serve-test-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("a temp dir");
    let capture = dir.join("capture.jsonl");
    fs::write(
        &capture,
        "{\"flow\":{\"node_name\":\"n1\"}}\n{\"flow\": nope}\n{\"flow\":{\"node_name\":\"n2\"}}\n",
    )
    .expect("the capture is written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubl"))
        .args([
            "serve",
            "--input-file",
            capture.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("hubl serve runs");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut warning = String::new();
    stderr.read_line(&mut warning).expect("a warning");
    let mut banner = String::new();
    stderr.read_line(&mut banner).expect("a banner");
    child.kill().expect("hubl serve stops");
    let _ = child.wait();
    let _ = fs::remove_dir_all(&dir);
    assert!(warning.contains("line 2:"), "{warning}");
    assert!(banner.contains("Serving 2 flows"), "{banner}");
}

#[test]
fn serves_mutual_tls_with_given_certificates() {
    let pki = pki::Pki::generate();
    let relay = Relay::start_with(ServeOptions {
        rate: None,
        tls: Some(TlsFiles {
            certificate: pki.server_cert.clone().into_bytes(),
            key: pki.server_key.clone().into_bytes(),
            client_ca: Some(pki.ca.clone().into_bytes()),
        }),
    });
    let dir = std::env::temp_dir().join(format!("hubl-serve-tls-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("a temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).expect("a PEM file");
        path.display().to_string()
    };
    let ca = write("ca.pem", &pki.ca);
    let cert = write("client.pem", &pki.client_cert);
    let key = write("client-key.pem", &pki.client_key);
    let server = format!("tls://{}", relay.server());
    let status = |client: &[&str]| {
        let mut args: Vec<String> = [
            "status",
            "--server",
            &server,
            "--tls-ca-cert-files",
            &ca,
            "--tls-server-name",
            pki::SERVER_NAME,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(client.iter().map(|s| s.to_string()));
        run_hubl(&args, b"")
    };
    let with_certificate = status(&[
        "--tls-client-cert-file",
        &cert,
        "--tls-client-key-file",
        &key,
    ]);
    let without_certificate = status(&[]);
    let _ = fs::remove_dir_all(&dir);
    assert!(with_certificate.status.success(), "{with_certificate:?}");
    assert!(
        String::from_utf8_lossy(&with_certificate.stdout).contains("Current/Max Flows: 393/393")
    );
    assert_eq!(without_certificate.status.code(), Some(1));
}

/// 2023-01-01T00:00:00Z, the time of `mixed_capture`'s node status: flow
/// `fN` is N seconds later.
const START: i64 = 1_672_531_200;

/// A capture of ten flows (`f1`..`f10`, the even ones dropped) with a node
/// status before f1 and f8 and lost events after f3.
fn mixed_capture() -> String {
    let mut text = String::new();
    let status = |names: &str| {
        format!(
            "{{\"node_status\":{{\"state_change\":\"NODE_CONNECTED\",\"node_names\":[\"{names}\"]}},\
             \"node_name\":\"relay\",\"time\":\"2023-01-01T00:00:00Z\"}}\n"
        )
    };
    text.push_str(&status("n-a"));
    for i in 1..=10 {
        if i == 8 {
            text.push_str(&status("n-b"));
        }
        let verdict = if i % 2 == 0 { "DROPPED" } else { "FORWARDED" };
        text.push_str(&format!(
            "{{\"flow\":{{\"time\":\"2023-01-01T00:00:{i:02}Z\",\"node_name\":\"n-a\",\
             \"verdict\":\"{verdict}\",\"Summary\":\"f{i}\"}},\"node_name\":\"n-a\",\
             \"time\":\"2023-01-01T00:00:{i:02}Z\"}}\n"
        ));
        if i == 3 {
            text.push_str(
                "{\"lost_events\":{\"source\":\"HUBBLE_RING_BUFFER\",\"num_events_lost\":4},\
                 \"node_name\":\"n-a\",\"time\":\"2023-01-01T00:00:03Z\"}\n",
            );
        }
    }
    text
}

#[test]
fn only_flows_count_towards_first_and_last() {
    let relay = Relay::serving(
        mixed_capture().as_bytes(),
        ServeOptions {
            rate: None,
            tls: None,
        },
    );
    // What each response is: a flow's summary, or the kind of response.
    let responses = |request: GetFlowsRequest| -> Vec<String> {
        let address = format!("http://{}", relay.address);
        relay.runtime.block_on(async move {
            let mut observer = ObserverClient::connect(address).await.expect("connects");
            let mut stream = observer
                .get_flows(request)
                .await
                .expect("a stream")
                .into_inner();
            let mut kinds = Vec::new();
            while let Some(response) = stream.next().await {
                kinds.push(match response.expect("a response").response_types {
                    Some(ResponseTypes::Flow(flow)) => {
                        format!("f{}", flow.time.unwrap_or_default().seconds - START)
                    }
                    Some(ResponseTypes::LostEvents(_)) => "lost".to_owned(),
                    Some(ResponseTypes::NodeStatus(status)) => status.node_names[0].clone(),
                    other => panic!("unexpected {other:?}"),
                });
            }
            kinds
        })
    };
    let request = |number: u64, first: bool, verdict: Option<Verdict>| GetFlowsRequest {
        number,
        first,
        whitelist: verdict
            .map(|verdict| FlowFilter {
                verdict: vec![verdict as i32],
                ..FlowFilter::default()
            })
            .into_iter()
            .collect(),
        ..GetFlowsRequest::default()
    };
    assert_eq!(
        responses(request(7, true, None)),
        ["n-a", "f1", "f2", "f3", "lost", "f4", "f5", "f6", "f7"]
    );
    assert_eq!(responses(request(3, false, None)), ["f8", "f9", "f10"]);
    assert_eq!(
        responses(request(4, false, None)),
        ["f7", "n-b", "f8", "f9", "f10"]
    );
    // The filters select flows; node status and lost events in the
    // stretch read come as a relay sends them, whatever the filters.
    assert_eq!(
        responses(request(2, true, Some(Verdict::Dropped))),
        ["n-a", "f2", "lost", "f4"]
    );
    assert_eq!(
        responses(request(2, false, Some(Verdict::Forwarded))),
        ["f7", "n-b", "f9"]
    );
    // With a time range, only what lies within it.
    let time = |second: i64| {
        Some(hubl::proto::Timestamp {
            seconds: 1_672_531_200 + second,
            nanos: 0,
        })
    };
    assert_eq!(
        responses(GetFlowsRequest {
            since: time(3),
            until: time(5),
            ..GetFlowsRequest::default()
        }),
        ["f3", "lost", "f4", "f5"]
    );
    // hubl (as hubble) prints seven flows for --first 7, and the lost
    // events, the node status going to stderr.
    let output = run_hubl(
        &observe(&["--server", &relay.server(), "--first", "7"]),
        b"",
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    assert_eq!(stdout.matches("EVENTS LOST").count(), 1, "{stdout}");
    assert!(
        stdout.lines().last().unwrap_or_default().contains("f7"),
        "{stdout}"
    );
}

#[test]
fn every_response_carries_the_hubble_version_whose_api_is_served() {
    let relay = Relay::start(None);
    let address = format!("http://{}", relay.address);
    relay.runtime.block_on(async move {
        let mut observer = ObserverClient::connect(address).await.expect("connects");
        let status = observer
            .server_status(hubl::proto::observer::ServerStatusRequest {})
            .await
            .expect("a status");
        let flows = observer
            .get_flows(GetFlowsRequest {
                number: 1,
                ..GetFlowsRequest::default()
            })
            .await
            .expect("a stream");
        for headers in [status.metadata(), flows.metadata()] {
            assert_eq!(
                headers
                    .get("hubble-relay-version")
                    .and_then(|v| v.to_str().ok()),
                Some("1.19.4")
            );
        }
    });
}

#[test]
fn server_status_counts_each_replayed_flow_once_however_many_follow() {
    let rate = 2000.0;
    let relay = Relay::start(Some(2000));
    let address = format!("http://{}", relay.address);
    relay.runtime.block_on(async move {
        let status = |mut observer: ObserverClient<tonic::transport::Channel>| async move {
            observer
                .server_status(hubl::proto::observer::ServerStatusRequest {})
                .await
                .expect("a status")
                .into_inner()
        };
        let observer = ObserverClient::connect(address.clone())
            .await
            .expect("connects");
        // From the first answer on, flows/s (seen ÷ uptime, as Hubble UI
        // reads it) is the replay's rate: the capture counts as history.
        let first = status(observer.clone()).await;
        let flows_per_second = |s: &hubl::proto::observer::ServerStatusResponse| {
            s.seen_flows as f64 / (s.uptime_ns as f64 / 1e9)
        };
        assert!(first.seen_flows >= 393, "{first:?}");
        assert!(
            (flows_per_second(&first) - rate).abs() < rate * 0.1,
            "{first:?}"
        );
        // Five followers read for a while: each replayed flow counts once.
        let mut followers = Vec::new();
        for _ in 0..5 {
            let address = address.clone();
            followers.push(tokio::spawn(async move {
                let mut observer = ObserverClient::connect(address).await.expect("connects");
                let mut stream = observer
                    .get_flows(GetFlowsRequest {
                        follow: true,
                        ..GetFlowsRequest::default()
                    })
                    .await
                    .expect("a stream")
                    .into_inner();
                for _ in 0..400 {
                    stream.next().await.expect("a flow").expect("no error");
                }
            }));
        }
        for follower in followers {
            follower.await.expect("the follower reads 400 flows");
        }
        let second = status(observer).await;
        let seconds = (second.uptime_ns - first.uptime_ns) as f64 / 1e9;
        let replayed = (second.seen_flows - first.seen_flows) as f64;
        assert!(seconds > 0.15, "400 flows at 2000/s take 0.2 s: {seconds}");
        assert!(
            (replayed - rate * seconds).abs() < rate * seconds * 0.2 + 10.0,
            "{replayed} flows seen in {seconds} s"
        );
        assert!(
            (flows_per_second(&second) - rate).abs() < rate * 0.1,
            "{second:?}"
        );
        assert_eq!(second.num_flows, 393);
        assert_eq!(second.max_flows, 393);
    });
}

/// `hubl serve ARGS` on the conformance corpus at a free port, and the
/// address it serves on; the child is killed on drop.
struct ServeProcess {
    child: std::process::Child,
    address: String,
}

impl ServeProcess {
    fn start(extra: &[&str]) -> Self {
        let corpus = conformance_dir().join("flows.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hubl"))
            .args(["serve", "--input-file", corpus.to_str().expect("utf-8")])
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("hubl serve runs");
        let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
        let mut banner = String::new();
        stderr.read_line(&mut banner).expect("a banner");
        let address = banner
            .split(" on ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .expect("the banner names the address")
            .to_owned();
        Self { child, address }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The times (RFC 3339) of the flows `hubl observe --server ADDR FLAGS`
/// prints.
fn flow_times(address: &str, flags: &[&str]) -> Vec<chrono::DateTime<chrono::Utc>> {
    let mut args = observe(&["--server", address, "-o", "jsonpb"]);
    args.extend(flags.iter().map(|s| s.to_string()));
    let output = run_hubl(&args, b"");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let time = value["flow"]["time"].as_str()?.to_owned();
            Some(
                chrono::DateTime::parse_from_rfc3339(&time)
                    .expect("a time")
                    .to_utc(),
            )
        })
        .collect()
}

#[test]
fn shift_times_ends_the_capture_now_and_keeps_its_gaps() {
    let unshifted = ServeProcess::start(&[]);
    let shifted = ServeProcess::start(&["--shift-times"]);
    let original = flow_times(&unshifted.address, &["--last", "3"]);
    let moved = flow_times(&shifted.address, &["--last", "3"]);
    assert_eq!(original.len(), 3);
    assert_eq!(moved.len(), 3);
    // The corpus is from 2023, unless shifted.
    assert!(
        original
            .iter()
            .all(|t| t.format("%Y").to_string().as_str() < "2024")
    );
    let now = chrono::Utc::now();
    // The capture's latest response may be other than its last flow, so
    // the last flow is at most the corpus's tail gap before now.
    for time in &moved {
        assert!((now - *time).num_days() < 30 && *time <= now, "{moved:?}");
    }
    let gaps = |times: &[chrono::DateTime<chrono::Utc>]| {
        times.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
    };
    assert_eq!(gaps(&original), gaps(&moved));
}

#[test]
fn the_demo_capture_is_shifted_to_the_last_minutes() {
    let output = run_hubl(
        &observe(&["--demo", "--since", "5m", "--last", "3", "-o", "jsonpb"]),
        b"",
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
}

/// `observe` FLAGS reading from SOURCE (`--input-file -` or `--server
/// ADDR`): every flow, as a file is read, unless the flags select some.
fn case_args(source: &[&str], flags: &[String]) -> Vec<String> {
    let mut args = observe(source);
    args.extend(flags.iter().cloned());
    let selects = |flag: &str| {
        flags
            .iter()
            .any(|f| f == flag || f.starts_with(&format!("{flag}=")))
    };
    if !["--last", "--first", "--since", "--until", "--all"]
        .into_iter()
        .any(selects)
    {
        args.push("--all".into());
    }
    args
}

/// Every filter of the corpus selects the same responses from the relay as
/// from the file, in jsonpb, which prints all of each; the cases without
/// filters in their own output format too. (With filters, a relay sends
/// its node status whatever they are and a file has none to send, which
/// dict output shows as a leading separator.)
#[test]
fn every_conformance_case_is_served_as_the_file_reads_it() {
    let relay = Relay::start(None);
    let capture = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
    let mut succeeded = 0;
    for case in support::cases() {
        let mut runs = vec![[&case.flags[..], &["-o".to_owned(), "jsonpb".to_owned()]].concat()];
        if support::OUTPUT_CASES.contains(&case.name.as_str()) {
            runs.push(case.flags.clone());
        }
        for flags in runs {
            let expected = run_hubl(&case_args(&["--input-file", "-"], &flags), &capture);
            let mut from_relay = case_args(&["--server", &relay.server()], &flags);
            // The file path has no server to strip fields; ask for all of them.
            from_relay.push("--use-default-field-masks=false".into());
            let actual = run_hubl(&from_relay, b"");
            assert_eq!(
                actual.status.code(),
                expected.status.code(),
                "{flags:?}: {actual:?}"
            );
            assert!(
                actual.stdout == expected.stdout,
                "{flags:?}: relay and file differ\n{}\n---\n{}",
                String::from_utf8_lossy(&actual.stdout),
                String::from_utf8_lossy(&expected.stdout)
            );
            succeeded += usize::from(expected.status.success() && !expected.stdout.is_empty());
        }
    }
    assert!(succeeded > 90, "{succeeded} runs compared");
}

/// The corpus as a relay sends it with field mask `paths`: each flow with
/// only those fields, in proto-named JSON lines.
fn masked_corpus(paths: &[&str]) -> Vec<u8> {
    let text = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
    let mut masked = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (response, _) = hubl::source::decode_line(line).expect("the corpus decodes");
        let mut value = serde_json::to_value(&response).expect("JSON");
        if let Some(flow) = value.get_mut("flow").and_then(|f| f.as_object_mut()) {
            let mut kept = serde_json::Map::new();
            for path in paths {
                let Some((endpoint, field)) = path.split_once('.') else {
                    if let Some(value) = flow.get(*path) {
                        kept.insert(path.to_string(), value.clone());
                    }
                    continue;
                };
                if let Some(from) = flow.get(endpoint) {
                    let to = kept
                        .entry(endpoint)
                        .or_insert_with(|| serde_json::json!({}));
                    if paths.contains(&endpoint) {
                        *to = from.clone();
                    } else if let Some(value) = from.get(field) {
                        to[field] = value.clone();
                    }
                }
            }
            *flow = kept;
        }
        masked.extend(serde_json::to_vec(&value).expect("JSON"));
        masked.push(b'\n');
    }
    masked
}

#[test]
fn field_masks_print_as_the_masked_capture_reads() {
    let relay = Relay::start(None);
    let default_masked = masked_corpus(hubl::filter::DEFAULT_FIELD_MASK);
    // Compact, dict and table output ask for Hubble's default mask; the
    // cases without filters print it in every format.
    let mut compared = 0;
    for case in support::cases() {
        if !support::OUTPUT_CASES.contains(&case.name.as_str()) || case.name == "json" {
            continue;
        }
        let expected = run_hubl(
            &case_args(&["--input-file", "-"], &case.flags),
            &default_masked,
        );
        let actual = run_hubl(&case_args(&["--server", &relay.server()], &case.flags), b"");
        assert!(actual.status.success(), "{}: {actual:?}", case.name);
        assert!(!expected.stdout.is_empty(), "{}", case.name);
        assert!(
            actual.stdout == expected.stdout,
            "{}: relay and masked file differ\n{}\n---\n{}",
            case.name,
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout)
        );
        compared += 1;
    }
    assert!(compared >= 10, "{compared} cases compared");
    // Masks of the user's, with whole endpoints and their fields together.
    for paths in [
        &[
            "time",
            "verdict",
            "source.namespace",
            "source.labels",
            "destination",
        ][..],
        &[
            "l4",
            "l7",
            "Summary",
            "node_name",
            "destination.ID",
            "source.workloads",
        ],
    ] {
        let mask = paths.join(",");
        let expected = run_hubl(
            &observe(&["--input-file", "-", "--all", "-o", "jsonpb"]),
            &masked_corpus(paths),
        );
        let actual = run_hubl(
            &observe(&[
                "--server",
                &relay.server(),
                "--all",
                "-o",
                "jsonpb",
                "--field-mask",
                &mask,
            ]),
            b"",
        );
        assert!(actual.status.success(), "{mask}: {actual:?}");
        assert_eq!(
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout),
            "{mask}"
        );
    }
}

#[test]
fn twenty_clients_reading_everything_at_once_each_get_the_whole_capture() {
    let relay = Relay::start(None);
    let text = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
    let (capture, _) = Capture::parse(&text);
    let expected: Vec<_> = (0..capture.len())
        .map(|i| capture.decode(i).expect("stored responses decode"))
        .collect();
    assert!(expected.len() > 390);
    let expected = Arc::new(expected);
    let address = format!("http://{}", relay.address);
    relay.runtime.block_on(async move {
        let mut tasks = Vec::new();
        for client in 0..20 {
            let address = address.clone();
            let expected = Arc::clone(&expected);
            tasks.push(tokio::spawn(async move {
                let mut observer = ObserverClient::connect(address).await.expect("connects");
                // Half of them with compact output's mask.
                let masked = client % 2 == 1;
                let request = GetFlowsRequest {
                    number: u64::MAX,
                    field_mask: masked.then(|| pbjson_types::FieldMask {
                        paths: hubl::filter::DEFAULT_FIELD_MASK
                            .iter()
                            .map(|p| p.to_string())
                            .collect(),
                    }),
                    ..GetFlowsRequest::default()
                };
                let mut stream = observer
                    .get_flows(request)
                    .await
                    .expect("a stream")
                    .into_inner();
                let mut received = 0;
                while let Some(response) = stream.next().await {
                    let response = response.expect("no error");
                    let original = &expected[received];
                    received += 1;
                    match (&response.response_types, &original.response_types) {
                        (Some(ResponseTypes::Flow(flow)), Some(ResponseTypes::Flow(whole)))
                            if masked =>
                        {
                            assert_eq!(response.time, original.time, "client {client}");
                            assert_eq!(flow.time, whole.time, "client {client}");
                            assert_eq!(flow.verdict, whole.verdict, "client {client}");
                            assert_eq!(
                                flow.source.as_ref().map(|s| &s.pod_name),
                                whole.source.as_ref().map(|s| &s.pod_name),
                                "client {client}"
                            );
                            assert!(flow.uuid.is_empty(), "client {client}: {flow:?}");
                        }
                        _ => assert_eq!(&response, original, "client {client}"),
                    }
                }
                received
            }));
        }
        for (client, task) in tasks.into_iter().enumerate() {
            let received = task.await.expect("the client task completes");
            assert_eq!(received, expected.len(), "client {client}");
        }
    });
}
