#!/usr/bin/env bash
# End-to-end benchmark of hubl as whole processes: CPU seconds (user+sys)
# per million flows, wall time, flows/s and peak RSS, medians of N runs.
#
#   scripts/bench.sh [FLOWS] [RUNS]      (defaults: 1000000 flows, 5 runs)
#
# It generates a deterministic capture with examples/gen_capture.rs, then
# measures `observe --input-file` (compact and jsonpb), the same with 20
# negated namespace filters, `--aggregate-by source,destination,port,verdict`
# (with its CPU as a ratio of compact's, from the same run), and
# `observe --server` against `hubl serve` on loopback (client process only)
# when this build has `serve`: -o compact, jsonpb and json (what log
# shippers send on), and 20 negated namespace filters the server evaluates,
# each also as a ratio to a decode-only floor measured in the same run
# (examples/decode_floor.rs: tonic and prost decode every response, nothing
# is printed). With hubble (HUBBLE=path, or hubble on PATH) the same
# scenarios run with hubble too, and hubl's CPU is given as a ratio to it.
# The table is printed and written to bench-results/latest.md for
# comparison between commits.
#
# PROFILE (default release, what `cargo install` builds) picks the cargo
# profile measured.
set -euo pipefail
cd "$(dirname "$0")/.."

FLOWS=${1:-1000000}
RUNS=${2:-5}
OUT=bench-results
CAPTURE=$OUT/capture-$FLOWS.jsonl
mkdir -p "$OUT"
if [[ ! -x /usr/bin/time ]]; then
    echo "scripts/bench.sh needs GNU time (/usr/bin/time; Debian package 'time')" >&2
    exit 1
fi

PROFILE=${PROFILE:-release}
# hubl as users build it: examples in the same invocation would bring in the
# dev-dependencies' features, another binary (see link/hot-functions.txt).
cargo build --profile "$PROFILE" --locked --quiet --bin hubl
cargo build --profile "$PROFILE" --locked --quiet --example gen_capture --example decode_floor
BUILT=target/$PROFILE
HUBL=$BUILT/hubl
HUBBLE=${HUBBLE:-$(command -v hubble || true)}

if [[ ! -s $CAPTURE ]]; then
    echo "generating $FLOWS flows into $CAPTURE" >&2
    "$BUILT/examples/gen_capture" "$FLOWS" >"$CAPTURE.tmp"
    mv "$CAPTURE.tmp" "$CAPTURE"
fi

# Runs a command RUNS times with stdout to /dev/null and prints the medians:
# "cpu_seconds wall_seconds max_rss_kib". GNU time measures each run (a
# Python parent's fork would count Python's pages in the child's peak RSS).
measure() {
    local runs=() report
    report=$(mktemp)
    for _ in $(seq 1 "$RUNS"); do
        if ! /usr/bin/time -o "$report" -f '%U %S %e %M' "$@" >/dev/null 2>&1; then
            echo "failed: $*" >&2
            exit 1
        fi
        runs+=("$(tail -1 "$report")")
    done
    rm -f "$report"
    printf '%s\n' "${runs[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
if len(rows) == 0 or any(len(r) != 4 for r in rows):
    sys.exit("a run failed")
cpu = statistics.median(r[0] + r[1] for r in rows)
wall = statistics.median(r[2] for r in rows)
rss = statistics.median(r[3] for r in rows)
print(f"{cpu:.3f} {wall:.3f} {rss:.0f}")'
}

# A table row: NAME, CPU, the CPU it is compared with, and the target ratio
# (may be empty).
ratio() {
    python3 -c 'import sys
name, ours, theirs, target = sys.argv[1:]
print("| %s | %.3fx | %s |" % (name, float(ours) / float(theirs), "<= " + target + "x" if target else ""))' "$@"
}

NOT_FILTERS=()
for i in $(seq 1 20); do NOT_FILTERS+=(--not --namespace "bench-ns-$i"); done

