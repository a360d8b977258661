//! `status`, `list`, `observe agent-events|debug-events`, `watch peers`,
//! `config`, `version` and `completion` against an in-process fake server:
//! output compared with golden files, written as Hubble's printer writes
//! it, and the connection options (TLS, mTLS, basic auth, configuration
//! precedence) with the failures they explain.

#[path = "support/cli_relay.rs"]
mod cli_relay;
#[path = "support/pki.rs"]
mod pki;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use cli_relay::{CliRelay, Fixture, Pki, SERVER_NAME, Security};
use hubl::proto::{
    Timestamp,
    flow::{
        AgentEvent, AgentEventType, DebugEvent, DebugEventType, Endpoint,
        EndpointUpdateNotification, IpCacheNotification, PolicyUpdateNotification,
        TimeNotification, agent_event::Notification,
    },
    observer::{
        GetAgentEventsResponse, GetDebugEventsResponse, Namespace, Node, ServerStatusResponse, Tls,
    },
    peer::{ChangeNotification, ChangeNotificationType, Tls as PeerTls},
    relay::NodeState,
};
use tonic_health::ServingStatus;

/// A scratch HOME, so that no user configuration leaks in.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("a temp dir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.path().join(name);
        fs::write(&path, text).expect("a test file");
        path.display().to_string()
    }

    /// Runs `hubl ARGS` with only `env` (and HOME, TZ) in its environment.
    fn hubl(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_hubl"))
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("TZ", "UTC")
            .envs(env.iter().copied())
            .output()
            .expect("the hubl binary runs")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "hubl failed ({:?}): {}",
        output.status.code(),
        stderr(output)
    );
    stdout(output)
}

fn failed(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "hubl did not fail: {}",
        stdout(output)
    );
    stderr(output)
}

/// Compares with `tests/golden/cli/NAME`; `UPDATE_GOLDEN=1` rewrites it.
fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/cli")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(path.parent().expect("a parent")).expect("the golden dir");
        fs::write(&path, actual).expect("a golden file");
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

fn time(seconds: i64, nanos: i32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

fn status_fixture() -> Fixture {
    Fixture {
        status: ServerStatusResponse {
            num_flows: 8190,
            max_flows: 8190,
            seen_flows: 1_234_567,
            uptime_ns: 3_723_500_000_000,
            num_connected_nodes: Some(2.into()),
            num_unavailable_nodes: Some(3.into()),
            unavailable_nodes: vec!["worker-2".into(), "worker-1".into()],
            version: "1.19.0".into(),
            flows_rate: 22.857,
        },
        ..Fixture::default()
    }
}

#[test]
fn status_in_every_format() {
    let home = Home::new();
    let relay = CliRelay::start(status_fixture());
    let server = relay.server();
    for format in ["compact", "dict", "table", "json"] {
        let output = home.hubl(&["status", "--server", &server, "-o", format], &[]);
        let text = succeeded(&output).replace(&server, "ADDR");
        assert_golden(&format!("status_{format}.out"), &text);
    }
}

#[test]
fn status_without_rate_computes_flows_per_second() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        status: ServerStatusResponse {
            num_flows: 10,
            max_flows: 4095,
            seen_flows: 100,
            uptime_ns: 40_000_000_000,
            ..ServerStatusResponse::default()
        },
        ..Fixture::default()
    });
    let output = home.hubl(&["status", "--server", &relay.server()], &[]);
    assert_eq!(
        succeeded(&output).replace(&relay.server(), "ADDR"),
        "Healthcheck (via ADDR): Ok\nCurrent/Max Flows: 10/4,095 (0.24%)\nFlows/s: 2.50\n"
    );
}

#[test]
fn status_of_an_unhealthy_server_fails() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        health: ServingStatus::NotServing,
        ..status_fixture()
    });
    let output = home.hubl(&["status", "--server", &relay.server()], &[]);
    assert_eq!(
        stdout(&output),
        format!(
            "Healthcheck (via {}): Unavailable: NOT_SERVING\n",
            relay.server()
        )
    );
    assert_eq!(failed(&output), "not healthy\n");
}

