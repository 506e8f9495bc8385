#!/usr/bin/env bash
# The test command: sets up what is missing, builds, converts the default pack, runs every test suite.
# FSC_FULL=1 runs the slow suites in full (browser, failover, soak, fuzz) where CI runs them short.
# Then `bench/run --quick` checks that every benchmark campaign still runs (FSC_SKIP_BENCH=1 skips it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
./fsc models build-default

results="$root/.cache/test-results"
rm -rf "$results"
set +e
dotnet test FaceSwapCluster.sln -c Release --no-build -nologo \
  --results-directory "$results" --logger "console;verbosity=normal" 2>&1 | tee "$results.log"
status=${PIPESTATUS[0]}
set -e
# One closing line over all test projects, in the plain 'N passed, N failed' form, summed from each
# project's summary ("Total tests: 40" / "     Passed: 40" / "     Failed: 1").
count() { awk -v key="$1:" '$1 == key && NF == 2 && $2 ~ /^[0-9]+$/ {s += $2} END {print s + 0}' "$results.log"; }
# The failed tests again, with their messages, where a CI log's tail shows them (the suites' output is long).
failures=$(awk '/^  Failed [A-Za-z]/ {show = 1} /^  (Passed|Skipped) / || /^  Stack Trace:/ {show = 0} show' "$results.log" | grep -v '^[[:space:]]*$' | head -80 || true)
if [ -n "$failures" ]; then printf 'failed tests:\n%s\n' "$failures"; fi
passed=$(count Passed)
failed=$(count Failed)
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
if [ "${passed:-0}" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "test: no test ran" >&2
  exit 1
fi
# The benchmark suite, cut short: every campaign still runs and fills its block of BENCHMARKS.md (into a copy).
if [ "$status" -eq 0 ] && [ "${FSC_SKIP_BENCH:-0}" != 1 ]; then
  if bash bench/run --quick > "$root/.cache/bench-quick.log" 2>&1; then
    echo "bench: quick run ok ($(tail -1 "$root/.cache/bench-quick.log"))"
  else
    tail -40 "$root/.cache/bench-quick.log"
    echo "bench: quick run failed (whole log: .cache/bench-quick.log)" >&2
    status=1
  fi
fi
exit "$status"
