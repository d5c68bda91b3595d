#include "mart/build.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "lake/engine.h"
#include "mart/model.h"
#include "mart/sources.h"

namespace lastro::mart {
namespace fs = std::filesystem;

namespace {

constexpr double kEngineMemoryShare = 0.6;  // as the batch: the rest is the process's

// Macros the model and the named queries use; stored in the catalog so readers have
// them too. local_date() is an instant's business day in `timezone`.
std::string Macros(const std::string& timezone) {
  return absl::StrCat(
      "CREATE OR REPLACE MACRO date_key(d) AS CAST(year(d) * 10000 + month(d) * 100 + day(d) "
      "AS INTEGER);"
      "CREATE OR REPLACE MACRO local_date(ts) AS CAST(timezone(",
      lake::SqlString(timezone),
      ", timezone('UTC', ts)) AS DATE);"
      "CREATE OR REPLACE MACRO score_band(s) AS CASE WHEN s IS NULL THEN 'none' WHEN s < 200 "
      "THEN '0-199' WHEN s < 400 THEN '200-399' WHEN s < 600 THEN '400-599' WHEN s < 800 THEN "
      "'600-799' ELSE '800-1000' END;");
}

std::string MonthExpr(const std::string& column) {
  return absl::StrCat("CAST(date_trunc('month', ", column, ") AS DATE)");
}

std::string DateList(const std::set<std::string>& days) {
  std::vector<std::string> out;
  for (const std::string& d : days) out.push_back(absl::StrCat("DATE '", d, "'"));
  return out.empty() ? "NULL" : absl::StrJoin(out, ", ");
}

// `days` widened by `near` days either side.
std::set<absl::CivilDay> Widen(const std::set<std::string>& days, int near) {
  std::set<absl::CivilDay> out;
  for (const std::string& text : days) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(text, &day)) continue;  // DiffPrints keeps ISO days only
    for (int k = -near; k <= near; ++k) out.insert(day + k);
  }
  return out;
}

std::string Iso(absl::CivilDay d) { return absl::FormatCivilTime(d); }

std::string SourceView(const std::string& source) {
  for (const Source& s : ModelSources()) {
    if (s.zone + "/" + s.table == source) return s.view;
  }
  return "";
}

StatusOr<std::set<std::string>> TextColumn(lake::Engine& engine, const std::string& sql) {
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult r, engine.Query(sql));
  std::set<std::string> out;
  for (size_t i = 0; i < r.rows(); ++i) {
    if (auto v = r.Text(i, 0)) out.insert(*v);
  }
  return out;
}

class Builder {
 public:
  Builder(lake::Engine& engine, const BuildPlan& plan) : engine_(engine), plan_(plan) {}

  // Snapshots what the incremental build compares against, before anything changes.
  Status Begin() {
    if (!plan_.incremental) return absl::OkStatus();
    return engine_.Execute(
        "CREATE TEMP TABLE prev_dim_channel AS SELECT * FROM dim_channel;"
        "CREATE TEMP TABLE prev_dim_customer AS SELECT * FROM dim_customer;");
  }

  Status Refresh(const ModelTable& t) {
    LASTRO_ASSIGN_OR_RETURN(TableRefresh r, Plan(t));
    std::string body = absl::StrCat("SELECT * FROM (", t.sql, "\n)");
    if (r.how == "full") {
      LASTRO_RETURN_IF_ERROR(
          engine_.Execute(absl::StrCat("CREATE OR REPLACE TEMP MACRO refreshing(x) AS true;"
                                       "CREATE OR REPLACE TABLE ",
                                       t.name, " AS ", t.sql)));
    } else if (r.how != "unchanged") {
      LASTRO_RETURN_IF_ERROR(
          engine_.Execute(absl::StrCat("DELETE FROM ", t.name, " WHERE refreshing(", t.key_column,
                                       "); INSERT INTO ", t.name, " BY NAME ", body)));
    }
    LASTRO_RETURN_IF_ERROR(AfterBuilt(t));
    done_[t.name] = std::move(r);
    return absl::OkStatus();
  }

