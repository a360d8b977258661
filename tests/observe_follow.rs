//! `--follow` through relay restarts, kills, clean shutdowns and cut
//! streams: every flow the relay holds is printed once, in order, and a
//! cause that retrying cannot cure still ends the command.

#[path = "support/buffered_relay.rs"]
mod buffered_relay;
#[allow(dead_code, reason = "the client certificate is not used here")]
#[path = "support/pki.rs"]
mod pki;
mod support;

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, ExitStatus},
    sync::{Arc, Mutex},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use buffered_relay::{Behaviour, BufferedRelay, Listen, Timeline, agent_event, debug_event};
use hubl::proto::observer::GetFlowsResponse;
use pki::{Pki, SERVER_NAME};
use serde::de::DeserializeOwned;

/// Short waits between attempts, for the tests that cut streams often.
const QUICK_BACKOFF: (&str, &str) = ("HUBL_TEST_RECONNECT_BACKOFF", "1ms,5ms");

/// How long any one wait in these tests may take before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn any_port() -> Listen {
    Listen::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// A relay whose `count` flows come one a millisecond, every stream it
/// serves cut after `cut_every` responses.
fn cutting_relay(count: usize, cut_every: usize) -> (Arc<Timeline>, BufferedRelay) {
    let timeline = Timeline::new(count, 0, Duration::ZERO, Duration::from_millis(1));
    let relay = BufferedRelay::start(
        Arc::clone(&timeline),
        any_port(),
        Behaviour {
            cut_every: Some(cut_every),
            ..Behaviour::default()
        },
    );
    (timeline, relay)
}

/// A running `hubl`, its output collected as it comes.
struct Hubl {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stdout: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

impl Hubl {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = support::hubl_command(args);
        command.env_remove("HUBL_TEST_RECONNECT_BACKOFF");
        command.env_remove("HUBBLE_RECONNECT");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the hubl binary runs");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let collected = Arc::clone(&lines);
        let stdout = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let line = line.expect("hubl writes UTF-8");
                collected.lock().expect("not poisoned").push(line);
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            child,
            lines,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    fn printed(&self) -> usize {
        self.lines.lock().expect("not poisoned").len()
    }

    /// Waits until `count` lines are printed.
    fn wait_for(&mut self, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.printed() < count {
            if let Ok(Some(status)) = self.child.try_wait() {
                let (_, lines, stderr) = self.finish(status);
                panic!(
                    "hubl exited ({status}) after {} lines, before {count}; stderr:\n{stderr}",
                    lines.len()
                );
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} lines printed in {PATIENCE:?}",
                self.printed()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops a follower that would run forever: its lines and stderr.
    fn stop(mut self) -> (Vec<String>, String) {
        let _ = self.child.kill();
        let status = self.child.wait().expect("hubl is reaped");
        let (_, lines, stderr) = self.finish(status);
        (lines, stderr)
    }

    /// Waits for hubl to exit on its own.
    fn wait_exit(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("hubl can be waited for") {
                return self.finish(status);
            }
            if Instant::now() >= deadline {
                let (lines, stderr) = self.stop();
                panic!(
                    "hubl did not exit in {PATIENCE:?} ({} lines); stderr:\n{stderr}",
                    lines.len()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish(&mut self, status: ExitStatus) -> (ExitStatus, Vec<String>, String) {
        if let Some(stdout) = self.stdout.take() {
            stdout.join().expect("the stdout reader does not panic");
        }
        let stderr = self
            .stderr
            .take()
            .map(|stderr| stderr.join().expect("the stderr reader does not panic"))
            .unwrap_or_default();
        let lines = std::mem::take(&mut *self.lines.lock().expect("not poisoned"));
        (status, lines, stderr)
    }
}

impl Drop for Hubl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A flow as printed in JSON, by what tells flows apart.
fn flow_key(flow: &GetFlowsResponse) -> String {
    #[allow(deprecated, reason = "Summary is deprecated in the API")]
    let summary = match &flow.response_types {
        Some(hubl::proto::observer::get_flows_response::ResponseTypes::Flow(flow)) => {
            flow.summary.clone()
        }
        _ => String::new(),
    };
    let time = flow.time.unwrap_or_default();
    format!(
        "{} {}.{:09} {summary}",
        flow.node_name, time.seconds, time.nanos
    )
}

fn printed_flows(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            let flow: GetFlowsResponse = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{error}: not a response: {line}"));
            flow_key(&flow)
        })
        .collect()
}

fn expected_flows(flows: &[GetFlowsResponse]) -> Vec<String> {
    flows.iter().map(flow_key).collect()
}

/// Compares the flows printed with those expected, saying where they part.
fn assert_same_flows(printed: &[String], expected: &[String], stderr: &str) {
    if printed == expected {
        return;
    }
    let first_difference = printed
        .iter()
        .zip(expected)
        .position(|(printed, expected)| printed != expected)
        .unwrap_or(printed.len().min(expected.len()));
    panic!(
        "printed {} flows, expected {}; first difference at {first_difference}: printed {:?}, expected {:?}\nstderr:\n{stderr}",
        printed.len(),
        expected.len(),
        printed.get(first_difference),
        expected.get(first_difference),
    );
}

fn count(text: &str, pattern: &str) -> usize {
    text.matches(pattern).count()
}

#[test]
fn a_restarted_relay_is_followed_without_gap_or_duplicate() {
    let timeline = Timeline::new(600, 40, Duration::ZERO, Duration::from_millis(2));
    let mut relay = BufferedRelay::start(Arc::clone(&timeline), any_port(), Behaviour::default());
    let server = relay.server();
    let mut hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &server,
            "--follow",
            "--all",
            "-o",
            "json",
            "--verdict",
            "FORWARDED",
        ],
        &[],
    );
    hubl.wait_for(200);
    relay.restart(Behaviour::default());
    hubl.wait_for(600);
    let (lines, stderr) = hubl.stop();

    assert_same_flows(
        &printed_flows(&lines),
        &expected_flows(timeline.flows()),
        &stderr,
    );
    assert_eq!(count(&stderr, "; reconnecting\n"), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("connection to {server} lost (")),
        "{stderr}"
    );
    assert_eq!(count(&stderr, "reconnected after "), 1, "{stderr}");

