//! Selector, filter and raw-filter flags of `hubl observe`, named and
//! grouped as in `hubble observe`.

use clap::{ArgAction, ArgMatches, Args};

/// Hubble's "Selectors Flags": how many flows, from when.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Selectors Flags")]
pub struct SelectorArgs {
    /// Get all flows stored in Hubble's buffer. Note: this option may cause
    /// Hubble to return a lot of data. It is recommended to only use it along
    /// filters to limit the amount of data returned.
    #[arg(long)]
    pub all: bool,

    /// Get first N flows stored in Hubble's buffer. When querying against
    /// Hubble Relay, this gets N flows per instance of Hubble connected to
    /// that Relay.
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub first: u64,

    /// Follow flows output
    #[arg(short, long)]
    pub follow: bool,

    /// When following, reconnect and resume where the output stopped if
    /// the connection to the server is lost; =false exits with the error
    /// as hubble does. Also HUBBLE_RECONNECT or `reconnect` in the config
    /// file. [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub reconnect: Option<bool>,

    /// Get last N flows stored in Hubble's buffer (default 20). When querying
    /// against Hubble Relay, this gets N flows per instance of Hubble
    /// connected to that Relay.
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub last: u64,

    /// Filter flows since a specific date. The format is relative (e.g. 3s,
    /// 4m, 1h43,, ...) or one of: StampMilli (Jan _2 15:04:05.000),
    /// YearMonthDay (2006-01-02), YearMonthDayHour (2006-01-02T15-07:00),
    /// YearMonthDayHourMinute (2006-01-02T15:04-07:00), RFC3339
    /// (2006-01-02T15:04:05-07:00), RFC3339Milli
    /// (2006-01-02T15:04:05.999-07:00), RFC3339Micro
    /// (2006-01-02T15:04:05.999999-07:00), RFC3339Nano
    /// (2006-01-02T15:04:05.999999999-07:00), RFC1123Z (Mon, 02 Jan 2006
    /// 15:04:05 -0700)
    // A negative duration (`-5m`, a time ahead of now) is a value, as pflag
    // takes it, not an unknown flag.
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub since: Option<String>,

    /// Filter flows until a specific date, in the formats of --since.
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub until: Option<String>,
}

