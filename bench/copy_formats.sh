#!/usr/bin/env bash
# bench/copy_formats.sh DSN: the server's cost of COPY text vs binary on the batch's
# statements (ADR 0018), each read by psql into /dev/null, twice. DSN is a database
# seeded by bench/batch_bench (e.g. --dsn of a kept run): 5M requests over
# 2026-11-01..30. Prints wall seconds per statement and format.
set -euo pipefail
dsn=${1:?usage: bench/copy_formats.sh DSN}
pred="((r.created_at >= '2026-11-01 03:00:00+00' AND r.created_at < '2026-12-01 03:00:00+00') OR (r.created_at IS NULL AND r.updated_at >= '2026-11-01 03:00:00+00' AND r.updated_at < '2026-12-01 03:00:00+00'))"
req="r.id, r.customer_id, r.amount_cents, r.term_months, r.purpose, r.channel, r.declared_income_cents, r.status, r.version, r.created_at, r.updated_at, r.decided_at"
dec="d.decision, d.score, d.risk_band, d.probability_of_default::float8, array_to_json(d.reason_codes)::text, array_to_json(d.provider_reason_codes)::text, d.first_time_customer, d.provider_ref, d.provider_model_version, d.policy_version, d.attempts, d.provider_latency_ms::float8, d.decided_at"
run() {  # label, select, copy options
  local s e
  s=$(date +%s.%N)
  psql "$dsn" -qc "SET TimeZone = 'UTC'; COPY ($2) TO STDOUT $3" >/dev/null
  e=$(date +%s.%N)
  printf '%-28s %6.2f s\n' "$1" "$(echo "$e - $s" | bc)"
}
for round in 1 2; do
  echo "round $round"
  run "requests text" "SELECT $req FROM credit_requests r WHERE $pred" ""
  run "requests binary" "SELECT $req FROM credit_requests r WHERE $pred" "(FORMAT binary)"
  run "requests+decisions text" "SELECT $req, $dec FROM credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id WHERE $pred" ""
  run "requests+decisions binary" "SELECT $req, $dec FROM credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id WHERE $pred" "(FORMAT binary)"
done
