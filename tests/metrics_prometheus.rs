//! A real Prometheus scrapes `hubl metrics --demo` and answers
//! `hubble_flows_processed_total` through its query API; `promtool check
//! metrics` accepts the exposition. Needs Debian's `prometheus` package
//! (`.ci/run` installs it): without it these tests fail, they never pass
//! unchecked.

mod support;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use support::hubl_command;

/// The path of `name`, or a failure that says how to get it.
fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: this test needs a real Prometheus. \
             Install it with `apt-get install -y prometheus` (.ci/run does)."
        )
    })
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hubl metrics ARGS` on a free port; returns it and its address.
fn exporter(args: &[&str]) -> (Running, String) {
    let mut all = vec!["metrics", "--listen", "127.0.0.1:0"];
    all.extend(args);
    let mut child = hubl_command(&all)
        .stdin(Stdio::null())
        .spawn()
        .expect("hubl runs");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut line = String::new();
    stderr
        .read_line(&mut line)
        .expect("hubl says where it serves");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let address = line
        .trim()
        .strip_prefix("Serving Hubble metrics on http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (Running(child), address)
}

/// `GET path` over HTTP/1.0 (so that no chunked encoding comes back): the
/// status line and the body.
fn get(address: &str, path: &str, accept: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nAccept: {accept}\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_owned(), body.to_owned()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

#[test]
fn promtool_accepts_the_exposition() {
    let promtool = tool("promtool");
    let (_hubl, address) = exporter(&["--demo"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    // Wait for flows, so that every family of the demo is there.
    let body = loop {
        let (status, body) = get(&address, "/metrics", "text/plain").expect("a scrape");
        assert!(status.contains("200"), "{status}");
        if body.contains("hubble_tcp_flags_total") && body.contains("hubble_dns_") {
            break body;
        }
        assert!(Instant::now() < deadline, "no flows counted: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("exposition written");
    let output = check.wait_with_output().expect("promtool finishes");
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n{body}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn prometheus_scrapes_and_answers_hubble_flows_processed_total() {
    let prometheus = tool("prometheus");
    let (_hubl, target) = exporter(&["--demo"]);
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: hubl\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .expect("config written");
    let port = free_port();
    let web = format!("127.0.0.1:{port}");
    let _prometheus = Running(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    let series = loop {
        if let Some((status, body)) = get(
            &web,
            "/api/v1/query?query=hubble_flows_processed_total",
            "application/json",
        ) && status.contains("200")
        {
            let answer: Value = serde_json::from_str(&body).expect("a JSON answer");
            assert_eq!(answer["status"], "success", "{body}");
            let result = answer["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !result.is_empty() {
                break result;
            }
            last = body;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never had hubble_flows_processed_total; last answer: {last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    for sample in &series {
        let metric = &sample["metric"];
        assert_eq!(metric["job"], "hubl");
        assert_eq!(metric["__name__"], "hubble_flows_processed_total");
        for label in ["protocol", "type", "verdict"] {
            assert!(metric[label].is_string(), "{label} missing in {metric}");
        }
        let value: f64 = sample["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("a sample value");
        assert!(value >= 1.0, "{sample}");
    }
    // The demo's traced TCP flows are there with Hubble's label values.
    assert!(
        series.iter().any(|s| s["metric"]["type"] == "Trace"
            && s["metric"]["protocol"] == "TCP"
            && s["metric"]["verdict"] == "FORWARDED"),
        "{series:?}"
    );
    // The target is healthy: every scrape parsed.
    let (_, targets) = get(&web, "/api/v1/targets", "application/json").expect("targets");
    let targets: Value = serde_json::from_str(&targets).expect("JSON targets");
    let active = &targets["data"]["activeTargets"][0];
    assert_eq!(active["health"], "up", "{active}");
}
