#include "mart_bench_queries.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"

namespace lastro::bench {
namespace {

// The catalog's score_band() macro (mart/refresh.cc), as an analyst would spell it.
std::string Band(const std::string& score) {
  return absl::StrReplaceAll(
      "CASE WHEN $s IS NULL THEN 'none' WHEN $s < 200 THEN '0-199' WHEN $s < 400 THEN "
      "'200-399' WHEN $s < 600 THEN '400-599' WHEN $s < 800 THEN '600-799' ELSE '800-1000' END",
      {{"$s", score}});
}

// A period of São Paulo days [from, to] as a range of instants PostgreSQL can answer
// from the created_at index.
constexpr char kPeriod[] =
    "created_at >= timestamptz '{{from}} 00:00 America/Sao_Paulo' "
    "AND created_at < timestamptz '{{to_next}} 00:00 America/Sao_Paulo'";

constexpr char kApprovalRate[] =
    "round(count(*) FILTER (WHERE status = 'APPROVED')::numeric / "
    "nullif(count(*) FILTER (WHERE status <> 'PENDING'), 0), 4) AS approval_rate";

std::map<std::string, PostgresQuestion> Questions() {
  std::map<std::string, PostgresQuestion> q;
  q["finance.daily_volume"] = {
      absl::StrCat("SELECT (created_at AT TIME ZONE 'America/Sao_Paulo')::date AS request_date, "
                   "count(*) AS requests, sum(amount_cents) AS requested_cents, "
                   "count(*) FILTER (WHERE status <> 'PENDING') AS decided, "
                   "count(*) FILTER (WHERE status = 'APPROVED') AS approved, "
                   "coalesce(sum(amount_cents) FILTER (WHERE status = 'APPROVED'), 0) "
                   "AS approved_cents, ",
                   kApprovalRate, " FROM credit_requests WHERE ", kPeriod,
                   " GROUP BY 1 ORDER BY 1"),
      ""};
  q["finance.volume_by_channel"] = {
      absl::StrCat("SELECT channel, purpose AS product, count(*) AS requests, "
                   "sum(amount_cents) AS requested_cents, "
                   "count(*) FILTER (WHERE status = 'APPROVED') AS approved, "
                   "coalesce(sum(amount_cents) FILTER (WHERE status = 'APPROVED'), 0) "
                   "AS approved_cents, ",
                   kApprovalRate, " FROM credit_requests WHERE ", kPeriod,
                   " GROUP BY 1, 2 ORDER BY 1, 2"),
      ""};
  q["credit.approval_by_score_band"] = {
      absl::StrCat("SELECT ", Band("d.score"),
                   " AS risk_score_band, count(*) AS requests, "
                   "count(*) FILTER (WHERE r.status <> 'PENDING') AS decided, "
                   "count(*) FILTER (WHERE r.status = 'APPROVED') AS approved, "
                   "count(*) FILTER (WHERE r.status = 'REJECTED') AS rejected, "
                   "round(count(*) FILTER (WHERE r.status = 'APPROVED')::numeric / "
                   "nullif(count(*) FILTER (WHERE r.status <> 'PENDING'), 0), 4) AS approval_rate "
                   "FROM credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id "
                   "WHERE r.",
                   absl::StrReplaceAll(kPeriod, {{"AND created_at", "AND r.created_at"}}),
                   " GROUP BY 1 ORDER BY 1"),
      ""};
  // PostgreSQL holds no bureau score: the batch takes it from the bureau API (enrich),
  // which this benchmark skips, so the lake has none either. Both read it as NULL.
  q["credit.bureau_agreement"] = {
      absl::StrCat("WITH r AS (SELECT date_trunc('month', r.created_at AT TIME ZONE "
                   "'America/Sao_Paulo')::date AS request_month, ",
                   Band("d.score"), " AS risk_band, ", Band("NULL::integer"),
                   " AS bureau_band FROM credit_requests r LEFT JOIN credit_decisions d "
                   "ON d.request_id = r.id) "
                   "SELECT request_month, count(*) AS requests, "
                   "sum(CASE WHEN risk_band = bureau_band AND risk_band <> 'none' THEN 1 END) "
                   "AS agreeing, round(sum(CASE WHEN risk_band = bureau_band AND risk_band <> "
                   "'none' THEN 1 END)::numeric / nullif(count(*) FILTER (WHERE risk_band <> "
                   "'none' AND bureau_band <> 'none'), 0), 4) AS agreement_rate "
                   "FROM r GROUP BY 1 ORDER BY 1"),
      "bureau scores are NULL on both sides (PostgreSQL has none; --no-enrich)"};
  // A session's customer is the one who logged in during it (the catalog's
  // session_customer_id); one pass over the events, grouped by session.
  q["marketing.funnel_by_channel"] = {
      "WITH sessions AS (SELECT max(customer_id) AS customer_id, "
      "bool_or(event_type = 'loan_simulation') AS simulated FROM bench.app_events "
      "GROUP BY session_id), "
      "app AS (SELECT customer_id, bool_or(simulated) AS simulated FROM sessions "
      "WHERE customer_id IS NOT NULL GROUP BY customer_id), "
      "req AS (SELECT customer_id, bool_or(status = 'APPROVED') AS approved "
      "FROM credit_requests GROUP BY customer_id) "
      "SELECT c.acquisition_channel, count(*) AS customers, count(app.customer_id) AS app_active, "
      "count(*) FILTER (WHERE app.simulated) AS simulated, count(req.customer_id) AS requested, "
      "count(*) FILTER (WHERE req.approved) AS approved, "
      "round(count(*) FILTER (WHERE req.approved)::numeric / nullif(count(req.customer_id), 0), "
      "4) AS approval_rate "
      "FROM customers c JOIN req ON req.customer_id = c.id "
      "LEFT JOIN app ON app.customer_id = c.id GROUP BY 1 ORDER BY 1",
      "assumes one customer per session (true of the data; the answers are compared)"};
  return q;
}

std::string Decimal(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  std::string s = buf;
  return s == "-0.0000" ? "0.0000" : s;
}

// PostgreSQL's text of a value: numbers with a fraction (NUMERIC, float) with 4 decimals.
std::string PgCell(const std::string& text) {
  if (text.find_first_of(".eE") == std::string::npos) return text;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return text;  // not a number (a date, a word)
  return Decimal(v);
}

}  // namespace

std::optional<PostgresQuestion> PostgresEquivalent(
    const std::string& name, const std::map<std::string, std::string>& params) {
  std::map<std::string, PostgresQuestion> all = Questions();
  auto it = all.find(name);
  if (it == all.end()) return std::nullopt;
  PostgresQuestion q = it->second;
  std::vector<std::pair<std::string, std::string>> subst;
  for (const auto& [key, value] : params) subst.push_back({"{{" + key + "}}", value});
  if (auto to = params.find("to"); to != params.end()) {
    absl::CivilDay day;
    if (absl::ParseCivilTime(to->second, &day)) {
      subst.push_back({"{{to_next}}", absl::FormatCivilTime(day + 1)});
    }
  }
  q.sql = absl::StrReplaceAll(q.sql, subst);
  return q;
}

std::vector<std::string> Normalise(const lake::QueryResult& r) {
  std::vector<std::string> rows;
  for (size_t i = 0; i < r.rows(); ++i) {
    std::vector<std::string> cells;
    for (size_t c = 0; c < r.columns().size(); ++c) {
      const std::string& type = r.types()[c];
      if (r.IsNull(i, c)) {
        cells.push_back("NULL");
      } else if (type == "DOUBLE" || type == "FLOAT" || type.starts_with("DECIMAL")) {
        cells.push_back(Decimal(*r.Double(i, c)));
      } else {
        cells.push_back(*r.Text(i, c));
      }
    }
    rows.push_back(absl::StrJoin(cells, "|"));
  }
  return rows;
}

std::vector<std::string> Normalise(const pg::Result& r) {
  std::vector<std::string> rows;
  for (int i = 0; i < r.rows(); ++i) {
    std::vector<std::string> cells;
    for (int c = 0; c < r.columns(); ++c) {
      std::string text(r.Get(i, c));
      cells.push_back(r.IsNull(i, c) ? "NULL"
                      : text == "t"  ? "true"
                      : text == "f"  ? "false"
                                     : PgCell(text));
    }
    rows.push_back(absl::StrJoin(cells, "|"));
  }
  return rows;
}

std::string CompareAnswers(std::vector<std::string> lastro, std::vector<std::string> pg) {
  std::sort(lastro.begin(), lastro.end());
  std::sort(pg.begin(), pg.end());
  if (lastro == pg) return "";
  std::vector<std::string> only_lastro, only_pg;
  std::set_difference(lastro.begin(), lastro.end(), pg.begin(), pg.end(),
                      std::back_inserter(only_lastro));
  std::set_difference(pg.begin(), pg.end(), lastro.begin(), lastro.end(),
                      std::back_inserter(only_pg));
  std::string out =
      absl::StrCat(lastro.size(), " rows from Lastro, ", pg.size(), " from PostgreSQL");
  for (size_t i = 0; i < std::min<size_t>(3, only_lastro.size()); ++i) {
    absl::StrAppend(&out, "\n      only in Lastro:     ", only_lastro[i]);
  }
  for (size_t i = 0; i < std::min<size_t>(3, only_pg.size()); ++i) {
    absl::StrAppend(&out, "\n      only in PostgreSQL: ", only_pg[i]);
  }
  return out;
}

Percentiles Summarise(std::vector<double> ms) {
  Percentiles p;
  p.runs = static_cast<int>(ms.size());
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {
    size_t k = static_cast<size_t>(std::ceil(q * double(ms.size())));
    return ms[std::min(ms.size(), std::max<size_t>(k, 1)) - 1];
  };
  p.p50 = rank(0.50);
  p.p95 = rank(0.95);
  p.max = ms.back();
  return p;
}

}  // namespace lastro::bench
