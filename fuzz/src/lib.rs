//! What the fuzz targets check, one function per target. The targets under
//! `fuzz_targets/` call these on libFuzzer's inputs (`cargo +nightly fuzz`);
//! `tests/fuzz_corpora.rs` includes this file and runs every kept input of
//! `corpus/` and `crashes/` through the same functions on stable, so that a
//! finding stays fixed without nightly.
//!
//! Every check must hold for any input: no panic, and the hand-written
//! jsonpb reader agrees with the serde decoder on each line it takes.

use std::{cell::RefCell, path::PathBuf, sync::OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use hubl::{
    cli::{FILTER_FLAGS, FilterFlag},
    config::{KEYS, Kind, Layers},
    filter::{FlowMatcher, build_filters, cel::CelFilter, labels::Selector, parse_raw_filters},
    printer::{Format, PrintOptions, Printer, TimeFormat},
    proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
    source,
};

/// Flows to evaluate filters on: the conformance capture.
fn sample() -> &'static [GetFlowsResponse] {
    static SAMPLE: OnceLock<Vec<GetFlowsResponse>> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        include_str!("../../tests/fixtures/conformance/flows.jsonl")
            .lines()
            .filter_map(|line| source::decode_line(line.as_bytes()).ok())
            .map(|(response, _)| response)
            .collect()
    })
}

fn options(format: Format) -> PrintOptions {
    PrintOptions {
        format,
        time_format: TimeFormat::Rfc3339Nano,
        node_name: true,
        policy_names: true,
        color: false,
        ip_translation: true,
        debug: true,
    }
}

fn printed(format: Format, response: &GetFlowsResponse) -> Vec<u8> {
    let mut out = Vec::new();
    let mut printer = Printer::new(options(format), &mut out, std::io::sink());
    printer
        .write_response(response)
        .expect("writing to memory cannot fail");
    printer.finish().expect("writing to memory cannot fail");
    out
}

/// One encoded `GetFlowsResponse`: the JSON written straight from the
/// bytes, when the printer takes them, is what it writes once it decodes
/// them; bytes that do not decode are never taken.
pub fn wire_json(data: &[u8]) {
    let mut wire = Vec::new();
    let mut printer = Printer::new(options(Format::Json), &mut wire, std::io::sink());
    let taken = printer
        .write_wire_json(data)
        .expect("writing to memory cannot fail");
    printer.finish().expect("writing to memory cannot fail");
    if !taken {
        assert!(wire.is_empty(), "declined, yet wrote {wire:?}");
        return;
    }
    let response = <GetFlowsResponse as prost::Message>::decode(data)
        .unwrap_or_else(|error| panic!("took bytes that do not decode: {error}"));
    assert_eq!(
        String::from_utf8_lossy(&wire),
        String::from_utf8_lossy(&printed(Format::Json, &response))
    );
}

/// One jsonpb line: both hand readings, when they take it, give what the
/// serde decoder gives (the whole reading the same response, the headline
/// reading the same compact, dict and table output); the headline reading
/// takes no line that the decoder refuses; any decoded line prints.
pub fn jsonpb(data: &[u8]) {
    let full = source::decode_line(data);
    if let Ok(line) = std::str::from_utf8(data) {
        if let Some(whole) = source::decode_line_whole(line) {
            match &full {
                Ok((response, None)) => assert_eq!(&whole, response, "whole reading of {line:?}"),
                other => panic!("whole reading took {line:?}, the decoder gave {other:?}"),
            }
            source::recycle(whole);
        }
        if let Some(lean) = source::decode_line_lean(line) {
            let Ok((response, None)) = &full else {
                panic!("headline reading took {line:?}, the decoder gave {full:?}");
            };
            for format in [Format::Compact, Format::Dict, Format::Table] {
                assert_eq!(
                    String::from_utf8_lossy(&printed(format, &lean)),
                    String::from_utf8_lossy(&printed(format, response)),
                    "{format:?} output of {line:?}"
                );
            }
            source::recycle(lean);
        }
    }
    if let Ok((response, _)) = &full {
        for format in [Format::Json, Format::Compact, Format::Dict, Format::Table] {
            printed(format, response);
        }
    }
}