    let requests = relay.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (first, resumed) = (&requests[0], &requests[1]);
    assert_eq!(first.number, u64::MAX);
    assert!(first.since.is_none() && first.follow);
    // `--all` was served by the first stream; the second continues from
    // the time of a flow printed, with the same filters.
    assert_eq!(resumed.number, 0);
    assert!(resumed.follow && !resumed.first && resumed.until.is_none());
    let since = resumed.since.expect("the resumed request has a since");
    assert!(timeline.flows().iter().any(|flow| flow.time == Some(since)));
    assert_eq!(resumed.whitelist, first.whitelist);
    assert!(!first.whitelist.is_empty());
    assert_eq!(resumed.blacklist, first.blacklist);
    let resumed_at = format!(
        "; resumed at {}\n",
        since
            .to_datetime()
            .expect("a valid time")
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert!(stderr.contains(&resumed_at), "{stderr}");
}

#[test]
fn a_relay_back_after_three_seconds_sends_what_it_buffered_meanwhile() {
    // Ten flows are buffered when hubl asks for the last five; the rest
    // come live, and keep coming into the buffer while the relay is down.
    let timeline = Timeline::new(
        400,
        10,
        Duration::from_millis(800),
        Duration::from_millis(2),
    );
    let mut relay = BufferedRelay::start(Arc::clone(&timeline), any_port(), Behaviour::default());
    let mut hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &relay.server(),
            "--follow",
            "--last",
            "5",
            "-o",
            "json",
        ],
        &[],
    );
    hubl.wait_for(100);
    relay.kill();
    let killed = Instant::now();
    thread::sleep(Duration::from_secs(3));
    let printed_while_down = hubl.printed();
    relay.restart(Behaviour::default());
    hubl.wait_for(395);
    let (lines, stderr) = hubl.stop();

    assert_same_flows(
        &printed_flows(&lines),
        &expected_flows(&timeline.flows()[5..]),
        &stderr,
    );
    assert!(printed_while_down < 395, "{printed_while_down}");
    assert_eq!(count(&stderr, "; reconnecting\n"), 1, "{stderr}");
    let after: f64 = stderr
        .split_once("reconnected after ")
        .and_then(|(_, rest)| rest.split_once(" s;"))
        .and_then(|(seconds, _)| seconds.parse().ok())
        .unwrap_or_else(|| panic!("no reconnection notice: {stderr}"));
    assert!(
        (2.9..=killed.elapsed().as_secs_f64() + 0.1).contains(&after),
        "reconnected after {after} s: {stderr}"
    );
}