fn nodes() -> Vec<Node> {
    vec![
        Node {
            name: "worker-b".into(),
            version: "1.19.0".into(),
            address: "10.0.0.2:4244".into(),
            state: NodeState::NodeConnected as i32,
            tls: Some(Tls {
                enabled: true,
                server_name: "worker-b.default.hubble-grpc.cilium.io".into(),
            }),
            uptime_ns: 3_723_600_000_000,
            num_flows: 4095,
            max_flows: 4095,
            seen_flows: 100_000,
        },
        Node {
            name: "worker-a".into(),
            address: "10.0.0.1:4244".into(),
            state: NodeState::NodeUnavailable as i32,
            ..Node::default()
        },
        Node {
            name: "control-plane".into(),
            version: "1.19.0".into(),
            address: "10.0.0.3:4244".into(),
            state: NodeState::NodeConnected as i32,
            tls: Some(Tls {
                enabled: false,
                server_name: String::new(),
            }),
            uptime_ns: 59_600_000_000,
            num_flows: 12,
            max_flows: 4095,
            seen_flows: 12,
        },
    ]
}

#[test]
fn list_nodes_in_every_format() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        nodes: nodes(),
        ..Fixture::default()
    });
    for format in ["table", "wide", "json"] {
        let output = home.hubl(
            &["list", "nodes", "--server", &relay.server(), "-o", format],
            &[],
        );
        assert_golden(&format!("list_nodes_{format}.out"), &succeeded(&output));
    }
    let default = home.hubl(&["list", "node", "--server", &relay.server()], &[]);
    assert_golden("list_nodes_table.out", &succeeded(&default));
}

#[test]
fn list_without_nodes_is_null_in_json() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture::default());
    let output = home.hubl(
        &["list", "nodes", "--server", &relay.server(), "-o", "json"],
        &[],
    );
    assert_eq!(succeeded(&output), "null\n");
    let output = home.hubl(&["list", "nodes", "--server", &relay.server()], &[]);
    assert_eq!(
        succeeded(&output),
        "NAME   STATUS   AGE   FLOWS/S   CURRENT/MAX-FLOWS\n"
    );
}

#[test]
fn list_namespaces_in_every_format() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        namespaces: vec![
            Namespace {
                cluster: "default".into(),
                namespace: "kube-system".into(),
            },
            Namespace {
                cluster: String::new(),
                namespace: "tenant-<a>".into(),
            },
            Namespace {
                cluster: "east".into(),
                namespace: "default".into(),
            },
        ],
        ..Fixture::default()
    });
    for format in ["table", "wide", "json"] {
        let output = home.hubl(
            &[
                "list",
                "namespaces",
                "--server",
                &relay.server(),
                "-o",
                format,
            ],
            &[],
        );
        assert_golden(
            &format!("list_namespaces_{format}.out"),
            &succeeded(&output),
        );
    }
}

fn agent_events() -> Vec<GetAgentEventsResponse> {
    let event = |kind: AgentEventType, notification: Notification| AgentEvent {
        r#type: kind as i32,
        notification: Some(notification),
    };
    vec![
        GetAgentEventsResponse {
            agent_event: Some(event(
                AgentEventType::AgentStarted,
                Notification::AgentStart(TimeNotification {
                    time: time(1_700_000_000, 123_000_000),
                }),
            )),
            node_name: "kind-worker".into(),
            time: time(1_700_000_001, 0),
        },
        GetAgentEventsResponse {
            agent_event: Some(event(
                AgentEventType::PolicyUpdated,
                Notification::PolicyUpdate(PolicyUpdateNotification {
                    labels: vec![
                        "k8s:app=web".into(),
                        "k8s:io.kubernetes.pod.namespace=default".into(),
                    ],
                    revision: 42,
                    rule_count: 3,
                }),
            )),
            node_name: "kind-worker".into(),
            time: time(1_700_000_002, 500_000_000),
        },
        GetAgentEventsResponse {
            agent_event: Some(event(
                AgentEventType::EndpointCreated,
                Notification::EndpointUpdate(EndpointUpdateNotification {
                    id: 1234,
                    namespace: "default".into(),
                    pod_name: "web-7d9c".into(),
                    ..EndpointUpdateNotification::default()
                }),
            )),
            node_name: "kind-control-plane".into(),
            time: time(1_700_000_003, 0),
        },
        GetAgentEventsResponse {
            agent_event: Some(event(
                AgentEventType::IpcacheUpserted,
                Notification::IpcacheUpdate(IpCacheNotification {
                    cidr: "10.244.1.5/32".into(),
                    identity: 5678,
                    old_identity: Some(4321.into()),
                    host_ip: "172.18.0.2".into(),
                    encrypt_key: 0,
                    ..IpCacheNotification::default()
                }),
            )),
            node_name: "kind-worker".into(),
            time: time(1_700_000_004, 0),
        },
        GetAgentEventsResponse {
            agent_event: Some(AgentEvent {
                r#type: AgentEventType::EndpointDeleted as i32,
                notification: None,
            }),
            node_name: "kind-worker".into(),
            time: time(1_700_000_005, 0),
        },
    ]
}

