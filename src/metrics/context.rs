//! Hubble's context options (`pkg/hubble/metrics/api/context.go`): which
//! labels tell a flow's source and destination apart, and their values.

use crate::proto::flow::{Endpoint, Flow, TrafficDirection};

use super::{Key, MetricsError};

/// One way of naming an endpoint, as `sourceContext=` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    Identity,
    Namespace,
    Pod,
    PodShort,
    PodName,
    Dns,
    Ip,
    ReservedIdentity,
    WorkloadName,
    App,
}

impl Identifier {
    fn parse(text: &str) -> Result<Self, MetricsError> {
        Ok(match text.to_lowercase().as_str() {
            "identity" => Self::Identity,
            "namespace" => Self::Namespace,
            "pod" => Self::Pod,
            "pod-short" => Self::PodShort,
            "pod-name" => Self::PodName,
            "dns" => Self::Dns,
            "ip" => Self::Ip,
            "reserved-identity" => Self::ReservedIdentity,
            "workload-name" => Self::WorkloadName,
            "app" => Self::App,
            _ => return Err(MetricsError::Spec(format!("unknown context '{text}'"))),
        })
    }
}

/// `labelsContext` labels in Hubble's fixed order: names and values always
/// come in this order, whatever order the option lists them in.
pub const CONTEXT_LABELS: [&str; 11] = [
    "source_ip",
    "source_pod",
    "source_namespace",
    "source_workload",
    "source_app",
    "destination_ip",
    "destination_pod",
    "destination_namespace",
    "destination_workload",
    "destination_app",
    "traffic_direction",
];

/// The identity labels whose value names a pod's app, in Hubble's order.
const APP_LABELS: [&str; 3] = ["k8s:app.kubernetes.io/name=", "k8s:k8s-app=", "k8s:app="];

/// The context options of one metric.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextOptions {
    pub source: Vec<Identifier>,
    pub source_egress: Option<Vec<Identifier>>,
    pub source_ingress: Option<Vec<Identifier>>,
    pub destination: Vec<Identifier>,
    pub destination_egress: Option<Vec<Identifier>>,
    pub destination_ingress: Option<Vec<Identifier>>,
    /// Which of `CONTEXT_LABELS` are wanted.
    pub labels: [bool; CONTEXT_LABELS.len()],
}

impl ContextOptions {
    /// Picks the context options out of a metric's options; the others are
    /// the handler's own.
    pub fn parse(options: &[(String, Vec<String>)]) -> Result<Self, MetricsError> {
        let mut context = Self::default();
        for (name, values) in options {
            let list = || -> Result<Vec<Identifier>, MetricsError> {
                values
                    .iter()
                    .map(|value| Identifier::parse(value))
                    .collect()
            };
            match name.to_lowercase().as_str() {
                "sourcecontext" => context.source = list()?,
                "sourceegresscontext" => context.source_egress = Some(list()?),
                "sourceingresscontext" => context.source_ingress = Some(list()?),
                "destinationcontext" => context.destination = list()?,
                "destinationegresscontext" => context.destination_egress = Some(list()?),
                "destinationingresscontext" => context.destination_ingress = Some(list()?),
                "labelscontext" => {
                    let mut labels = [false; CONTEXT_LABELS.len()];
                    for value in values {
                        let Some(index) = CONTEXT_LABELS.iter().position(|label| label == value)
                        else {
                            return Err(MetricsError::Spec(format!(
                                "invalid labelsContext value: {value}"
                            )));
                        };
                        labels[index] = true;
                    }
                    context.labels = labels;
                }
                _ => {}
            }
        }
        Ok(context)
    }

    /// A family's label names for handlers that place the context after
    /// their own labels.
    pub fn after(&self, own: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = own.iter().map(|&name| name.to_owned()).collect();
        names.extend(self.label_names());
        names
    }

