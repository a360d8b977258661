//! `hubl map`: Hubble UI's service map built from flows, on the
//! aggregation engine. Links are the engine's groups, keyed by source card,
//! destination card, destination port and protocol, as Hubble UI keys them
//! (`backend/domain/link`); what a link's flows say of their cards and
//! verdicts is the groups' tally. Cards are gathered from the links at the
//! end, so there is one grouping, not two. Drawn as Mermaid, DOT, JSON
//! (`render`), SVG laid out by layout-rs (`svg`) and HTML (`html`).

mod html;
mod render;
mod svg;

pub use render::Format;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    aggregate::{
        Aggregator, Field, Key, Level, Millis, SortBy, Tally,
        labels::{self, Kind},
    },
    proto::flow::{Endpoint, Flow, Verdict},
};

/// How cards are drawn: Hubble UI's, or collapsed (`--group-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// A card per Hubble UI service.
    Service,
    Namespace,
    Workload,
    Pod,
}

impl Grouping {
    fn level(self) -> Level {
        match self {
            Grouping::Service => Level::Service,
            Grouping::Namespace => Level::Namespace,
            Grouping::Workload => Level::Workload,
            Grouping::Pod => Level::Pod,
        }
    }
}

/// Whether Hubble UI puts `flow` on its map: it asks the relay for flows
/// that are not replies (`reply: [false]`, which the relay also grants to
/// drops of unknown direction), and its backend keeps those with L4, a
/// source and a destination, except flows to a service that resolve
/// outside the cluster (`flow_stream.handleFlow`).
pub fn on_the_map(flow: &Flow) -> bool {
    let reply = match &flow.is_reply {
        Some(reply) => reply.value,
        None => flow.verdict != Verdict::Dropped as i32,
    };
    let (Some(_), Some(_), Some(destination)) = (&flow.l4, &flow.source, &flow.destination) else {
        return false;
    };
    if reply {
        return false;
    }
    let outside =
        labels::props(&destination.labels).is(Kind::World) || !flow.destination_names.is_empty();
    !(flow.destination_service.is_some() && outside)
}

/// What one side of a link's flows said about its card: the first seen,
/// replaced when a later flow knows other workloads (Hubble UI's
/// `IsEnrichedWith`).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub endpoint: Endpoint,
    pub names: Vec<String>,
}

impl Seen {
    fn update(&mut self, endpoint: &Endpoint, names: &[String], first: bool) {
        if first || enriches(&self.endpoint, endpoint) {
            self.endpoint.clone_from(endpoint);
            self.names.clear();
            self.names.extend_from_slice(names);
        }
    }
}

fn enriches(current: &Endpoint, new: &Endpoint) -> bool {
    if new.workloads.len() > current.workloads.len() {
        return true;
    }
    workload_names(current) != workload_names(new)
}

fn workload_names(endpoint: &Endpoint) -> Vec<&str> {
    let mut names: Vec<&str> = endpoint.workloads.iter().map(|w| w.name.as_str()).collect();
    names.sort_unstable();
    names
}

/// A link's tally: its verdicts and what its flows said of both cards.
#[derive(Debug, Default)]
pub struct LinkTally {
    /// Verdict numbers seen, ascending.
    pub verdicts: Vec<i32>,
    pub source: Seen,
    pub destination: Seen,
    flows: u64,
}

impl Tally for LinkTally {
    fn record(&mut self, flow: &Flow) {
        if let Err(at) = self.verdicts.binary_search(&flow.verdict) {
            self.verdicts.insert(at, flow.verdict);
        }
        let first = self.flows == 0;
        self.flows += 1;
        if let Some(source) = &flow.source {
            self.source.update(source, &flow.source_names, first);
        }
        if let Some(destination) = &flow.destination {
            self.destination
                .update(destination, &flow.destination_names, first);
        }
    }
}

/// The service map as it is built.
pub struct ServiceMap {
    grouping: Grouping,
    links: Aggregator<LinkTally>,
}

