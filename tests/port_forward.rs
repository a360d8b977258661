//! `-P/--port-forward` against a fake Kubernetes API server whose
//! port-forwards reach an in-process `hubl serve`: the commands that dial
//! work through it as they do with `--server`, and each way it can fail
//! exits 1 with Hubble's text and what to change.

#[path = "support/kube_api.rs"]
mod kube_api;
#[path = "support/pki.rs"]
mod pki;
mod support;

use std::{
    net::{SocketAddr, TcpListener},
    process::{Child, Output},
    sync::Arc,
    time::{Duration, Instant},
};

use kube_api::{Cluster, FakeKubeApi, TOKEN, User, relay_pod, relay_service};
use serde_json::json;
use support::hubl_command;

const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cilium-test.jsonl");

/// `hubl serve` of the example capture on a loopback port, for as long as
/// it is kept.
struct Relay {
    address: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Relay {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let text = std::fs::read(CAPTURE).expect("the example capture");
        let (capture, _) = hubl::serve::Capture::parse(&text);
        let address = runtime.block_on(async {
            let listener = hubl::serve::listen("127.0.0.1:0").await.expect("a port");
            let address = listener.local_addr().expect("an address");
            tokio::spawn(hubl::serve::serve(
                listener,
                Arc::new(capture),
                hubl::serve::ServeOptions {
                    rate: None,
                    tls: None,
                },
                std::future::pending(),
            ));
            address
        });
        Self {
            address,
            _runtime: runtime,
        }
    }
}

/// A relay, the API server of a cluster that runs it, and a kubeconfig.
struct Setup {
    relay: Relay,
    api: FakeKubeApi,
    dir: tempfile::TempDir,
}

impl Setup {
    /// A cluster with the relay Service in `kube-system`, its target port
    /// named, and one ready pod.
    fn standard() -> Self {
        Self::with(|relay| {
            Cluster::new(
                relay,
                vec![relay_service("kube-system", json!("grpc"))],
                vec![relay_pod(
                    "kube-system",
                    "hubble-relay-7d9f-abcde",
                    relay.port(),
                    true,
                )],
            )
        })
    }

