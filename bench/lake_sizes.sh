#!/usr/bin/env bash
# bench/lake_sizes.sh [build]: the lake's bytes per row, table by table, on realistic data
# (docs/lake.md "File sizes"). 300k requests from `lastro sim requests` over 10 days,
# decided by `lastro stream` against the risk simulator, then one `lastro batch run`
# backfill with the bureau simulator. Uses a scratch database (lastro_sizes) on the
# private cluster and ports 18180-18192; takes ~5 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); build=${1:-build}; bin=$root/$build/src/cli/lastro
var=$root/$build/var/lake-sizes; rm -rf "$var"; mkdir -p "$var"
"$root/scripts/pg-local" start >/dev/null
base=$($root/scripts/pg-local dsn)
psql "$base" -qc "DROP DATABASE IF EXISTS lastro_sizes" ; psql "$base" -qc "CREATE DATABASE lastro_sizes"
export LASTRO_PG_DSN=${base/dbname=lastro/dbname=lastro_sizes}
export LASTRO_LAKE_DIR=$var/lake LASTRO_TOKEN_KEY=size-measurement-key-0123456789
export LASTRO_RISK_URL=http://127.0.0.1:18191 LASTRO_BUREAU_URL=http://127.0.0.1:18192 LASTRO_HTTP_ADDR=127.0.0.1:18180
cat > $var/cfg.toml <<T
[pg]
slot = "lastro_sizes"
[stream]
policy_file = "$root/config/policy.toml"
[batch]
quality_rules = "$root/config/quality.toml"
[metrics]
statsd_enabled = false
T
$bin db migrate >/dev/null
$bin sim risk-api --port 18191 >$var/risk.log 2>&1 & r=$!
$bin sim bureau --port 18192 >$var/bureau.log 2>&1 & b=$!
$bin stream --config $var/cfg.toml >$var/stream.log 2>&1 & s=$!
sleep 3
$bin sim requests --count 300000 --days 10 --customers 150000 >$var/gen.log 2>&1
until [ "$(psql "$LASTRO_PG_DSN" -Atqc "SELECT count(*) FROM credit_requests WHERE status='PENDING'")" = 0 ]; do sleep 1; done
kill $s; wait $s || true
first=$(psql "$LASTRO_PG_DSN" -Atqc "SELECT min((created_at AT TIME ZONE 'America/Sao_Paulo')::date) FROM credit_requests")
last=$(psql "$LASTRO_PG_DSN" -Atqc "SELECT max((created_at AT TIME ZONE 'America/Sao_Paulo')::date) FROM credit_requests")
$bin batch run --config $var/cfg.toml --from $first --to $last > $var/run.json 2>$var/batch.log
kill $r $b; wait || true
run=$(python3 -c "import json;print(json.load(open('$var/run.json'))['run_id'])")
python3 - $var/lake/_runs/$run/manifest.json <<P
import json,sys
m=json.load(open(sys.argv[1]))
for o in m['outputs']:
    b=sum(f['bytes'] for f in o['files']); r=o['rows']
    print(f"{o['zone']}/{o['table']:22} rows {r:>8} bytes {b:>10} per row {b/max(r,1):6.1f}")
P
psql "$base" -qc "SELECT pg_drop_replication_slot('lastro_sizes')" >/dev/null 2>&1 || true
psql "$base" -qc "DROP DATABASE lastro_sizes"