#[test]
fn a_stream_cut_every_few_flows_loses_nothing() {
    let (timeline, relay) = cutting_relay(300, 7);
    let mut hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &relay.server(),
            "--follow",
            "--all",
            "-o",
            "json",
        ],
        &[QUICK_BACKOFF],
    );
    hubl.wait_for(300);
    let (lines, stderr) = hubl.stop();

    assert_same_flows(
        &printed_flows(&lines),
        &expected_flows(timeline.flows()),
        &stderr,
    );
    let lost = count(&stderr, "; reconnecting\n");
    assert!(lost >= 300 / 7 - 1, "{lost} outages:\n{stderr}");
    assert!(
        stderr.contains("lost (rpc error: code = Unavailable desc = the test relay cuts the stream); reconnecting\n"),
        "{stderr}"
    );
    // Each outage is over once the stream sends again.
    assert!(
        (lost - 1..=lost).contains(&count(&stderr, "reconnected after ")),
        "{stderr}"
    );
}

/// The flows an aggregation by node counted: its summaries are of
/// everything seen so far, so the latest count of each node's group.
fn counted(lines: &[String]) -> u64 {
    let mut latest = std::collections::BTreeMap::new();
    for line in lines {
        let group: serde_json::Value = serde_json::from_str(line).expect("a JSON group");
        latest.insert(
            group["node"].to_string(),
            group["flows"].as_u64().unwrap_or_default(),
        );
    }
    latest.values().sum()
}

#[test]
fn aggregations_are_followed_through_cuts_and_count_each_flow_once() {
    let (_, relay) = cutting_relay(300, 7);
    let hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &relay.server(),
            "--follow",
            "--all",
            "--aggregate-by",
            "node",
            "--aggregate-interval",
            "200ms",
            "-o",
            "json",
        ],
        &[QUICK_BACKOFF],
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        thread::sleep(Duration::from_millis(300));
        let lines = hubl.lines.lock().expect("not poisoned").clone();
        if !lines.is_empty() && counted(&lines) >= 300 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all flows counted: {lines:?}"
        );
    }
    // A few more summaries: nothing is counted twice.
    thread::sleep(Duration::from_millis(600));
    let (lines, stderr) = hubl.stop();
    assert_eq!(counted(&lines), 300, "{stderr}");
    assert!(
        count(&stderr, "; reconnecting\n") >= 300 / 7 - 1,
        "{stderr}"
    );
}

/// `hubl observe KIND --follow --all -o json ARGS` through `relay` until
/// it printed as many events as the timeline has flows: the events
/// printed, the events made of the timeline's flows, and hubl's stderr.
fn follow_events<T: DeserializeOwned>(
    kind: &str,
    (timeline, relay): (Arc<Timeline>, BufferedRelay),
    args: &[&str],
    event: fn(&GetFlowsResponse) -> T,
) -> (Vec<T>, Vec<T>, String) {
    let server = relay.server();
    let mut all = vec![
        "observe", kind, "--server", &server, "--follow", "--all", "-o", "json",
    ];
    all.extend(args);
    let mut hubl = Hubl::spawn(&all, &[QUICK_BACKOFF]);
    hubl.wait_for(timeline.flows().len());
    let (lines, stderr) = hubl.stop();
    let printed = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not an event: {error}: {line}"))
        })
        .collect();
    let expected = timeline.flows().iter().map(event).collect();
    (printed, expected, stderr)
}

#[test]
fn agent_events_are_followed_through_cuts() {
    // Events at the same time from the same node are identical here (flows
    // 2 and 3 make the same event): both must be printed, once each.
    let (printed, expected, stderr) =
        follow_events("agent-events", cutting_relay(200, 3), &[], agent_event);
    assert!(printed == expected, "{} printed:\n{stderr}", printed.len());
    assert!(
        count(&stderr, "; reconnecting\n") >= 200 / 3 - 1,
        "{stderr}"
    );
}

#[test]
fn debug_events_are_followed_and_silent_errors_hides_the_notices() {
    let (printed, expected, stderr) = follow_events(
        "debug-events",
        cutting_relay(120, 10),
        &["--silent-errors"],
        debug_event,
    );
    assert!(printed == expected, "{} printed", printed.len());
    assert_eq!(stderr, "");
}

#[test]
fn a_relay_shutting_down_over_a_unix_socket_is_followed() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let socket = directory.path().join("relay.sock");
    let timeline = Timeline::new(300, 0, Duration::ZERO, Duration::from_millis(2));
    let mut relay = BufferedRelay::start(
        Arc::clone(&timeline),
        Listen::Unix(socket),
        Behaviour::default(),
    );
    let mut hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &relay.server(),
            "--follow",
            "--all",
            "-o",
            "json",
        ],
        &[],
    );
    hubl.wait_for(100);
    // The streams end without an error and the server says GOAWAY.
    relay.go_away();
    relay.restart(Behaviour::default());
    hubl.wait_for(300);
    let (lines, stderr) = hubl.stop();

    assert_same_flows(
        &printed_flows(&lines),
        &expected_flows(timeline.flows()),
        &stderr,
    );
    assert!(
        stderr.contains("lost (the server ended the stream); reconnecting\n"),
        "{stderr}"
    );
    assert_eq!(count(&stderr, "reconnected after "), 1, "{stderr}");
}

