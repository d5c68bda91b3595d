#include "batch/enrich.h"

#include <chrono>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lastro::batch {

using lake::SqlString;

namespace {
// The new answers of this run, published to bronze/bureau_scores by the caller.
constexpr const char* kCreateBureauNew =
    "CREATE OR REPLACE TABLE bureau_new (customer_token VARCHAR, score_date DATE, "
    "score INTEGER, status VARCHAR, detail VARCHAR, fetched_at TIMESTAMP, run_id VARCHAR, "
    "model VARCHAR);";
}  // namespace

StatusOr<EnrichStats> Enrich(lake::Engine& engine, BureauClient* client,
                             const std::unordered_map<std::string, std::string>& cpf_by_token,
                             const std::string& cache_glob, const std::string& run_id, bool skip) {
  EnrichStats stats;
  if (skip && cache_glob.empty()) {
    // Nothing to ask and nothing cached: every request is SKIPPED (or NOT_REQUESTED),
    // without reading the requests at all.
    LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
        kCreateBureauNew,
        "CREATE OR REPLACE TABLE bureau_answers (customer_token VARCHAR, score_date DATE, "
        "score INTEGER, status VARCHAR)")));
    return stats;
  }
  LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
      kCreateBureauNew,
      "CREATE OR REPLACE TABLE bureau_pairs AS SELECT DISTINCT customer_token, request_date "
      "FROM stage_keys WHERE customer_token IS NOT NULL AND request_date IS NOT NULL "
      "AND cpf_valid")));
  if (cache_glob.empty()) {
    LASTRO_RETURN_IF_ERROR(engine.Execute(
        "CREATE OR REPLACE TABLE bureau_cache (customer_token VARCHAR, score_date DATE, "
        "score INTEGER, status VARCHAR)"));
  } else {
    LASTRO_RETURN_IF_ERROR(engine.Execute(absl::StrCat(
        "CREATE OR REPLACE TABLE bureau_cache AS SELECT c.customer_token, "
        "CAST(c.score_date AS DATE) AS score_date, c.score, c.status FROM read_parquet(",
        SqlString(cache_glob),
        ", hive_partitioning = true, union_by_name = true) c SEMI JOIN bureau_pairs p "
        "ON p.customer_token = c.customer_token AND p.request_date = CAST(c.score_date AS DATE) "
        "QUALIFY row_number() OVER (PARTITION BY c.customer_token, c.score_date "
        "ORDER BY c.fetched_at DESC) = 1")));
  }
  LASTRO_ASSIGN_OR_RETURN(lake::Value pairs,
                          engine.QueryValue("SELECT count(*) FROM bureau_pairs"));
  stats.pairs = std::get<int64_t>(pairs);
  LASTRO_RETURN_IF_ERROR(engine.Execute(
      "CREATE OR REPLACE TABLE bureau_missing AS SELECT p.request_date, p.customer_token "
      "FROM bureau_pairs p ANTI JOIN bureau_cache c ON c.customer_token = p.customer_token "
      "AND c.score_date = p.request_date"));
  LASTRO_ASSIGN_OR_RETURN(lake::Value missing_count,
                          engine.QueryValue("SELECT count(*) FROM bureau_missing"));
  stats.cached = stats.pairs - std::get<int64_t>(missing_count);
  // With `skip` nothing is asked, so the missing pairs are never read into memory.
  std::vector<std::string> days;
  if (!skip) {
    stats.fetched = std::get<int64_t>(missing_count);
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult d,
        engine.Query("SELECT DISTINCT request_date::VARCHAR FROM bureau_missing ORDER BY 1"));
    for (size_t i = 0; i < d.rows(); ++i) days.push_back(*d.Text(i, 0));
  }
  if (!days.empty() && client == nullptr) {
    return absl::FailedPreconditionError("bureau enrichment needs a bureau client");
  }
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<lake::Appender> out, engine.NewAppender("bureau_new"));
  // One Fetch per day (the bureau scores "as of" a date), one day in memory at a time.
  for (const std::string& day : days) {
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult day_tokens,
        engine.Query(absl::StrCat("SELECT customer_token FROM bureau_missing WHERE request_date = ",
                                  SqlString(day), "::DATE ORDER BY 1")));
    std::vector<std::string> tokens;
    tokens.reserve(day_tokens.rows());
    for (size_t i = 0; i < day_tokens.rows(); ++i) tokens.push_back(*day_tokens.Text(i, 0));
    std::vector<std::string> cpfs;
    cpfs.reserve(tokens.size());
    for (const std::string& t : tokens) cpfs.push_back(cpf_by_token.at(t));
    BureauFetchStats fetch_stats;
    LASTRO_ASSIGN_OR_RETURN(std::vector<BureauScore> scores,
                            client->Fetch(day, cpfs, &fetch_stats));
    stats.calls += fetch_stats.calls;
    stats.retries += fetch_stats.retries;
    for (size_t i = 0; i < scores.size(); ++i) {
      const BureauScore& s = scores[i];
      switch (s.status) {
        case BureauStatus::kFound:
          ++stats.found;
          break;
        case BureauStatus::kNotFound:
          ++stats.not_found;
          break;
        case BureauStatus::kInconsistent:
          ++stats.inconsistent;
          break;
        case BureauStatus::kUnavailable:
          ++stats.unavailable;
          break;
      }
      out->AppendText(tokens[i]);
      out->AppendText(day);
      s.score ? out->AppendInt(*s.score) : out->AppendNull();
      out->AppendText(BureauStatusName(s.status));
      out->AppendText(s.detail);
      out->AppendNull();  // fetched_at: filled below in one statement
      out->AppendText(run_id);
      s.model.empty() ? out->AppendNull() : out->AppendText(s.model);
      LASTRO_RETURN_IF_ERROR(out->EndRow());
    }
  }
  LASTRO_RETURN_IF_ERROR(out->Close());
  LASTRO_RETURN_IF_ERROR(engine.Execute(
      "UPDATE bureau_new SET fetched_at = CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP);"
      "CREATE OR REPLACE TABLE bureau_answers AS "
      "SELECT customer_token, score_date, score, status FROM bureau_cache "
      "UNION ALL SELECT customer_token, score_date, score, status FROM bureau_new"));
  return stats;
}

}  // namespace lastro::batch
