#!/usr/bin/env bash
# `npm test`: everything CI checks, on the real stack. Brings up Kafka, PostgreSQL and Redis,
# builds (the type check), lints, rebuilds the test database from the migrations, checks that
# the entities and migrations agree, then runs the unit, integration and end-to-end suites in band.
#
# The last line is `N passed, N failed`: Jest's tests from its --json report, plus each check above
# as one test (a failed lint is a failed test).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export TZ=UTC NODE_ENV=test
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/spotgrid_test}"
mkdir -p artifacts

bash scripts/ensure-deps.sh || exit 1
bash scripts/ensure-browser.sh || exit 1
bash scripts/stack.sh up || exit 1

checks_passed=0 checks_failed=0
check() {
  local name="$1"; shift
  local t0=$SECONDS
  if "$@"; then
    checks_passed=$((checks_passed + 1)); echo "[test] $name: ok ($((SECONDS - t0)) s)"
  else
    checks_failed=$((checks_failed + 1)); echo "[test] $name: FAILED"
  fi
}

reset_test_db() {
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS spotgrid_test WITH (FORCE)" \
    && psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE spotgrid_test"
}

check "typecheck and build" bash -c 'npx tsc -p tsconfig.json && npm run --silent build:web'
check "lint" npx eslint --max-warnings 0 .
check "OpenAPI document lints clean (redocly)" bash -c 'node dist/tools/openapi/cli.js artifacts/openapi.json && npx redocly lint --config redocly.yaml artifacts/openapi.json'
check "test database from the migrations" reset_test_db
check "entities and migrations agree (drift)" node dist/migrations/cli.js drift
export KAFKA_CLIENT_ID="${KAFKA_CLIENT_ID:-spotgrid-test}"
export QUEUE_PREFIX="${QUEUE_PREFIX:-spotgrid-test}"
check "test consumer groups skip the broker's backlog" node dist/test/support/skip-backlog.js
if docker compose version >/dev/null 2>&1; then
  check "docker-compose.yml parses" docker compose -f docker-compose.yml config --quiet
elif command -v docker-compose >/dev/null 2>&1; then
  check "docker-compose.yml parses" docker-compose -f docker-compose.yml config -q
else
  echo "[test] docker-compose.yml: no compose client here; not parsed (.ci/run installs one)"
fi

NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning" npx jest --runInBand \
  --json --outputFile=artifacts/jest-results.json "$@"
jest_status=$?

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0;
  try {
    const r = JSON.parse(fs.readFileSync("artifacts/jest-results.json", "utf8"));
    passed = r.numPassedTests; failed = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
  } catch { failed = 1; }
  passed += Number(process.argv[1]); failed += Number(process.argv[2]);
  console.log(`${passed} passed, ${failed} failed`);
' "$checks_passed" "$checks_failed"

[ "$jest_status" -eq 0 ] && [ "$checks_failed" -eq 0 ]
