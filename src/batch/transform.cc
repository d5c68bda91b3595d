#include "batch/transform.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lastro::batch {

using lake::SqlString;

const std::vector<std::string>& SilverRequestColumns() {
  static const std::vector<std::string> kColumns = {"request_id",
                                                    "customer_id",
                                                    "customer_token",
                                                    "amount_cents",
                                                    "term_months",
                                                    "purpose",
                                                    "channel",
                                                    "declared_income_cents",
                                                    "status",
                                                    "version",
                                                    "created_at",
                                                    "updated_at",
                                                    "decided_at",
                                                    "decision",
                                                    "risk_score",
                                                    "risk_band",
                                                    "probability_of_default",
                                                    "reason_codes",
                                                    "provider_reason_codes",
                                                    "first_time_customer",
                                                    "provider_ref",
                                                    "provider_model_version",
                                                    "policy_version",
                                                    "attempts",
                                                    "provider_latency_ms",
                                                    "customer_state",
                                                    "customer_acquisition_channel",
                                                    "customer_birth_year",
                                                    "bureau_score",
                                                    "bureau_status",
                                                    "bureau_as_of",
                                                    "run_id"};
  return kColumns;
}

Status PrepareStage(lake::Engine& engine, const std::string& timezone,
                    const std::string& requests_parquet) {
  // Validate the zone up front: a typo would otherwise surface as NULL dates.
  auto zone = engine.Query(absl::StrCat("SELECT timezone(", SqlString(timezone),
                                        ", TIMESTAMPTZ '2026-01-01 00:00:00+00')::VARCHAR"));
  if (!zone.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch.timezone '", timezone, "' is not a time zone DuckDB knows"));
  }
  const std::string bronze = absl::StrCat("read_parquet(", SqlString(requests_parquet), ")");
  // request_date: the local day of created_at. ICU's time zone conversion is ~5x the
  // cost of the rest of the transform per row, so it runs once per distinct UTC hour
  // (zone offsets change only on whole hours) and rows join the hour's offset.
  return engine.Execute(absl::StrCat(R"sql(
CREATE OR REPLACE TABLE request_offsets AS
SELECT h, timezone()sql",
                                     SqlString(timezone), R"sql(, h::TIMESTAMPTZ) - h AS off
FROM (SELECT DISTINCT date_trunc('hour', created_at) AS h FROM )sql",
                                     bronze, R"sql( WHERE created_at IS NOT NULL);

CREATE OR REPLACE VIEW stage_joined AS
SELECT req.*, cust.customer_token, cust.cpf_valid, cust.state AS customer_state,
       cust.acquisition_channel AS customer_acquisition_channel,
       cust.birth_year AS customer_birth_year,
       CAST(req.created_at + o.off AS DATE) AS request_date
FROM )sql",
                                     bronze, R"sql( req
LEFT JOIN request_offsets o ON o.h = date_trunc('hour', req.created_at)
LEFT JOIN raw_customers cust ON cust.id = req.customer_id;

CREATE OR REPLACE VIEW stage_keys AS
SELECT customer_token, cpf_valid, request_date FROM stage_joined;

CREATE OR REPLACE TABLE candidate_customers AS
SELECT id AS customer_id, customer_token, state, acquisition_channel, birth_year,
       marketing_consent, created_at, updated_at, full_name_enc, email_enc, phone_enc,
       birth_date_enc
FROM raw_customers;
)sql"));
}

Status WriteStage(lake::Engine& engine, const std::string& stage_parquet, bool bureau_skipped) {
  // The joined rows are written once to a scratch Parquet file (compact, and every
  // later reader - each quality rule, the silver write - scans only the columns it
  // needs) rather than held in DuckDB's memory; candidate_requests is a view over it.
  return engine.Execute(absl::StrCat(R"sql(
COPY (
SELECT s.id AS request_id, s.customer_id, s.customer_token, s.amount_cents,
       s.term_months, s.purpose, s.channel, s.declared_income_cents, s.status,
       s.version, s.created_at, s.updated_at, s.decided_at,
       s.decision, s.score AS risk_score, s.risk_band, s.probability_of_default,
       TRY(from_json(s.reason_codes, '["VARCHAR"]')) AS reason_codes,
       TRY(from_json(s.provider_reason_codes, '["VARCHAR"]')) AS provider_reason_codes,
       s.first_time_customer, s.provider_ref, s.provider_model_version,
       s.policy_version, s.attempts, s.provider_latency_ms,
       s.customer_state, s.customer_acquisition_channel, s.customer_birth_year,
       CASE WHEN b.status = 'FOUND' THEN b.score END AS bureau_score,
       CASE WHEN b.status IS NOT NULL THEN b.status
            WHEN s.customer_token IS NULL OR NOT coalesce(s.cpf_valid, false)
              OR s.request_date IS NULL THEN 'NOT_REQUESTED'
            WHEN )sql",
                                     bureau_skipped ? "true" : "false",
                                     R"sql( THEN 'SKIPPED'
            ELSE 'UNAVAILABLE' END AS bureau_status,
       CASE WHEN b.status IS NOT NULL THEN b.score_date END AS bureau_as_of,
       s.request_date, s.cpf_valid
FROM stage_joined s
LEFT JOIN bureau_answers b
  ON b.customer_token = s.customer_token AND b.score_date = s.request_date
) TO )sql",
                                     SqlString(stage_parquet),
                                     R"sql( (FORMAT parquet, COMPRESSION snappy);

CREATE OR REPLACE VIEW candidate_requests AS SELECT * FROM read_parquet()sql",
                                     SqlString(stage_parquet), R"sql();
)sql"));
}

