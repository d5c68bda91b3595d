#include "mart/gates.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lastro::mart {
namespace {

struct ForeignKey {
  std::string fact, column, dim, dim_column;
  bool required;  // NULL is a violation too
};

struct Reconcile {
  std::string fact, source, source_filter;
  std::string fact_filter = "true";
};

const std::vector<ForeignKey>& ForeignKeys() {
  static const std::vector<ForeignKey> kKeys = {
      {"fact_credit_request", "customer_sk", "dim_customer", "customer_sk", true},
      {"fact_credit_request", "channel_key", "dim_channel", "channel_key", true},
      {"fact_credit_request", "created_date_key", "dim_date", "date_key", true},
      {"fact_credit_request", "decided_date_key", "dim_date", "date_key", false},
      {"fact_credit_status_change", "request_id", "fact_credit_request", "request_id", true},
      {"fact_credit_status_change", "date_key", "dim_date", "date_key", true},
      {"fact_app_event", "customer_sk", "dim_customer", "customer_sk", false},
      {"fact_app_event", "date_key", "dim_date", "date_key", true},
      {"fact_bank_transaction", "customer_sk", "dim_customer", "customer_sk", false},
      {"fact_bank_transaction", "date_key", "dim_date", "date_key", true},
      {"customer_features_daily", "date_key", "dim_date", "date_key", true},
  };
  return kKeys;
}

const std::vector<Reconcile>& Reconciliations() {
  static const std::vector<Reconcile> kRec = {
      {"fact_credit_request", "src_silver_requests", "true"},
      {"fact_app_event", "src_app_events", "true"},
      {"fact_bank_transaction", "src_bank_transactions", "true"},
      // Every history row of the lake is a transition of a request in the fact.
      {"fact_credit_status_change", "src_silver_status_history", "true", "source = 'history'"},
  };
  return kRec;
}

std::string Count(const lake::QueryResult& r, size_t col) {
  return std::to_string(r.Int(0, col).value_or(0));
}

}  // namespace

const std::vector<TableKey>& GoldKeys() {
  static const std::vector<TableKey> kKeys = {
      {"dim_date", {"date_key"}},
      {"dim_channel", {"channel_key"}},
      {"dim_channel", {"channel"}},
      {"dim_customer", {"customer_sk"}},
      {"dim_customer", {"customer_id", "valid_from"}},
      {"fact_credit_request", {"request_id"}},
      {"fact_credit_status_change", {"request_id", "seq"}},
      {"fact_app_event", {"event_id"}},
      {"fact_bank_transaction", {"account_id", "transaction_id"}},
      {"customer_features_daily", {"customer_id", "feature_date"}},
  };
  return kKeys;
}

StatusOr<std::vector<GateResult>> RunGates(lake::Engine& engine) {
  std::vector<GateResult> out;
  for (const TableKey& k : GoldKeys()) {
    std::string cols = absl::StrJoin(k.columns, ", ");
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult r,
        engine.Query(absl::StrCat("SELECT count(*), min(k) FROM (SELECT concat_ws('|', ", cols,
                                  ") AS k FROM ", k.table, " GROUP BY ALL HAVING count(*) > 1)")));
    GateResult g{absl::StrCat("unique(", k.table, ": ", cols, ")"), r.Int(0, 0).value_or(0) == 0,
                 "ok"};
    if (!g.passed) {
      g.detail = absl::StrCat(Count(r, 0), " duplicate keys, e.g. ", r.Text(0, 1).value_or(""));
    }
    out.push_back(std::move(g));
  }
  for (const ForeignKey& f : ForeignKeys()) {
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult r,
        engine.Query(
            absl::StrCat("SELECT count(*) FILTER (WHERE f.", f.column, " IS NOT NULL AND d.",
                         f.dim_column, " IS NULL), count(*) FILTER (WHERE f.", f.column,
                         " IS NULL), min(f.", f.column, ") FILTER (WHERE d.", f.dim_column,
                         " IS NULL) FROM ", f.fact, " f LEFT JOIN (SELECT DISTINCT ", f.dim_column,
                         " FROM ", f.dim, ") d ON d.", f.dim_column, " = f.", f.column)));
    int64_t dangling = r.Int(0, 0).value_or(0), nulls = r.Int(0, 1).value_or(0);
    GateResult g{
        absl::StrCat("foreign_key(", f.fact, ".", f.column, " -> ", f.dim, ".", f.dim_column, ")"),
        dangling == 0 && (!f.required || nulls == 0), "ok"};
    if (!g.passed) {
      g.detail =
          absl::StrCat(dangling, " rows reference a missing ", f.dim, " row",
                       dangling > 0 ? absl::StrCat(" (e.g. ", r.Text(0, 2).value_or(""), ")") : "",
                       f.required ? absl::StrCat(", ", nulls, " rows have none") : "");
    }
    out.push_back(std::move(g));
  }
  for (const Reconcile& c : Reconciliations()) {
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult r,
        engine.Query(absl::StrCat("SELECT (SELECT count(*) FROM ", c.fact, " WHERE ", c.fact_filter,
                                  "), (SELECT count(*) FROM ", c.source, " WHERE ", c.source_filter,
                                  ")")));
    std::string fact =
        c.fact_filter == "true" ? c.fact : absl::StrCat(c.fact, " WHERE ", c.fact_filter);
    GateResult g{absl::StrCat("reconcile(", fact, " = ", c.source, ")"), r.Int(0, 0) == r.Int(0, 1),
                 "ok"};
    if (!g.passed) {
      g.detail =
          absl::StrCat(Count(r, 0), " rows in ", fact, " vs ", Count(r, 1), " in ", c.source);
    }
    out.push_back(std::move(g));
  }
  // Every customer the lake knows has exactly one current version.
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult r,
      engine.Query("SELECT (SELECT count(*) FROM dim_customer WHERE is_current), (SELECT "
                   "count(DISTINCT customer_id) FROM (SELECT customer_id FROM "
                   "src_silver_customers UNION ALL SELECT id FROM src_bronze_customers))"));
  GateResult g{"reconcile(dim_customer current = customers in the lake)",
               r.Int(0, 0) == r.Int(0, 1), "ok"};
  if (!g.passed) {
    g.detail = absl::StrCat(Count(r, 0), " current versions vs ", Count(r, 1), " customers");
  }
  out.push_back(std::move(g));
  return out;
}

std::string DescribeFailures(const std::vector<GateResult>& results) {
  std::vector<std::string> parts;
  for (const GateResult& g : results) {
    if (!g.passed) parts.push_back(absl::StrCat(g.name, ": ", g.detail));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace lastro::mart
