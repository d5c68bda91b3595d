#!/usr/bin/env bash
# The dashboard's browser test: the real stack on loopback (a fresh database on the
# private PostgreSQL, `lastro sim risk-api`, `lastro stream`), then Debian's
# chromium driven by playwright-core (tests/browser/dashboard.test.mjs).
#   tests/browser/run.sh            (scripts/run-tests / ctest set the environment)
# Env: LASTRO_TEST_PG_DSN (admin DSN of the private cluster; else scripts/pg-local dsn),
#      LASTRO_BIN (default build/src/cli/lastro), LASTRO_SCREENSHOT (where to save the
#      screenshot; default build/dashboard.png — set it to docs/img/dashboard.png to
#      refresh the README's). Exit 77 (skipped) when chromium or node is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LASTRO_BIN:-$root/build/src/cli/lastro}
chromium=${LASTRO_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "browser test skipped: $chromium not installed"; exit 77; }
command -v node >/dev/null || { echo "browser test skipped: node not installed"; exit 77; }
[ -d "$root/node_modules/playwright-core" ] || { echo "node_modules missing: build first (npm ci)"; exit 1; }
admin_dsn=${LASTRO_TEST_PG_DSN:-$("$root/scripts/pg-local" dsn)}

name=dash_browser_$$_$(date +%s)
work=$(mktemp -d /tmp/lastro-browser.XXXXXX)
dsn=$(printf '%s' "$admin_dsn" | sed "s/dbname=[^ ]*/dbname=$name/")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$admin_dsn" -qAt -c "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = '$name' AND active_pid IS NOT NULL" >/dev/null 2>&1 || true
  psql "$admin_dsn" -qAt -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$name'" >/dev/null 2>&1 || true
  psql "$admin_dsn" -qAt -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${keep_logs:-0}" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Waits (polling, with a deadline) until file $1 matches regex $2.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "timed out waiting for '$2' in $1:"; cat "$1"; return 1; fi
    sleep 0.1
  done
}

psql "$admin_dsn" -qAt -c "CREATE DATABASE \"$name\"" >/dev/null
LASTRO_PG_DSN=$dsn "$bin" db migrate >"$work/migrate.log" 2>&1

"$bin" sim risk-api --port 0 --latency-ms 5 --jitter-ms 1 >"$work/risk.out" 2>"$work/risk.err" &
pids+=($!)
wait_for_line "$work/risk.out" '"listening"' 10
risk_url=http://$(grep -oE '"listening":"[0-9.]+:[0-9]+"' "$work/risk.out" | head -1 | cut -d'"' -f4)

cat >"$work/lastro.toml" <<TOML
[pg]
slot = "$name"
[stream]
policy_file = "$root/config/policy.toml"
[metrics]
statsd_enabled = false
[http]
addr = "127.0.0.1:0"
TOML
LASTRO_PG_DSN=$dsn LASTRO_RISK_URL=$risk_url "$bin" stream --config "$work/lastro.toml" \
  >"$work/stream.out" 2>"$work/stream.err" &
pids+=($!)
wait_for_line "$work/stream.err" 'replication stream attached' 30
port=$(grep -E 'http server listening' "$work/stream.err" | grep -oE '"port":[0-9]+' | head -1 | cut -d: -f2)

keep_logs=1
LASTRO_DASHBOARD_URL=http://127.0.0.1:$port LASTRO_PG_DSN=$dsn LASTRO_BIN=$bin \
LASTRO_CHROMIUM=$chromium LASTRO_SCREENSHOT=${LASTRO_SCREENSHOT:-$root/build/dashboard.png} \
  node --test --test-reporter=spec "$root/tests/browser/dashboard.test.mjs"
keep_logs=0
