//! `hubl observe` over gRPC against an in-process fake relay: the same
//! output as from a file, stream errors, node status and lost events.

mod support;

use std::fs;

use hubl::proto::{
    flow::{Flow, LostEvent},
    observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
    relay::{NodeState, NodeStatusEvent},
};
use support::{
    conformance_dir,
    relay::{FakeRelay, Script, responses_of},
    run_hubl,
};
use tonic::Status;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn grpc_prints_exactly_what_the_file_path_prints() {
    let capture = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
    let relay = FakeRelay::start(Script {
        responses: responses_of(&capture),
        ..Script::default()
    });
    for format in ["compact", "dict", "table", "jsonpb"] {
        let from_file = run_hubl(
            &args(&[
                "observe",
                "--input-file",
                "-",
                "--color",
                "never",
                "-o",
                format,
            ]),
            &capture,
        );
        let from_relay = run_hubl(
            &args(&[
                "observe",
                "--server",
                &relay.server(),
                "--all",
                "--color",
                "never",
                "-o",
                format,
            ]),
            b"",
        );
        assert!(from_relay.status.success(), "{format}: {from_relay:?}");
        assert!(
            from_file.stdout == from_relay.stdout,
            "{format}: gRPC output differs from file output\n{}",
            String::from_utf8_lossy(&from_relay.stderr)
        );
    }
}

#[test]
fn the_request_carries_the_selectors() {
    let relay = FakeRelay::start(Script::default());
    let output = run_hubl(&args(&["observe", "--server", &relay.server()]), b"");
    assert!(output.status.success(), "{output:?}");
    let output = run_hubl(
        &args(&["observe", "--server", &relay.server(), "--first", "7"]),
        b"",
    );
    assert!(output.status.success(), "{output:?}");
    let requests = relay.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!((requests[0].number, requests[0].first), (20, false));
    assert_eq!((requests[1].number, requests[1].first), (7, true));
}

fn flow(summary: &str) -> GetFlowsResponse {
    #[allow(deprecated)]
    let flow = Flow {
        summary: summary.into(),
        ..Flow::default()
    };
    GetFlowsResponse {
        response_types: Some(ResponseTypes::Flow(Box::new(flow))),
        ..GetFlowsResponse::default()
    }
}

#[test]
fn a_stream_error_comes_after_the_flows_received() {
    let relay = FakeRelay::start(Script {
        responses: vec![flow("first"), flow("second")],
        error: Some(Status::unavailable("relay shutting down")),
        ..Script::default()
    });
    let output = run_hubl(
        &args(&["observe", "--server", &relay.server(), "--color", "never"]),
        b"",
    );
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout,
        "N/A:  (unknown) <>  (unknown) UNKNOWN VERDICT_UNKNOWN (first)\n\
         N/A:  (unknown) <>  (unknown) UNKNOWN VERDICT_UNKNOWN (second)\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rpc error: code = Unavailable desc = relay shutting down"),
        "{stderr}"
    );
}

#[test]
fn node_status_goes_to_stderr_and_lost_events_to_stdout() {
    let status = GetFlowsResponse {
        node_name: "hubble-relay".into(),
        response_types: Some(ResponseTypes::NodeStatus(NodeStatusEvent {
            state_change: NodeState::NodeUnavailable as i32,
            node_names: vec!["worker-1".into(), "worker-2".into()],
            message: String::new(),
        })),
        ..GetFlowsResponse::default()
    };
    let connected = GetFlowsResponse {
        response_types: Some(ResponseTypes::NodeStatus(NodeStatusEvent {
            state_change: NodeState::NodeConnected as i32,
            node_names: vec!["worker-3".into()],
            message: String::new(),
        })),
        ..GetFlowsResponse::default()
    };
    let lost = GetFlowsResponse {
        response_types: Some(ResponseTypes::LostEvents(LostEvent {
            source: 3,
            num_events_lost: 5,
            cpu: Some(pbjson_types::Int32Value { value: 2 }),
            first: None,
            last: None,
        })),
        ..GetFlowsResponse::default()
    };
    let relay = FakeRelay::start(Script {
        responses: vec![status, connected, lost],
        ..Script::default()
    });
    let output = run_hubl(&args(&["observe", "--server", &relay.server()]), b"");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "N/A EVENTS LOST: HUBBLE_RING_BUFFER CPU(2) 5\n"
    );
    // Without --debug only trouble is shown, as in Hubble.
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "N/A [hubble-relay]: 2 nodes are unavailable: worker-1, worker-2\n"
    );
}