impl ServiceMap {
    pub fn new(grouping: Grouping, ip_translation: bool, max_links: usize) -> Self {
        let level = grouping.level();
        let key = Key::new(vec![
            Field::Source(level),
            Field::Destination(level),
            Field::Port,
            Field::Protocol,
        ])
        .expect("a valid key")
        .with_ip_translation(ip_translation);
        Self {
            grouping,
            // Rates are not drawn; the window only has to be valid.
            links: Aggregator::new(key, max_links, 10_000),
        }
    }

    pub fn key(&self) -> &Key {
        self.links.key()
    }

    pub fn aggregator(&self) -> &Aggregator<LinkTally> {
        &self.links
    }

    /// Counts `flow` if Hubble UI would draw it; an HTTP response gives
    /// its latency to its request's link.
    pub fn record(&mut self, flow: &Flow, now: Millis) {
        if on_the_map(flow) {
            self.links.record(flow, now);
        } else if flow.is_reply.as_ref().is_some_and(|reply| reply.value) {
            self.links.add_latency(flow);
        }
    }

    /// Links evicted to stay within the limit, and their flows.
    pub fn evicted(&self) -> (u64, u64) {
        self.links.evicted()
    }

    /// The cards and links, in a stable order: cards by id, links by key.
    pub fn snapshot(&self) -> Snapshot {
        let groups = self.links.sorted(SortBy::Key, 0);
        let mut cards: BTreeMap<String, Card> = BTreeMap::new();
        let mut links = Vec::with_capacity(groups.len());
        for group in groups {
            let mut parts = group.parts();
            let source = parts.next().unwrap_or_default().to_owned();
            let destination = parts.next().unwrap_or_default().to_owned();
            let port: u32 = parts.next().unwrap_or_default().parse().unwrap_or(0);
            let protocol = parts.next().unwrap_or_default().to_owned();
            for (id, seen) in [
                (&source, &group.tally.source),
                (&destination, &group.tally.destination),
            ] {
                cards
                    .entry(id.clone())
                    .and_modify(|card| card.enrich(seen, self.grouping))
                    .or_insert_with(|| Card::new(id, seen, self.grouping));
            }
            let stats = &group.stats;
            let latency = self.links.latency(stats);
            links.push(Link {
                id: format!(
                    "{source} {} {destination}:{port}",
                    ui_protocol_name(&protocol)
                ),
                source,
                destination,
                port,
                protocol,
                verdicts: group
                    .tally
                    .verdicts
                    .iter()
                    .map(|&v| match Verdict::try_from(v) {
                        Ok(verdict) => verdict.as_str_name().to_owned(),
                        Err(_) => v.to_string(),
                    })
                    .collect(),
                flows: stats.flows,
                forwarded: stats.forwarded,
                dropped: stats.dropped,
                latency: (latency.count > 0).then(|| LatencyNs {
                    count: latency.count,
                    min: latency.min_ns,
                    avg: latency.avg_ns(),
                    max: latency.max_ns,
                }),
            });
        }
        Snapshot {
            grouping: self.grouping,
            cards: cards.into_values().collect(),
            links,
        }
    }
}

/// Hubble UI's `IPProtocol` names, which its link ids carry.
fn ui_protocol_name(protocol: &str) -> &'static str {
    match protocol {
        "TCP" => "TCP",
        "UDP" => "UDP",
        "ICMPv4" => "ICMP_V4",
        "ICMPv6" => "ICMP_V6",
        _ => "UNKNOWN_IP_PROTOCOL",
    }
}

/// A finished map.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    #[serde(skip)]
    pub grouping: Grouping,
    pub cards: Vec<Card>,
    pub links: Vec<Link>,
}

/// One card.
#[derive(Debug, Serialize)]
pub struct Card {
    pub id: String,
    /// What the card shows as its title.
    pub name: String,
    pub namespace: String,
    /// Hubble UI's special kinds: host, world, remote-node, kube-apiserver,
    /// kube-dns, health, init, prometheus.
    pub kinds: Vec<&'static str>,
    /// The security identity of the endpoint last seen (0 if none).
    pub identity: u32,
    pub workloads: Vec<Workload>,
    pub dns_names: Vec<String>,
    pub labels: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

impl Card {
    fn new(id: &str, seen: &Seen, grouping: Grouping) -> Self {
        let mut card = Card {
            id: id.to_owned(),
            name: String::new(),
            namespace: String::new(),
            kinds: Vec::new(),
            identity: 0,
            workloads: Vec::new(),
            dns_names: Vec::new(),
            labels: Vec::new(),
        };
        card.fill(seen, grouping);
        card
    }

