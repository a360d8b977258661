#!/usr/bin/env bash
# Writes link/hot-functions.txt: the functions of the release binary that
# the common paths run (observe over gRPC and from a file in each format,
# --follow, metrics, --aggregate-by, --help), by their symbol names, in the
# order first run. build.rs hands the list to the linker, which lays these
# functions out together so that a run keeps little of the text resident.
# Rerun it after a toolchain or dependency update (names the build no
# longer has are skipped, so a stale list costs only the layout). Needs
# valgrind.
#
#   scripts/hot-functions.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# The binary as `cargo build --release` and `cargo install` build it: an
# example in the same invocation would bring in the dev-dependencies'
# features, and with them other symbol names.
cargo build --release --locked --quiet --bin hubl
cargo build --release --locked --quiet --example gen_capture
HUBL=$PWD/target/release/hubl
target/release/examples/gen_capture 3000 >"$WORK/capture.jsonl"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$HUBL" serve --input-file "$WORK/capture.jsonl" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    "$HUBL" observe --server "127.0.0.1:$PORT" --last 1 >/dev/null 2>&1 && break
    sleep 0.2
done

run=0
profile() {
    run=$((run + 1))
    valgrind --tool=callgrind --demangle=no --compress-strings=no \
        --callgrind-out-file="$WORK/run.$run" "$HUBL" "$@" >/dev/null 2>&1
}
for format in compact jsonpb dict; do
    profile observe --server "127.0.0.1:$PORT" --last 3000 -o "$format"
done
for format in compact jsonpb json; do
    profile observe --input-file "$WORK/capture.jsonl" -o "$format"
done
profile observe --input-file "$WORK/capture.jsonl" --not --namespace a --not --namespace b
profile metrics --input-file "$WORK/capture.jsonl" --metrics dns,drop,tcp,flow,icmp,http
profile observe --input-file "$WORK/capture.jsonl" --aggregate-by source,destination,port,verdict
profile --help
# --follow until interrupted, as a log shipper stops it.
run=$((run + 1))
valgrind --tool=callgrind --demangle=no --compress-strings=no \
    --callgrind-out-file="$WORK/run.$run" \
    "$HUBL" observe --server "127.0.0.1:$PORT" --follow >/dev/null 2>&1 &
FOLLOW_PID=$!
sleep 8
kill -INT "$FOLLOW_PID"
wait "$FOLLOW_PID" || true

python3 - "$WORK" "$HUBL" "$run" <<'PY' >link/hot-functions.txt
import sys
work, binary, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {}
for run in range(1, runs + 1):
    objects = ""
    for line in open(f"{work}/run.{run}", errors="replace"):
        if line.startswith("ob="):
            objects = line[3:].strip()
        elif line.startswith("fn=") and objects == binary:
            # callgrind marks recursion levels with 'N.
            name = line[3:].strip().split("'")[0]
            # Symbols only: callgrind names code without one by address.
            if name.startswith("_"):
                seen.setdefault(name, None)
print("\n".join(seen))
PY
echo "$(wc -l <link/hot-functions.txt) functions in link/hot-functions.txt"
