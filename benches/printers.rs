//! Cost of rendering each output format, and of decoding jsonpb lines, over
//! the conformance corpus (about 400 realistic responses).

use std::{hint::black_box, io, path::Path};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hubl::{
    printer::{Format, PrintOptions, Printer, TimeFormat},
    proto::observer::GetFlowsResponse,
};

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
                let decoded: Result<GetFlowsResponse, _> = serde_json::from_slice(black_box(line));
                let _ = black_box(decoded);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, printers, decoding);
criterion_main!(benches);
