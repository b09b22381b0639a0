#!/usr/bin/env bash
# Run each fuzz target (built by `make fuzz-build` in $FUZZ_BUILD) for a
# bounded time, then print one table. Usage: scripts/fuzz.sh SECONDS TARGET...
#
# Seeds: tests/fuzz/corpus/<t>/ and tests/fuzz/regressions/<t>/ (read only);
# what libFuzzer finds goes to $FUZZ_BUILD/corpus/<t>/, a crash to
# $FUZZ_BUILD/crashes/<t>/ and the output to $FUZZ_BUILD/logs/<t>.log.
# A crash fails the run: minimise it, commit it under
# tests/fuzz/regressions/<t>/ and fix the code (`make check` replays it).
set -uo pipefail

seconds=${1:?usage: fuzz.sh SECONDS TARGET...}
shift
build=${FUZZ_BUILD:-build-fuzz}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

rows=()
failed=0
for t in "$@"; do
  bin=$build/fuzz/fuzz_$t
  corpus=$build/corpus/$t
  crashes=$build/crashes/$t
  log=$build/logs/$t.log
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  seeds=()
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$d" ] && seeds+=("$d")
  done
  before=$(find "$crashes" -type f | wc -l)
  echo "fuzz: $t for ${seconds}s (log $log)"
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  after=$(find "$crashes" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  new=$((after - before))
  status=ok
  if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
    status="FAIL (exit $rc, $new new crash files in $crashes)"
    failed=1
    grep -m3 -E 'ERROR: |invariant broken|runtime error' "$log" | sed 's/^/    /'
  fi
  rows+=("$(printf '%-10s %8s %12s %10s %6s %8s  %s' "$t" "$seconds" "${execs:-?}" "${speed:-?}" \
            "${cov:-?}" "$units" "$status")")
done

printf '\n%-10s %8s %12s %10s %6s %8s  %s\n' target seconds executions exec/s cov corpus result
for r in "${rows[@]}"; do echo "$r"; done
exit "$failed"
