#include "mart/sources.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lastro::mart {

const std::vector<Source>& ModelSources() {
  static const std::vector<Source> kSources = {
      {"src_silver_requests",
       "silver",
       "credit_requests",
       true,
       {{"request_id", "BIGINT"},      {"customer_id", "BIGINT"},
        {"customer_token", "VARCHAR"}, {"amount_cents", "BIGINT"},
        {"term_months", "INTEGER"},    {"purpose", "VARCHAR"},
        {"channel", "VARCHAR"},        {"declared_income_cents", "BIGINT"},
        {"status", "VARCHAR"},         {"created_at", "TIMESTAMP"},
        {"updated_at", "TIMESTAMP"},   {"decided_at", "TIMESTAMP"},
        {"decision", "VARCHAR"},       {"risk_score", "INTEGER"},
        {"risk_band", "VARCHAR"},      {"probability_of_default", "DOUBLE"},
        {"policy_version", "VARCHAR"}, {"bureau_score", "INTEGER"},
        {"bureau_status", "VARCHAR"},  {"request_date", "DATE"}}},
      {"src_silver_status_history",
       "silver",
       "credit_request_status_history",
       true,
       {{"id", "BIGINT"},
        {"request_id", "BIGINT"},
        {"from_status", "VARCHAR"},
        {"to_status", "VARCHAR"},
        {"changed_at", "TIMESTAMP"},
        {"changed_by", "VARCHAR"},
        {"reason", "VARCHAR"},
        {"request_date", "DATE"}}},
      {"src_silver_customers",
       "silver",
       "customers",
       false,
       {{"customer_id", "BIGINT"},
        {"customer_token", "VARCHAR"},
        {"state", "VARCHAR"},
        {"acquisition_channel", "VARCHAR"},
        {"birth_year", "INTEGER"},
        {"marketing_consent", "BOOLEAN"},
        {"created_at", "TIMESTAMP"},
        {"updated_at", "TIMESTAMP"}}},
      {"src_bronze_customers",
       "bronze",
       "customers",
       true,
       {{"id", "BIGINT"},
        {"customer_token", "VARCHAR"},
        {"state", "VARCHAR"},
        {"acquisition_channel", "VARCHAR"},
        // The batch writes birth_year (the date itself only sealed, ADR 0023); files
        // written before that hold birth_date instead. Each reads NULL where absent.
        {"birth_year", "INTEGER"},
        {"birth_date", "DATE"},
        {"marketing_consent", "BOOLEAN"},
        {"created_at", "TIMESTAMP"},
        {"updated_at", "TIMESTAMP"},
        {"run_id", "VARCHAR"}}},
      {"src_app_events",
       "bronze",
       "app_events",
       true,
       {{"event_id", "VARCHAR"},
        {"event_type", "VARCHAR"},
        {"occurred_at", "TIMESTAMP"},
        {"anonymous_id", "VARCHAR"},
        {"customer_id", "BIGINT"},
        {"session_id", "VARCHAR"},
        {"device_os", "VARCHAR"},
        {"app_version", "VARCHAR"},
        {"properties", "VARCHAR"},
        {"event_date", "DATE"}}},
      {"src_bank_transactions",
       "bronze",
       "bank_transactions",
       true,
       {{"transaction_id", "VARCHAR"},
        {"account_id", "VARCHAR"},
        {"customer_id", "BIGINT"},
        {"credit_debit_type", "VARCHAR"},
        {"type", "VARCHAR"},
        {"amount_cents", "BIGINT"},
        {"booked_at", "TIMESTAMP"},
        {"booking_date", "DATE"}}},
      {"src_bank_balances",
       "bronze",
       "bank_balances",
       true,
       {{"account_id", "VARCHAR"},
        {"customer_id", "BIGINT"},
        {"available_cents", "BIGINT"},
        {"updated_at", "TIMESTAMP"},
        {"balance_date", "DATE"}}},
  };
  return kSources;
}

std::map<std::string, std::string> SourceVersions(const lake::TableStore& store) {
  std::map<std::string, std::string> out;
  for (const Source& s : ModelSources()) {
    out[s.zone + "/" + s.table] = store.CurrentVersion(s.zone, s.table);
  }
  return out;
}

Status DeclareSources(lake::Engine& engine, const lake::TableStore& store) {
  namespace fs = std::filesystem;
  for (const Source& s : ModelSources()) {
    std::vector<std::string> defs;
    for (const SourceColumn& c : s.columns) {
      defs.push_back(absl::StrCat(lake::SqlIdent(c.name), " ", c.type));
    }
    bool has_files = false;
    if (store.Exists(s.zone, s.table)) {
      LASTRO_ASSIGN_OR_RETURN(std::vector<lake::DataFile> files, store.Files(s.zone, s.table));
      has_files = !files.empty();
    }
    std::string sql;
    if (!has_files) {
      sql = absl::StrCat("CREATE OR REPLACE TEMP TABLE ", s.view, " (", absl::StrJoin(defs, ", "),
                         ")");
    } else {
      // Pin the version: the view names the version folder, not the table symlink.
      std::error_code ec;
      fs::path pinned = fs::canonical(store.TablePath(s.zone, s.table), ec);
      if (ec) {
        return absl::UnavailableError(
            absl::StrCat("cannot resolve ", s.zone, "/", s.table, ": ", ec.message()));
      }
      std::string glob = (pinned / (s.partitioned ? "*/*.parquet" : "*.parquet")).string();
      const std::string scan = absl::StrCat(
          "read_parquet(", lake::SqlString(glob),
          ", hive_partitioning = ", s.partitioned ? "true" : "false", ", union_by_name = true)");
      // Files written before a column was added lack it: it reads as NULL there.
      LASTRO_ASSIGN_OR_RETURN(lake::QueryResult present,
                              engine.Query(absl::StrCat("DESCRIBE SELECT * FROM ", scan)));
      std::set<std::string> names;
      for (size_t i = 0; i < present.rows(); ++i) names.insert(*present.Text(i, 0));
      std::vector<std::string> casts;
      for (const SourceColumn& c : s.columns) {
        casts.push_back(absl::StrCat("CAST(",
                                     names.contains(c.name) ? lake::SqlIdent(c.name) : "NULL",
                                     " AS ", c.type, ") AS ", lake::SqlIdent(c.name)));
      }
      sql = absl::StrCat("CREATE OR REPLACE TEMP VIEW ", s.view, " AS SELECT ",
                         absl::StrJoin(casts, ", "), " FROM ", scan);
    }
    LASTRO_RETURN_IF_ERROR(engine.Execute(sql));
  }
  return absl::OkStatus();
}

}  // namespace lastro::mart
