#include "batch/status_history.h"

#include "absl/strings/str_cat.h"
#include "batch/transform.h"

namespace lastro::batch {

using lake::SqlString;

const std::vector<std::string>& SilverStatusHistoryColumns() {
  static const std::vector<std::string> kColumns = {"id",        "request_id", "from_status",
                                                    "to_status", "changed_at", "changed_by",
                                                    "reason",    "run_id"};
  return kColumns;
}

Status PrepareStatusHistory(lake::Engine& engine, const std::string& history_parquet) {
  // The same offsets and the same expression as the requests' request_date
  // (transform.cc), over the same created_at values: a row lands in its request's day.
  return engine.Execute(absl::StrCat(R"sql(
CREATE OR REPLACE VIEW candidate_status_history AS
SELECT h.id, h.request_id, h.from_status, h.to_status, h.changed_at, h.changed_by, h.reason,
       CAST(h.request_created_at + o.off AS DATE) AS request_date
FROM read_parquet()sql",
                                     SqlString(history_parquet), R"sql() h
LEFT JOIN request_offsets o ON o.h = date_trunc('hour', h.request_created_at);
)sql"));
}

StatusOr<RuleResult> SelectGoodStatusHistory(lake::Engine& engine,
                                             const std::string& quarantine_relation,
                                             const std::string& run_id,
                                             const std::string& batch_date, int64_t checked) {
  RuleResult r{.id = kStatusHistoryRequestRule,
               .type = "relationships",
               .severity = "error",
               .table = kStatusHistoryTable,
               .column = "request_id",
               .checked = checked,
               .threshold = 1};
  // With no request quarantined (the usual day) every history row's request is
  // published: the extract joined each row to a request in scope. No join then.
  LASTRO_ASSIGN_OR_RETURN(lake::Value requests,
                          engine.QueryValue("SELECT count(*) FROM quarantined_ids"));
  if (std::get<int64_t>(requests) > 0) {
    LASTRO_ASSIGN_OR_RETURN(
        lake::Value orphans,
        engine.QueryValue("SELECT count(*) FROM candidate_status_history h "
                          "SEMI JOIN quarantined_ids q ON q.request_id = h.request_id"));
    r.failed = std::get<int64_t>(orphans);
  }
  if (r.failed > 0) {
    LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
        "INSERT INTO ", lake::SqlIdent(quarantine_relation),
        " (run_id, batch_date, rule_id, severity, table_name, record_key, reason, record, "
        "quarantined_at) SELECT ",
        SqlString(run_id), ", CAST(", SqlString(batch_date), " AS DATE), ",
        SqlString(kStatusHistoryRequestRule), ", 'error', ", SqlString(kStatusHistoryTable),
        ", CAST(h.id AS VARCHAR), 'request_id = ' || CAST(h.request_id AS VARCHAR) || "
        "' was quarantined by this run, so its history is not published with it', "
        "CAST(to_json(h) AS VARCHAR), CAST(now() AS TIMESTAMP) "
        "FROM candidate_status_history h SEMI JOIN quarantined_ids q "
        "ON q.request_id = h.request_id")));
  }
  r.ratio = checked > 0 ? static_cast<double>(r.failed) / checked : 0;
  r.passed = r.failed == 0;
  r.observed = absl::StrCat(r.failed, " of ", checked, " rows failed");
  r.message = r.passed ? "ok"
                       : "the rows of quarantined requests are quarantined with them (never "
                         "breaches: the requests' own rules decide)";

  // As SelectGood(): a view, and no anti-join in front of the writer when nothing of
  // the history was quarantined.
  LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
      "CREATE OR REPLACE TABLE quarantined_history_ids AS SELECT DISTINCT "
      "TRY_CAST(record_key AS BIGINT) AS id FROM ",
      lake::SqlIdent(quarantine_relation), " WHERE severity = 'error' AND table_name = ",
      SqlString(kStatusHistoryTable), " AND record_key IS NOT NULL")));
  LASTRO_ASSIGN_OR_RETURN(lake::Value quarantined,
                          engine.QueryValue("SELECT count(*) FROM quarantined_history_ids"));
  LASTRO_RETURN_IF_ERROR(engine.Execute(
      absl::StrCat("CREATE OR REPLACE VIEW good_status_history AS SELECT * FROM "
                   "candidate_status_history h WHERE h.id IS NOT NULL",
                   std::get<int64_t>(quarantined) == 0
                       ? ""
                       : " AND h.id NOT IN (SELECT id FROM quarantined_history_ids WHERE id IS "
                         "NOT NULL)")));
  return r;
}

Status WriteSilverStatusHistory(lake::Engine& engine, const std::string& published_glob,
                                const std::string& dir, const std::vector<std::string>& days,
                                const std::string& run_id, int row_group_rows) {
  // The history is append-only, so the union of what was published and what this
  // snapshot holds is a request's whole history, whichever snapshot is newer (a rerun
  // from a lagging replica loses nothing). Per id, this run's copy wins.
  return WriteMergedDays(engine, SilverStatusHistoryColumns(), "good_status_history",
                         /*fresh_in_days=*/true, "id", "fresh DESC", published_glob, dir, days,
                         run_id, row_group_rows);
}

}  // namespace lastro::batch