  std::map<std::string, TableRefresh>& done() { return done_; }

 private:
  static TableRefresh Full(std::string reason) {
    TableRefresh r;
    r.reason = std::move(reason);
    return r;
  }

  StatusOr<TableRefresh> Plan(const ModelTable& t) {
    if (!plan_.incremental) return TableRefresh{};
    if (t.kind == RefreshKind::kFull) return Full("");
    if (!everything_reason_.empty()) return Full(everything_reason_);
    for (const ModelInput& in : t.inputs) {
      if (in.is_source()) {
        auto it = plan_.changed.find(in.name);
        if (it != plan_.changed.end() && it->second.whole_table) {
          return Full(in.name + " is not partitioned by day");
        }
      } else if (done_.contains(in.name) && done_[in.name].how == "full") {
        return Full(in.name + " was rebuilt whole");
      }
    }
    return t.kind == RefreshKind::kMonth ? PlanMonths(t) : PlanCustomers(t);
  }

  StatusOr<TableRefresh> PlanMonths(const ModelTable& t) {
    std::set<std::string> months;
    for (const ModelInput& in : t.inputs) {
      if (!in.is_source()) {
        if (done_.contains(in.name))
          months.insert(done_[in.name].months.begin(), done_[in.name].months.end());
        continue;
      }
      auto it = plan_.changed.find(in.name);
      if (it == plan_.changed.end()) continue;
      for (absl::CivilDay d : Widen(it->second.days, in.near_days)) {
        months.insert(Iso(absl::CivilDay(absl::CivilMonth(d))));
      }
    }
    if (!t.customer_column.empty()) {  // months holding rows of customers that changed
      LASTRO_ASSIGN_OR_RETURN(
          std::set<std::string> more,
          TextColumn(engine_,
                     absl::StrCat("SELECT DISTINCT CAST(", MonthExpr(t.key_column),
                                  " AS VARCHAR) FROM ", t.name, " WHERE ", t.customer_column,
                                  " IN (SELECT customer_id FROM changed_customers)")));
      months.insert(more.begin(), more.end());
    }
    TableRefresh r;
    r.how = months.empty() ? "unchanged" : "months";
    r.months.assign(months.begin(), months.end());
    LASTRO_RETURN_IF_ERROR(
        engine_.Execute(absl::StrCat("CREATE OR REPLACE TEMP MACRO refreshing(d) AS ",
                                     MonthExpr("d"), " IN (", DateList(months), ")")));
    return r;
  }

  // The customers with a row on a changed day, before (this table's rows on those days)
  // or after (the inputs' rows on them), plus the customers whose versions changed.
  StatusOr<TableRefresh> PlanCustomers(const ModelTable& t) {
    std::vector<std::string> parts;
    std::set<std::string> all_days;
    for (const ModelInput& in : t.inputs) {
      if (!in.is_source()) {
        return absl::InternalError(
            absl::StrCat(t.file, ": a per-customer table takes lake sources as inputs"));
      }
      auto it = plan_.changed.find(in.name);
      if (it == plan_.changed.end()) continue;
      std::set<std::string> days;
      for (absl::CivilDay d : Widen(it->second.days, in.near_days)) days.insert(Iso(d));
      all_days.insert(days.begin(), days.end());
      parts.push_back(absl::StrCat("SELECT customer_id FROM ", SourceView(in.name), " WHERE ",
                                   lake::SqlIdent(it->second.column), " IN (", DateList(days),
                                   ")"));
    }
    if (!all_days.empty()) {
      parts.push_back(absl::StrCat("SELECT ", t.key_column, " FROM ", t.name, " WHERE ",
                                   t.date_column, " IN (", DateList(all_days), ")"));
    }
    if (!t.customer_column.empty()) parts.push_back("SELECT customer_id FROM changed_customers");
    if (parts.empty()) parts.push_back("SELECT NULL::BIGINT WHERE false");
    LASTRO_RETURN_IF_ERROR(engine_.Execute(absl::StrCat(
        "CREATE OR REPLACE TEMP TABLE refresh_customers AS SELECT DISTINCT customer_id FROM (",
        absl::StrJoin(parts, " UNION ALL "),
        ") t(customer_id) WHERE customer_id IS NOT NULL;"
        "CREATE OR REPLACE TEMP MACRO refreshing(c) AS c IN (SELECT customer_id FROM "
        "refresh_customers)")));
    LASTRO_ASSIGN_OR_RETURN(lake::Value n,
                            engine_.QueryValue("SELECT count(*) FROM refresh_customers"));
    TableRefresh r;
    r.customers = std::get<int64_t>(n);
    r.how = r.customers == 0 ? "unchanged" : "customers";
    return r;
  }