    /// The label names these options add, after the handler's own or
    /// before them as each handler places them.
    pub fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = CONTEXT_LABELS
            .iter()
            .zip(self.labels)
            .filter(|(_, wanted)| *wanted)
            .map(|(name, _)| (*name).to_owned())
            .collect();
        // Hubble adds `source` and `destination` only for the plain
        // options: the Egress/Ingress variants alone add no label.
        if !self.source.is_empty() {
            names.push("source".to_owned());
        }
        if !self.destination.is_empty() {
            names.push("destination".to_owned());
        }
        names
    }

    /// Whether these options name pods, so that a pod that is gone leaves
    /// series behind (Hubble's `DeleteMetricsAssociatedWithPod`).
    pub fn pod_labels(&self) -> Vec<PodLabel> {
        let names = self.label_names();
        let index = |name: &str| names.iter().position(|n| n == name);
        let mut pods = Vec::new();
        let any_pod = |list: &[Identifier], extra: [&Option<Vec<Identifier>>; 2]| {
            list.contains(&Identifier::Pod)
                || extra
                    .iter()
                    .any(|more| more.as_ref().is_some_and(|l| l.contains(&Identifier::Pod)))
        };
        if any_pod(&self.source, [&self.source_egress, &self.source_ingress])
            && let Some(at) = index("source")
        {
            pods.push(PodLabel::Joined(at));
        }
        if any_pod(
            &self.destination,
            [&self.destination_egress, &self.destination_ingress],
        ) && let Some(at) = index("destination")
        {
            pods.push(PodLabel::Joined(at));
        }
        for (pod, namespace) in [
            ("source_pod", "source_namespace"),
            ("destination_pod", "destination_namespace"),
        ] {
            if let (Some(pod), Some(namespace)) = (index(pod), index(namespace)) {
                pods.push(PodLabel::Split { namespace, pod });
            }
        }
        pods
    }

    /// Pushes the context label values of `flow`, in `label_names` order.
    /// `invert` swaps source and destination, for metrics counted on
    /// replies (httpV2).
    pub fn push_values(&self, flow: &Flow, invert: bool, key: &mut Key) {
        let (mut source, mut destination) = (flow.source.as_ref(), flow.destination.as_ref());
        let ip = flow.ip.as_ref();
        let (mut source_ip, mut destination_ip) = (
            ip.map_or("", |ip| ip.source.as_str()),
            ip.map_or("", |ip| ip.destination.as_str()),
        );
        if invert {
            std::mem::swap(&mut source, &mut destination);
            std::mem::swap(&mut source_ip, &mut destination_ip);
        }
        for (index, wanted) in self.labels.iter().enumerate() {
            if !*wanted {
                continue;
            }
            match CONTEXT_LABELS[index] {
                "source_ip" => key.push(source_ip),
                "source_pod" => key.push(source.map_or("", |e| e.pod_name.as_str())),
                "source_namespace" => key.push(source.map_or("", |e| e.namespace.as_str())),
                "source_workload" => key.push(workload_name(source)),
                "source_app" => key.push(app(source)),
                "destination_ip" => key.push(destination_ip),
                "destination_pod" => key.push(destination.map_or("", |e| e.pod_name.as_str())),
                "destination_namespace" => {
                    key.push(destination.map_or("", |e| e.namespace.as_str()))
                }
                "destination_workload" => key.push(workload_name(destination)),
                "destination_app" => key.push(app(destination)),
                _ => match TrafficDirection::try_from(flow.traffic_direction) {
                    Ok(TrafficDirection::Ingress) => key.push("ingress"),
                    Ok(TrafficDirection::Egress) => key.push("egress"),
                    Ok(TrafficDirection::Unknown) => key.push("unknown"),
                    // Go's String() of a number it has no name for.
                    Err(_) => key.push_display(flow.traffic_direction),
                },
            }
        }
        let direction = flow.traffic_direction;
        let pick = |plain: &'_ [Identifier],
                    egress: &'_ Option<Vec<Identifier>>,
                    ingress: &'_ Option<Vec<Identifier>>|
         -> Vec<Identifier> {
            match (ingress, egress) {
                (Some(list), _) if direction == TrafficDirection::Ingress as i32 => list.clone(),
                (_, Some(list)) if direction == TrafficDirection::Egress as i32 => list.clone(),
                _ => plain.to_vec(),
            }
        };
        let mut source_value = Value::default();
        for identifier in pick(&self.source, &self.source_egress, &self.source_ingress) {
            source_value = identifier_value(identifier, flow, true);
            if !source_value.is_empty() {
                break;
            }
        }
        let mut destination_value = Value::default();
        for identifier in pick(
            &self.destination,
            &self.destination_egress,
            &self.destination_ingress,
        ) {
            destination_value = identifier_value(identifier, flow, false);
            if !destination_value.is_empty() {
                break;
            }
        }
        if invert {
            std::mem::swap(&mut source_value, &mut destination_value);
        }
        if !self.source.is_empty() {
            source_value.push_to(key);
        }
        if !self.destination.is_empty() {
            destination_value.push_to(key);
        }
    }
}

/// Where a metric's pod-naming labels are, by index in its context labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodLabel {
    /// A `namespace/pod` value (the `pod` context).
    Joined(usize),
    /// `*_namespace` and `*_pod` labels.
    Split { namespace: usize, pod: usize },
}

/// A context value, borrowed from the flow where it can be.
#[derive(Debug, Default)]
enum Value<'a> {
    #[default]
    Empty,
    Plain(&'a str),
    NamespacedPod(&'a str, &'a str),
    Joined(&'a [String]),
}

impl Value<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Plain(text) => text.is_empty(),
            Value::NamespacedPod(..) => false,
            // Go joins with "," and tests the result for "".
            Value::Joined(items) => items.len() <= 1 && items.iter().all(String::is_empty),
        }
    }

    fn push_to(&self, key: &mut Key) {
        match self {
            Value::Empty => key.push(""),
            Value::Plain(text) => key.push(text),
            Value::NamespacedPod(namespace, pod) => key.push_parts(&[namespace, "/", pod]),
            Value::Joined(items) => key.push_joined(items.iter().map(String::as_str), ","),
        }
    }
}

