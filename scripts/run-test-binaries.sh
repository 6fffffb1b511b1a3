#!/usr/bin/env bash
# Runs the workspace's test binaries, several at a time, as `cargo test --workspace` would run
# them one after another: each from its package's folder, with the same arguments.
#
#   scripts/run-test-binaries.sh <binaries> [test arguments...]
#
# <binaries> lists one binary a line: its package's folder, a tab, the executable (what
# `cargo test --no-run --message-format=json` reports). TEST_JOBS binaries run at once (default
# 4): most tests wait on moto, a fake server or a child process, not on the processor, so side by
# side they finish sooner. Each binary's output is printed whole when it ends, under cargo's own
# "Running" line, so each "test result:" line follows its binary. The slowest binaries of the
# last run start first (their times are kept in <target>/test-binary-times.tsv). Exits non-zero
# if any binary failed, naming them.
set -uo pipefail
list="$1"
shift
jobs="${TEST_JOBS:-4}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
source "$(dirname "$0")/tools.sh"
times="$CARGO_TARGET/test-binary-times.tsv"

# Longest first by the last run's times (unknown binaries first of all: they may be long).
order() {
  awk -F'\t' -v times="$times" '
    BEGIN { while ((getline line < times) > 0) { split(line, f, "\t"); took[f[1]] = f[2] } }
    { name = $2; sub(/.*\//, "", name); sub(/-[0-9a-f]+$/, "", name)
      printf "%s\t%s\t%s\n", (name in took ? took[name] : 999999), $1, $2 }' "$list" |
    sort -t$'\t' -k1,1nr | cut -f2-
}

declare -A started_at=() output_of=() name_of=()
failed=()
running=0
finish_one() {
  local pid status
  wait -n -p pid
  status=$?
  running=$((running - 1))
  local took=$(($(date +%s) - started_at[$pid]))
  echo "     Running ${name_of[$pid]} (${took}s)"
  cat "${output_of[$pid]}"
  local short="${name_of[$pid]##*/}"
  short="${short%-*}"
  printf '%s\t%s\n' "$short" "$took" >>"$scratch/times.tsv"
  [ "$status" = 0 ] || failed+=("${name_of[$pid]} (exit $status)")
}

n=0
while IFS=$'\t' read -r dir exe; do
  [ -n "$exe" ] || continue
  while [ "$running" -ge "$jobs" ]; do finish_one; done
  n=$((n + 1))
  out="$scratch/$n.out"
  (cd "$dir" && exec "$exe" "$@") >"$out" 2>&1 &
  pid=$!
  started_at[$pid]=$(date +%s)
  output_of[$pid]="$out"
  name_of[$pid]="$exe"
  running=$((running + 1))
done < <(order)
while [ "$running" -gt 0 ]; do finish_one; done

if [ -s "$scratch/times.tsv" ]; then
  cp "$scratch/times.tsv" "$times"
  echo "test binaries' wall times, longest first:"
  sort -t$'\t' -k2,2nr "$scratch/times.tsv" | awk -F'\t' '{ printf "  %-40s %4ds\n", $1, $2 }'
fi
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'failed: %s\n' "${failed[@]}"
  exit 1
fi
