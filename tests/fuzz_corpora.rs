//! Replays the fuzzers' kept inputs on stable: every file of
//! `fuzz/corpus/TARGET/` (a minimized set of interesting inputs) and
//! `fuzz/crashes/TARGET/` (inputs that once failed, fixed since) goes
//! through the check its fuzz target runs, the same code
//! (`fuzz/src/lib.rs`). `scripts/fuzz.sh` runs the fuzzers themselves.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::{fs, panic, path::Path};

fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = 0;
    let mut failed = Vec::new();
    for kept in ["corpus", "crashes"] {
        let Ok(entries) = fs::read_dir(fuzz.join(kept).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable corpus").path();
            let data = fs::read(&path).expect("a readable input");
            inputs += 1;
            // On a stack as large as hubl's command thread has: the
            // deepest CEL expressions accepted need it.
            let replayed = std::thread::Builder::new()
                .stack_size(hubl::filter::cel::EVALUATION_STACK)
                .spawn(move || panic::catch_unwind(|| check(&data)))
                .expect("a thread to replay on")
                .join();
            if !matches!(replayed, Ok(Ok(()))) {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(
        inputs >= 10,
        "{target}: only {inputs} inputs kept under fuzz/"
    );
    assert!(failed.is_empty(), "{target}: failed on {failed:#?}");
}

#[test]
fn jsonpb_inputs() {
    replay("jsonpb", checks::jsonpb);
}

#[test]
fn wire_json_inputs() {
    replay("wire_json", checks::wire_json);
}

#[test]
fn filter_flag_inputs() {
    replay("filter_flags", checks::filter_flags);
}

#[test]
fn label_selector_inputs() {
    replay("labels", checks::labels);
}

#[test]
fn cel_inputs() {
    replay("cel", checks::cel);
}

#[test]
fn time_inputs() {
    replay("time", checks::time);
}

#[test]
fn config_inputs() {
    replay("config", checks::config);
}