#[test]
fn rejected_credentials_after_a_restart_end_the_command() {
    let home = tempfile::tempdir().expect("a temporary directory");
    let pki = Arc::new(Pki::generate());
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca).expect("the CA is written");
    let secured = |password: &str| Behaviour {
        tls: Some(Arc::clone(&pki)),
        basic_auth: Some(("hubble".to_owned(), password.to_owned())),
        ..Behaviour::default()
    };
    let timeline = Timeline::new(2000, 0, Duration::ZERO, Duration::from_millis(2));
    let mut relay = BufferedRelay::start(Arc::clone(&timeline), any_port(), secured("s3cret"));
    let server = format!("tls://{}", relay.server());
    let ca = ca.display().to_string();
    let mut hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &server,
            "--tls-ca-cert-files",
            &ca,
            "--tls-server-name",
            SERVER_NAME,
            "--basic-auth-username",
            "hubble",
            "--basic-auth-password",
            "s3cret",
            "--follow",
            "--all",
            "-o",
            "json",
        ],
        &[],
    );
    hubl.wait_for(50);
    relay.restart(secured("rotated"));
    let restarted = Instant::now();
    let (status, lines, stderr) = hubl.wait_exit();

    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        restarted.elapsed() < Duration::from_secs(3),
        "{:?}",
        restarted.elapsed()
    );
    let printed = printed_flows(&lines);
    assert_eq!(
        printed,
        expected_flows(&timeline.flows()[..printed.len()]),
        "{stderr}"
    );
    assert_eq!(count(&stderr, "; reconnecting\n"), 1, "{stderr}");
    assert!(
        stderr.contains("rpc error: code = Unauthenticated desc = invalid credentials\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("reconnected after"), "{stderr}");
}

#[test]
fn without_reconnect_a_lost_relay_ends_the_command_as_in_hubble() {
    for (flag, env) in [
        (Some("--reconnect=false"), None),
        (None, Some(("HUBBLE_RECONNECT", "false"))),
    ] {
        let timeline = Timeline::new(2000, 0, Duration::ZERO, Duration::from_millis(2));
        let mut relay =
            BufferedRelay::start(Arc::clone(&timeline), any_port(), Behaviour::default());
        let server = relay.server();
        let mut args = vec!["observe", "--server", &server, "--follow", "-o", "json"];
        args.extend(flag);
        let mut hubl = Hubl::spawn(&args, &Vec::from_iter(env));
        hubl.wait_for(20);
        relay.kill();
        let (status, lines, stderr) = hubl.wait_exit();

        assert_eq!(status.code(), Some(1), "{flag:?} {env:?}: {stderr}");
        let printed = printed_flows(&lines);
        let first = timeline
            .flows()
            .iter()
            .position(|flow| flow_key(flow) == printed[0])
            .expect("the first flow printed was sent");
        assert_eq!(
            printed,
            expected_flows(&timeline.flows()[first..first + printed.len()])
        );
        assert!(stderr.starts_with("rpc error: code = "), "{stderr}");
        assert!(!stderr.contains("reconnecting"), "{stderr}");
    }
}

#[test]
fn without_follow_a_cut_stream_prints_what_came_and_fails() {
    let timeline = Timeline::new(50, 50, Duration::ZERO, Duration::from_millis(2));
    let relay = BufferedRelay::start(
        Arc::clone(&timeline),
        any_port(),
        Behaviour {
            cut_every: Some(5),
            ..Behaviour::default()
        },
    );
    let hubl = Hubl::spawn(
        &[
            "observe",
            "--server",
            &relay.server(),
            "--all",
            "-o",
            "json",
        ],
        &[],
    );
    let (status, lines, stderr) = hubl.wait_exit();

    assert_eq!(status.code(), Some(1));
    assert_eq!(
        printed_flows(&lines),
        expected_flows(&timeline.flows()[..5])
    );
    assert_eq!(
        stderr,
        "rpc error: code = Unavailable desc = the test relay cuts the stream\n"
    );
    assert_eq!(relay.requests().len(), 1);
}
