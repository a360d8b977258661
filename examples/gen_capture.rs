//! Writes a synthetic jsonpb capture for `scripts/bench.sh`: N flows with
//! the traffic mix of a busy cluster (about 45% TCP, 15% DNS, 15% HTTP,
//! 7.5% UDP, 7.5% drops, 5% ICMP, 5% policy verdicts; 15% IPv6), about
//! 1.3 KB a line, deterministic for a given N.
//!
//! `cargo run --release --example gen_capture -- 1000000 > capture.jsonl`

use std::io::{self, BufWriter, Write};

use serde_json::{Value, json};

/// A small deterministic generator: the same capture on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NAMESPACES: [&str; 6] = [
    "cilium-test",
    "kube-system",
    "default",
    "shop",
    "payments",
    "monitoring",
];
const APPS: [&str; 8] = [
    "client",
    "client2",
    "echo-same-node",
    "echo-other-node",
    "frontend",
    "cart",
    "checkout",
    "coredns",
];
const NODES: [&str; 3] = ["kind-control-plane", "kind-worker", "kind-worker2"];
const TCP_FLAGS: [&[&str]; 6] = [
    &["SYN"],
    &["SYN", "ACK"],
    &["ACK"],
    &["ACK", "PSH"],
    &["ACK", "FIN"],
    &["RST"],
];
const DROP_REASONS: [(u32, &str); 4] = [
    (133, "POLICY_DENIED"),
    (181, "POLICY_DENY"),
    (151, "STALE_OR_UNROUTABLE_IP"),
    (158, "SERVICE_BACKEND_NOT_FOUND"),
];

fn endpoint(rng: &mut Rng, id: u64) -> Value {
    let namespace = NAMESPACES[rng.below(NAMESPACES.len() as u64) as usize];
    let app = APPS[rng.below(APPS.len() as u64) as usize];
    json!({
        "ID": 100 + id % 3000,
        "identity": 10000 + rng.below(50000),
        "cluster_name": "default",
        "namespace": namespace,
        "labels": [
            format!("k8s:app={app}"),
            format!("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={namespace}"),
            "k8s:io.cilium.k8s.policy.cluster=default",
            format!("k8s:io.kubernetes.pod.namespace={namespace}"),
        ],
        "pod_name": format!("{app}-{:x}-{:05x}", rng.below(1 << 40), rng.below(1 << 20)),
        "workloads": [{"name": app, "kind": "Deployment"}],
    })
}

fn addresses(rng: &mut Rng, ipv6: bool) -> (String, String, &'static str) {
    if ipv6 {
        (
            format!("fd00:10:16::{:x}", rng.below(0xffff)),
            format!("fd00:10:16::{:x}", rng.below(0xffff)),
            "IPv6",
        )
    } else {
        (
            format!("10.16.{}.{}", rng.below(256), rng.below(256)),
            format!("10.16.{}.{}", rng.below(256), rng.below(256)),
            "IPv4",
        )
    }
}

