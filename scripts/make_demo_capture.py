#!/usr/bin/env python3
"""Writes assets/demo.jsonl: the capture `hubl observe --demo` replays.

A deterministic minute of the Cilium connectivity test in a two-node kind
cluster: client and client2 (namespace cilium-test) call echo-same-node and
echo-other-node through their services on 8080 after resolving them with
CoreDNS, a pinger checks the nodes with ICMP, a client talks to the API
server, and a network policy drops client2's traffic to echo-same-node.
Run it from the repository root; commit the result.
"""

import json
import random

random.seed(4245)
BASE = 1_700_000_000  # 2023-11-14T22:13:20Z
NODE1, NODE2 = "kind-worker", "kind-worker2"
SEQ = [0]


def ts(t):
    seconds = int(t)
    nanos = int(round((t - seconds) * 1e9))
    from datetime import datetime, timezone
    base = datetime.fromtimestamp(BASE + seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


def pod(ns, name, app, ip, identity, ep_id, node, kind="Deployment", extra=()):
    labels = [
        f"k8s:app.kubernetes.io/name={app}",
        f"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={ns}",
        "k8s:io.cilium.k8s.policy.cluster=kind-kind",
        f"k8s:io.cilium.k8s.policy.serviceaccount={app}",
        f"k8s:io.kubernetes.pod.namespace={ns}",
        *extra,
    ]
    return {
        "ip": ip, "node": node,
        "ep": {"ID": ep_id, "identity": identity, "cluster_name": "kind-kind", "namespace": ns,
               "labels": sorted(labels), "pod_name": name,
               "workloads": [{"name": app, "kind": kind}]},
    }


CLIENT = pod("cilium-test", "client-645b68dcf7-s5mdb", "client", "10.244.1.43", 21433, 1205, NODE1, extra=["k8s:kind=client"])
CLIENT2 = pod("cilium-test", "client2-66475877c6-gpdkz", "client2", "10.244.1.97", 33078, 387, NODE1, extra=["k8s:kind=client", "k8s:other=client"])
ECHO_SAME = pod("cilium-test", "echo-same-node-6698bd45b-jlwsx", "echo-same-node", "10.244.1.212", 8211, 2617, NODE1, extra=["k8s:kind=echo", "k8s:name=echo-same-node"])
ECHO_OTHER = pod("cilium-test", "echo-other-node-68b4c68d6b-5bvh8", "echo-other-node", "10.244.2.18", 24590, 1791, NODE2, extra=["k8s:kind=echo", "k8s:name=echo-other-node"])
COREDNS = pod("kube-system", "coredns-5dd5756b68-2x7xn", "coredns", "10.244.1.3", 102, 93, NODE1, extra=["k8s:k8s-app=kube-dns"])
PINGER1 = pod("kube-system", "pinger-r8kqz", "pinger", "10.244.1.8", 45120, 812, NODE1, kind="DaemonSet")
PINGER2 = pod("kube-system", "pinger-9d2lf", "pinger", "10.244.2.9", 45120, 1450, NODE2, kind="DaemonSet")
APISERVER = {"ip": "172.18.0.3", "node": NODE1,
             "ep": {"identity": 7, "labels": ["reserved:kube-apiserver", "reserved:remote-node"]}}
SERVICES = {
    id(ECHO_SAME): {"name": "echo-same-node", "namespace": "cilium-test"},
    id(ECHO_OTHER): {"name": "echo-other-node", "namespace": "cilium-test"},
    id(COREDNS): {"name": "kube-dns", "namespace": "kube-system"},
}
FLOWS = []


def flow(t, src, dst, node, l4, summary, *, reply, point, direction, verdict="FORWARDED",
         event=(4, None), l7=None, extra=None):
    sub = {"to-endpoint": 0, "to-proxy": 1, "to-stack": 3, "to-overlay": 4, "from-endpoint": 5,
           "from-network": 10, "from-stack": 8, "from-overlay": 9}.get(point, 0)
    obs = {"to-endpoint": "TO_ENDPOINT", "to-proxy": "TO_PROXY", "to-stack": "TO_STACK",
           "to-overlay": "TO_OVERLAY", "from-endpoint": "FROM_ENDPOINT", "from-network": "FROM_NETWORK",
           "from-stack": "FROM_STACK", "from-overlay": "FROM_OVERLAY"}.get(point)
    SEQ[0] += 1
    f = {
        "time": ts(t),
        "uuid": f"{random.getrandbits(32):08x}-{random.getrandbits(16):04x}-4{random.getrandbits(12):03x}-a{random.getrandbits(12):03x}-{random.getrandbits(48):012x}",
        "verdict": verdict,
        "ethernet": {"source": "2a:5e:91:0c:4d:" + f"{SEQ[0] % 256:02x}", "destination": "4e:1f:d2:07:aa:" + f"{(SEQ[0] * 7) % 256:02x}"},
        "IP": {"source": src["ip"], "destination": dst["ip"], "ipVersion": "IPv4"},
        "l4": l4,
        "source": src["ep"],
        "destination": dst["ep"],
        "Type": "L7" if l7 else "L3_L4",
        "node_name": node,
        "event_type": {"type": event[0]} if event[1] is None and event[0] != 4 else {"type": event[0], "sub_type": sub if event[1] is None else event[1]},
        "traffic_direction": direction,
        "is_reply": reply,
        "Summary": summary,
    }
    if obs and event[0] == 4:
        f["trace_observation_point"] = obs
        f["interface"] = {"index": 20 + SEQ[0] % 9, "name": f"lxc{SEQ[0] * 2654435761 % (1 << 40):010x}"}
    if id(dst) in SERVICES and not reply:
        f["destination_service"] = SERVICES[id(dst)]
    if id(src) in SERVICES and reply:
        f["source_service"] = SERVICES[id(src)]
    if l7:
        f["l7"] = l7
        f["event_type"] = {"type": 129}
        f.pop("trace_observation_point", None)
        f.pop("interface", None)
    if extra:
        f.update(extra)
    FLOWS.append((t, {"flow": f, "node_name": node, "time": f["time"]}))


def tcp(sport, dport, *flags):
    return {"TCP": {"source_port": sport, "destination_port": dport, "flags": {f: True for f in flags}}}


def flag_summary(*flags):
    return "TCP Flags: " + ", ".join(flags)


def dns(t, client):
    port = random.randint(32768, 60999)
    name = random.choice(["echo-same-node", "echo-other-node"])
    query = f"{name}.cilium-test.svc.cluster.local."
    udp = {"UDP": {"source_port": port, "destination_port": 53}}
    back = {"UDP": {"source_port": 53, "destination_port": port}}
    flow(t, client, COREDNS, NODE1, udp, "UDP", reply=False, point="to-proxy", direction="EGRESS")
    flow(t + 0.0004, client, COREDNS, NODE1, udp, f"DNS Query {query} A", reply=False, point=None,
         direction="EGRESS", l7={"type": "REQUEST", "dns": {"query": query, "observation_source": "proxy", "qtypes": ["A"]}})
    ip = ECHO_SAME["ip"] if name == "echo-same-node" else ECHO_OTHER["ip"]
    flow(t + 0.0021, COREDNS, client, NODE1, back, f"DNS Answer \"10.96.{random.randint(1, 250)}.{random.randint(1, 250)}\" TTL: 30 (Proxy {query} A)", reply=True, point=None,
         direction="EGRESS", l7={"type": "RESPONSE", "latency_ns": random.randint(300_000, 2_000_000),
                                 "dns": {"query": query, "ips": [ip], "ttl": 30, "observation_source": "proxy", "rcode": 0, "qtypes": ["A"], "rrtypes": ["A"]}})
    flow(t + 0.0023, COREDNS, client, NODE1, back, "UDP", reply=True, point="to-endpoint", direction="EGRESS")


def http_call(t, client, server, path, port):
    node = server["node"]
    out_point = "to-overlay" if node != client["node"] else "to-endpoint"
    seq = [
        (client, server, tcp(port, 8080, "SYN"), False, flag_summary("SYN")),
        (server, client, tcp(8080, port, "SYN", "ACK"), True, flag_summary("SYN", "ACK")),
        (client, server, tcp(port, 8080, "ACK"), False, flag_summary("ACK")),
        (client, server, tcp(port, 8080, "ACK", "PSH"), False, flag_summary("ACK", "PSH")),
    ]
    dt = 0.0
    for src, dst, l4, reply, summary in seq:
        point = out_point if not reply else ("from-overlay" if node != client["node"] else "to-endpoint")
        flow(t + dt, src, dst, client["node"], l4, summary, reply=reply, point=point, direction="EGRESS")
        if node != client["node"]:
            flow(t + dt + 0.0002, src, dst, node, l4, summary, reply=reply,
                 point="to-endpoint" if not reply else "to-overlay", direction="INGRESS")
        dt += 0.0004
    url = f"http://{server['ep']['workloads'][0]['name']}:8080{path}"
    flow(t + dt, client, server, client["node"], tcp(port, 8080, "ACK", "PSH"), f"HTTP/1.1 GET {url}", reply=False, point=None,
         direction="EGRESS", l7={"type": "REQUEST", "http": {"method": "GET", "url": url, "protocol": "HTTP/1.1",
                                                          "headers": [{"key": ":scheme", "value": "http"}, {"key": "User-Agent", "value": "curl/8.4.0"}]}})
    latency = random.randint(400_000, 3_000_000)
    flow(t + dt + latency / 1e9, server, client, client["node"], tcp(8080, port, "ACK", "PSH"),
         f"HTTP/1.1 200 {latency // 1_000_000}ms ({'GET'} {url})", reply=True, point=None, direction="EGRESS",
         l7={"type": "RESPONSE", "latency_ns": latency, "http": {"code": 200, "method": "GET", "url": url, "protocol": "HTTP/1.1",
                                                               "headers": [{"key": "Content-Type", "value": "application/json"}]}})
    dt += 0.004
    for src, dst, l4, reply, summary in [
        (client, server, tcp(port, 8080, "ACK", "FIN"), False, flag_summary("ACK", "FIN")),
        (server, client, tcp(8080, port, "ACK", "FIN"), True, flag_summary("ACK", "FIN")),
        (client, server, tcp(port, 8080, "ACK"), False, flag_summary("ACK")),
    ]:
        flow(t + dt, src, dst, client["node"], l4, summary, reply=reply,
             point=out_point if not reply else "to-endpoint", direction="EGRESS")
        dt += 0.0003


def denied(t):
    port = random.randint(32768, 60999)
    l4 = tcp(port, 8080, "SYN")
    flow(t, CLIENT2, ECHO_SAME, NODE1, l4, flag_summary("SYN"), reply=False, point=None, direction="INGRESS",
         verdict="DROPPED", event=(5, 0), extra={"policy_match_type": 0, "drop_reason_desc": "POLICY_DENIED",
                                                 "ingress_denied_by": [{"name": "deny-client2", "namespace": "cilium-test", "kind": "CiliumNetworkPolicy"}]})
    flow(t + 0.00001, CLIENT2, ECHO_SAME, NODE1, l4, flag_summary("SYN"), reply=False, point=None, direction="INGRESS",
         verdict="DROPPED", event=(1, 133), extra={"drop_reason": 133, "drop_reason_desc": "POLICY_DENIED"})


def allowed_verdict(t, client, server, port):
    flow(t, client, server, server["node"], tcp(port, 8080, "SYN"), flag_summary("SYN"), reply=False, point=None,
         direction="INGRESS", event=(5, 0), extra={"policy_match_type": 2,
                                                   "ingress_allowed_by": [{"name": "allow-echo", "namespace": "cilium-test", "kind": "CiliumNetworkPolicy"}]})


def ping(t, a, b):
    flow(t, a, b, a["node"], {"ICMPv4": {"type": 8}}, "ICMPv4 EchoRequest", reply=False, point="to-overlay", direction="EGRESS")
    flow(t + 0.0003, a, b, b["node"], {"ICMPv4": {"type": 8}}, "ICMPv4 EchoRequest", reply=False, point="to-endpoint", direction="INGRESS")
    flow(t + 0.0005, b, a, b["node"], {"ICMPv4": {"type": 0}}, "ICMPv4 EchoReply", reply=True, point="to-overlay", direction="INGRESS")
    flow(t + 0.0008, b, a, a["node"], {"ICMPv4": {"type": 0}}, "ICMPv4 EchoReply", reply=True, point="to-endpoint", direction="EGRESS")


def apiserver(t):
    port = random.randint(32768, 60999)
    flow(t, CLIENT, APISERVER, NODE1, tcp(port, 6443, "ACK", "PSH"), flag_summary("ACK", "PSH"), reply=False, point="to-stack", direction="EGRESS")
    flow(t + 0.002, APISERVER, CLIENT, NODE1, tcp(6443, port, "ACK", "PSH"), flag_summary("ACK", "PSH"), reply=True, point="to-endpoint", direction="EGRESS")


t = 0.0
while t < 60:
    client = random.choice([CLIENT, CLIENT2])
    dns(t, client)
    if client is CLIENT2 and random.random() < 0.5:
        denied(t + 0.01)
    else:
        server = random.choice([ECHO_SAME, ECHO_OTHER])
        port = random.randint(32768, 60999)
        allowed_verdict(t + 0.009, client, server, port)
        http_call(t + 0.01, client, server, random.choice(["/", "/client-ip", "/public"]), port)
    if random.random() < 0.3:
        ping(t + 0.2, PINGER1, PINGER2)
    if random.random() < 0.25:
        apiserver(t + 0.3)
    t += random.uniform(0.8, 1.6)

FLOWS.sort(key=lambda item: item[0])
with open("assets/demo.jsonl", "w") as out:
    for _, response in FLOWS:
        out.write(json.dumps(response, separators=(",", ":")) + "\n")
print(f"wrote {len(FLOWS)} flows to assets/demo.jsonl")
