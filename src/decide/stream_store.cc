#include "decide/stream_store.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "capture/lsn.h"

namespace lastro::decide {
namespace {

constexpr char kRequestColumns[] =
    "r.id, r.customer_id, r.amount_cents, r.term_months, r.purpose, r.channel, "
    "r.declared_income_cents, r.status, "
    "(extract(epoch from r.created_at) * 1000000)::bigint";

// One statement: decisions, guarded status moves and history in a single
// transaction and round trip. Arrays are passed as text literals; each decision's
// reason-code lists travel as one JSON array text (a text[] of text[] would need
// equal lengths).
constexpr char kWriteSql[] = R"sql(
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::numeric[],
                       $6::text[], $7::text[], $8::text[], $9::text[], $10::int[],
                       $11::numeric[], $12::pg_lsn[], $13::text[], $14::text[], $15::boolean[])
    AS t(request_id, decision, score, risk_band, pd, reasons, provider_ref, model_version,
         policy_version, attempts, latency_ms, lsn, note, provider_reasons, first_time)
),
live AS (
  SELECT i.* FROM input i JOIN credit_requests r ON r.id = i.request_id
),
ins AS (
  INSERT INTO credit_decisions (request_id, decision, score, risk_band, probability_of_default,
                                reason_codes, provider_ref, provider_model_version,
                                policy_version, attempts, provider_latency_ms, source_lsn,
                                provider_reason_codes, first_time_customer)
  SELECT request_id, decision, score, risk_band, pd,
         ARRAY(SELECT jsonb_array_elements_text(reasons::jsonb)), provider_ref, model_version,
         policy_version, attempts, latency_ms, lsn,
         ARRAY(SELECT jsonb_array_elements_text(provider_reasons::jsonb)), first_time
  FROM live
  ON CONFLICT (request_id) DO NOTHING
  RETURNING request_id
),
upd AS (
  UPDATE credit_requests r
     SET status = l.decision, version = r.version + 1, updated_at = now(), decided_at = now()
    FROM live l
   WHERE r.id = l.request_id AND r.status = 'PENDING'
  RETURNING r.id, l.decision, l.note
),
hist AS (
  INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by, reason)
  SELECT id, 'PENDING', decision, 'lastro-stream', note FROM upd
  RETURNING request_id
)
SELECT 'd' AS kind, request_id FROM ins
UNION ALL SELECT 't', request_id FROM hist
UNION ALL SELECT 'm', request_id FROM input WHERE request_id NOT IN (SELECT request_id FROM live)
UNION ALL SELECT 'c', (extract(epoch from now()) * 1000000)::bigint
)sql";

template <typename T>
std::string Join(const std::vector<T>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out += values[i];
  }
  return out + "}";
}

std::string OptNum(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : "NULL"; }

}  // namespace

std::string FormatLsn(uint64_t lsn) { return capture::Lsn(lsn).ToString(); }

StatusOr<std::unique_ptr<StreamStore>> StreamStore::Connect(const std::string& dsn,
                                                            const std::string& application_name,
                                                            int statement_timeout_ms,
                                                            int lock_timeout_ms) {
  pg::ConnectOptions options;
  options.application_name = application_name;
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(dsn, options));
  LASTRO_RETURN_IF_ERROR(
      conn->Exec(fmt::format("SET statement_timeout = {}; SET lock_timeout = {}; "
                             "SET TIME ZONE 'UTC'",
                             statement_timeout_ms, lock_timeout_ms))
          .status());
  return std::unique_ptr<StreamStore>(new StreamStore(std::move(conn)));
}

