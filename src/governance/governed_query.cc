#include "governance/governed_query.h"

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "governance/role_catalog.h"
#include "governance/sql_guard.h"
#include "mart/catalog_store.h"
#include "mart/query.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

enum StopReason { kNone = 0, kTimeout = 1, kCancel = 2 };

std::string Outcome(const Status& s) {
  if (s.ok()) return "allowed";
  switch (s.code()) {
    case absl::StatusCode::kPermissionDenied:
      return "denied";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    default:
      return "error";
  }
}

nlohmann::json Cell(const lake::Value& v) {
  if (auto* b = std::get_if<bool>(&v)) return *b;
  if (auto* n = std::get_if<int64_t>(&v)) return *n;
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return nullptr;
}

// The user's SELECT as a subquery, so the row limit is DuckDB's (it stops producing
// rows) rather than ours. The newline keeps a trailing "-- comment" from eating the ')'.
// `sql` returning at most `limit` rows. A LIMIT appended to the statement costs the
// query nothing measurable; a wrapping SELECT adds an operator (~0.05 ms on a 1 ms
// query), so it is kept for statements with their own LIMIT or OFFSET. The newline
// keeps a trailing "-- comment" from swallowing the clause.
std::string Limited(const std::string& sql, int64_t limit, bool has_limit) {
  if (!has_limit) return absl::StrCat(mart::SubqueryBody(sql), "\nLIMIT ", limit);
  return absl::StrCat("SELECT * FROM (\n", mart::SubqueryBody(sql), "\n) AS lastro_governed LIMIT ",
                      limit);
}

StatusOr<std::string> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// One running query, for timeouts and cancellation.
struct GovernedQueries::Running {
  lake::Engine* engine = nullptr;
  Clock::time_point deadline;
  std::atomic<int> stop{kNone};
};

// Interrupts queries past their deadline: one thread for all of them.
class GovernedQueries::Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Add(Running* r) {
    std::lock_guard lock(mu_);
    running_.insert(r);
    // Woken only when this deadline comes before the loop's next pass: waking it for
    // every query costs a context switch each.
    if (r->deadline < wake_) cv_.notify_all();
  }
  void Remove(Running* r) {
    std::lock_guard lock(mu_);
    running_.erase(r);
  }
  // Interrupts `r` if it is still running (under the lock, so never after Remove()).
  bool Stop(Running* r, StopReason why) {
    std::lock_guard lock(mu_);
    if (!running_.contains(r)) return false;
    int expected = kNone;
    if (r->stop.compare_exchange_strong(expected, why)) r->engine->Interrupt();
    cv_.notify_all();  // the loop repeats the interrupt until the query ends
    return true;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!done_) {
      const Clock::time_point now = Clock::now();
      Clock::time_point next = now + std::chrono::seconds(1);
      for (Running* r : running_) {
        int expected = kNone;
        if (r->deadline <= now) r->stop.compare_exchange_strong(expected, kTimeout);
        if (r->stop.load() != kNone) {
          // Again on every pass until the query ends: DuckDB clears an interrupt that
          // lands before the statement starts executing.
          r->engine->Interrupt();
          next = std::min(next, now + std::chrono::milliseconds(20));
        } else {
          next = std::min(next, r->deadline);
        }
      }
      wake_ = next;
      cv_.wait_until(lock, next);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Running*> running_;
  Clock::time_point wake_ = Clock::time_point::min();  // the loop's next pass
  bool done_ = false;
  std::thread thread_;
};

// A role's catalog and its idle engines.
struct GovernedQueries::Pool {
  RoleCatalog catalog;
  std::string policies_digest;
  std::map<std::string, std::vector<std::string>> tables;  // for the guard
  std::mutex mu;
  std::vector<std::unique_ptr<lake::Engine>> idle;
  // The guard's verdicts on texts it accepted, for this catalog: a named query or a
  // dashboard's repeated SQL is parsed once. Bounded; cleared when full.
  std::map<std::string, GuardResult> accepted;  // guarded by mu
};

constexpr size_t kGuardCacheEntries = 4096;

GovernedQueries::GovernedQueries(const Config& config, Policies policies,
                                 std::unique_ptr<AuditLog> audit)
    : config_(config),
      policies_(std::move(policies)),
      audit_(std::move(audit)),
      watchdog_(std::make_unique<Watchdog>()) {}

GovernedQueries::~GovernedQueries() = default;