Status SelectGood(lake::Engine& engine, const std::string& quarantine_relation) {
  // A view, not a copy: at millions of rows a copy costs seconds and memory. A join
  // in front of DuckDB's Parquet writer costs about twice the write itself, so with
  // nothing quarantined (the usual day) the view has none.
  LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE quarantined_ids AS SELECT DISTINCT TRY_CAST(record_key AS BIGINT) "
      "AS request_id FROM ",
      quarantine_relation,
      " WHERE severity = 'error' AND table_name = 'credit_requests' AND record_key IS NOT NULL")));
  LASTRO_ASSIGN_OR_RETURN(lake::Value quarantined,
                          engine.QueryValue("SELECT count(*) FROM quarantined_ids"));
  return engine.Execute(
      absl::StrCat("CREATE OR REPLACE VIEW good_requests AS SELECT * FROM candidate_requests c "
                   "WHERE c.request_id IS NOT NULL",
                   std::get<int64_t>(quarantined) == 0
                       ? ""
                       : " AND c.request_id NOT IN (SELECT request_id FROM quarantined_ids "
                         "WHERE request_id IS NOT NULL)"));
}

Status WriteParquet(lake::Engine& engine, const std::string& select, const std::string& dir,
                    const std::string& partition_by, const std::string& file_prefix,
                    int row_group_rows) {
  std::string options =
      absl::StrCat("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ", row_group_rows);
  if (!partition_by.empty()) {
    absl::StrAppend(&options, ", PARTITION_BY (", partition_by, "), FILENAME_PATTERN ",
                    SqlString(file_prefix + "-{i}"), ", OVERWRITE_OR_IGNORE");
  }
  return engine.Execute(
      absl::StrCat("COPY (", select, ") TO ", SqlString(dir), " (", options, ")"));
}

Status WriteOnePartition(lake::Engine& engine, const std::string& select, const std::string& dir,
                         const std::string& key, const std::string& value,
                         const std::string& file_prefix, int row_group_rows) {
  std::filesystem::path folder = std::filesystem::path(dir) / (key + "=" + value);
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return absl::UnavailableError("cannot create " + folder.string() + ": " + ec.message());
  return WriteParquet(engine, select, (folder / (file_prefix + "-0.parquet")).string(), "", "",
                      row_group_rows);
}

StatusOr<std::vector<std::string>> WriteSilverRequests(lake::Engine& engine,
                                                       const std::string& published_glob,
                                                       const std::string& dir,
                                                       const std::string& run_id,
                                                       int row_group_rows) {
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult dates,
                          engine.Query("SELECT DISTINCT request_date::VARCHAR FROM good_requests "
                                       "WHERE request_date IS NOT NULL ORDER BY 1"));
  std::vector<std::string> out;
  for (size_t i = 0; i < dates.rows(); ++i) out.push_back(*dates.Text(i, 0));
  if (out.empty()) return out;

  // Per request, the highest (version, updated_at) wins, this run's row on a tie.
  LASTRO_RETURN_IF_ERROR(WriteMergedDays(
      engine, SilverRequestColumns(), "good_requests", /*fresh_in_days=*/false, "request_id",
      "version DESC NULLS LAST, updated_at DESC NULLS LAST, fresh DESC", published_glob, dir, out,
      run_id, row_group_rows));
  return out;
}