  // The two dimensions every fact joins: a new channel renumbers channel_key (everything
  // is rebuilt); changed customer versions mark the rows of those customers.
  Status AfterBuilt(const ModelTable& t) {
    if (!plan_.incremental) return absl::OkStatus();
    if (t.name == "dim_channel") {
      LASTRO_ASSIGN_OR_RETURN(
          lake::Value n,
          engine_.QueryValue("SELECT count(*) FROM ((SELECT * FROM dim_channel EXCEPT SELECT * "
                             "FROM prev_dim_channel) UNION ALL (SELECT * FROM prev_dim_channel "
                             "EXCEPT SELECT * FROM dim_channel))"));
      if (std::get<int64_t>(n) > 0) everything_reason_ = "dim_channel changed";
    } else if (t.name == "dim_customer") {
      return engine_.Execute(
          "CREATE TEMP TABLE changed_customers AS SELECT DISTINCT customer_id FROM ((SELECT * "
          "FROM dim_customer EXCEPT SELECT * FROM prev_dim_customer) UNION ALL (SELECT * FROM "
          "prev_dim_customer EXCEPT SELECT * FROM dim_customer))");
    }
    return absl::OkStatus();
  }

  lake::Engine& engine_;
  const BuildPlan& plan_;
  std::map<std::string, TableRefresh> done_;
  std::string everything_reason_;  // set: every later incremental table is rebuilt whole
};

// Hard-links every file of `from` into `to` (the previous version's unchanged month).
Status LinkFolder(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    fs::create_hard_link(entry.path(), to / entry.path().filename(), ec);
    if (ec) break;
  }
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot link ", from.string(), ": ", ec.message()));
  return absl::OkStatus();
}