StatusOr<std::unique_ptr<GovernedQueries>> GovernedQueries::Create(const Config& config) {
  LASTRO_ASSIGN_OR_RETURN(Policies policies, LoadPolicies(config.governance.policies));
  LASTRO_ASSIGN_OR_RETURN(
      auto audit, AuditLog::Open(config.governance.state_dir, RealClock::Instance(),
                                 std::chrono::milliseconds(config.governance.audit_sync_ms)));
  return std::unique_ptr<GovernedQueries>(
      new GovernedQueries(config, std::move(policies), std::move(audit)));
}

StatusOr<std::shared_ptr<GovernedQueries::Pool>> GovernedQueries::PoolFor(const RolePolicy& role) {
  const std::string version = mart::CatalogStore(config_.lake.dir).CurrentVersion();
  std::lock_guard lock(mu_);
  auto it = pools_.find(role.name);
  if (it != pools_.end() && !version.empty() && it->second->catalog.version == version) {
    return it->second;
  }
  // A new version (or the first query): build or find its role catalog. Held under the
  // lock so one build serves every waiting query.
  LASTRO_ASSIGN_OR_RETURN(RoleCatalog catalog,
                          EnsureRoleCatalog({.lake_root = config_.lake.dir,
                                             .mask_secret = config_.batch.token_key,
                                             .memory_limit = config_.lake.memory_limit,
                                             .threads = config_.lake.threads},
                                            policies_, role));
  auto pool = std::make_shared<Pool>();
  pool->catalog = std::move(catalog);
  for (const TableSchema& t : pool->catalog.schema) {
    auto& cols = pool->tables[t.name];
    for (const auto& c : t.columns) cols.push_back(c.first);
  }
  // One engine opened now: it checks the file opens in the sandbox, and it is the
  // first idle engine.
  LASTRO_ASSIGN_OR_RETURN(auto engine, OpenEngine(*pool, role, ""));
  if (role.audit_log) {
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult cols,
        engine->Query("SELECT column_name FROM information_schema.columns "
                      "WHERE table_name = 'audit_log' ORDER BY ordinal_position"));
    auto& names = pool->tables["audit_log"];
    for (size_t i = 0; i < cols.rows(); ++i) names.push_back(*cols.Text(i, 0));
  }
  pool->idle.push_back(std::move(engine));
  pools_[role.name] = pool;
  return pool;
}

StatusOr<std::unique_ptr<lake::Engine>> GovernedQueries::OpenEngine(const Pool& pool,
                                                                    const RolePolicy& role,
                                                                    const std::string& output) {
  const std::string audit_file = audit_->path().string();
  std::vector<std::string> allowed;
  if (!output.empty()) allowed.push_back(output);
  if (role.audit_log) allowed.push_back(audit_file);
  LASTRO_ASSIGN_OR_RETURN(auto engine,
                          lake::Engine::Open({.memory_limit = config_.lake.memory_limit,
                                              .threads = config_.lake.threads,
                                              .database = pool.catalog.path,
                                              .read_only = true,
                                              .external_access = false,
                                              .allowed_paths = allowed}));
  if (role.audit_log) LASTRO_RETURN_IF_ERROR(engine->Execute(AuditViewSql(audit_file)));
  return engine;
}

StatusOr<GovernedResult> GovernedQueries::Run(const Caller& caller,
                                              const GovernedRequest& request) {
  const Clock::time_point start = Clock::now();
  AuditEntry entry{.user = caller.user,
                   .role = caller.role,
                   .action = request.named.empty() ? "query" : "named",
                   .sql = request.sql,
                   .remote = caller.remote};
  if (!request.named.empty()) {
    std::vector<std::string> ps;
    for (const auto& [k, v] : request.params) ps.push_back(absl::StrCat(k, "=", v));
    entry.sql = absl::StrCat(request.named, "(", absl::StrJoin(ps, ", "), ")");
  }
  StatusOr<GovernedResult> result = [&]() -> StatusOr<GovernedResult> {
    LASTRO_ASSIGN_OR_RETURN(const RolePolicy* role, policies_.Role(caller.role));
    return Execute(caller, *role, request, entry);
  }();
  entry.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  entry.outcome = Outcome(result.status());
  if (!result.ok()) entry.reason = std::string(result.status().message());
  StatusOr<int64_t> seq = audit_->Append(entry);
  if (!seq.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the query was not answered: its audit entry could not be written (",
                     seq.status().message(), ")"));
  }
  if (result.ok()) result->audit_seq = *seq;
  return result;
}