fn debug_events() -> Vec<GetDebugEventsResponse> {
    vec![
        GetDebugEventsResponse {
            debug_event: Some(DebugEvent {
                r#type: DebugEventType::DbgCtLookup4 as i32,
                source: Some(Endpoint {
                    id: 1234,
                    namespace: "default".into(),
                    pod_name: "web-7d9c".into(),
                    ..Endpoint::default()
                }),
                hash: Some(0x5f3a_91c2.into()),
                arg1: Some(1.into()),
                message: "Conntrack lookup 1/2: src=10.244.1.5:41234 dst=10.96.0.10:53".into(),
                cpu: Some(3.into()),
                ..DebugEvent::default()
            }),
            node_name: "kind-worker".into(),
            time: time(1_700_000_010, 250_000_000),
        },
        GetDebugEventsResponse {
            debug_event: Some(DebugEvent {
                r#type: DebugEventType::DbgGeneric as i32,
                source: Some(Endpoint {
                    id: 1,
                    labels: vec!["reserved:host".into()],
                    ..Endpoint::default()
                }),
                message: "\x1b[31mred\x1b[0m".into(),
                ..DebugEvent::default()
            }),
            node_name: "kind-control-plane".into(),
            time: time(1_700_000_011, 0),
        },
    ]
}

#[test]
fn agent_events_in_every_format() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        agent_events: agent_events(),
        ..Fixture::default()
    });
    let server = relay.server();
    for format in ["compact", "dict", "table", "json"] {
        let output = home.hubl(
            &["observe", "agent-events", "--server", &server, "-o", format],
            &[],
        );
        assert_golden(&format!("agent_events_{format}.out"), &succeeded(&output));
    }
    for format in ["compact", "dict", "table"] {
        let output = home.hubl(
            &[
                "observe",
                "agent-events",
                "--server",
                &server,
                "-o",
                format,
                "--print-node-name",
                "--time-format",
                "RFC3339Milli",
            ],
            &[],
        );
        assert_golden(
            &format!("agent_events_{format}_node.out"),
            &succeeded(&output),
        );
    }
}

#[test]
fn agent_events_request_follows_hubble() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture::default());
    let server = relay.server();
    for args in [
        vec![],
        vec!["--last", "5"],
        vec!["--all"],
        // The fake server ends every stream; following, hubl would resume.
        vec!["-f", "--reconnect=false"],
        vec!["--last", "0"],
    ] {
        let mut full = vec!["observe", "agent-events", "--server", server.as_str()];
        full.extend(args);
        succeeded(&home.hubl(&full, &[]));
    }
    let sent: Vec<(u64, bool)> = relay
        .agent_requests()
        .iter()
        .map(|r| (r.number, r.follow))
        .collect();
    assert_eq!(
        sent,
        [
            (20, false),
            (5, false),
            (u64::MAX, false),
            (20, true),
            (20, false)
        ]
    );
    let table = home.hubl(
        &[
            "observe",
            "agent-events",
            "--server",
            &server,
            "-o",
            "table",
            "-f",
        ],
        &[],
    );
    assert_eq!(
        failed(&table),
        "table output format is not compatible with follow mode\n"
    );
}

#[test]
fn debug_events_in_every_format() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        debug_events: debug_events(),
        ..Fixture::default()
    });
    let server = relay.server();
    for format in ["compact", "dict", "table", "json"] {
        let output = home.hubl(
            &["observe", "debug-events", "--server", &server, "-o", format],
            &[],
        );
        assert_golden(&format!("debug_events_{format}.out"), &succeeded(&output));
    }
    let output = home.hubl(
        &[
            "observe",
            "debug-events",
            "--server",
            &server,
            "--print-node-name",
        ],
        &[],
    );
    assert_golden("debug_events_compact_node.out", &succeeded(&output));
}

