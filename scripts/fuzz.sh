#!/usr/bin/env bash
# Runs the cargo-fuzz targets under fuzz/ one at a time, each for SECONDS
# (default 600), at the lowest priority, then minimizes each corpus so that
# the kept inputs stay few. Needs nightly and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# Crashes land in fuzz/artifacts/TARGET/; copy the ones fixed to
# fuzz/crashes/TARGET/ so that `cargo test --test fuzz_corpora` replays them.
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(filter_flags labels cel time config jsonpb wire_json)
fi
nice -n 19 cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "== $target: ${seconds}s"
    # A crash stops this target only: the others still run.
    nice -n 19 cargo +nightly fuzz run -O "$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 || echo "== $target: stopped with a finding, see fuzz/artifacts/$target"
    # Keep a small set that covers the same edges (libFuzzer's set-cover
    # merge without hit counts), so that the corpora stay a few hundred
    # files that `cargo test` replays in seconds.
    minimized=$(mktemp -d)
    nice -n 19 "target/x86_64-unknown-linux-gnu/release/$target" -set_cover_merge=1 \
        -use_counters=0 -use_value_profile=0 "$minimized" "corpus/$target"
    rm -rf "corpus/$target" && mv "$minimized" "corpus/$target"
done