StatusOr<std::map<int64_t, RequestContext>> StreamStore::Lookup(
    const std::vector<CapturedRequest>& requests) {
  std::map<int64_t, RequestContext> out;
  if (requests.empty()) return out;
  std::vector<int64_t> ids, customers;
  for (const CapturedRequest& q : requests) {
    ids.push_back(q.id);
    customers.push_back(q.customer_id);
  }
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result r,
      conn_->Exec("SELECT q.id, coalesce(r.status, ''), c.cpf, NOT EXISTS ("
                  "  SELECT 1 FROM credit_requests p WHERE p.customer_id = q.customer_id "
                  "  AND p.id <> q.id AND p.status = 'APPROVED') "
                  "FROM unnest($1::bigint[], $2::bigint[]) AS q(id, customer_id) "
                  "JOIN customers c ON c.id = q.customer_id "
                  "LEFT JOIN credit_requests r ON r.id = q.id",
                  {pg::IntArrayLiteral(ids), pg::IntArrayLiteral(customers)}));
  for (int i = 0; i < r.rows(); ++i) {
    RequestContext ctx;
    ctx.status = std::string(r.Get(i, 1));
    ctx.cpf = std::string(r.Get(i, 2));
    ctx.first_time_customer = r.Get(i, 3) == "t";
    out.emplace(r.GetInt(i, 0), std::move(ctx));
  }
  return out;
}

StatusOr<WriteResult> StreamStore::Write(const std::vector<Decision>& ds) {
  WriteResult result;
  if (ds.empty()) return result;
  std::vector<std::string> ids, scores, pds, attempts, latencies, lsns, first_times;
  std::vector<std::optional<std::string>> notes_opt, bands_opt, refs_opt, models_opt, reasons_opt,
      decisions_opt, policies_opt, provider_reasons_opt;
  for (const Decision& d : ds) {
    ids.push_back(std::to_string(d.request_id));
    decisions_opt.push_back(d.status);
    scores.push_back(d.score ? std::to_string(*d.score) : "NULL");
    bands_opt.push_back(d.risk_band.empty() ? std::nullopt : std::optional(d.risk_band));
    pds.push_back(OptNum(d.probability_of_default));
    reasons_opt.push_back(nlohmann::json(d.reason_codes).dump());
    refs_opt.push_back(d.provider_ref.empty() ? std::nullopt : std::optional(d.provider_ref));
    models_opt.push_back(
        d.provider_model_version.empty() ? std::nullopt : std::optional(d.provider_model_version));
    policies_opt.push_back(d.policy_version);
    attempts.push_back(std::to_string(d.attempts));
    latencies.push_back(OptNum(d.provider_latency_ms));
    lsns.push_back(d.source_lsn ? FormatLsn(d.source_lsn) : "NULL");
    notes_opt.push_back(d.note.empty() ? std::nullopt : std::optional(d.note));
    provider_reasons_opt.push_back(nlohmann::json(d.provider_reason_codes).dump());
    first_times.push_back(!d.first_time_customer ? "NULL" : *d.first_time_customer ? "t" : "f");
  }
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result r,
      conn_->Exec(kWriteSql,
                  {Join(ids), pg::TextArrayLiteral(decisions_opt), Join(scores),
                   pg::TextArrayLiteral(bands_opt), Join(pds), pg::TextArrayLiteral(reasons_opt),
                   pg::TextArrayLiteral(refs_opt), pg::TextArrayLiteral(models_opt),
                   pg::TextArrayLiteral(policies_opt), Join(attempts), Join(latencies), Join(lsns),
                   pg::TextArrayLiteral(notes_opt), pg::TextArrayLiteral(provider_reasons_opt),
                   Join(first_times)}));
  for (int i = 0; i < r.rows(); ++i) {
    std::string_view kind = r.Get(i, 0);
    int64_t v = r.GetInt(i, 1);
    if (kind == "d") result.decided.push_back(v);
    if (kind == "t") result.transitioned.push_back(v);
    if (kind == "c") result.commit_time_us = v;
    if (kind == "m") result.missing.push_back(v);
  }
  return result;
}

