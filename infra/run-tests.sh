#!/usr/bin/env bash
# The whole test run: type check, unit tests, then integration tests against real
# Redis, rtpengine and SIPp (which the tests start and stop themselves).
# Ends with the plain line "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p run
echo "== type check"
npm run -s typecheck
echo "== tests"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=run/vitest-report.json || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync("run/vitest-report.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A suite that fails before its tests run (e.g. its setup throws) counts as at least one failure.
  const failed = Math.max(r.numFailedTests, r.numFailedTestSuites);
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