// The Parquet copy of a table: one file, or month=YYYY-MM-01/ folders for a month
// table, where an incremental build writes only the rebuilt months and links the rest.
Status ExportParquet(lake::Engine& engine, const ModelTable& t, const TableRefresh& r,
                     const BuildPlan& plan, const fs::path& dir) {
  if (t.kind != RefreshKind::kMonth) {
    return engine.Execute(absl::StrCat("COPY ", t.name, " TO ",
                                       lake::SqlString((dir / (t.name + ".parquet")).string()),
                                       " (FORMAT parquet, COMPRESSION zstd)"));
  }
  fs::path out = dir / t.name;
  if (r.how == "full") {
    return engine.Execute(
        absl::StrCat("COPY (SELECT *, ", MonthExpr(t.key_column), " AS month FROM ", t.name,
                     ") TO ", lake::SqlString(out.string()),
                     " (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month))"));
  }
  std::set<std::string> rebuilt(r.months.begin(), r.months.end());
  std::error_code ec;
  fs::create_directories(out, ec);
  for (const auto& entry : fs::directory_iterator(plan.previous / t.name, ec)) {
    std::string name = entry.path().filename().string();
    if (rebuilt.contains(name.substr(name.find('=') + 1))) continue;
    LASTRO_RETURN_IF_ERROR(LinkFolder(entry.path(), out / name));
  }
  for (const std::string& month : rebuilt) {
    std::string where = absl::StrCat(" WHERE ", MonthExpr(t.key_column), " = DATE '", month, "'");
    LASTRO_ASSIGN_OR_RETURN(
        lake::Value n, engine.QueryValue(absl::StrCat("SELECT count(*) FROM ", t.name, where)));
    if (std::get<int64_t>(n) == 0) continue;
    fs::create_directories(out / ("month=" + month), ec);
    LASTRO_RETURN_IF_ERROR(engine.Execute(
        absl::StrCat("COPY (SELECT * FROM ", t.name, where, ") TO ",
                     lake::SqlString((out / ("month=" + month) / "data_0.parquet").string()),
                     " (FORMAT parquet, COMPRESSION zstd)")));
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::json TablesJson(const std::map<std::string, TableRefresh>& tables) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, t] : tables) {
    nlohmann::json j = {{"how", t.how}};
    if (t.how == "months") j["months"] = t.months;
    if (t.how == "customers") j["customers"] = t.customers;
    if (!t.reason.empty()) j["reason"] = t.reason;
    out[name] = std::move(j);
  }
  return out;
}

StatusOr<BuildOutput> BuildCatalog(const Config& config, const lake::TableStore& lake_store,
                                   const BuildPlan& plan, const fs::path& dir) {
  LASTRO_ASSIGN_OR_RETURN(std::vector<ModelTable> tables, ModelTables());
  LASTRO_ASSIGN_OR_RETURN(std::string memory,
                          lake::ScaleMemorySize(config.lake.memory_limit, kEngineMemoryShare));
  LASTRO_ASSIGN_OR_RETURN(
      auto engine, lake::Engine::Open(
                       {.memory_limit = memory,
                        .threads = config.lake.threads,
                        .temp_directory = dir.parent_path() / (dir.filename().string() + ".tmp")}));
  const fs::path db = dir / "catalog.duckdb";
  if (plan.incremental) {
    std::error_code ec;
    fs::copy_file(plan.previous / "catalog.duckdb", db, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot copy the catalog: ", ec.message()));
  }
  LASTRO_RETURN_IF_ERROR(engine->Execute(
      absl::StrCat("ATTACH ", lake::SqlString(db.string()), " AS gold; USE gold;")));
  LASTRO_RETURN_IF_ERROR(engine->Execute(Macros(config.batch.timezone)));
  LASTRO_RETURN_IF_ERROR(DeclareSources(*engine, lake_store));
  Builder builder(*engine, plan);
  LASTRO_RETURN_IF_ERROR(builder.Begin());
  for (const ModelTable& t : tables) {
    Status s = builder.Refresh(t);
    if (!s.ok()) return Status(s.code(), absl::StrCat("model file ", t.file, ": ", s.message()));
  }
  BuildOutput out;
  out.tables = std::move(builder.done());
  LASTRO_ASSIGN_OR_RETURN(out.gates, RunGates(*engine));
  if (std::string failed = DescribeFailures(out.gates); !failed.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("integrity gate failed, nothing published: ", failed));
  }
  for (const ModelTable& t : tables) {
    LASTRO_ASSIGN_OR_RETURN(lake::Value n,
                            engine->QueryValue(absl::StrCat("SELECT count(*) FROM ", t.name)));
    out.rows[t.name] = std::get<int64_t>(n);
    LASTRO_RETURN_IF_ERROR(ExportParquet(*engine, t, out.tables[t.name], plan, dir));
  }
  // DETACH checkpoints: the file is complete and needs no WAL to be read.
  LASTRO_RETURN_IF_ERROR(engine->Execute("USE memory; DETACH gold;"));
  return out;
}

}  // namespace lastro::mart