StatusOr<GovernedResult> GovernedQueries::Execute(const Caller& caller, const RolePolicy& role,
                                                  const GovernedRequest& request,
                                                  AuditEntry& entry) {
  if (request.format != "json" && request.format != "csv" && request.format != "parquet" &&
      request.format != "table") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown format '", request.format, "' (json, csv, parquet or table)"));
  }
  std::string sql = request.sql;
  if (!request.named.empty()) {
    if (!request.sql.empty())
      return absl::InvalidArgumentError("give SQL or a named query, not both");
    if (!policies_.MayRunNamed(role, request.named)) {
      return absl::PermissionDeniedError(
          absl::StrCat("named query '", request.named, "' is not available to this role"));
    }
    LASTRO_ASSIGN_OR_RETURN(sql, mart::ExpandNamedQuery(request.named, request.params));
  }
  LASTRO_ASSIGN_OR_RETURN(std::shared_ptr<Pool> pool, PoolFor(role));
  entry.catalog_version = pool->catalog.version;

  std::unique_ptr<lake::Engine> engine;
  {
    std::lock_guard lock(pool->mu);
    if (!pool->idle.empty()) {
      engine = std::move(pool->idle.back());
      pool->idle.pop_back();
    }
  }
  if (engine == nullptr) {
    LASTRO_ASSIGN_OR_RETURN(engine, OpenEngine(*pool, role, ""));
  }

  GuardResult guard;
  bool known = false;
  {
    std::lock_guard lock(pool->mu);
    if (auto it = pool->accepted.find(sql); it != pool->accepted.end()) {
      guard = it->second;
      known = true;
    }
  }
  if (!known) {
    LASTRO_ASSIGN_OR_RETURN(guard, GuardSql(*engine, sql, pool->tables));
    std::lock_guard lock(pool->mu);
    if (pool->accepted.size() >= kGuardCacheEntries) pool->accepted.clear();
    pool->accepted.emplace(sql, guard);
  }
  entry.tables = guard.tables;
  entry.columns = guard.columns;

  const int64_t max_rows = request.max_rows > 0
                               ? std::min<int64_t>(request.max_rows, config_.governance.max_rows)
                               : config_.governance.max_rows;
  const int timeout_ms = request.timeout_ms > 0
                             ? std::min(request.timeout_ms, config_.governance.query_timeout_ms)
                             : config_.governance.query_timeout_ms;

  // Parquet goes through DuckDB's writer, on an engine allowed to write that one file.
  std::unique_ptr<lake::Engine> writer;
  fs::path parquet_file;
  if (request.format == "parquet") {
    parquet_file = fs::temp_directory_path() / absl::StrCat("lastro-governed-", getpid(), "-",
                                                            std::random_device{}(), ".parquet");
    LASTRO_ASSIGN_OR_RETURN(writer, OpenEngine(*pool, role, parquet_file.string()));
  }
  lake::Engine& runner = writer ? *writer : *engine;

  Running running;
  running.engine = &runner;
  running.deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string key = absl::StrCat(caller.user, "\n", request.query_id);
  if (!request.query_id.empty()) {
    std::lock_guard lock(mu_);
    if (!running_.emplace(key, &running).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("query id '", request.query_id, "' is already running"));
    }
  }
  watchdog_->Add(&running);
  StatusOr<lake::QueryResult> rows = absl::UnknownError("not run");
  Status copied;
  if (writer) {
    copied = runner.Execute(absl::StrCat("COPY (", Limited(sql, max_rows, guard.has_limit), ") TO ",
                                         lake::SqlString(parquet_file.string()),
                                         " (FORMAT parquet, COMPRESSION zstd)"));
  } else {
    rows = runner.Query(Limited(sql, max_rows + 1, guard.has_limit));
  }
  watchdog_->Remove(&running);
  if (!request.query_id.empty()) {
    std::lock_guard lock(mu_);
    running_.erase(key);
  }
  const int stopped = running.stop.load();
  // An interrupt that arrived as the query ended may linger in the engine: drop it.
  if (stopped == kNone) {
    std::lock_guard lock(pool->mu);
    if (pool->catalog.version == entry.catalog_version) pool->idle.push_back(std::move(engine));
  }
  if (stopped == kTimeout) {
    return absl::DeadlineExceededError(
        absl::StrCat("the query ran past its ", timeout_ms, " ms limit and was cancelled"));
  }
  if (stopped == kCancel) return absl::CancelledError("the query was cancelled");

  GovernedResult out;
  out.tables = guard.tables;
  out.catalog_version = entry.catalog_version;
  if (writer) {
    std::error_code ec;
    if (!copied.ok()) {
      fs::remove(parquet_file, ec);
      return copied;
    }
    StatusOr<std::string> bytes = ReadAll(parquet_file);
    StatusOr<lake::Value> count = runner.QueryValue(absl::StrCat(
        "SELECT count(*) FROM read_parquet(", lake::SqlString(parquet_file.string()), ")"));
    fs::remove(parquet_file, ec);
    LASTRO_RETURN_IF_ERROR(bytes.status());
    out.body = std::move(*bytes);
    out.rows = count.ok() ? std::get<int64_t>(*count) : 0;
    out.content_type = "application/vnd.apache.parquet";
    entry.rows = out.rows;
    return out;
  }
  LASTRO_RETURN_IF_ERROR(rows.status());
  lake::QueryResult& r = *rows;
  out.rows = std::min<int64_t>(static_cast<int64_t>(r.rows()), max_rows);
  out.truncated = static_cast<int64_t>(r.rows()) > max_rows;
  out.columns = r.columns();
  entry.rows = out.rows;
  if (request.format == "csv" || request.format == "table") {
    // The formatters print every row they have: the extra row that detected truncation
    // is cut.
    std::string text = request.format == "csv" ? mart::FormatCsv(r) : mart::FormatTable(r);
    if (out.truncated) text.erase(text.find_last_of('\n', text.size() - 2) + 1);
    out.body = std::move(text);
    out.content_type = request.format == "csv" ? "text/csv" : "text/plain";
    return out;
  }
  nlohmann::json doc = {{"columns", r.columns()}, {"types", r.types()}};
  nlohmann::json& data = doc["rows"] = nlohmann::json::array();
  for (int64_t i = 0; i < out.rows; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t c = 0; c < r.columns().size(); ++c) row.push_back(Cell(r.at(i, c)));
    data.push_back(std::move(row));
  }
  doc["row_count"] = out.rows;
  doc["truncated"] = out.truncated;
  doc["catalog_version"] = out.catalog_version;
  out.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  out.content_type = "application/json";
  return out;
}