/// Filter flags, one `name=value` a line (an unknown name picks a flag by
/// its length; `allowlist`/`denylist` take raw JSON filters): whatever
/// builds is compiled and evaluated on the sample flows.
pub fn filter_flags(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut flags = Vec::new();
    let mut raw = (Vec::new(), Vec::new());
    for entry in text.split('\n') {
        let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
        match name {
            "allowlist" => raw.0.push(value.to_owned()),
            "denylist" => raw.1.push(value.to_owned()),
            _ => {
                let name = FILTER_FLAGS
                    .iter()
                    .map(|&(flag, _)| flag)
                    .find(|&flag| flag == name)
                    .unwrap_or(FILTER_FLAGS[name.len() % FILTER_FLAGS.len()].0);
                flags.push(FilterFlag {
                    name,
                    value: value.to_owned(),
                });
            }
        }
    }
    let Ok((mut allow, mut deny)) = build_filters(&flags) else {
        return;
    };
    match (
        parse_raw_filters(&raw.0, "allowlist"),
        parse_raw_filters(&raw.1, "denylist"),
    ) {
        (Ok(more_allow), Ok(more_deny)) => {
            allow.extend(more_allow);
            deny.extend(more_deny);
        }
        _ => return,
    }
    if let Ok(matcher) = FlowMatcher::new(&allow, &deny) {
        for response in sample() {
            matcher.matches(response);
        }
    }
}

/// A label selector (`--label`, `--from-label`, ...): parsed, and if it
/// parses, matched against the sample flows' endpoint labels.
pub fn labels(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(selector) = Selector::parse(text) else {
        return;
    };
    for response in sample() {
        if let Some(ResponseTypes::Flow(flow)) = &response.response_types {
            for endpoint in [&flow.source, &flow.destination].into_iter().flatten() {
                selector.matches(&endpoint.labels);
            }
        }
    }
}

/// A `--cel-expression`: compiled, and if it compiles, evaluated on a few
/// sample flows (each evaluation converts the flow: the whole sample would
/// slow the fuzzer down a hundredfold).
pub fn cel(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(filter) = CelFilter::new(&[text.to_owned()]) else {
        return;
    };
    for response in sample().iter().step_by(40) {
        if let Some(ResponseTypes::Flow(flow)) = &response.response_types {
            filter.matches(flow);
        }
    }
}

/// A `--since`/`--until` value, against two reference times: what parses
/// is a valid timestamp.
pub fn time(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let nows: [DateTime<Utc>; 2] = [
        Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap(),
        DateTime::UNIX_EPOCH,
    ];
    for now in nows {
        if let Some(time) = hubl::filter::time::parse(text, now) {
            assert!(
                (0..1_000_000_000).contains(&time.nanos),
                "{text:?} gave {time:?}"
            );
        }
    }
}

thread_local! {
    static CONFIG_FILE: RefCell<Option<(tempfile::TempDir, PathBuf)>> = const { RefCell::new(None) };
}

/// A config file: loaded, and if it loads, every key read as its kind.
pub fn config(data: &[u8]) {
    let path = CONFIG_FILE.with_borrow_mut(|file| {
        let (_, path) = file.get_or_insert_with(|| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("config.yaml");
            (dir, path)
        });
        std::fs::write(&*path, data).expect("writing the config file");
        path.clone()
    });
    let env = |name: &str| (name == "HUBBLE_CONFIG").then(|| path.display().to_string());
    let Ok(layers) = Layers::load(Vec::new(), env) else {
        return;
    };
    for key in KEYS {
        let _ = match key.kind {
            Kind::Bool => layers.bool(key.name).map(drop),
            Kind::String | Kind::Port => layers.string(key.name).map(drop),
            Kind::Duration => layers.duration(key.name).map(drop),
            Kind::StringSlice => layers.list(key.name).map(drop),
        };
    }
    hubl::config::to_yaml(&serde_yaml_ng::Value::Mapping(layers.all_settings()));
}
