#!/usr/bin/env bash
# The whole test suite, as README.md gives it: installs the Debian packages
# the tests drive for real when they are missing, then runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

# tests/metrics_prometheus.rs runs a real Prometheus and promtool (started
# by the test itself on a loopback port, never as the system service).
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # Keep the package's service from being started on install.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        guard=/usr/sbin/policy-rc.d
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    if [ -n "$guard" ]; then rm -f "$guard"; fi
fi
# tests/top_tmux.rs drives `hubl top` in a real terminal.
if ! command -v tmux >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi

# tests/map_outputs.rs lays out `hubl map -o dot` with Graphviz.
if ! command -v dot >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
fi

# ... and opens `hubl map -o html` in headless Chromium.
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# CEL's time zone names resolve in the system's zoneinfo files, as they do
# for Hubble (src/filter/cel.rs tests them).
if [ ! -e /usr/share/zoneinfo/Europe/Paris ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tzdata >/dev/null
fi

cargo test --locked "$@"
