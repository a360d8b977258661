#!/usr/bin/env bash
# Soak run of a reconnecting `hubl observe --follow`: a relay serving
# RATE flows/s (examples/soak_relay.rs, whose buffer outlives it as a real
# relay's agents keep theirs) is killed RESTARTS times over SECONDS, each
# time down for 0 to 3 s. At the end, every flow the relay served must have
# been printed exactly once and in order (each flow's summary is its
# index), with one "lost" and one "reconnected" line per restart. Samples
# the client's RSS every 10 seconds into bench-results/follow-soak.csv and
# prints first, peak and last values.
#
#   scripts/follow-soak.sh [SECONDS] [RESTARTS] [RATE]   (defaults: 600 s, 20, 20000 flows/s)
#   HUBL=... RELAY=... scripts/follow-soak.sh            (binaries built already)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-600}
RESTARTS=${2:-20}
RATE=${3:-20000}
COUNT=$((DURATION * RATE))
# A minute of flows in the relay's buffer, as a real relay holds a few
# thousand per node.
WINDOW=60
OUT=bench-results
mkdir -p "$OUT"

# HUBL and RELAY may name binaries built already.
if [[ -z ${HUBL:-} || -z ${RELAY:-} ]]; then
    cargo build --release --locked --quiet --bin hubl --example soak_relay
    HUBL=target/release/hubl
    RELAY=target/release/examples/soak_relay
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDRESS=127.0.0.1:$PORT
# Flows are observed from two seconds from now.
START=$(($(date +%s%N) + 2000000000))

RELAY_PID=
CLIENT_PID=
trap 'kill $RELAY_PID $CLIENT_PID 2>/dev/null || true' EXIT

start_relay() {
    "$RELAY" "$ADDRESS" "$START" "$RATE" "$COUNT" "$WINDOW" &
    RELAY_PID=$!
}

start_relay
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

# The client's output goes straight into the checker: it counts the flows
# and notes the first places where an index is repeated or skipped.
"$HUBL" observe --server "$ADDRESS" --follow --all -o compact \
    2>"$OUT/follow-soak.err" \
    > >(awk -v out="$OUT/follow-soak.check" '
        match($0, /\(flow [0-9]+\)$/) {
            n = substr($0, RSTART + 6, RLENGTH - 7) + 0
            if (n != next_index && problems < 10) {
                problems++
                print (n < next_index ? "repeated" : "skipped to"), n, "expected", next_index > out
            }
            if (n >= next_index) next_index = n + 1
            printed++
            next
        }
        { other++ }
        END { print "printed", printed + 0, "next", next_index + 0, "other", other + 0, "problems", problems + 0 > out }
    ') &
CLIENT_PID=$!

echo "seconds,rss_kib" >"$OUT/follow-soak.csv"
sample() {
    local rss
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$CLIENT_PID/status")
    echo "$(($(date +%s) - BEGAN)),$rss" >>"$OUT/follow-soak.csv"
}
BEGAN=$(date +%s)
PERIOD=$((DURATION / RESTARTS))
for restart in $(seq 1 "$RESTARTS"); do
    # Up for the rest of the period, sampling, then killed.
    until (($(date +%s) - BEGAN >= restart * PERIOD - 3)); do
        sleep 10
        kill -0 "$CLIENT_PID" 2>/dev/null || { echo "the client exited early:" >&2; cat "$OUT/follow-soak.err" >&2; exit 1; }
        sample
    done
    kill -9 "$RELAY_PID"
    wait "$RELAY_PID" 2>/dev/null || true
    sleep "$((RANDOM % 3)).$((RANDOM % 10))"
    start_relay
done
# The last flows are observed at START + DURATION; give the client time to
# come back from the last restart and catch up.
while (($(date +%s%N) < START + DURATION * 1000000000 + 15000000000)); do
    sleep 5
    sample
done
HWM=$(awk '/^VmHWM:/ {print $2}' "/proc/$CLIENT_PID/status")
kill "$CLIENT_PID"
wait "$CLIENT_PID" 2>/dev/null || true
sleep 1

lost=$(grep -c '; reconnecting$' "$OUT/follow-soak.err" || true)
back=$(grep -c '^reconnected after ' "$OUT/follow-soak.err" || true)
cat "$OUT/follow-soak.check"
python3 - "$OUT/follow-soak.csv" "$HWM" <<'PY'
import csv, sys
rows = [(int(r["seconds"]), int(r["rss_kib"])) for r in csv.DictReader(open(sys.argv[1]))]
settled = [kib for seconds, kib in rows if seconds >= 60] or [rows[-1][1]]
print(f"RSS first {rows[0][1] / 1024:.1f} MiB, peak {max(k for _, k in rows) / 1024:.1f} MiB, "
      f"last {rows[-1][1] / 1024:.1f} MiB (high-water mark {int(sys.argv[2]) / 1024:.1f} MiB); "
      f"growth after the first minute {(max(settled) - settled[0]) / 1024:.2f} MiB")
PY
echo "outages reported: $lost lost, $back reconnected (restarts: $RESTARTS)"
summary=$(tail -1 "$OUT/follow-soak.check")
if [[ $summary != "printed $COUNT next $COUNT other 0 problems 0" || $lost != "$RESTARTS" || $back != "$RESTARTS" ]]; then
    echo "FAILED: expected $COUNT flows printed once each and $RESTARTS outages" >&2
    exit 1
fi
echo "ok: $COUNT flows at $RATE flows/s through $RESTARTS restarts, each printed once, in order"