#[test]
fn event_stream_errors_show_the_server_message() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        agent_events: agent_events()[..1].to_vec(),
        stream_error: Some(tonic::Status::unknown("agent events are not enabled")),
        ..Fixture::default()
    });
    let output = home.hubl(
        &["observe", "agent-events", "--server", &relay.server()],
        &[],
    );
    assert_eq!(
        stdout(&output),
        "Nov 14 22:13:21.000: AGENT_STARTED (start time: Nov 14 22:13:20.123)\n"
    );
    assert_eq!(failed(&output), "agent events are not enabled\n");
}

#[test]
fn watch_peers_prints_each_change() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture {
        peers: vec![
            ChangeNotification {
                name: "kind-worker".into(),
                address: "172.18.0.2:4244".into(),
                r#type: ChangeNotificationType::PeerAdded as i32,
                tls: Some(PeerTls {
                    server_name: "kind-worker.default.hubble-grpc.cilium.io".into(),
                }),
            },
            ChangeNotification {
                name: "kind-control-plane".into(),
                address: "172.18.0.3:4244".into(),
                r#type: ChangeNotificationType::PeerDeleted as i32,
                tls: None,
            },
        ],
        ..Fixture::default()
    });
    let output = home.hubl(&["watch", "peers", "--server", &relay.server()], &[]);
    assert_golden("watch_peers.out", &succeeded(&output));
}

/// A TLS server and the files a client needs for it.
struct TlsSetup {
    home: Home,
    relay: CliRelay,
    ca: String,
    client_cert: String,
    client_key: String,
}

fn tls_setup(require_client_cert: bool, basic_auth: Option<(&str, &str)>) -> TlsSetup {
    let home = Home::new();
    let pki = Pki::generate();
    let relay = CliRelay::start_secured(
        status_fixture(),
        Security {
            tls: Some(&pki),
            require_client_cert,
            basic_auth,
        },
    );
    TlsSetup {
        ca: home.file("ca.pem", &pki.ca),
        client_cert: home.file("client.pem", &pki.client_cert),
        client_key: home.file("client-key.pem", &pki.client_key),
        home,
        relay,
    }
}

impl TlsSetup {
    fn status(&self, extra: &[&str]) -> Output {
        let server = format!("tls://{}", self.relay.server());
        let mut args = vec![
            "status",
            "--server",
            &server,
            "--tls-ca-cert-files",
            &self.ca,
            "--tls-server-name",
            SERVER_NAME,
        ];
        args.extend_from_slice(extra);
        self.home.hubl(&args, &[])
    }
}

#[test]
fn tls_with_the_relay_ca() {
    let setup = tls_setup(false, None);
    let output = setup.status(&[]);
    assert!(
        succeeded(&output)
            .starts_with(&format!("Healthcheck (via {}): Ok\n", setup.relay.server())),
        "{}",
        stdout(&output)
    );
    // The address's IP is in the certificate too, so no name is needed.
    let by_ip = setup.home.hubl(
        &[
            "list",
            "nodes",
            "--tls",
            "--server",
            &setup.relay.server(),
            "--tls-ca-cert-files",
            &setup.ca,
        ],
        &[],
    );
    succeeded(&by_ip);
}

#[test]
fn tls_with_a_wrong_ca_names_the_ca() {
    let setup = tls_setup(false, None);
    let other = setup.home.file("other-ca.pem", &Pki::generate().ca);
    let output = setup.home.hubl(
        &[
            "status",
            "--server",
            &format!("tls://{}", setup.relay.server()),
            "--tls-ca-cert-files",
            &other,
            "--tls-server-name",
            SERVER_NAME,
        ],
        &[],
    );
    let error = failed(&output);
    assert!(
        error.contains("the server's certificate is not trusted")
            && error.contains(&format!("by the CA in {other} (--tls-ca-cert-files)")),
        "{error}"
    );
    assert!(!error.contains("kubectl"), "{error}");
}