Status GovernedQueries::Cancel(const Caller& caller, const std::string& query_id) {
  Running* r = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(absl::StrCat(caller.user, "\n", query_id));
    if (it != running_.end()) r = it->second;
    // Stop under mu_: Execute erases its entry under mu_ before `running` goes away.
    if (r != nullptr && watchdog_->Stop(r, kCancel)) return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("no running query '", query_id, "' of yours"));
}

StatusOr<std::string> GovernedQueries::DescribeRole(const Caller& caller) {
  LASTRO_ASSIGN_OR_RETURN(const RolePolicy* role, policies_.Role(caller.role));
  LASTRO_ASSIGN_OR_RETURN(std::shared_ptr<Pool> pool, PoolFor(*role));
  nlohmann::json tables = nlohmann::json::object();
  for (const TableSchema& t : pool->catalog.schema) {
    nlohmann::json cols = nlohmann::json::array();
    for (const auto& [name, type] : t.columns) cols.push_back({{"name", name}, {"type", type}});
    tables[t.name] = cols;
  }
  if (role->audit_log) tables["audit_log"] = pool->tables.at("audit_log");
  LASTRO_ASSIGN_OR_RETURN(std::vector<mart::NamedQuery> named, mart::NamedQueries());
  nlohmann::json names = nlohmann::json::array();
  for (const mart::NamedQuery& q : named) {
    if (!policies_.MayRunNamed(*role, q.name)) continue;
    nlohmann::json params = nlohmann::json::array();
    for (const mart::QueryParam& p : q.params) {
      params.push_back({{"name", p.name}, {"type", p.type}, {"description", p.description}});
    }
    names.push_back({{"name", q.name}, {"description", q.description}, {"params", params}});
  }
  return nlohmann::json{{"role", role->name},
                        {"purpose", role->purpose},
                        {"catalog_version", pool->catalog.version},
                        {"tables", tables},
                        {"named", names}}
      .dump();
}

}  // namespace lastro::governance
