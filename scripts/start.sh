#!/usr/bin/env bash
# `npm start`: the whole engine on this machine. Brings up the stack (Kafka, PostgreSQL, Redis),
# builds, migrates, runs every service and the living demo (real prices replayed, simulated
# providers and customers; `npm start -- --no-demo` or SPOTGRID_DEMO=off leaves it out), and says
# where to look. Ctrl-C stops everything gracefully (the broker keeps running; `npm run stack:down`
# stops it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APPS=(gateway market-data matching-engine dispatcher billing)
declare -A PORT=([gateway]="${GATEWAY_PORT:-3000}" [market-data]="${MARKET_DATA_PORT:-3001}" \
  [matching-engine]="${MATCHING_ENGINE_PORT:-3002}" [dispatcher]="${DISPATCHER_PORT:-3003}" [billing]="${BILLING_PORT:-3004}")
LOGS="$ROOT/.stack/logs"
DEMO="${SPOTGRID_DEMO:-on}"
for arg in "$@"; do
  case "$arg" in
    --no-demo) DEMO=off ;;
    *) echo "[start] unknown option $arg (known: --no-demo)" >&2; exit 64 ;;
  esac
done

bash scripts/ensure-deps.sh
bash scripts/stack.sh up
echo "[start] building"
npm run --silent build
echo "[start] migrating"
node dist/migrations/cli.js run

mkdir -p "$LOGS"
pids=()
stop() {
  trap - INT TERM
  echo
  echo "[start] stopping services (in-flight work finishes, offsets are committed)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  echo "[start] stopped. The broker is still up: npm run stack:down stops it."
  exit 0
}
trap stop INT TERM

for app in "${APPS[@]}"; do
  node --enable-source-maps "dist/apps/$app/src/main.js" >>"$LOGS/$app.log" 2>&1 &
  pids+=("$!")
done

# The admin key registered on first start: BOOTSTRAP_ADMIN_KEY, or the local stack's known one.
ADMIN_KEY="${BOOTSTRAP_ADMIN_KEY:-sgk_localadmin_spotgrid-local-admin-key-not-for-production}"

deadline=$((SECONDS + 90))
for app in "${APPS[@]}"; do
  until curl -fs "http://127.0.0.1:${PORT[$app]}/ready" >/dev/null 2>&1; do
    if [ $SECONDS -gt $deadline ]; then
      echo "[start] $app is not ready after 90 s; its log says:" >&2
      tail -20 "$LOGS/$app.log" >&2
      stop
    fi
    sleep 0.3
  done
done

DEMO_LINES="  Demo           off (npm start without --no-demo runs a living market)"
if [ "$DEMO" != "off" ]; then
  rm -f .stack/demo.json
  node --enable-source-maps dist/tools/demo/cli.js >>"$LOGS/demo.log" 2>&1 &
  pids+=("$!")
  until [ -s .stack/demo.json ]; do
    if [ $SECONDS -gt $((deadline + 60)) ]; then echo "[start] the demo did not open its market; its log says:" >&2; tail -20 "$LOGS/demo.log" >&2; stop; fi
    sleep 0.5
  done
  key() { node -e 'console.log(JSON.parse(require("fs").readFileSync(".stack/demo.json","utf8")).keys[process.argv[1]])' "$1"; }
  DEMO_LINES="  Demo           a living market: real prices replayed, simulated providers and customers (--no-demo: off)
  Sign in with   customer acme  $(key customer)
                 provider       $(key provider)
                 finance        $(key finance)
                 admin          ${ADMIN_KEY}"
fi

cat <<TXT

  Spotgrid is running.

  Dashboard      http://127.0.0.1:${PORT[gateway]}/  (sign in with an API key; each role sees its own views)
${DEMO_LINES}

  service            url                          ready
  gateway            http://127.0.0.1:${PORT[gateway]}        /ready  /health  /metrics
  market-data        http://127.0.0.1:${PORT[market-data]}        /ready  /health  /metrics
  matching-engine    http://127.0.0.1:${PORT[matching-engine]}        /ready  /health  /metrics
  dispatcher         http://127.0.0.1:${PORT[dispatcher]}        /ready  /health  /metrics
  billing            http://127.0.0.1:${PORT[billing]}        /ready  /health  /metrics

  API docs       http://127.0.0.1:${PORT[gateway]}/docs (every operation, its roles and an example; try it there)
  Admin key      ${ADMIN_KEY}   (Authorization: Bearer …; local only: set BOOTSTRAP_ADMIN_KEY elsewhere)
  First steps    POST /v1/admin/principals {"id":"acme","role":"customer","name":"Acme"} → a customer key, shown once
                 POST /v1/admin/principals {"id":"fin","role":"finance","name":"Finance"} → a finance key
                 POST /v1/finance/customers/acme/top-ups {"amount":"500","reference":"wire-1"} (finance key)
  Market API     http://127.0.0.1:${PORT[gateway]}/v1/instruments · /v1/quotes?instrument=… · /v1/stream/quotes?instrument=…
  Jobs API       POST http://127.0.0.1:${PORT[gateway]}/v1/jobs (customer key, Idempotency-Key) · GET /v1/jobs/:id · /v1/jobs/:id/results · POST /v1/quotes
  Finance        http://127.0.0.1:${PORT[gateway]}/v1/finance/entries · /balances · /invoices · /statements?provider=…&period=YYYY-MM · /reconciliation
  Providers      every provider is simulated unless DISPATCH_PROVIDERS says otherwise (README: Dispatch)
  Replay prices  npm run feed -- --file ../shared/data/aws_ec2_spot_price_history_c5a2xlarge_us-east-1.csv --format aws-spot --end-at-now

  Kafka 127.0.0.1:9092 · PostgreSQL 127.0.0.1:5432/spotgrid · Redis 127.0.0.1:6379
  Logs (JSON, one line per event): $LOGS/<service>.log
  Stack: npm run stack:status · Ctrl-C stops the services.

TXT

wait -n "${pids[@]}" || true
echo "[start] a service (or the demo) exited; stopping the others" >&2
stop