    fn with(cluster: impl FnOnce(SocketAddr) -> Cluster) -> Self {
        let relay = Relay::start();
        let api = FakeKubeApi::start(cluster(relay.address));
        Self {
            relay,
            api,
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn kubeconfig(&self, user: User) -> String {
        self.api
            .kubeconfig(self.dir.path(), user)
            .display()
            .to_string()
    }

    /// `hubl ARGS --kubeconfig KUBECONFIG` with a token user.
    fn run(&self, args: &[&str]) -> Output {
        let kubeconfig = self.kubeconfig(User::Token(TOKEN));
        run(args, &[("KUBECONFIG", &kubeconfig)])
    }

    /// The same command straight to the relay, for comparison.
    fn direct(&self, args: &[&str]) -> Output {
        let server = self.relay.address.to_string();
        let mut args = args.to_vec();
        args.extend(["--server", &server]);
        run(&args, &[])
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = hubl_command(args);
    command
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("hubl runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "hubl failed: {:?}\nstderr: {}",
        output.status,
        stderr(output)
    );
}

/// Asserts exit status 1 and returns stderr.
fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
    assert!(output.stdout.is_empty(), "stdout: {}", stdout(output));
    stderr(output)
}

#[test]
fn observe_through_the_port_forward_prints_what_the_relay_serves() {
    let setup = Setup::standard();
    let output = setup.run(&["observe", "-P", "--last", "20"]);
    assert_success(&output);
    let direct = setup.direct(&["observe", "--last", "20"]);
    assert_success(&direct);
    assert_eq!(stdout(&output), stdout(&direct));
    assert_eq!(stdout(&output).lines().count(), 20);
    let requests = setup.api.requests();
    assert_eq!(
        requests[..3],
        [
            "GET /api/v1/namespaces/kube-system/services/hubble-relay?".to_owned(),
            "GET /api/v1/namespaces/kube-system/pods?&labelSelector=k8s-app%3Dhubble-relay"
                .to_owned(),
            format!(
                "GET /api/v1/namespaces/kube-system/pods/hubble-relay-7d9f-abcde/portforward?&ports={}",
                setup.relay.address.port()
            ),
        ],
        "{requests:#?}"
    );
}

#[test]
fn status_and_list_work_through_the_port_forward() {
    let setup = Setup::standard();
    let status = setup.run(&["status", "-P"]);
    assert_success(&status);
    // Hubble dials its end of the forward on 127.0.0.1:4245 and names it.
    assert!(
        stdout(&status).starts_with("Healthcheck (via 127.0.0.1:4245): Ok\n"),
        "{}",
        stdout(&status)
    );
    assert_eq!(
        stdout(&status),
        stdout(&setup.direct(&["status"])).replacen(
            &format!("via {}", setup.relay.address),
            "via 127.0.0.1:4245",
            1
        )
    );
    // The relay's uptime shows in AGE and FLOWS/S: compare the names.
    let first_column = |output: &Output| -> Vec<String> {
        stdout(output)
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let nodes = setup.run(&["list", "nodes", "-P"]);
    assert_success(&nodes);
    assert_eq!(
        first_column(&nodes),
        first_column(&setup.direct(&["list", "nodes"]))
    );
    assert!(stdout(&nodes).contains("kube-ovn-worker2 "));
    let namespaces = setup.run(&["list", "namespaces", "-P"]);
    assert_success(&namespaces);
    assert_eq!(
        stdout(&namespaces),
        stdout(&setup.direct(&["list", "namespaces"]))
    );
    assert!(stdout(&namespaces).contains("cilium-test"));
}

#[test]
fn event_streams_go_through_the_port_forward_too() {
    let setup = Setup::standard();
    for events in ["agent-events", "debug-events"] {
        let output = setup.run(&["observe", events, "-P", "--last", "5"]);
        assert_success(&output);
        assert_eq!(
            stdout(&output),
            stdout(&setup.direct(&["observe", events, "--last", "5"]))
        );
    }
    let forwards = setup
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("/portforward"))
        .count();
    assert!(forwards >= 2, "{:#?}", setup.api.requests());
}

#[test]
fn the_namespace_comes_from_the_flag_the_environment_or_the_config_file() {
    let setup = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("cilium", json!(relay.port()))],
            vec![relay_pod("cilium", "hubble-relay-1", relay.port(), true)],
        )
    });
    let kubeconfig = setup.kubeconfig(User::Token(TOKEN));
    let flag = run(
        &[
            "status",
            "-P",
            "--kube-namespace",
            "cilium",
            "--kubeconfig",
            &kubeconfig,
        ],
        &[],
    );
    assert_success(&flag);
    let env = run(
        &["status", "--kubeconfig", &kubeconfig],
        &[
            ("HUBBLE_PORT_FORWARD", "true"),
            ("HUBBLE_KUBE_NAMESPACE", "cilium"),
        ],
    );
    assert_success(&env);
    let config = setup.dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!("port-forward: true\nkube-namespace: cilium\nkubeconfig: {kubeconfig}\n"),
    )
    .unwrap();
    let file = run(&["status"], &[("HUBBLE_CONFIG", config.to_str().unwrap())]);
    assert_success(&file);
    // The flag wins over the file, as in Hubble.
    let overridden = run(
        &["status", "--kube-namespace", "kube-system"],
        &[("HUBBLE_CONFIG", config.to_str().unwrap())],
    );
    let error = failure(&overridden);
    assert!(error.contains("in namespace 'kube-system'"), "{error}");
}

#[test]
fn a_missing_service_names_the_namespace_and_the_flags_to_change() {
    let setup = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("cilium", json!(relay.port()))],
            vec![],
        )
    });
    let error = failure(&setup.run(&["observe", "-P"]));
    assert!(
        error.starts_with(
            "failed to port forward: failed to get service \"hubble-relay\": services \"hubble-relay\" not found\n"
        ),
        "{error}"
    );
    assert!(
        error.contains("namespace 'kube-system' of context 'fake'"),
        "{error}"
    );
    assert!(error.contains("--kube-namespace cilium"), "{error}");
    assert!(error.contains("--kube-context"), "{error}");
}