#[test]
fn an_unreachable_server_is_named_with_the_port_forward_hint() {
    // Bind then drop a listener, so that the port is very likely closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let server = format!("127.0.0.1:{port}");
    let output = run_hubl(&args(&["observe", "--server", &server]), b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&server), "{stderr}");
    assert!(
        stderr.contains("kubectl port-forward -n kube-system deployment/hubble-relay 4245:4245"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_flushes_what_was_received_and_exits_130() {
    use std::{
        io::{BufRead, BufReader},
        process::{Command, Stdio},
    };
    let relay = FakeRelay::start(Script {
        responses: vec![flow("before the interrupt")],
        hold_open: true,
        ..Script::default()
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubl"))
        .args([
            "observe",
            "--server",
            &relay.server(),
            "--follow",
            "--color",
            "never",
        ])
        .env("HUBBLE_CONFIG", "/nonexistent/hubl-test-config.yaml")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hubl runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    // The flow shows up while the stream is still open: output is flushed
    // whenever the relay goes quiet.
    stdout.read_line(&mut line).expect("a line");
    assert!(line.ends_with("(before the interrupt)\n"), "{line:?}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let status = child.wait().expect("hubl exits");
    assert_eq!(status.code(), Some(130));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{Read, Write};
    let capture = fs::read(conformance_dir().join("flows.jsonl")).expect("the corpus");
    let mut child = support::hubl_command(&["observe", "--input-file", "-", "--color", "never"])
        .spawn()
        .expect("hubl runs");
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        // Far more output than a pipe holds, so hubl must hit the closed end.
        for _ in 0..50 {
            if stdin.write_all(&capture).is_err() {
                break;
            }
        }
    });
    let mut first = [0u8; 16];
    child
        .stdout
        .take()
        .expect("piped")
        .read_exact(&mut first)
        .expect("some output");
    // Dropping the read end closes the pipe, as `| head -1` does.
    let output = child.wait_with_output().expect("hubl exits");
    writer.join().expect("the writer does not panic");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Node status messages only: no error about the pipe.
    assert!(
        stderr
            .lines()
            .all(|line| line.contains(" [hubble-relay]: ")),
        "{stderr}"
    );
}

/// What `hubl observe --server` prints on stderr against a relay that
/// sends `headers`.
fn stderr_with_headers(headers: Vec<(&'static str, &'static str)>) -> String {
    let relay = FakeRelay::start(Script {
        responses: responses_of(br#"{"flow":{"Summary":"one"}}"#),
        headers,
        ..Script::default()
    });
    let output = run_hubl(&args(&["observe", "--server", &relay.server()]), b"");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("(one)"));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_newer_minor_relay_or_server_version_is_warned_about_once() {
    assert_eq!(
        stderr_with_headers(vec![("hubble-relay-version", "1.20.0")]),
        "Warning: Hubble CLI version is lower than Hubble Relay, API compatibility is not \
         guaranteed, updating to a matching or higher version is recommended \
         hubble-cli-version=1.19.4 hubble-relay-version=1.20.0\n"
    );
    assert_eq!(
        stderr_with_headers(vec![("hubble-server-version", "v1.21.0-pre.2")]),
        "Warning: Hubble CLI version is lower than Hubble Server, API compatibility is not \
         guaranteed, updating to a matching or higher version is recommended \
         hubble-cli-version=1.19.4 hubble-server-version=1.21.0-pre.2\n"
    );
    for quiet in [
        vec![("hubble-relay-version", "1.19.7")],
        vec![("hubble-relay-version", "1.18.0")],
        vec![("hubble-relay-version", "not a version")],
        vec![],
    ] {
        assert_eq!(stderr_with_headers(quiet.clone()), "", "{quiet:?}");
    }
}