Status StreamStore::DeadLetter(const std::string& source, uint64_t lsn,
                               std::optional<int64_t> request_id, const std::string& error,
                               const std::string& payload) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = "\\x";
  hex.reserve(2 + payload.size() * 2);
  for (unsigned char c : payload) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return conn_
      ->Exec(
          "INSERT INTO dead_letters (source, lsn, request_id, error, payload) "
          "VALUES ($1, $2::pg_lsn, $3::bigint, $4, $5::bytea)",
          {source, lsn ? std::optional(FormatLsn(lsn)) : std::nullopt,
           request_id ? std::optional(std::to_string(*request_id)) : std::nullopt, error, hex})
      .status();
}

StatusOr<std::vector<CapturedRequest>> StreamStore::ReadRequests(pg::Result& r) {
  std::vector<CapturedRequest> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    CapturedRequest q;
    q.id = r.GetInt(i, 0);
    q.customer_id = r.GetInt(i, 1);
    q.amount_cents = r.GetInt(i, 2);
    q.term_months = int32_t(r.GetInt(i, 3));
    q.purpose = std::string(r.Get(i, 4));
    q.channel = std::string(r.Get(i, 5));
    if (!r.IsNull(i, 6)) q.declared_income_cents = r.GetInt(i, 6);
    q.status = std::string(r.Get(i, 7));
    q.created_at_us = r.GetInt(i, 8);
    out.push_back(std::move(q));
  }
  return out;
}

StatusOr<std::vector<CapturedRequest>> StreamStore::StalePending(std::chrono::seconds older_than,
                                                                 int limit) {
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result r, conn_->Exec(absl::StrCat("SELECT ", kRequestColumns,
                                             " FROM credit_requests r WHERE r.status = 'PENDING' "
                                             "AND r.created_at < now() - make_interval(secs => $1) "
                                             "ORDER BY r.created_at LIMIT $2"),
                                {std::to_string(older_than.count()), std::to_string(limit)}));
  return ReadRequests(r);
}

StatusOr<std::vector<CapturedRequest>> StreamStore::PendingAtSnapshot(
    const std::string& snapshot_name) {
  LASTRO_RETURN_IF_ERROR(conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  auto run = [&]() -> StatusOr<std::vector<CapturedRequest>> {
    LASTRO_RETURN_IF_ERROR(
        conn_->Exec(absl::StrCat("SET TRANSACTION SNAPSHOT ", conn_->QuoteLiteral(snapshot_name)))
            .status());
    LASTRO_ASSIGN_OR_RETURN(pg::Result r,
                            conn_->Exec(absl::StrCat("SELECT ", kRequestColumns,
                                                     " FROM credit_requests r WHERE r.status = "
                                                     "'PENDING' ORDER BY r.id")));
    return ReadRequests(r);
  };
  auto result = run();
  IgnoreError(conn_->Exec("COMMIT").status());
  return result;
}

Status StreamStore::EnsurePublication(const std::string& publication) {
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result r, conn_->Exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {publication}));
  if (r.rows() > 0) return absl::OkStatus();
  auto created = conn_->Exec(absl::StrCat(
      "CREATE PUBLICATION ", conn_->QuoteIdentifier(publication), " FOR TABLE credit_requests"));
  if (absl::IsAlreadyExists(created.status())) return absl::OkStatus();  // lost a race
  return created.status();
}

StatusOr<std::map<std::string, int64_t>> StreamStore::TodayCounts() {
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result r, conn_->Exec("SELECT status, count(*) FROM credit_requests WHERE created_at >= "
                                "(date_trunc('day', now() AT TIME ZONE 'America/Sao_Paulo') "
                                "AT TIME ZONE 'America/Sao_Paulo') GROUP BY status"));
  std::map<std::string, int64_t> out;
  for (int i = 0; i < r.rows(); ++i) out[std::string(r.Get(i, 0))] = r.GetInt(i, 1);
  return out;
}

}  // namespace lastro::decide