#[test]
fn a_service_without_pods_is_reported_as_hubble_reports_it() {
    let setup = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("kube-system", json!("grpc"))],
            vec![],
        )
    });
    let error = failure(&setup.run(&["status", "-P"]));
    assert!(
        error.starts_with(
            "failed to port forward: failed to get service \"hubble-relay\": no pods found for service: hubble-relay\n"
        ),
        "{error}"
    );
    assert!(error.contains("-l k8s-app=hubble-relay"), "{error}");
}

#[test]
fn of_several_pods_the_ready_one_is_forwarded_to() {
    let setup = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("kube-system", json!("grpc"))],
            vec![
                relay_pod(
                    "kube-system",
                    "hubble-relay-a-not-ready",
                    relay.port(),
                    false,
                ),
                relay_pod("kube-system", "hubble-relay-b-ready", relay.port(), true),
                relay_pod(
                    "kube-system",
                    "hubble-relay-c-not-ready",
                    relay.port(),
                    false,
                ),
            ],
        )
    });
    assert_success(&setup.run(&["status", "-P"]));
    let forwards: Vec<String> = setup
        .api
        .requests()
        .into_iter()
        .filter(|r| r.contains("/portforward"))
        .collect();
    assert!(!forwards.is_empty());
    assert!(
        forwards
            .iter()
            .all(|r| r.contains("/pods/hubble-relay-b-ready/")),
        "{forwards:#?}"
    );
}

#[test]
fn a_numeric_target_port_is_forwarded_as_is_and_an_unknown_name_is_refused() {
    let setup = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("kube-system", json!(relay.port()))],
            vec![relay_pod("kube-system", "hubble-relay-1", 1, true)],
        )
    });
    assert_success(&setup.run(&["status", "-P"]));

    let unknown = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("kube-system", json!("http"))],
            vec![relay_pod(
                "kube-system",
                "hubble-relay-1",
                relay.port(),
                true,
            )],
        )
    });
    let error = failure(&unknown.run(&["status", "-P"]));
    assert!(
        error.starts_with(
            "failed to port forward: failed to lookup container port with service port 80: \
             Pod 'hubble-relay-1' does not have a named port 'http'\n"
        ),
        "{error}"
    );
}

#[test]
fn a_pod_that_does_not_listen_on_the_port_fails_with_the_kubelets_message() {
    let setup = Setup::with(|relay| {
        Cluster::new(
            relay,
            vec![relay_service("kube-system", json!("grpc"))],
            vec![relay_pod("kube-system", "hubble-relay-1", 4246, true)],
        )
    });
    let error = failure(&setup.run(&["status", "-P"]));
    assert!(error.contains("connection refused"), "{error}");
    assert!(error.contains("kube-system/hubble-relay-1:4246"), "{error}");
    assert!(
        error.contains("kubectl --context fake -n kube-system logs hubble-relay-1`"),
        "{error}"
    );
}

#[test]
fn client_certificate_and_exec_plugin_users_log_in() {
    let setup = Setup::standard();
    for user in [User::ClientCertificate, User::Exec] {
        let kubeconfig = setup.kubeconfig(user);
        let output = run(&["status", "-P", "--kubeconfig", &kubeconfig], &[]);
        assert_success(&output);
    }
}

#[test]
fn rejected_credentials_say_so() {
    let setup = Setup::standard();
    let kubeconfig = setup.kubeconfig(User::Token("expired"));
    let error = failure(&run(&["observe", "-P", "--kubeconfig", &kubeconfig], &[]));
    assert!(
        error.starts_with(
            "failed to port forward: failed to get service \"hubble-relay\": Unauthorized\n"
        ),
        "{error}"
    );
    assert!(
        error.contains("rejected the credentials of context 'fake'"),
        "{error}"
    );
}