/// Hubble's "Filters Flags". Every flag may be repeated; what they mean
/// together depends on the order they were typed in (`--not` applies to the
/// next one), which `filter_flags_in_order` recovers from the matches.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters Flags")]
pub struct FilterArgs {
    #[arg(long, action = ArgAction::Append, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Reverses the next filter to be blacklist i.e. --not --from-ip 2.2.2.2")]
    pub not: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show the only flow matching this unique flow identifier, if any")]
    pub uuid: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows which match the given node names (e.g. \"k8s*\", \"test-cluster/*.company.com\")")]
    pub node_name: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows observed on nodes matching the given label filter (e.g. \"key1=value1\", \"io.cilium/egress-gateway\")")]
    pub node_label: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating from endpoints known to be in the given cluster name")]
    pub from_cluster: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows which match the cluster names (e.g. \"test-cluster\", \"prod-*\")")]
    pub cluster: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows destined to endpoints known to be in the given cluster name")]
    pub to_cluster: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match the given L4/L7 flow protocol (e.g. \"udp\", \"http\")")]
    pub protocol: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match the given TCP flags (e.g. \"syn\", \"ack\", \"fin\")")]
    pub tcp_flags: Vec<String>,

    #[arg(long, short = 't', action = ArgAction::Append, value_name = "filter", help = "Filter by event types TYPE[:SUBTYPE]. Available types and subtypes:\nTYPE             SUBTYPE\ncapture          n/a\ndrop             n/a\nl7               n/a\npolicy-verdict   n/a\ntrace            from-crypto\n                 from-endpoint\n                 from-host\n                 from-network\n                 from-overlay\n                 from-proxy\n                 from-stack\n                 to-crypto\n                 to-endpoint\n                 to-host\n                 to-network\n                 to-overlay\n                 to-proxy\n                 to-stack\ntrace-sock       n/a")]
    pub r#type: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows with this verdict [FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED, TRANSLATED]")]
    pub verdict: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this drop reason describe (e.g. \"POLICY_DENIED\", \"UNSUPPORTED_L3_PROTOCOL\")")]
    pub drop_reason_desc: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this HTTP status code prefix (e.g. \"404\", \"5+\")")]
    pub http_status: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this HTTP method (e.g. \"get\", \"post\")")]
    pub http_method: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this HTTP path regular expressions (e.g. \"/page/\\d+\")")]
    pub http_path: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this HTTP URL regular expressions (e.g. \"http://.*cilium\\.io/page/\\d+\")")]
    pub http_url: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this HTTP header key:value pairs (e.g. \"foo:bar\")")]
    pub http_header: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this trace ID")]
    pub trace_id: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows which match this IP trace ID")]
    pub ip_trace_id: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating at the given fully qualified domain name (e.g. \"*.cilium.io\").")]
    pub from_fqdn: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows related to the given fully qualified domain name (e.g. \"*.cilium.io\").")]
    pub fqdn: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows terminating at the given fully qualified domain name (e.g. \"*.cilium.io\").")]
    pub to_fqdn: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating at the given IP address. Each of the source IPs can be specified as an exact match (e.g. '1.1.1.1') or as a CIDR range (e.g.'1.1.1.0/24').")]
    pub from_ip: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows SNATed with the given IP address. Each of the SNAT IPs can be specified as an exact match (e.g. '1.1.1.1') or as a CIDR range (e.g.'1.1.1.0/24').")]
    pub snat_ip: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating or terminating at the given IP address. Each of the IPs can be specified as an exact match (e.g. '1.1.1.1') or as a CIDR range (e.g.'1.1.1.0/24').")]
    pub ip: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows terminating at the given IP address. Each of the destination IPs can be specified as an exact match (e.g. '1.1.1.1') or as a CIDR range (e.g.'1.1.1.0/24').")]
    pub to_ip: Vec<String>,

    #[arg(long, short = '4', action = ArgAction::Append, num_args = 0..=1, default_missing_value = "v4", require_equals = true, help = "Show only IPv4 flows")]
    pub ipv4: Vec<String>,

    #[arg(long, short = '6', action = ArgAction::Append, num_args = 0..=1, default_missing_value = "v6", require_equals = true, help = "Show only IPv6 flows")]
    pub ipv6: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only IPv4, IPv6 flows or non IP flows (e.g. ARP packets) (ie: \"none\", \"v4\", \"v6\")")]
    pub ip_version: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating in the given pod name prefix([namespace/]<pod-name>). If namespace is not provided, 'default' is used")]
    pub from_pod: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows related to the given pod name prefix ([namespace/]<pod-name>). If namespace is not provided, 'default' is used.")]
    pub pod: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows terminating in the given pod name prefix([namespace/]<pod-name>). If namespace is not provided, 'default' is used")]
    pub to_pod: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating in the given Kubernetes namespace.")]
    pub from_namespace: Vec<String>,

    #[arg(long, short = 'n', action = ArgAction::Append, value_name = "filter", help = "Show all flows related to the given Kubernetes namespace.")]
    pub namespace: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows terminating in the given Kubernetes namespace.")]
    pub to_namespace: Vec<String>,

    #[arg(long, action = ArgAction::Append, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Show flows originating in any Kubernetes namespace.")]
    pub from_all_namespaces: Vec<String>,

    #[arg(long, short = 'A', action = ArgAction::Append, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Show all flows in any Kubernetes namespace.")]
    pub all_namespaces: Vec<String>,

    #[arg(long, action = ArgAction::Append, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Show flows terminating in any Kubernetes namespace.")]
    pub to_all_namespaces: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows originating in an endpoint with the given labels (e.g. \"key1=value1\", \"reserved:world\")")]
    pub from_label: Vec<String>,

    #[arg(long, short = 'l', action = ArgAction::Append, value_name = "filter", help = "Show only flows related to an endpoint with the given labels (e.g. \"key1=value1\", \"reserved:world\")")]
    pub label: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows terminating in an endpoint with given labels (e.g. \"key1=value1\", \"reserved:world\")")]
    pub to_label: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Shows flows where the source IP address matches the ClusterIP address of the given service name prefix([namespace/]<svc-name>). If namespace is not provided, 'default' is used")]
    pub from_service: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Shows flows where either the source or destination IP address matches the ClusterIP address of the given service name prefix ([namespace/]<svc-name>). If namespace is not provided, 'default' is used. ")]
    pub service: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Shows flows where the destination IP address matches the ClusterIP address of the given service name prefix ([namespace/]<svc-name>). If namespace is not provided, 'default' is used")]
    pub to_service: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows with the given source port (e.g. 8080)")]
    pub from_port: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows with given port in either source or destination (e.g. 8080)")]
    pub port: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show only flows with the given destination port (e.g. 8080)")]
    pub to_port: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating at an endpoint with the given workload")]
    pub from_workload: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows related to an endpoint with the given workload")]
    pub workload: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows terminating at an endpoint with the given workload")]
    pub to_workload: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows originating at an endpoint with the given security identity")]
    pub from_identity: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows related to an endpoint with the given security identity")]
    pub identity: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows terminating at an endpoint with the given security identity")]
    pub to_identity: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows in the given traffic direction (either ingress or egress)")]
    pub traffic_direction: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", allow_hyphen_values = true, help = "Filter flows using the given CEL expression")]
    pub cel_expression: Vec<String>,

    #[arg(long, action = ArgAction::Append, value_name = "filter", help = "Show all flows observed at the given interface name (e.g. eth0)")]
    pub interface: Vec<String>,

    #[arg(long, action = ArgAction::Append, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Show only encrypted flows (WireGuard/IPsec)")]
    pub encrypted: Vec<String>,

    #[arg(long, action = ArgAction::Append, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Show only unencrypted flows")]
    pub unencrypted: Vec<String>,
}

