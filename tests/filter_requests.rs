//! Flag sets and the GetFlowsRequest hubl sends for them, as recorded by the
//! in-process fake relay; each expectation follows `hubble observe`'s own
//! construction (hubble/cmd/observe/flows_filter.go).

mod support;

use hubl::proto::{
    Timestamp,
    flow::{FlowFilter, Verdict},
    observer::GetFlowsRequest,
};
use pbjson_types::FieldMask;
use support::{
    relay::{FakeRelay, Script},
    run_hubl,
};

/// The mask Hubble asks for with compact, dict and table output.
fn default_mask() -> Option<FieldMask> {
    Some(FieldMask {
        paths: hubl::filter::DEFAULT_FIELD_MASK
            .iter()
            .map(|p| p.to_string())
            .collect(),
    })
}

fn request_for(flags: &[&str]) -> GetFlowsRequest {
    let relay = FakeRelay::start(Script::default());
    let mut args = vec!["observe".to_string(), "--server".into(), relay.server()];
    args.extend(flags.iter().map(|f| f.to_string()));
    let output = run_hubl(&args, b"");
    assert!(output.status.success(), "{flags:?}: {output:?}");
    let mut requests = relay.requests();
    assert_eq!(requests.len(), 1);
    requests.remove(0)
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

#[test]
fn a_namespace_becomes_two_ored_filters() {
    let request = request_for(&["--namespace", "cilium-test"]);
    assert_eq!(
        request,
        GetFlowsRequest {
            number: 20,
            whitelist: vec![
                FlowFilter {
                    source_pod: strings(&["cilium-test/"]),
                    ..FlowFilter::default()
                },
                FlowFilter {
                    destination_pod: strings(&["cilium-test/"]),
                    ..FlowFilter::default()
                },
            ],
            field_mask: default_mask(),
            ..GetFlowsRequest::default()
        }
    );
}

#[test]
fn from_and_to_flags_pair_up_into_one_filter() {
    let request = request_for(&[
        "--from-namespace",
        "a",
        "--to-namespace",
        "b",
        "--protocol",
        "tcp",
        "--to-port",
        "80",
    ]);
    assert_eq!(
        request.whitelist,
        vec![FlowFilter {
            source_pod: strings(&["a/"]),
            destination_pod: strings(&["b/"]),
            protocol: strings(&["tcp"]),
            destination_port: strings(&["80"]),
            ..FlowFilter::default()
        }]
    );
    assert!(request.blacklist.is_empty());
}

#[test]
fn not_negates_only_the_next_flag() {
    let request = request_for(&[
        "--not",
        "--verdict",
        "DROPPED",
        "--protocol",
        "udp",
        "-o",
        "json",
    ]);
    assert_eq!(
        request,
        GetFlowsRequest {
            number: 20,
            whitelist: vec![FlowFilter {
                protocol: strings(&["udp"]),
                ..FlowFilter::default()
            }],
            blacklist: vec![FlowFilter {
                verdict: vec![Verdict::Dropped as i32],
                ..FlowFilter::default()
            }],
            ..GetFlowsRequest::default()
        }
    );
}

#[test]
fn two_sided_flags_split_into_source_and_destination() {
    let request = request_for(&["--pod", "cilium-test/client", "--to-port", "8080"]);
    assert_eq!(
        request.whitelist,
        vec![
            FlowFilter {
                source_pod: strings(&["cilium-test/client"]),
                destination_port: strings(&["8080"]),
                ..FlowFilter::default()
            },
            FlowFilter {
                destination_pod: strings(&["cilium-test/client"]),
                destination_port: strings(&["8080"]),
                ..FlowFilter::default()
            },
        ]
    );
}

#[test]
fn selectors_set_number_first_follow_and_times() {
    let request = request_for(&["--first", "5"]);
    assert_eq!(
        (request.number, request.first, request.follow),
        (5, true, false)
    );
    let request = request_for(&["--all"]);
    assert_eq!(request.number, u64::MAX);
    let request = request_for(&[
        "--since",
        "2023-01-01T00:00:00Z",
        "--until",
        "2023-01-02T00:00:00Z",
    ]);
    assert_eq!(request.number, 0);
    assert_eq!(
        request.since,
        Some(Timestamp {
            seconds: 1_672_531_200,
            nanos: 0
        })
    );
    assert_eq!(
        request.until,
        Some(Timestamp {
            seconds: 1_672_617_600,
            nanos: 0
        })
    );
    let request = request_for(&[
        "--allowlist",
        r#"{"source_pod":["a/"]}{"destinationPod":["b/"]}"#,
    ]);
    assert_eq!(
        request.whitelist,
        vec![
            FlowFilter {
                source_pod: strings(&["a/"]),
                ..FlowFilter::default()
            },
            FlowFilter {
                destination_pod: strings(&["b/"]),
                ..FlowFilter::default()
            },
        ]
    );
    let request = request_for(&["--use-default-field-masks=false"]);
    assert_eq!(request.field_mask, None);
}

#[test]
fn invalid_flags_are_refused_naming_the_flag() {
    for (flags, message) in [
        (
            &["--first", "1", "--last", "2"][..],
            "cannot set both --first and --last",
        ),
        (
            &["--first", "1", "--follow"][..],
            "cannot set both --first and --follow",
        ),
        (
            &["--verdict", "BOGUS"][..],
            "invalid argument \"BOGUS\" for \"--verdict\" flag: invalid --verdict value: BOGUS",
        ),
        (
            &["--not", "--not", "--pod", "x"][..],
            "consecutive --not statements",
        ),
        (
            &["--protocol", "tcp", "--not"][..],
            "trailing --not found in the arguments",
        ),
        (
            &["--ip", "1.1.1.1", "--from-ip", "2.2.2.2"][..],
            "filters --from-ip and --ip cannot be combined",
        ),
        (
            &["-t", "nope"][..],
            "for \"-t, --type\" flag: unable to parse type 'nope'",
        ),
        (&["--tcp-flags", "syn,bogus"][..], "unknown tcp flag: bogus"),
        (
            &["--identity", "nobody"][..],
            "invalid security identity, expected one of [host world",
        ),
        (
            &["--since", "yesterday"][..],
            "failed to parse the since time",
        ),
        (
            &["--allowlist", r#"{"bogus":1}"#][..],
            "invalid --allowlist flag: failed to decode",
        ),
        (
            &["--field-mask", "time"][..],
            "compact output format is not compatible with custom field mask",
        ),
        (
            &["-o", "json", "--field-mask", "time,source.nope"][..],
            r#"failed to construct field mask: proto: invalid path "source.nope" for message "flow.Flow""#,
        ),
        (
            &["-o", "json", "--field-mask", "source.labels.key"][..],
            r#"failed to construct field mask: proto: invalid path "source.labels.key" for message "flow.Flow""#,
        ),
        // One flag that conflicts twice reports both conflicts, a line each.
        (
            &[
                "--from-pod",
                "b/p",
                "--from-service",
                "b/s",
                "--from-namespace",
                "a",
            ][..],
            "invalid argument \"a\" for \"--from-namespace\" flag: namespace conflict: \"a\" does not contain \"b/p\"\nnamespace conflict: \"a\" does not contain \"b/s\"\n",
        ),
        (
            &["--pod", "a/x", "--service", "b/s"][..],
            "namespace of service \"b/s\" conflict with pod \"a\"",
        ),
    ] {
        let mut args = vec![
            "observe".to_string(),
            "--server".into(),
            "127.0.0.1:1".into(),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let output = run_hubl(&args, b"");
        assert_eq!(output.status.code(), Some(1), "{flags:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
}

#[test]
fn nested_field_mask_paths_are_sent_as_given() {
    let request = request_for(&[
        "-o",
        "json",
        "--field-mask",
        "source.namespace,time.seconds,l7.http.url",
    ]);
    assert_eq!(
        request.field_mask,
        Some(FieldMask {
            paths: strings(&["source.namespace", "time.seconds", "l7.http.url"]),
        })
    );
}

#[test]
fn a_pod_without_namespace_does_not_conflict_with_one() {
    let request = request_for(&["--from-pod", "/p", "--from-namespace", "a"]);
    assert_eq!(request.whitelist[0].source_pod, strings(&["/p"]));
}
