//! Writes the corrupted capture of `tests/corrupted_capture.rs` to stdout,
//! to run hubble on it: see tests/fixtures/corrupted/README.md.

#[path = "../tests/corrupt/generator.rs"]
mod generator;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let flows = include_str!("../tests/fixtures/conformance/flows.jsonl");
    std::io::stdout().write_all(&generator::capture(flows))
}
