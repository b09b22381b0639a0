#!/usr/bin/env bash
# `make faults`: the fault trials of tests/migrate/test_faults.c (skipped by
# `make check`), seeded and repeatable, then their table.
#   FAULTS_SEED   base seed (default: the clock; printed, pass it to repeat)
#   FAULTS_TRIALS kill -9 trials of migrate (default 26: two per journaled
#                 step of migrate on the docmost stack, 13 of them)
#   FAULTS_ROWS   extra rows in the migrated database (default 1000000)
#   FAULTS_JOBS   trials at once (default 2)
# Usage: scripts/faults.sh BUILD_DIR
set -uo pipefail

build=${1:-build}
seed=${FAULTS_SEED:-$(date +%s)}
trials=${FAULTS_TRIALS:-26}
out=$build/faults-$seed.txt
ledger=$build/faults-ledger
rm -f "$out" "$ledger"
echo "faults: seed $seed, $trials kill -9 trials of migrate (FAULTS_SEED=$seed repeats them)"

PGFOLD_FAULTS=1 PGFOLD_FAULTS_SEED=$seed PGFOLD_FAULTS_TRIALS=$trials \
  PGFOLD_FAULTS_ROWS=${FAULTS_ROWS:-1000000} PGFOLD_FAULTS_OUT=$(realpath -m "$out") \
  PGFOLD_TEST_LEDGER=$(realpath -m "$ledger") PGFOLD_TEST_BIN=$(realpath "$build/pgfold") \
  "$build/pgfold-tests" --jobs "${FAULTS_JOBS:-2}" --filter 'faults/*'
rc=$?
scripts/litter.sh "$ledger" || rc=1

[ -s "$out" ] || { echo "faults: no trial reported (see above)" >&2; exit 1; }
echo
printf '%-5s %-11s %-22s %8s %8s  %-22s %5s %8s  %s\n' trial seed phase delay_ms kill_s \
  landed_in rerun rerun_s result
sort -n "$out" | while read -r t s ph d k l e rs res; do
  printf '%-5s %-11s %-22s %8s %8s  %-22s %5s %8s  %s\n' "$t" "$s" "$ph" "$d" "$k" "$l" "$e" "$rs" "$res"
done
echo
echo "kills landed per phase:"
awk '{ n[$6]++ } END { for (p in n) printf "  %-22s %d\n", p, n[p] }' "$out" | sort
echo
ok=$(awk '$9 == "converged"' "$out" | wc -l)
med=$(awk '{ print $8 }' "$out" | sort -n | awk '{ t[NR] = $1 }
  END { print NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }')
printf '%-28s %7s %7s %26s\n' case trials passed "median re-run to exit 0"
printf '%-28s %7d %7d %24.1f s\n' "kill -9 during migrate" "$trials" "$ok" "$med"
exit $rc
