#!/usr/bin/env bash
# Records what `hubble observe` prints for each case of
# tests/fixtures/hubble-1.19.4/cases.tsv (a name, then the arguments, all
# tab-separated) on input.jsonl of that folder: NAME.out, NAME.err and
# NAME.code, which tests/hubble_differences.rs compares hubl with.
#
#   scripts/hubble-fixtures.sh [PATH-TO-HUBBLE]   (default: hubble on PATH)
set -euo pipefail
hubble=${1:-hubble}
dir=$(dirname "$0")/../tests/fixtures/hubble-1.19.4
"$hubble" version | grep -q 'v1.19.4' || echo "warning: this is not hubble v1.19.4" >&2
while IFS=$'\t' read -r -a fields; do
  [[ ${#fields[@]} -eq 0 || ${fields[0]} == \#* ]] && continue
  name=${fields[0]}
  set +e
  TZ=UTC "$hubble" observe --input-file - "${fields[@]:1}" \
    <"$dir/input.jsonl" >"$dir/$name.out" 2>"$dir/$name.err"
  echo $? >"$dir/$name.code"
  set -e
done <"$dir/cases.tsv"