#[test]
fn a_refused_websocket_upgrade_prints_the_kubectl_command_that_works() {
    let setup = Setup::with(|relay| Cluster {
        services: vec![relay_service("kube-system", json!("grpc"))],
        pods: vec![relay_pod(
            "kube-system",
            "hubble-relay-1",
            relay.port(),
            true,
        )],
        relay,
        relay_port: relay.port(),
        refuse_upgrade: true,
    });
    let error = failure(&setup.run(&["observe", "-P"]));
    assert!(error.starts_with("failed to port forward: "), "{error}");
    assert!(
        error.contains("refused to open a WebSocket port-forward"),
        "{error}"
    );
    assert!(
        error.contains(
            "kubectl --context fake -n kube-system port-forward svc/hubble-relay 4245:80"
        ),
        "{error}"
    );
}

#[test]
fn a_missing_context_lists_the_ones_there_are() {
    let setup = Setup::standard();
    let kubeconfig = setup.kubeconfig(User::Token(TOKEN));
    let error = failure(&run(
        &[
            "status",
            "-P",
            "--kubeconfig",
            &kubeconfig,
            "--kube-context",
            "prod",
        ],
        &[],
    ));
    assert!(
        error.starts_with("failed to create k8s port forwader: context \"prod\" does not exist\n"),
        "{error}"
    );
    assert!(error.contains("it defines: fake"), "{error}");
}

#[test]
fn two_port_forwarding_commands_run_at_once() {
    let setup = Setup::standard();
    let kubeconfig = setup.kubeconfig(User::Token(TOKEN));
    let spawn = || {
        hubl_command(&["observe", "-P", "--last", "50", "--kubeconfig", &kubeconfig])
            .spawn()
            .expect("hubl starts")
    };
    let (first, second) = (spawn(), spawn());
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert_success(&first);
    assert_success(&second);
    assert_eq!(stdout(&first), stdout(&second));
    assert_eq!(stdout(&first).lines().count(), 50);
}

/// Kills the child when dropped, so a failed assertion leaves nothing
/// running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_chosen_local_port_is_listened_on_for_other_programs() {
    let setup = Setup::standard();
    let kubeconfig = setup.kubeconfig(User::Token(TOKEN));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let _following = Running(
        hubl_command(&[
            "observe",
            "-P",
            "--follow",
            "--port-forward-port",
            &port,
            "--kubeconfig",
            &kubeconfig,
        ])
        .spawn()
        .expect("hubl starts"),
    );
    let local = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(&local).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing listens on {local}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let through = run(&["observe", "--server", &local, "--last", "5"], &[]);
    assert_success(&through);
    assert_eq!(
        stdout(&through),
        stdout(&setup.direct(&["observe", "--last", "5"]))
    );
}

#[test]
fn the_tunnel_of_a_reconnection_listens_on_the_chosen_port_again() {
    let setup = Setup::standard();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = hubl::source::PortForwardOptions {
        kubeconfig: Some(setup.kubeconfig(User::Token(TOKEN)).into()),
        context: None,
        namespace: "kube-system".to_owned(),
        port,
        listen: true,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let lost = hubl::source::Tunnel::open(&options)
            .await
            .expect("a tunnel");
        let reconnecting = tokio::spawn({
            let options = options.clone();
            async move { hubl::source::Tunnel::open(&options).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(lost);
        let tunnel = reconnecting.await.unwrap().expect("the port is free again");
        let local = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
        assert!(local.is_ok(), "nothing listens on {port}");
        drop(tunnel);
    });
}

#[test]
fn port_forward_is_refused_with_a_capture_or_the_demo() {
    let error = failure(&run(&["observe", "-P", "--input-file", CAPTURE], &[]));
    assert!(
        error.contains("-P/--port-forward cannot be used with --input-file"),
        "{error}"
    );
    let error = failure(&run(&["status", "-P", "--demo"], &[]));
    assert!(
        error.contains("-P/--port-forward cannot be used with --demo"),
        "{error}"
    );
}

#[test]
fn without_a_kubeconfig_the_error_says_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    let error = failure(&run(
        &["status", "-P"],
        &[("HOME", home.path().to_str().unwrap())],
    ));
    assert!(
        error.starts_with(
            "failed to create k8s port forwader: invalid configuration: no configuration has been provided\n"
        ),
        "{error}"
    );
    assert!(error.contains("--kubeconfig"), "{error}");
}