declare -a NAMES CMDS
declare -A CPU
add() { NAMES+=("$1"); shift; CMDS+=("$(printf '%q ' "$@")"); }
add "file -o compact" "$HUBL" observe --input-file "$CAPTURE" -o compact
add "file -o jsonpb" "$HUBL" observe --input-file "$CAPTURE" -o jsonpb
if "$HUBL" observe --not --namespace x --input-file /dev/null >/dev/null 2>&1; then
    add "file -o compact, 20 --not --namespace" "$HUBL" observe --input-file "$CAPTURE" -o compact "${NOT_FILTERS[@]}"
fi
AGGREGATE="file --aggregate-by source,destination,port,verdict"
if "$HUBL" observe --aggregate-by port --input-file /dev/null >/dev/null 2>&1; then
    add "$AGGREGATE" "$HUBL" observe --input-file "$CAPTURE" --aggregate-by source,destination,port,verdict
fi

if "$HUBL" metrics --help >/dev/null 2>&1; then
    # Hubble's metric set of Cilium's Helm example, printed once at the end.
    add "metrics --input-file (dns,drop,tcp,flow,icmp,http)" "$HUBL" metrics --input-file "$CAPTURE"
fi

# The relay starts only when its scenario comes up: loading the capture
# takes both cores for a while, which would disturb the file scenarios.
SERVER_PID=
start_server() {
    "$HUBL" serve --input-file "$CAPTURE" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
    SERVER_PID=$!
    trap '[[ -n $SERVER_PID ]] && kill $SERVER_PID 2>/dev/null' EXIT
    for _ in $(seq 1 600); do
        "$HUBL" observe --server "127.0.0.1:$PORT" --last 1 >/dev/null 2>&1 && return
        sleep 0.5
    done
    echo "hubl serve did not come up on port $PORT" >&2
    exit 1
}
if "$HUBL" serve --help >/dev/null 2>&1; then
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    add "grpc floor: decode only" "$BUILT/examples/decode_floor" "127.0.0.1:$PORT"
    add "grpc --all -o compact" "$HUBL" observe --server "127.0.0.1:$PORT" --all -o compact
    add "grpc --all -o jsonpb" "$HUBL" observe --server "127.0.0.1:$PORT" --all -o jsonpb
    add "grpc --all -o json" "$HUBL" observe --server "127.0.0.1:$PORT" --all -o json
    add "grpc --all -o compact, 20 --not --namespace" "$HUBL" observe --server "127.0.0.1:$PORT" --all -o compact "${NOT_FILTERS[@]}"
fi
if [[ -n $HUBBLE ]]; then
    # hubble reads a capture from stdin only.
    add "hubble file -o compact" bash -c 'exec "$0" observe --input-file - -o compact <"$1"' "$HUBBLE" "$CAPTURE"
    add "hubble file -o jsonpb" bash -c 'exec "$0" observe --input-file - -o jsonpb <"$1"' "$HUBBLE" "$CAPTURE"
    if [[ -n ${PORT:-} ]]; then
        add "hubble grpc --all -o compact" "$HUBBLE" observe --server "127.0.0.1:$PORT" --all -o compact
        add "hubble grpc --all -o jsonpb" "$HUBBLE" observe --server "127.0.0.1:$PORT" --all -o jsonpb
    fi
fi