Status WriteMergedDays(lake::Engine& engine, const std::vector<std::string>& columns,
                       const std::string& fresh_relation, bool fresh_in_days,
                       const std::string& key, const std::string& order,
                       const std::string& published_glob, const std::string& dir,
                       const std::vector<std::string>& days, const std::string& run_id,
                       int row_group_rows) {
  if (days.empty()) return absl::OkStatus();
  std::vector<std::string> day_literals;
  for (const std::string& d : days) day_literals.push_back(SqlString(d));
  std::string in_days = absl::StrCat("(", absl::StrJoin(day_literals, ", "), ")");
  std::string cols = absl::StrJoin(columns, ", ");
  std::string fresh = absl::StrCat(
      "SELECT ", absl::StrJoin(std::vector<std::string>(columns.begin(), columns.end() - 1), ", "),
      ", ", SqlString(run_id), " AS run_id, request_date, 1 AS fresh FROM ", fresh_relation,
      fresh_in_days ? absl::StrCat(" WHERE request_date IN ", in_days) : "");
  // Merge with what is published only where it overlaps: a backfill or a first run
  // writes its days as they are (keys are unique within one snapshot).
  bool overlap = false;
  if (!published_glob.empty()) {
    LASTRO_ASSIGN_OR_RETURN(lake::Value published,
                            engine.QueryValue(absl::StrCat(
                                "SELECT count(*) FROM read_parquet(", SqlString(published_glob),
                                ", hive_partitioning = true) WHERE request_date IN ", in_days)));
    overlap = std::get<int64_t>(published) > 0;
  }
  std::string select;
  if (!overlap) {
    select = absl::StrCat("SELECT ", cols, ", request_date FROM (", fresh, ")");
  } else {
    select = absl::StrCat(
        "SELECT ", cols, ", request_date FROM (", fresh, " UNION ALL BY NAME SELECT ", cols,
        ", request_date, 0 AS fresh FROM read_parquet(", SqlString(published_glob),
        ", hive_partitioning = true, union_by_name = true) WHERE request_date IN ", in_days,
        ") QUALIFY row_number() OVER (PARTITION BY ", key, " ORDER BY ", order, ") = 1");
  }
  // Partitioned writes keep one buffer per open partition and thread: flushing each
  // at a row group's worth bounds memory by that, not by the size of a day (at 5M
  // requests over 30 days, buffering whole days spilled and took twice as long).
  LASTRO_RETURN_IF_ERROR(
      engine.Execute(absl::StrCat("SET partitioned_write_flush_threshold = ", row_group_rows)));
  return WriteParquet(engine, select, dir, "request_date", "part-" + run_id, row_group_rows);
}

const std::vector<std::pair<std::string, std::string>>& SilverCustomerColumns() {
  static const std::vector<std::pair<std::string, std::string>> kColumns = {
      {"customer_id", "BIGINT"},   {"customer_token", "VARCHAR"},
      {"state", "VARCHAR"},        {"acquisition_channel", "VARCHAR"},
      {"birth_year", "INTEGER"},   {"marketing_consent", "BOOLEAN"},
      {"created_at", "TIMESTAMP"}, {"updated_at", "TIMESTAMP"},
      {"full_name_enc", "BLOB"},   {"email_enc", "BLOB"},
      {"phone_enc", "BLOB"},       {"birth_date_enc", "BLOB"}};
  return kColumns;
}

Status WriteSilverCustomers(lake::Engine& engine, const std::string& published_glob,
                            const std::string& dir, const std::string& run_id, int row_group_rows) {
  std::vector<std::string> names;
  for (const auto& [name, type] : SilverCustomerColumns()) names.push_back(name);
  std::string cols = absl::StrJoin(names, ", ");
  std::string all = absl::StrCat("SELECT ", cols, ", ", SqlString(run_id),
                                 " AS run_id, 1 AS fresh FROM candidate_customers "
                                 "WHERE customer_id IS NOT NULL");
  if (published_glob.empty()) {
    // A first load: one snapshot holds each customer once, so there is nothing to merge.
    return WriteParquet(engine, absl::StrCat("SELECT ", cols, ", run_id FROM (", all, ")"),
                        dir + "/part-" + run_id + ".parquet", "", "", row_group_rows);
  }
  // A version written before a column existed (marketing_consent, the sealed PII)
  // gives NULL for it.
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult described,
                          engine.Query(absl::StrCat("DESCRIBE SELECT * FROM read_parquet(",
                                                    SqlString(published_glob), ")")));
  std::set<std::string> published;
  for (size_t i = 0; i < described.rows(); ++i) published.insert(*described.Text(i, 0));
  std::vector<std::string> old_cols;
  for (const auto& [name, type] : SilverCustomerColumns()) {
    old_cols.push_back(published.count(name) ? name
                                             : absl::StrCat("CAST(NULL AS ", type, ") AS ", name));
  }
  absl::StrAppend(&all, " UNION ALL BY NAME SELECT ", absl::StrJoin(old_cols, ", "),
                  ", run_id, 0 AS fresh FROM read_parquet(", SqlString(published_glob), ")");
  std::string merged =
      absl::StrCat("SELECT ", cols, ", run_id FROM (", all,
                   ") QUALIFY row_number() OVER (PARTITION BY customer_id "
                   "ORDER BY updated_at DESC NULLS LAST, fresh DESC) = 1 ORDER BY customer_id");
  return WriteParquet(engine, merged, dir + "/part-" + run_id + ".parquet", "", "", row_group_rows);
}

}  // namespace lastro::batch
