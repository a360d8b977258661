//! What Hubble UI reads from an endpoint's labels
//! (cilium/hubble-ui `backend/domain/labels`): the special kinds of a
//! service card and the card's name.

/// Prefixes Hubble UI removes from label keys, wherever they occur, in
/// this order.
const PREFIXES: [&str; 3] = ["k8s:", "io.kubernetes.pod.", "app.kubernetes.io/"];

/// Label keys (after prefix stripping) that name a card: the first label
/// with one of them wins, in the order of the labels.
const APP_KEYS: [&str; 4] = ["app", "name", "functionName", "k8s-app"];

/// The special kinds Hubble UI draws cards of with their own look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Host,
    World,
    RemoteNode,
    KubeApiServer,
    KubeDns,
    Health,
    Init,
    Prometheus,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::World => "world",
            Kind::RemoteNode => "remote-node",
            Kind::KubeApiServer => "kube-apiserver",
            Kind::KubeDns => "kube-dns",
            Kind::Health => "health",
            Kind::Init => "init",
            Kind::Prometheus => "prometheus",
        }
    }
}

/// What an endpoint's labels say about its card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props<'a> {
    pub kinds: Vec<Kind>,
    /// The value of the first app-naming label.
    pub app_name: Option<&'a str>,
    /// The first reserved label without `reserved:`, which names a card
    /// without an app label in Hubble UI (`remote-node`, `world`).
    pub reserved_name: Option<&'a str>,
}

impl Props<'_> {
    pub fn is(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// Reads `labels` as Hubble UI's `labels.Props` does.
pub fn props(labels: &[String]) -> Props<'_> {
    let mut props = Props::default();
    let mut key = String::new();
    for label in labels {
        let (raw_key, value) = label.split_once('=').unwrap_or((label, ""));
        normalize_key(raw_key, &mut key);
        let kind = match key.as_str() {
            "reserved:host" => Some(Kind::Host),
            "reserved:world" => Some(Kind::World),
            "reserved:remote-node" => Some(Kind::RemoteNode),
            "reserved:kube-apiserver" => Some(Kind::KubeApiServer),
            "reserved:health" => Some(Kind::Health),
            "reserved:init" => Some(Kind::Init),
            // Hubble UI compares the whole label for these two.
            _ if label == "k8s:k8s-app=kube-dns" => Some(Kind::KubeDns),
            _ if label == "k8s:app=prometheus" => Some(Kind::Prometheus),
            _ => None,
        };
        if let Some(kind) = kind
            && !props.kinds.contains(&kind)
        {
            props.kinds.push(kind);
        }
        if props.reserved_name.is_none() {
            props.reserved_name = label.strip_prefix("reserved:");
        }
        if props.app_name.is_none() && APP_KEYS.contains(&key.as_str()) {
            props.app_name = Some(value);
        }
    }
    props.kinds.sort();
    props
}

/// The key with every occurrence of each prefix removed, as Go's
/// `strings.ReplaceAll` in turn.
fn normalize_key(raw: &str, out: &mut String) {
    out.clear();
    out.push_str(raw);
    for prefix in PREFIXES {
        if out.contains(prefix) {
            *out = out.replace(prefix, "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn names_from_the_first_app_label_after_stripping() {
        let list = labels(&[
            "k8s:io.kubernetes.pod.namespace=kube-system",
            "k8s:app.kubernetes.io/name=coredns",
            "k8s:k8s-app=kube-dns",
        ]);
        let props = props(&list);
        // `io.kubernetes.pod.namespace` becomes `namespace`, not an app key.
        assert_eq!(props.app_name, Some("coredns"));
        assert_eq!(props.kinds, [Kind::KubeDns]);
    }

    #[test]
    fn label_order_not_key_order_decides() {
        let list = labels(&["k8s:k8s-app=first", "k8s:app=second"]);
        assert_eq!(props(&list).app_name, Some("first"));
        let list = labels(&["k8s:functionName=f"]);
        assert_eq!(props(&list).app_name, Some("f"));
    }

    #[test]
    fn reserved_kinds() {
        let list = labels(&["reserved:host", "reserved:kube-apiserver"]);
        assert_eq!(props(&list).kinds, [Kind::Host, Kind::KubeApiServer]);
        assert!(props(&labels(&["reserved:world"])).is(Kind::World));
        // A newer Cilium's dual-stack world label is not Hubble UI's world.
        assert!(!props(&labels(&["reserved:world-ipv4"])).is(Kind::World));
        assert!(props(&labels(&["k8s:app=prometheus"])).is(Kind::Prometheus));
        assert_eq!(
            props(&labels(&["k8s:app=prometheus"])).app_name,
            Some("prometheus")
        );
    }
}