{
    # The ratios to hubble have moved between machines of one kind while
    # hubl's instruction counts stayed the same: name the processor.
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
    echo "# hubl benchmark: $FLOWS flows, median of $RUNS runs ($(git rev-parse --short HEAD 2>/dev/null || echo unknown), profile $PROFILE, $(nproc) cores${cpu:+, $cpu})"
    echo
    # The RSS figures depend on the hot functions being laid out together
    # (build.rs): a list gone stale after a toolchain or dependency update
    # shows here; scripts/hot-functions.sh writes it again.
    listed=$(grep -c . link/hot-functions.txt)
    present=$(nm "$HUBL" 2>/dev/null | awk '{print $NF}' | sort -u | comm -12 - <(sort -u link/hot-functions.txt) | wc -l)
    echo "hot functions: $present of the $listed named in link/hot-functions.txt are in this build"
    echo
    echo "| scenario | CPU-s per 1M flows | wall s | flows/s | peak RSS MiB |"
    echo "|---|---:|---:|---:|---:|"
    for i in "${!NAMES[@]}"; do
        if [[ ${NAMES[$i]} == *grpc* && -z $SERVER_PID ]]; then
            start_server
        fi
        read -r cpu wall rss < <(eval "measure ${CMDS[$i]}")
        CPU["${NAMES[$i]}"]=$cpu
        python3 - "${NAMES[$i]}" "$FLOWS" "$cpu" "$wall" "$rss" <<'PY'
import sys
name, flows, cpu, wall, rss = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
print(f"| {name} | {cpu * 1e6 / flows:.2f} | {wall:.2f} | {flows / wall:,.0f} | {rss / 1024:.1f} |")
PY
    done
    # Issue #14's budget: counting metrics at most 1.5x compact's CPU.
    for name in "${NAMES[@]}"; do
        if [[ $name == metrics* ]]; then
            python3 -c 'import sys; print(f"\nmetrics / compact CPU: {float(sys.argv[1]) / float(sys.argv[2]):.2f}x (budget 1.5x)")' "${CPU[$name]}" "${CPU[file -o compact]}"
        fi
    done
    floor=${CPU[grpc floor: decode only]:-}
    if [[ -n $floor ]]; then
        echo
        echo "| gRPC CPU / decode-only floor | ratio | target |"
        echo "|---|---:|---:|"
        for name in "grpc --all -o compact:0.7" "grpc --all -o jsonpb:1.2" "grpc --all -o json:" \
            "grpc --all -o compact, 20 --not --namespace:" "hubble grpc --all -o compact:" \
            "hubble grpc --all -o jsonpb:"; do
            scenario=${name%:*} target=${name##*:}
            [[ -n ${CPU[$scenario]:-} ]] || continue
            ratio "$scenario" "${CPU[$scenario]}" "$floor" "$target"
        done
    fi
    if [[ -n ${CPU[hubble file -o compact]:-} ]]; then
        echo
        echo "| hubl CPU / hubble v1.19.4 CPU | ratio | target |"
        echo "|---|---:|---:|"
        for name in "file -o compact:hubble file -o compact:0.04" "file -o jsonpb:hubble file -o jsonpb:0.06" \
            "grpc --all -o compact:hubble grpc --all -o compact:" "grpc --all -o jsonpb:hubble grpc --all -o jsonpb:"; do
            IFS=: read -r ours theirs target <<<"$name"
            [[ -n ${CPU[$ours]:-} && -n ${CPU[$theirs]:-} ]] || continue
            ratio "$ours" "${CPU[$ours]}" "${CPU[$theirs]}" "$target"
        done
    fi
    if [[ -n ${CPU[$AGGREGATE]:-} ]]; then
        python3 -c 'import sys; print(f"\n--aggregate-by CPU / -o compact CPU: {float(sys.argv[1]) / float(sys.argv[2]):.2f} (target <= 1.5)")' \
            "${CPU[$AGGREGATE]}" "${CPU[file -o compact]}"
    fi
} | tee "$OUT/latest.md"

# ---- hubl serve memory and 20 clients (issue #17, item 4) ----
# A fresh `hubl serve` on the capture: its load time and RSS once loaded
# (peak VmHWM, steady VmRSS), then 20 `observe --server --all -o compact`
# clients at once: each must print every flow; the server's highest RSS
# and its CPU seconds while they read. Appended to the table above.
serve_clients() {
    local port log pid status clients=20 start loaded peak steady busy_peak
    # The relay of the grpc row would share the cores and the memory.
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    log=$(mktemp)
    start=$(date +%s.%N)
    "$HUBL" serve --input-file "$CAPTURE" --listen "127.0.0.1:$port" 2>"$log" >/dev/null &
    pid=$!
    SERVER_PID=$pid
    trap '[[ -n $SERVER_PID ]] && kill $SERVER_PID 2>/dev/null' EXIT
    until grep -q '^Serving' "$log"; do
        kill -0 "$pid" 2>/dev/null || { echo "hubl serve failed: $(cat "$log")" >&2; exit 1; }
        sleep 0.1
    done
    loaded=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
    sleep 2
    status=/proc/$pid/status
    peak=$(awk '/^VmHWM/ {print $2}' "$status")
    steady=$(awk '/^VmRSS/ {print $2}' "$status")
    # utime + stime of the server, in clock ticks.
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
    local cpu_before cpu_after ticks wall_start wall
    cpu_before=$(cpu_ticks)
    wall_start=$(date +%s.%N)
    local counts=() pids=()
    for i in $(seq 1 "$clients"); do
        counts+=("$(mktemp)")
        (
            set -o pipefail
            "$HUBL" observe --server "127.0.0.1:$port" --all -o compact 2>/dev/null | wc -l >"${counts[-1]}"
        ) &
        pids+=($!)
    done
    busy_peak=0
    # Until every client has finished (`jobs -r`: zombies are not running).
    while jobs -rp | grep -qxF -f <(printf '%s\n' "${pids[@]}"); do
        local rss
        rss=$(awk '/^VmRSS/ {print $2}' "$status")
        ((rss > busy_peak)) && busy_peak=$rss
        sleep 0.2
    done
    local failed=0 lines
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || failed=1
        lines=$(cat "${counts[$i]}")
        if [[ $lines -ne $FLOWS ]]; then
            echo "serve client $i printed $lines lines of $FLOWS flows" >&2
            failed=1
        fi
        rm -f "${counts[$i]}"
    done
    wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$wall_start" "$(date +%s.%N)")
    if ! kill -0 "$pid" 2>/dev/null; then
        local code=0
        wait "$pid" || code=$?
        echo "hubl serve stopped (exit $code) while the clients read: $(cat "$log")" >&2
        exit 1
    fi
    cpu_after=$(cpu_ticks)
    ticks=$(getconf CLK_TCK)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    SERVER_PID=
    rm -f "$log"
    ((failed == 0)) || exit 1
    python3 - "$FLOWS" "$clients" "$loaded" "$peak" "$steady" "$busy_peak" "$wall" \
        "$((cpu_after - cpu_before))" "$ticks" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys
flows, clients = int(sys.argv[1]), int(sys.argv[2])
loaded, peak, steady, busy, wall = float(sys.argv[3]), *map(int, sys.argv[4:7]), float(sys.argv[7])
cpu = int(sys.argv[8]) / int(sys.argv[9])
print(f"\n| hubl serve, {flows:,} flows | value |\n|---|---:|")
print(f"| load time s | {loaded:.1f} |")
print(f"| peak RSS while loading MiB | {peak / 1024:.0f} |")
print(f"| RSS once loaded MiB | {steady / 1024:.0f} |")
print(f"| RSS with {clients} `--all -o compact` clients MiB (highest sample) | {busy / 1024:.0f} |")
print(f"| {clients} clients: wall s, all flows received | {wall:.1f} |")
print(f"| {clients} clients: server CPU-s per 1M flows sent | {cpu * 1e6 / (flows * clients):.2f} |")
print(f"| load average at the end | {sys.argv[10]} |")
PY
}
if "$HUBL" serve --help >/dev/null 2>&1; then
    serve_clients | tee -a "$OUT/latest.md"
fi
# ---- end of hubl serve memory and 20 clients ----