#[test]
fn tls_with_a_wrong_server_name_lists_the_valid_names() {
    let setup = tls_setup(false, None);
    let output = setup.status(&["--tls-server-name", "other.example"]);
    let error = failed(&output);
    assert!(
        error.contains("not valid for the name 'other.example'")
            && error.contains(SERVER_NAME)
            && error.contains("--tls-server-name"),
        "{error}"
    );
}

#[test]
fn tls_allow_insecure_skips_verification() {
    let setup = tls_setup(false, None);
    let output = setup.home.hubl(
        &[
            "status",
            "--server",
            &format!("tls://{}", setup.relay.server()),
            "--tls-allow-insecure",
            "--tls-server-name",
            "any.name",
        ],
        &[],
    );
    succeeded(&output);
}

#[test]
fn mutual_tls_with_and_without_a_client_certificate() {
    let setup = tls_setup(true, None);
    let with = setup.status(&[
        "--tls-client-cert-file",
        &setup.client_cert,
        "--tls-client-key-file",
        &setup.client_key,
    ]);
    succeeded(&with);
    let without = setup.status(&[]);
    let error = failed(&without);
    assert!(
        error.contains("requires a client certificate") && error.contains("--tls-client-cert-file"),
        "{error}"
    );
}

#[test]
fn client_certificate_flags_are_checked_as_hubble_does() {
    let home = Home::new();
    let only_cert = home.hubl(&["status", "--tls-client-cert-file", "c.pem"], &[]);
    assert!(
        failed(&only_cert).starts_with(
            "invalid flag(s): certificate and private key are both required, but only one was provided"
        ),
        "{}",
        stderr(&only_cert)
    );
    let no_tls = home.hubl(
        &[
            "status",
            "--tls-client-cert-file",
            "c.pem",
            "--tls-client-key-file",
            "k.pem",
        ],
        &[],
    );
    assert!(
        failed(&no_tls).starts_with("invalid flag(s): transport layer security required"),
        "{}",
        stderr(&no_tls)
    );
    let bad_ca = home.file("bad-ca.pem", "not a certificate\n");
    let output = home.hubl(&["status", "--tls", "--tls-ca-cert-files", &bad_ca], &[]);
    assert_eq!(
        failed(&output),
        format!("cannot process cert '{bad_ca}': must be a PEM encoded certificate\n")
    );
}

#[test]
fn basic_auth_accepted_and_rejected() {
    let setup = tls_setup(false, Some(("hubble", "s3cret")));
    succeeded(&setup.status(&[
        "--basic-auth-username",
        "hubble",
        "--basic-auth-password",
        "s3cret",
    ]));
    let wrong = setup.status(&[
        "--basic-auth-username",
        "hubble",
        "--basic-auth-password",
        "nope",
    ]);
    let error = failed(&wrong);
    assert!(
        error.contains("rpc error: code = Unauthenticated desc = invalid credentials")
            && error.contains("The server rejected the credentials"),
        "{error}"
    );
    let half = setup.status(&["--basic-auth-username", "hubble"]);
    assert_eq!(
        failed(&half),
        "invalid flag(s): must specify both basic-auth-username and basic-auth-password\n"
    );
    // The variables work as the flags do.
    let from_env = setup.home.hubl(
        &[
            "status",
            "--server",
            &format!("tls://{}", setup.relay.server()),
            "--tls-ca-cert-files",
            &setup.ca,
            "--tls-server-name",
            SERVER_NAME,
        ],
        &[
            ("HUBBLE_BASIC_AUTH_USERNAME", "hubble"),
            ("HUBBLE_BASIC_AUTH_PASSWORD", "s3cret"),
        ],
    );
    succeeded(&from_env);
}