fn flow(rng: &mut Rng, index: u64) -> Value {
    let seconds = 1_672_531_200 + index / 20;
    let time = format!(
        "{}.{:09}Z",
        chrono::DateTime::from_timestamp(seconds as i64, 0)
            .expect("in range")
            .format("%Y-%m-%dT%H:%M:%S"),
        (index % 20) * 50_000_000 + rng.below(50_000_000)
    );
    let node = NODES[rng.below(3) as usize];
    let ipv6 = rng.below(100) < 15;
    let (source_ip, destination_ip, version) = addresses(rng, ipv6);
    let source_port = 32768 + rng.below(28000);
    let is_reply = rng.below(2) == 0;
    let mut flow = json!({
        "time": time.clone(),
        "uuid": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", rng.next(), rng.below(1 << 16), rng.below(1 << 12), rng.below(1 << 12), rng.next()),
        "verdict": "FORWARDED",
        "IP": {"source": source_ip, "destination": destination_ip, "ipVersion": version},
        "source": endpoint(rng, index),
        "destination": endpoint(rng, index + 1),
        "Type": "L3_L4",
        "node_name": node,
        "event_type": {"type": 4, "sub_type": rng.below(12)},
        "traffic_direction": if rng.below(2) == 0 { "INGRESS" } else { "EGRESS" },
        "trace_observation_point": "TO_ENDPOINT",
        "is_reply": is_reply,
        "interface": {"index": 20 + rng.below(40), "name": format!("lxc{:x}", rng.below(1 << 40))},
    });
    let kind = rng.below(1000);
    let object = flow.as_object_mut().expect("an object");
    let l4_tcp = |port: u64, flags: &[&str]| {
        let flags: serde_json::Map<String, Value> = flags
            .iter()
            .map(|f| (f.to_string(), Value::Bool(true)))
            .collect();
        json!({"TCP": {"source_port": source_port, "destination_port": port, "flags": flags}})
    };
    if kind < 450 {
        let flags = TCP_FLAGS[rng.below(TCP_FLAGS.len() as u64) as usize];
        object.insert("l4".into(), l4_tcp(8080, flags));
        object.insert(
            "Summary".into(),
            json!(format!("TCP Flags: {}", flags.join(", "))),
        );
    } else if kind < 600 {
        object.insert(
            "l4".into(),
            json!({"UDP": {"source_port": source_port, "destination_port": 53}}),
        );
        object.insert("Type".into(), json!("L7"));
        object.insert("event_type".into(), json!({"type": 129}));
        let query = format!("svc-{}.shop.svc.cluster.local.", rng.below(200));
        object.insert("l7".into(), json!({
            "type": if is_reply { "RESPONSE" } else { "REQUEST" },
            "latency_ns": if is_reply { rng.below(5_000_000) } else { 0 },
            "dns": {"query": query, "ips": if is_reply { json!(["10.96.12.34"]) } else { json!([]) },
                    "ttl": 30, "observation_source": "proxy", "qtypes": ["A"], "rrtypes": if is_reply { json!(["A"]) } else { json!([]) }},
        }));
        object.insert("Summary".into(), json!(format!("DNS Query {query} A")));
    } else if kind < 750 {
        object.insert("l4".into(), l4_tcp(8080, &["ACK", "PSH"]));
        object.insert("Type".into(), json!("L7"));
        object.insert("event_type".into(), json!({"type": 129}));
        let path = format!("/api/v1/items/{}", rng.below(10000));
        object.insert("l7".into(), json!({
            "type": if is_reply { "RESPONSE" } else { "REQUEST" },
            "latency_ns": if is_reply { rng.below(50_000_000) } else { 0 },
            "http": {"code": if is_reply { 200 } else { 0 }, "method": "GET",
                     "url": format!("http://frontend.shop.svc.cluster.local:8080{path}"),
                     "protocol": "HTTP/1.1",
                     "headers": [{"key": "User-Agent", "value": "curl/8.5.0"}, {"key": "X-Request-Id", "value": format!("{:x}", rng.next())}]},
        }));
        object.insert("Summary".into(), json!(format!("HTTP/1.1 GET {path}")));
    } else if kind < 825 {
        object.insert(
            "l4".into(),
            json!({"UDP": {"source_port": source_port, "destination_port": 4789}}),
        );
        object.insert("Summary".into(), json!("UDP"));
    } else if kind < 900 {
        let (code, name) = DROP_REASONS[rng.below(DROP_REASONS.len() as u64) as usize];
        object.insert("verdict".into(), json!("DROPPED"));
        object.insert("drop_reason".into(), json!(code));
        object.insert("drop_reason_desc".into(), json!(name));
        object.insert("event_type".into(), json!({"type": 1, "sub_type": code}));
        object.insert("l4".into(), l4_tcp(80, &["SYN"]));
        object.insert("Summary".into(), json!("TCP Flags: SYN"));
    } else if kind < 950 {
        if ipv6 {
            object.insert("l4".into(), json!({"ICMPv6": {"type": 128}}));
            object.insert("Summary".into(), json!("ICMPv6 EchoRequest"));
        } else {
            object.insert("l4".into(), json!({"ICMPv4": {"type": 8}}));
            object.insert("Summary".into(), json!("ICMPv4 EchoRequest"));
        }
    } else {
        object.insert("event_type".into(), json!({"type": 5}));
        object.insert("policy_match_type".into(), json!(2));
        object.insert("l4".into(), l4_tcp(8080, &["SYN"]));
        object.insert("Summary".into(), json!("TCP Flags: SYN"));
        object.insert("ingress_allowed_by".into(), json!([{"name": "allow-frontend", "namespace": "shop", "kind": "CiliumNetworkPolicy", "revision": 3}]));
    }
    json!({"flow": flow, "node_name": node, "time": time})
}

fn main() -> io::Result<()> {
    let count: u64 = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| io::Error::other("usage: gen_capture COUNT"))?,
        None => 1_000_000,
    };
    let mut rng = Rng(0x5eed);
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    for index in 0..count {
        serde_json::to_writer(&mut out, &flow(&mut rng, index))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