    fn enrich(&mut self, seen: &Seen, grouping: Grouping) {
        let current = Endpoint {
            workloads: self
                .workloads
                .iter()
                .map(|w| crate::proto::flow::Workload {
                    name: w.name.clone(),
                    kind: w.kind.clone(),
                })
                .collect(),
            ..Endpoint::default()
        };
        if enriches(&current, &seen.endpoint) {
            self.fill(seen, grouping);
        }
    }

    fn fill(&mut self, seen: &Seen, grouping: Grouping) {
        let endpoint = &seen.endpoint;
        let props = labels::props(&endpoint.labels);
        self.namespace.clone_from(&endpoint.namespace);
        self.identity = endpoint.identity;
        self.workloads = endpoint
            .workloads
            .iter()
            .map(|w| Workload {
                kind: w.kind.clone(),
                name: w.name.clone(),
            })
            .collect();
        self.dns_names.clone_from(&seen.names);
        self.labels.clone_from(&endpoint.labels);
        // A namespace card stands for many endpoints: only one outside the
        // cluster has a kind of its own.
        let own_kind = grouping != Grouping::Namespace || self.namespace.is_empty();
        self.kinds = match own_kind {
            true => props.kinds.iter().map(|k| k.name()).collect(),
            false => Vec::new(),
        };
        self.name = match grouping {
            // Hubble UI's caption: a world card's domain, the app label, the
            // reserved label, the workload, and the id for want of all.
            Grouping::Service => {
                let domain = props.is(Kind::World).then(|| seen.names.first()).flatten();
                domain
                    .map(String::as_str)
                    .or(props.app_name)
                    .or(props.reserved_name)
                    .or(endpoint
                        .workloads
                        .iter()
                        .map(|w| w.name.as_str())
                        .find(|n| !n.is_empty()))
                    .unwrap_or(&self.id)
                    .to_owned()
            }
            Grouping::Namespace => self.id.clone(),
            Grouping::Workload | Grouping::Pod => {
                let prefix = self.namespace.len();
                match self.id.starts_with(&self.namespace)
                    && prefix > 0
                    && self.id[prefix..].starts_with('/')
                {
                    true => self.id[prefix + 1..].to_owned(),
                    false => self.id.clone(),
                }
            }
        };
        if grouping == Grouping::Namespace {
            self.namespace.clear();
        }
    }
}

/// One link.
#[derive(Debug, Serialize)]
pub struct Link {
    /// Hubble UI's link id: `SOURCE PROTOCOL DESTINATION:PORT`.
    pub id: String,
    pub source: String,
    pub destination: String,
    /// The destination port, 0 for protocols without ports.
    pub port: u32,
    pub protocol: String,
    /// Every verdict of the link's flows, by name.
    pub verdicts: Vec<String>,
    pub flows: u64,
    pub forwarded: u64,
    pub dropped: u64,
    /// HTTP response latency, where L7 visibility gives it.
    pub latency: Option<LatencyNs>,
}

impl Link {
    pub fn dropped_only(&self) -> bool {
        self.dropped > 0 && self.forwarded == 0
    }
}

#[derive(Debug, Serialize)]
pub struct LatencyNs {
    pub count: u64,
    pub min: u64,
    pub avg: u64,
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::flow::{Layer4, Service, Tcp, Workload as FlowWorkload, layer4};

    fn endpoint(identity: u32, labels: &[&str], workload: Option<(&str, &str)>) -> Endpoint {
        Endpoint {
            identity,
            namespace: "ns".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            workloads: workload
                .map(|(kind, name)| FlowWorkload {
                    kind: kind.into(),
                    name: name.into(),
                })
                .into_iter()
                .collect(),
            ..Endpoint::default()
        }
    }

