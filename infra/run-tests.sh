#!/usr/bin/env bash
# The whole test run: type check, unit tests, then integration tests against real
# Redis, rtpengine and SIPp (which the tests start and stop themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== type check"
npm run -s typecheck
echo "== tests"
npx vitest run
