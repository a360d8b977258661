//! Cost of rendering each output format (JSON also from responses as
//! received over gRPC), of decoding jsonpb lines (whole,
//! and leanly for compact, dict and table output), of evaluating filters
//! and of counting flows into groups (`--aggregate-by`), over the
//! conformance corpus (about 400 realistic responses).

use std::{hint::black_box, io, path::Path};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hubl::{
    aggregate::{Aggregator, Key},
    filter::FlowMatcher,
    printer::{Format, PrintOptions, Printer, TimeFormat},
    proto::{flow::FlowFilter, observer::GetFlowsResponse},
    source,
};
use prost::Message;

fn corpus() -> (Vec<u8>, Vec<GetFlowsResponse>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance/flows.jsonl");
    let text = std::fs::read(path).expect("the conformance corpus");
    let responses = text
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect();
    (text, responses)
}

fn options(format: Format) -> PrintOptions {
    PrintOptions {
        format,
        time_format: TimeFormat::StampMilli,
        node_name: false,
        policy_names: false,
        color: false,
        ip_translation: true,
        debug: false,
    }
}

fn printers(c: &mut Criterion) {
    let (_, responses) = corpus();
    let mut group = c.benchmark_group("print");
    group.throughput(Throughput::Elements(responses.len() as u64));
    for (name, format) in [
        ("compact", Format::Compact),
        ("dict", Format::Dict),
        ("table", Format::Table),
        ("jsonpb", Format::Json),
    ] {
        let mut out = Vec::with_capacity(1 << 20);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut printer = Printer::new(options(format), &mut out, io::sink());
                for response in &responses {
                    printer
                        .write_response(black_box(response))
                        .expect("in memory");
                }
                printer.finish().expect("in memory");
            })
        });
    }
    // JSON from responses as received over gRPC: decoded with prost and
    // serialised, as before, or written straight from the bytes.
    let encoded: Vec<Vec<u8>> = responses.iter().map(Message::encode_to_vec).collect();
    let mut out = Vec::with_capacity(1 << 20);
    group.bench_function("jsonpb_from_wire_decoded", |b| {
        b.iter(|| {
            out.clear();
            let mut printer = Printer::new(options(Format::Json), &mut out, io::sink());
            for bytes in &encoded {
                let response = GetFlowsResponse::decode(black_box(&bytes[..])).expect("encoded");
                printer.write_response(&response).expect("in memory");
            }
            printer.finish().expect("in memory");
        })
    });
    group.bench_function("jsonpb_from_wire", |b| {
        b.iter(|| {
            out.clear();
            let mut printer = Printer::new(options(Format::Json), &mut out, io::sink());
            for bytes in &encoded {
                if !printer
                    .write_wire_json(black_box(bytes))
                    .expect("in memory")
                {
                    let response = GetFlowsResponse::decode(&bytes[..]).expect("encoded");
                    printer.write_response(&response).expect("in memory");
                }
            }
            printer.finish().expect("in memory");
        })
    });
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let (text, responses) = corpus();
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(responses.len() as u64));
    group.bench_function("jsonpb_line", |b| {
        b.iter(|| {
            for line in &lines {
                let _ = black_box(source::decode_line(black_box(line)));
            }
        })
    });
    let texts: Vec<&str> = lines
        .iter()
        .map(|line| std::str::from_utf8(line).expect("UTF-8 corpus"))
        .collect();
    group.bench_function("jsonpb_line_lean", |b| {
        b.iter(|| {
            for text in &texts {
                let _ = black_box(source::decode_line_lean(black_box(text)));
            }
        })
    });
    group.bench_function("jsonpb_line_whole", |b| {
        b.iter(|| {
            for text in &texts {
                let _ = black_box(source::decode_line_whole(black_box(text)));
            }
        })
    });
    // As `observe` reads: each response given back once printed.
    for (name, decode) in [
        (
            "jsonpb_line_lean_recycled",
            source::decode_line_lean as fn(&str) -> _,
        ),
        ("jsonpb_line_whole_recycled", source::decode_line_whole),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for text in &texts {
                    if let Some(response) = decode(black_box(text)) {
                        source::recycle(black_box(response));
                    }
                }
            })
        });
    }
    group.finish();
}

fn filters(json: &[String]) -> Vec<FlowFilter> {
    json.iter()
        .map(|filter| serde_json::from_str(filter).expect("a FlowFilter"))
        .collect()
}

fn filtering(c: &mut Criterion) {
    let (_, responses) = corpus();
    // What `--not --namespace bench-ns-N` sends, twenty times over.
    let namespaces: Vec<String> = (1..=20)
        .flat_map(|n| {
            [
                format!(r#"{{"source_pod":["bench-ns-{n}/"]}}"#),
                format!(r#"{{"destination_pod":["bench-ns-{n}/"]}}"#),
            ]
        })
        .collect();
    let mixed = [
        r#"{"source_pod":["cilium-test/"],"verdict":["DROPPED","FORWARDED"]}"#.to_owned(),
        r#"{"destination_port":["53","80","443"],"protocol":["tcp","udp"]}"#.to_owned(),
        r#"{"source_label":["k8s:app=client","reserved:host"]}"#.to_owned(),
        r#"{"destination_ip":["10.0.0.0/8"],"http_method":["GET"]}"#.to_owned(),
    ];
    let cases = [
        (
            "20_denied_namespaces",
            FlowMatcher::new(&[], &filters(&namespaces)),
        ),
        ("mixed_allow_list", FlowMatcher::new(&filters(&mixed), &[])),
    ];
    let mut group = c.benchmark_group("filter");
    group.throughput(Throughput::Elements(responses.len() as u64));
    for (name, matcher) in cases {
        let matcher = matcher.expect("valid filters");
        group.bench_function(name, |b| {
            b.iter(|| {
                responses
                    .iter()
                    .filter(|response| matcher.matches(black_box(response)))
                    .count()
            })
        });
    }
    group.finish();
}

/// Counting the corpus into groups, against `print/compact` above: the
/// per-flow cost of `--aggregate-by` once groups exist.
fn aggregating(c: &mut Criterion) {
    let (_, responses) = corpus();
    let flows: Vec<_> = responses
        .iter()
        .filter_map(|response| match &response.response_types {
            Some(hubl::proto::observer::get_flows_response::ResponseTypes::Flow(flow)) => {
                Some(flow.as_ref())
            }
            _ => None,
        })
        .collect();
    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(responses.len() as u64));
    for key in [
        "source,destination,port,verdict",
        "source:workload,destination:namespace,l7",
    ] {
        let key = Key::parse(&[key.to_owned()]).expect("a valid key");
        let mut aggregator: Aggregator = Aggregator::new(key.clone(), 10_000, 10_000);
        group.bench_function(key.to_string(), |b| {
            b.iter(|| {
                for (index, flow) in flows.iter().enumerate() {
                    aggregator.record(black_box(flow), index as u64);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, printers, decoding, filtering, aggregating);
criterion_main!(benches);