    fn tcp_flow(source: Endpoint, destination: Endpoint) -> Flow {
        Flow {
            verdict: Verdict::Forwarded as i32,
            is_reply: Some(pbjson_types::BoolValue { value: false }),
            l4: Some(Layer4 {
                protocol: Some(layer4::Protocol::Tcp(Tcp {
                    source_port: 40000,
                    destination_port: 8080,
                    ..Tcp::default()
                })),
            }),
            source: Some(source),
            destination: Some(destination),
            ..Flow::default()
        }
    }

    fn id(endpoint: &Endpoint, names: &[String], receiver: bool) -> String {
        let mut out = String::new();
        crate::aggregate::write_service_id(&mut out, Some(endpoint), names, receiver);
        out
    }

    #[test]
    fn service_ids_as_hubble_ui_makes_them() {
        let pod = endpoint(1234, &["k8s:app=a"], Some(("Deployment", "a")));
        assert_eq!(id(&pod, &[], false), "1234");
        // World is never its identity: its workload, DNS name or `world`.
        let world = endpoint(2, &["reserved:world"], None);
        assert_eq!(id(&world, &[], true), "world-receiver");
        assert_eq!(id(&world, &["cilium.io".into()], false), "cilium.io-sender");
        let no_identity = endpoint(0, &[], Some(("StatefulSet", "db")));
        assert_eq!(id(&no_identity, &[], false), "StatefulSet/db");
        let no_kind = endpoint(0, &[], Some(("", "db")));
        assert_eq!(id(&no_kind, &[], false), "world-sender");
    }

    #[test]
    fn only_requests_with_l4_and_both_ends_are_drawn() {
        let a = endpoint(1, &[], None);
        let b = endpoint(2000, &[], None);
        let flow = tcp_flow(a.clone(), b.clone());
        assert!(on_the_map(&flow));
        let mut reply = flow.clone();
        reply.is_reply = Some(pbjson_types::BoolValue { value: true });
        assert!(!on_the_map(&reply));
        // Unknown direction: only drops count, as the relay's reply filter.
        let mut unknown = flow.clone();
        unknown.is_reply = None;
        assert!(!on_the_map(&unknown));
        unknown.verdict = Verdict::Dropped as i32;
        assert!(on_the_map(&unknown));
        let mut no_l4 = flow.clone();
        no_l4.l4 = None;
        assert!(!on_the_map(&no_l4));
        let mut no_destination = flow.clone();
        no_destination.destination = None;
        assert!(!on_the_map(&no_destination));
        // A service that resolves to the world is left out.
        let mut to_outside = tcp_flow(a, endpoint(2, &["reserved:world"], None));
        to_outside.destination_service = Some(Service {
            name: "svc".into(),
            namespace: "ns".into(),
        });
        assert!(!on_the_map(&to_outside));
    }

    #[test]
    fn links_carry_verdicts_and_cards_their_names() {
        let client = endpoint(
            100,
            &[
                "k8s:io.kubernetes.pod.namespace=ns",
                "k8s:app.kubernetes.io/name=client",
            ],
            Some(("Deployment", "client")),
        );
        let server = endpoint(200, &["k8s:k8s-app=kube-dns"], None);
        let mut map = ServiceMap::new(Grouping::Service, true, 100);
        let mut flow = tcp_flow(client, server);
        map.record(&flow, 0);
        flow.verdict = Verdict::Dropped as i32;
        map.record(&flow, 0);
        let snapshot = map.snapshot();
        let names: Vec<(&str, &str)> = snapshot
            .cards
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(names, [("100", "client"), ("200", "kube-dns")]);
        assert_eq!(snapshot.cards[1].kinds, ["kube-dns"]);
        let link = &snapshot.links[0];
        assert_eq!(link.id, "100 TCP 200:8080");
        assert_eq!(link.verdicts, ["FORWARDED", "DROPPED"]);
        assert_eq!((link.flows, link.forwarded, link.dropped), (2, 1, 1));
    }
}