fn identifier_value(identifier: Identifier, flow: &Flow, source: bool) -> Value<'_> {
    let endpoint = if source {
        flow.source.as_ref()
    } else {
        flow.destination.as_ref()
    };
    let namespace = endpoint.map_or("", |e| e.namespace.as_str());
    let pod = endpoint.map_or("", |e| e.pod_name.as_str());
    let labels: &[String] = endpoint.map_or(&[], |e| e.labels.as_slice());
    match identifier {
        Identifier::Namespace => Value::Plain(namespace),
        Identifier::Identity => Value::Joined(labels),
        Identifier::Pod if namespace.is_empty() => Value::Plain(pod),
        Identifier::Pod => Value::NamespacedPod(namespace, pod),
        Identifier::PodShort if namespace.is_empty() => Value::Plain(short_pod_name(pod)),
        Identifier::PodShort => Value::NamespacedPod(namespace, short_pod_name(pod)),
        Identifier::PodName => Value::Plain(pod),
        Identifier::Dns if source => Value::Joined(&flow.source_names),
        Identifier::Dns => Value::Joined(&flow.destination_names),
        Identifier::Ip => {
            let ip = flow.ip.as_ref();
            Value::Plain(ip.map_or("", |ip| {
                if source {
                    ip.source.as_str()
                } else {
                    ip.destination.as_str()
                }
            }))
        }
        Identifier::ReservedIdentity => Value::Plain(reserved_identity(labels)),
        Identifier::WorkloadName => Value::Plain(workload_name(endpoint)),
        Identifier::App => Value::Plain(app(endpoint)),
    }
}

fn workload_name(endpoint: Option<&Endpoint>) -> &str {
    endpoint
        .and_then(|e| e.workloads.first())
        .map_or("", |w| w.name.as_str())
}

/// The value of the first app label (`getK8sAppFromLabels`).
fn app(endpoint: Option<&Endpoint>) -> &str {
    let Some(endpoint) = endpoint else {
        return "";
    };
    for label in &endpoint.labels {
        for prefix in APP_LABELS {
            if let Some(value) = label.strip_prefix(prefix)
                && !value.is_empty()
            {
                return value;
            }
        }
    }
    ""
}

/// `reserved:kube-apiserver` if present, else the first `reserved:` label.
fn reserved_identity(labels: &[String]) -> &str {
    if labels.iter().any(|l| l == "reserved:kube-apiserver") {
        return "reserved:kube-apiserver";
    }
    labels
        .iter()
        .find(|l| l.starts_with("reserved:"))
        .map_or("", String::as_str)
}

/// Hubble's `^(.+?)(-[a-z0-9]+){1,2}$` replaced by its first group: the
/// pod name less one or two trailing `-suffix` parts, the shortest prefix
/// that leaves at most two.
fn short_pod_name(name: &str) -> &str {
    let is_suffix = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    // The lazy group takes as little as it can: the prefix ends at the
    // earliest dash from which one or two suffixes reach the end, and the
    // prefix must not be empty.
    let dashes: Vec<usize> = name
        .char_indices()
        .filter(|(_, c)| *c == '-')
        .map(|(i, _)| i)
        .collect();
    for &start in &dashes {
        if start == 0 {
            continue;
        }
        let rest = &name[start + 1..];
        let parts: Vec<&str> = rest.split('-').collect();
        if (1..=2).contains(&parts.len()) && parts.iter().all(|p| is_suffix(p)) {
            return &name[..start];
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_pod_names_follow_hubbles_pattern() {
        assert_eq!(short_pod_name("client2-66475877c6-gpdkz"), "client2");
        assert_eq!(short_pod_name("coredns-5dd5756b68"), "coredns");
        assert_eq!(short_pod_name("a-b-c-d"), "a-b");
        assert_eq!(short_pod_name("plain"), "plain");
        assert_eq!(short_pod_name("Upper-Case"), "Upper-Case");
        assert_eq!(short_pod_name("-x"), "-x");
    }

    #[test]
    fn unknown_contexts_and_labels_are_refused_with_hubbles_reason() {
        let options = |name: &str, value: &str| vec![(name.to_owned(), vec![value.to_owned()])];
        let error = ContextOptions::parse(&options("sourceContext", "nope")).unwrap_err();
        assert_eq!(error.to_string(), "unknown context 'nope'");
        let error = ContextOptions::parse(&options("labelsContext", "source_port")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid labelsContext value: source_port"
        );
    }

    #[test]
    fn label_names_keep_hubbles_order() {
        let options = vec![
            (
                "labelsContext".to_owned(),
                vec!["traffic_direction".to_owned(), "source_ip".to_owned()],
            ),
            ("destinationContext".to_owned(), vec!["pod".to_owned()]),
            ("sourceEgressContext".to_owned(), vec!["ip".to_owned()]),
        ];
        let context = ContextOptions::parse(&options).unwrap();
        assert_eq!(
            context.label_names(),
            ["source_ip", "traffic_direction", "destination"]
        );
    }
}
