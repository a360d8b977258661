#!/usr/bin/env bash
# Memory of a long-running `hubl observe --follow`, as a log shipper runs it:
# the client follows `hubl serve --rate RATE` on loopback for SECONDS and its
# resident set size is sampled every 10 seconds. Prints the samples' first,
# peak and last values and the growth after the first minute (allocator
# arenas and buffers settle during warm-up), and writes every sample to
# bench-results/follow-rss.csv.
#
#   scripts/follow-rss.sh [SECONDS] [RATE]    (defaults: 3600 s, 20000 flows/s)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN=${1:-3600}
RATE=${2:-20000}
OUT=bench-results
CAPTURE=$OUT/capture-100000.jsonl
mkdir -p "$OUT"

cargo build --release --locked --quiet
cargo build --release --locked --quiet --example gen_capture
HUBL=target/release/hubl
if [[ ! -s $CAPTURE ]]; then
    target/release/examples/gen_capture 100000 >"$CAPTURE.tmp"
    mv "$CAPTURE.tmp" "$CAPTURE"
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$HUBL" serve --input-file "$CAPTURE" --listen "127.0.0.1:$PORT" --rate "$RATE" >/dev/null 2>&1 &
SERVER_PID=$!
CLIENT_PID=
trap 'kill $SERVER_PID $CLIENT_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    "$HUBL" observe --server "127.0.0.1:$PORT" --last 1 >/dev/null 2>&1 && break
    sleep 0.5
done

"$HUBL" observe --server "127.0.0.1:$PORT" --follow -o compact >/dev/null &
CLIENT_PID=$!
echo "seconds,rss_kib" >"$OUT/follow-rss.csv"
START=$(date +%s)
while (($(date +%s) - START < SECONDS_TO_RUN)); do
    sleep 10
    if ! kill -0 "$CLIENT_PID" 2>/dev/null; then
        echo "the client exited early" >&2
        exit 1
    fi
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$CLIENT_PID/status")
    echo "$(($(date +%s) - START)),$rss" >>"$OUT/follow-rss.csv"
done

python3 - "$OUT/follow-rss.csv" "$RATE" <<'PY'
import csv, sys
rows = [(int(r["seconds"]), int(r["rss_kib"])) for r in csv.DictReader(open(sys.argv[1]))]
settled = [kib for seconds, kib in rows if seconds >= 60] or [rows[-1][1]]
print(f"follow at {sys.argv[2]} flows/s for {rows[-1][0]} s: "
      f"RSS first {rows[0][1] / 1024:.1f} MiB, peak {max(k for _, k in rows) / 1024:.1f} MiB, "
      f"last {rows[-1][1] / 1024:.1f} MiB; growth after the first minute "
      f"{(max(settled) - settled[0]) / 1024:.2f} MiB")
PY