#[test]
fn basic_auth_is_never_sent_in_plain_text() {
    let home = Home::new();
    let relay = CliRelay::start(status_fixture());
    let output = home.hubl(
        &[
            "status",
            "--server",
            &relay.server(),
            "--basic-auth-username",
            "u",
            "--basic-auth-password",
            "p",
        ],
        &[],
    );
    assert!(
        failed(&output).contains("only sent over TLS"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unreachable_server_keeps_the_port_forward_hint() {
    let home = Home::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("an address").port()
    };
    let output = home.hubl(&["status", "--server", &format!("127.0.0.1:{port}")], &[]);
    let error = failed(&output);
    assert!(
        error.contains(&format!("failed to connect to '127.0.0.1:{port}'"))
            && error
                .contains("kubectl port-forward -n kube-system deployment/hubble-relay 4245:4245"),
        "{error}"
    );
}

#[test]
fn plain_text_to_a_tls_server_says_to_add_tls() {
    let setup = tls_setup(false, None);
    let server = setup.relay.server();
    for command in [
        &["status", "--server", &server][..],
        &["observe", "--server", &server, "--last", "1"],
        &["list", "nodes", "--server", &server],
    ] {
        let error = failed(&setup.home.hubl(command, &[]));
        assert!(
            error.starts_with(&format!(
                "failed to connect to '{server}': the server answered with TLS: add --tls"
            )) || error.contains(&format!(
                "failed to connect to '{server}': the server answered with TLS: add --tls"
            )),
            "{command:?}: {error}"
        );
        assert!(error.contains("--tls-server-name"), "{error}");
    }
}

#[test]
fn tls_to_a_plain_text_server_says_it_does_not_speak_tls() {
    let home = Home::new();
    let relay = CliRelay::start(status_fixture());
    let output = home.hubl(&["status", "--tls", "--server", &relay.server()], &[]);
    let error = failed(&output);
    assert!(
        error.contains(&format!("TLS connection to '{}' failed", relay.server()))
            && error.contains("the server does not speak TLS"),
        "{error}"
    );
}

/// A loopback server that answers each connection with `reply`, once the
/// client has sent what it sends first, and hangs up, as a TLS server does
/// to plain text, or a web server does to HTTP/2.
fn hanging_up_server(reply: &'static [u8]) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
            let mut buffer = [0u8; 4096];
            while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
            let _ = stream.write_all(reply);
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    address
}

#[test]
fn a_server_that_hangs_up_without_a_word_is_an_error_not_an_empty_success() {
    let home = Home::new();
    let server = hanging_up_server(b"");
    for command in [
        &["status", "--server", &server][..],
        &["observe", "--server", &server, "--last", "5"],
        &["observe", "--server", &server, "--follow"],
        &["list", "namespaces", "--server", &server],
    ] {
        let output = home.hubl(command, &[]);
        assert!(output.stdout.is_empty(), "{command:?}: {}", stdout(&output));
        let error = failed(&output);
        assert!(
            error.contains(&format!(
                "failed to connect to '{server}': the server closed the connection without answering"
            )) && error.contains("add --tls"),
            "{command:?}: {error}"
        );
    }
}

#[test]
fn an_http1_server_is_named_as_such() {
    let home = Home::new();
    let server = hanging_up_server(
        b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
    );
    let error = failed(&home.hubl(&["observe", "--server", &server], &[]));
    assert!(
        error.contains(&format!(
            "failed to connect to '{server}': the server answered in HTTP/1 (\"HTTP/1.0 400 Bad Request\")"
        )),
        "{error}"
    );
}

#[test]
fn a_silent_server_is_a_dial_deadline() {
    let home = Home::new();
    // Accepted by the kernel, never answered: the TLS handshake waits.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let server = listener.local_addr().expect("an address").to_string();
    let output = home.hubl(
        &[
            "status",
            "--server",
            &format!("tls://{server}"),
            "--timeout",
            "300ms",
        ],
        &[],
    );
    assert!(
        failed(&output).contains(&format!("deadline exceeded while dialing {server}")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn configuration_precedence_is_flag_env_file_default() {
    let home = Home::new();
    let file_relay = CliRelay::start(status_fixture());
    let env_relay = CliRelay::start(Fixture {
        health: ServingStatus::NotServing,
        ..Fixture::default()
    });
    let config_dir = home.path().join(".config/hubble");
    fs::create_dir_all(&config_dir).expect("the config dir");
    fs::write(
        config_dir.join("config.yaml"),
        format!("server: {}\ntimeout: 2s\n", file_relay.server()),
    )
    .expect("a config file");

    // The file in the default place is read.
    let from_file = home.hubl(&["status"], &[]);
    assert!(succeeded(&from_file).contains(&file_relay.server()));
    // A variable overrides the file.
    let env = [("HUBBLE_SERVER", env_relay.server())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let from_env = home.hubl(&["status"], &env);
    assert!(stdout(&from_env).contains(&env_relay.server()));
    failed(&from_env);
    // A flag overrides the variable.
    let from_flag = home.hubl(&["status", "--server", &file_relay.server()], &env);
    succeeded(&from_flag);

    let get = home.hubl(&["config", "get", "timeout"], &[]);
    assert_eq!(succeeded(&get), "2s\n");
    let get = home.hubl(
        &["config", "get", "timeout"],
        &[("HUBBLE_TIMEOUT", "1m30s")],
    );
    assert_eq!(succeeded(&get), "1m30s\n");
    let get = home.hubl(
        &["--timeout", "7s", "config", "get", "timeout"],
        &[("HUBBLE_TIMEOUT", "1m30s")],
    );
    assert_eq!(succeeded(&get), "7s\n");
    let get = home.hubl(&["config", "get", "request-timeout"], &[]);
    assert_eq!(succeeded(&get), "12s\n");
}

#[test]
fn config_view_get_set_reset() {
    let home = Home::new();
    let config = home.path().join("hubble.yaml").display().to_string();
    let env = [("HUBBLE_CONFIG", config.as_str())];
    let home_dir = home.path().display().to_string();
    let normalize = |text: String| text.replace(&config, "CONFIG").replace(&home_dir, "HOME");

    let view = home.hubl(&["config", "view"], &env);
    assert_golden("config_view_default.out", &normalize(succeeded(&view)));

    succeeded(&home.hubl(
        &["config", "set", "server", "tls://relay.example:443"],
        &env,
    ));
    succeeded(&home.hubl(&["config", "set", "tls-allow-insecure", "true"], &env));
    succeeded(&home.hubl(&["config", "set", "tls-ca-cert-files", "a.pem,b.pem"], &env));
    succeeded(&home.hubl(&["config", "set", "timeout", "90s"], &env));
    assert_golden(
        "config_file_after_set.yaml",
        &fs::read_to_string(&config).expect("the written file"),
    );
    let get = home.hubl(&["config", "get", "tls-ca-cert-files"], &env);
    assert_eq!(succeeded(&get), "- a.pem\n- b.pem\n");
    let view = home.hubl(&["config", "view"], &env);
    assert_golden("config_view_after_set.out", &normalize(succeeded(&view)));

    let bad = home.hubl(&["config", "set", "tls", "maybe"], &env);
    assert_eq!(
        failed(&bad),
        "cannot assign value=maybe for key=tls, expected type=bool\n"
    );
    let unknown = home.hubl(&["config", "get", "nope"], &env);
    assert_eq!(failed(&unknown), "unknown key: nope\n");

    succeeded(&home.hubl(&["config", "reset", "server"], &env));
    let get = home.hubl(&["config", "get", "server"], &env);
    assert_eq!(succeeded(&get), "localhost:4245\n");
    succeeded(&home.hubl(&["config", "reset"], &env));
    assert_golden(
        "config_file_after_reset.yaml",
        &normalize(fs::read_to_string(&config).expect("the written file")),
    );
}

#[test]
fn a_broken_config_file_is_reported() {
    let home = Home::new();
    let config = home.file("broken.yaml", "server: [unclosed\n");
    let output = home.hubl(&["status", "--config", &config], &[]);
    assert!(
        failed(&output).starts_with(&format!("config file {config} is not valid YAML")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn debug_logs_the_request_sent() {
    let home = Home::new();
    let relay = CliRelay::start(Fixture::default());
    let output = home.hubl(
        &[
            "observe",
            "agent-events",
            "--server",
            &relay.server(),
            "-D",
            "--last",
            "3",
        ],
        &[],
    );
    succeeded(&output);
    let log = stderr(&output);
    assert!(
        log.contains(
            " level=DEBUG msg=\"Sending GetAgentEvents request\" req=\"{\\\"number\\\":\\\"3\\\"}\""
        ),
        "{log}"
    );
}

#[test]
fn version_and_completion() {
    let home = Home::new();
    let version = succeeded(&home.hubl(&["version"], &[]));
    assert!(
        version.starts_with(&format!(
            "hubl {} compiled with Rust on ",
            env!("CARGO_PKG_VERSION")
        )),
        "{version}"
    );
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = succeeded(&home.hubl(&["completion", shell], &[]));
        assert!(
            script.contains("hubl") && script.contains("agent-events"),
            "{shell}"
        );
    }
}