/// Hubble's name of each filter flag and clap's id for it.
pub const FILTER_FLAGS: &[(&str, &str)] = &[
    ("not", "not"),
    ("uuid", "uuid"),
    ("node-name", "node_name"),
    ("node-label", "node_label"),
    ("from-cluster", "from_cluster"),
    ("cluster", "cluster"),
    ("to-cluster", "to_cluster"),
    ("protocol", "protocol"),
    ("tcp-flags", "tcp_flags"),
    ("type", "type"),
    ("verdict", "verdict"),
    ("drop-reason-desc", "drop_reason_desc"),
    ("http-status", "http_status"),
    ("http-method", "http_method"),
    ("http-path", "http_path"),
    ("http-url", "http_url"),
    ("http-header", "http_header"),
    ("trace-id", "trace_id"),
    ("ip-trace-id", "ip_trace_id"),
    ("from-fqdn", "from_fqdn"),
    ("fqdn", "fqdn"),
    ("to-fqdn", "to_fqdn"),
    ("from-ip", "from_ip"),
    ("snat-ip", "snat_ip"),
    ("ip", "ip"),
    ("to-ip", "to_ip"),
    ("ipv4", "ipv4"),
    ("ipv6", "ipv6"),
    ("ip-version", "ip_version"),
    ("from-pod", "from_pod"),
    ("pod", "pod"),
    ("to-pod", "to_pod"),
    ("from-namespace", "from_namespace"),
    ("namespace", "namespace"),
    ("to-namespace", "to_namespace"),
    ("from-all-namespaces", "from_all_namespaces"),
    ("all-namespaces", "all_namespaces"),
    ("to-all-namespaces", "to_all_namespaces"),
    ("from-label", "from_label"),
    ("label", "label"),
    ("to-label", "to_label"),
    ("from-service", "from_service"),
    ("service", "service"),
    ("to-service", "to_service"),
    ("from-port", "from_port"),
    ("port", "port"),
    ("to-port", "to_port"),
    ("from-workload", "from_workload"),
    ("workload", "workload"),
    ("to-workload", "to_workload"),
    ("from-identity", "from_identity"),
    ("identity", "identity"),
    ("to-identity", "to_identity"),
    ("traffic-direction", "traffic_direction"),
    ("cel-expression", "cel_expression"),
    ("interface", "interface"),
    ("encrypted", "encrypted"),
    ("unencrypted", "unencrypted"),
];

/// One filter flag as typed: Hubble's name for it and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterFlag {
    pub name: &'static str,
    pub value: String,
}

/// The filter flags of `matches` in the order they were typed, which is the
/// order Hubble applies them in.
pub fn filter_flags_in_order(matches: &ArgMatches) -> Vec<FilterFlag> {
    let mut flags: Vec<(usize, FilterFlag)> = Vec::new();
    for &(name, id) in FILTER_FLAGS {
        let (Some(indices), Some(values)) =
            (matches.indices_of(id), matches.get_many::<String>(id))
        else {
            continue;
        };
        for (index, value) in indices.zip(values) {
            flags.push((
                index,
                FilterFlag {
                    name,
                    value: value.clone(),
                },
            ));
        }
    }
    flags.sort_by_key(|(index, _)| *index);
    flags.into_iter().map(|(_, flag)| flag).collect()
}

/// Hubble's "Raw-Filters Flags".
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Raw-Filters Flags")]
pub struct RawFilterArgs {
    /// Specify allowlist as JSON encoded FlowFilters
    #[arg(long, value_name = "stringArray", action = ArgAction::Append, env = "HUBBLE_ALLOWLIST", value_delimiter = None)]
    pub allowlist: Vec<String>,

    /// Specify denylist as JSON encoded FlowFilters
    #[arg(long, value_name = "stringArray", action = ArgAction::Append, env = "HUBBLE_DENYLIST", value_delimiter = None)]
    pub denylist: Vec<String>,
}
