#!/usr/bin/env bash
# The test command: sets up what is missing, builds, converts the default pack, runs every test suite.
# FSC_FULL=1 runs the slow suites in full (browser, failover, soak, fuzz) where CI runs them short.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
./fsc models build-default

results="$root/.cache/test-results"
rm -rf "$results"
set +e
dotnet test FaceSwapCluster.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" --logger "console;verbosity=normal" 2>&1 | tee "$results.log"
status=${PIPESTATUS[0]}
set -e
# One closing line over all test projects, in the plain 'N passed, N failed' form.
count() { grep -hoE "$1=\"[0-9]+\"" "$results"/*.trx 2>/dev/null | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}'; }
passed=$(count passed)
failed=$(count failed)
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
if [ "${passed:-0}" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "test: no test ran" >&2
  exit 1
fi
exit "$status"
