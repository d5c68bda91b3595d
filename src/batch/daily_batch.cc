#include "batch/daily_batch.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "batch/bureau_client.h"
#include "batch/cpf_token.h"
#include "batch/enrich.h"
#include "batch/extractor.h"
#include "batch/quality.h"
#include "batch/run_history.h"
#include "batch/run_window.h"
#include "batch/status_history.h"
#include "batch/transform.h"
#include "common/log.h"
#include "common/metrics.h"
#include "governance/keystore.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::batch {
namespace {

namespace fs = std::filesystem;
using lake::SqlString;
using SteadyClock = std::chrono::steady_clock;

// Glob of a published table's files, or "" when it has none.
std::string PublishedGlob(const lake::TableStore& store, const std::string& zone,
                          const std::string& table, bool partitioned) {
  if (!store.Exists(zone, table)) return "";
  auto files = store.Files(zone, table);
  if (!files.ok() || files->empty()) return "";
  return (store.TablePath(zone, table) / (partitioned ? "*/*.parquet" : "*.parquet")).string();
}

class PhaseTimer {
 public:
  explicit PhaseTimer(RunManifest& m) : m_(m) {}
  void Start(std::string name) {
    name_ = std::move(name);
    start_ = SteadyClock::now();
    log::Info("batch phase started", {{"phase", name_}});
  }
  void Stop(int64_t rows) {
    double s = std::chrono::duration<double>(SteadyClock::now() - start_).count();
    m_.phases.push_back({name_, s, rows});
    log::Info("batch phase done", {{"phase", name_}, {"rows", rows}, {"seconds", s}});
  }

 private:
  RunManifest& m_;
  std::string name_;
  SteadyClock::time_point start_;
};

// Stops long DuckDB statements when the stop flag goes up.
class StopWatcher {
 public:
  StopWatcher(const std::atomic<bool>* stop, lake::Engine& engine) : stop_(stop) {
    if (stop_ == nullptr) return;
    thread_ = std::thread([this, &engine] {
      while (!done_.load()) {
        if (stop_->load()) {
          engine.Interrupt();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~StopWatcher() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  Status Check() const {
    if (stop_ != nullptr && stop_->load()) return absl::CancelledError("the run was stopped");
    return absl::OkStatus();
  }

 private:
  const std::atomic<bool>* stop_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The share of lake.memory_limit given to DuckDB (see Run()).
constexpr double kEngineMemoryShare = 0.6;

struct Staged {
  std::string zone, table;
};

// The body of a run; `m` is filled as it goes so a failure still records what happened.
// `silver_fields` gets the silver table's columns and types, for lineage.
Status Run(const Config& config, const BatchRunOptions& options, lake::TableStore& store,
           const LakeState& state, RunManifest& m, const RunWindow& window,
           metrics::Registry& registry,
           std::vector<std::pair<std::string, std::string>>* silver_fields) {
  PhaseTimer timer(m);
  LASTRO_ASSIGN_OR_RETURN(QualityRules rules, QualityRules::LoadFile(config.batch.quality_rules));
  LASTRO_ASSIGN_OR_RETURN(CpfTokenizer tokenizer, CpfTokenizer::Create(config.batch.token_key));
  // Contact PII is extracted only sealed, under per-customer keys wrapped by the master
  // key (docs/governance.md); without a master key it is not extracted at all.
  std::unique_ptr<governance::KeyStore> keys;
  if (!config.governance.master_key.empty()) {
    LASTRO_ASSIGN_OR_RETURN(governance::MasterKey master,
                            governance::MasterKey::Parse(config.governance.master_key));
    LASTRO_ASSIGN_OR_RETURN(
        keys, governance::KeyStore::Open(governance::KeysDir(config.governance.state_dir), master));
  }
  LASTRO_RETURN_IF_ERROR(store.CleanStaging());

  // Scratch files and DuckDB's spill live aside in staging: removed when the run
  // ends, and by the next run's CleanStaging() when this one was killed.
  fs::path tmp = store.root() / "_staging" / (m.run_id + ".tmp");
  std::error_code mk;
  fs::create_directories(tmp, mk);
  if (mk) return absl::UnavailableError("cannot create " + tmp.string() + ": " + mk.message());
  struct RemoveTmp {
    fs::path dir;
    ~RemoveTmp() {
      std::error_code ec;
      fs::remove_all(dir, ec);  // best effort: CleanStaging() retries on the next run
    }
  } remove_tmp{tmp};
  // lake.memory_limit bounds the whole process: DuckDB's buffer manager gets 60% of it;
  // the rest covers what it does not account for (the Parquet writers' open
  // partitions, allocator slack) and this process's own buffers (the COPY queue,
  // the CPF map when enriching). Measured at 5M requests: docs/performance.md.
  auto engine_memory = lake::ScaleMemorySize(config.lake.memory_limit, kEngineMemoryShare);
  if (!engine_memory.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("lake.memory_limit: ", engine_memory.status().message()));
  }
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<lake::Engine> engine,
      lake::Engine::Open(
          {.memory_limit = *engine_memory, .threads = config.lake.threads, .temp_directory = tmp}));
  // No statement of the batch relies on row order (files are partitioned, silver is
  // merged by key): letting DuckDB drop insertion order saves memory and time at scale.
  LASTRO_RETURN_IF_ERROR(
      engine->Execute("SET TimeZone = 'UTC'; SET preserve_insertion_order = false"));
  StopWatcher stop(options.stop, *engine);

  // ---- extract -----------------------------------------------------------------
  std::optional<absl::Time> from;
  if (window.mode == RunMode::kIncremental && state.watermark) {
    from = *state.watermark - absl::Minutes(config.batch.overlap_minutes);
    m.source.watermark_from = Rfc3339Millis(*from);
  }
  ExtractOptions eo{
      .dsn = config.batch.replica_dsn.empty() ? config.pg.dsn : config.batch.replica_dsn,
      .replica = !config.batch.replica_dsn.empty(),
      .max_replica_lag_s = config.batch.max_replica_lag_s,
      .statement_timeout_ms = config.batch.statement_timeout_ms,
      .lock_timeout_ms = config.batch.lock_timeout_ms,
      .max_rows_per_s = config.batch.max_rows_per_s,
      .keys = keys.get(),
      .keep_cpfs = options.enrich,
      .requests_predicate = ScopePredicate(window, from),
      .stop = options.stop,
      .memory_limit = *engine_memory,
      .temp_directory = tmp};
  // The extract writes the requests, the history and the customers straight into
  // their bronze files (logs: every run appends its own file under the business day
  // it ran for).
  lake::TableTransaction tx(store, m.run_id);
  std::vector<Staged> staged;
  auto stage = [&](const std::string& zone, const std::string& table,
                   lake::PublishMode mode) -> StatusOr<std::string> {
    LASTRO_ASSIGN_OR_RETURN(fs::path dir, tx.Stage(zone, table, mode));
    staged.push_back({zone, table});
    return dir.string();
  };
  const int rg = config.lake.row_group_rows;
  const std::string prefix = "part-" + m.run_id;
  // The bronze file of one extracted table, in this run's batch_date partition.
  auto bronze_file = [&](const std::string& table) -> StatusOr<std::string> {
    LASTRO_ASSIGN_OR_RETURN(std::string dir, stage("bronze", table, lake::PublishMode::kAppend));
    fs::path folder = fs::path(dir) / ("batch_date=" + window.last_day);
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return absl::UnavailableError("cannot create " + folder.string() + ": " + ec.message());
    return (folder / (prefix + "-0.parquet")).string();
  };
  LASTRO_ASSIGN_OR_RETURN(std::string requests_parquet, bronze_file("credit_requests"));
  LASTRO_ASSIGN_OR_RETURN(std::string history_parquet, bronze_file(kStatusHistoryTable));
  LASTRO_ASSIGN_OR_RETURN(std::string customers_parquet, bronze_file("customers"));
  eo.requests_parquet = requests_parquet;
  eo.history_parquet = history_parquet;
  eo.customers_parquet = customers_parquet;
  eo.run_id = m.run_id;
  eo.row_group_rows = rg;
  auto phase_start = SteadyClock::now();
  ExtractProgress progress = [&](const std::string& phase, int64_t rows) {
    if (!options.progress) return;
    double s = std::chrono::duration<double>(SteadyClock::now() - phase_start).count();
    options.progress(phase, rows, s > 0 ? rows / s : 0);
  };
  timer.Start("extract");
  LASTRO_ASSIGN_OR_RETURN(ExtractResult extracted, Extract(eo, *engine, tokenizer, progress));
  timer.Stop(extracted.requests + extracted.decisions + extracted.customers + extracted.history);
  m.source.is_replica = extracted.replica;
  m.source.replica_lag_s = extracted.replica_lag_s;
  m.source.snapshot = extracted.snapshot;
  absl::Time snapshot_time;
  std::string parse_error;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", extracted.snapshot_time, absl::UTCTimeZone(),
                       &snapshot_time, &parse_error)) {
    return absl::InternalError("unreadable snapshot time " + extracted.snapshot_time);
  }
  m.source.snapshot_time = Rfc3339Millis(snapshot_time);
  // The watermark never moves backwards. A backfill sets it only on the first load
  // (no watermark yet), so the next incremental run starts where the history ends.
  std::optional<absl::Time> new_watermark;
  if (window.mode == RunMode::kIncremental || !state.watermark) {
    new_watermark = std::min(window.end, snapshot_time);
    if (state.watermark) new_watermark = std::max(*new_watermark, *state.watermark);
  }
  m.source.watermark_to = new_watermark ? Rfc3339Millis(*new_watermark) : "";
  m.inputs = {{"public.credit_requests", extracted.requests},
              {"public.credit_decisions", extracted.decisions},
              {"public.customers", extracted.customers},
              {"public.credit_request_status_history", extracted.history}};
  m.counts.extracted = extracted.requests;
  if (keys) {
    log::Info("contact PII sealed", {{"customers", extracted.pii_sealed},
                                     {"erased_customers", extracted.pii_erased},
                                     {"new_keys", keys->pending()}});
  }
  LASTRO_RETURN_IF_ERROR(stop.Check());

  // ---- normalise + enrich --------------------------------------------------------
  timer.Start("normalise");
  LASTRO_RETURN_IF_ERROR(PrepareStage(*engine, config.batch.timezone, requests_parquet));
  LASTRO_RETURN_IF_ERROR(PrepareStatusHistory(*engine, history_parquet));
  LASTRO_RETURN_IF_ERROR(stop.Check());
  timer.Stop(extracted.requests);

  timer.Start("enrich");
  std::unique_ptr<BureauClient> bureau;
  RealClock clock;
  if (options.enrich) {
    LASTRO_ASSIGN_OR_RETURN(bureau, BureauClient::Create(config.bureau, clock, registry));
  }
  LASTRO_ASSIGN_OR_RETURN(
      EnrichStats enrich,
      Enrich(*engine, bureau.get(), extracted.cpf_by_token,
             PublishedGlob(store, "bronze", "bureau_scores", true), m.run_id, !options.enrich));
  extracted.cpf_by_token.clear();  // the only CPFs the process held
  LASTRO_RETURN_IF_ERROR(stop.Check());
  timer.Stop(enrich.pairs);
  m.inputs.push_back({"bureau.scores", enrich.fetched});
  log::Info("bureau enrichment", {{"pairs", enrich.pairs},
                                  {"cached", enrich.cached},
                                  {"fetched", enrich.fetched},
                                  {"found", enrich.found},
                                  {"not_found", enrich.not_found},
                                  {"inconsistent", enrich.inconsistent},
                                  {"unavailable", enrich.unavailable},
                                  {"calls", enrich.calls}});

  // ---- stage: requests joined with customers and bureau answers, written once --------
  timer.Start("stage");
  LASTRO_RETURN_IF_ERROR(
      WriteStage(*engine, (tmp / "stage_requests.parquet").string(), !options.enrich));
  LASTRO_RETURN_IF_ERROR(stop.Check());
  timer.Stop(extracted.requests);

  // ---- quality -------------------------------------------------------------------
  timer.Start("quality");
  QualityInput qi;
  qi.tables["credit_requests"] = {"candidate_requests", "request_id"};
  qi.tables["customers"] = {"candidate_customers", "customer_id"};
  qi.tables[kStatusHistoryTable] = {"candidate_status_history", "id"};
  qi.quarantine_relation = "quarantine_rows";
  qi.run_id = m.run_id;
  qi.batch_date = window.last_day;
  qi.freshness_reference_utc =
      absl::FormatTime("%Y-%m-%d %H:%M:%S", window.end, absl::UTCTimeZone());
  if (std::string silver = PublishedGlob(store, "silver", "credit_requests", true);
      !silver.empty()) {
    absl::CivilDay last;
    absl::ParseCivilTime(window.last_day, &last);
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult counts,
        engine->Query(absl::StrCat("SELECT request_date::VARCHAR, count(*) FROM read_parquet(",
                                   SqlString(silver),
                                   ", hive_partitioning = true) WHERE request_date BETWEEN DATE ",
                                   SqlString(absl::FormatCivilTime(last - 7)), " AND DATE ",
                                   SqlString(absl::FormatCivilTime(last - 1)), " GROUP BY 1")));
    for (size_t i = 0; i < counts.rows(); ++i) {
      qi.trailing_counts[*counts.Text(i, 0)] = *counts.Int(i, 1);
    }
  }
  LASTRO_ASSIGN_OR_RETURN(QualityReport report, EvaluateQuality(*engine, rules, qi));
  for (const RuleResult& r : report.results) {
    m.rules.push_back({r.id, r.type, r.severity, r.table, r.column, r.checked, r.failed, r.ratio,
                       r.threshold, r.passed, r.breached, r.message});
  }
  m.counts.quarantined = report.quarantined_rows;
  timer.Stop(report.quarantined_rows);
  if (report.breached()) {
    std::vector<std::string> breached;
    for (const RuleResult& r : report.results) {
      if (r.breached) breached.push_back(absl::StrCat(r.id, " (", r.message, ")"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("quality breach, nothing published: ", absl::StrJoin(breached, "; ")));
  }
  LASTRO_RETURN_IF_ERROR(SelectGood(*engine, "quarantine_rows"));
  // History rows go to silver only with their request: the rows of the requests just
  // quarantined join them in quarantine, with their own verdict.
  LASTRO_ASSIGN_OR_RETURN(RuleResult orphans,
                          SelectGoodStatusHistory(*engine, "quarantine_rows", m.run_id,
                                                  window.last_day, extracted.history));
  m.rules.push_back({orphans.id, orphans.type, orphans.severity, orphans.table, orphans.column,
                     orphans.checked, orphans.failed, orphans.ratio, orphans.threshold,
                     orphans.passed, orphans.breached, orphans.message});
  report.results.push_back(std::move(orphans));
  report.quarantined_rows += report.results.back().failed;
  m.counts.quarantined = report.quarantined_rows;

  // ---- stage every output aside ---------------------------------------------------
  timer.Start("write");
  // Bronze (as extracted), quarantine and quality results are logs: every run
  // appends its own file (run_id in the rows and in the file name) under the business
  // day it ran for, so a rerun or a backfill never erases what an earlier run
  // extracted or rejected. The extract wrote the bronze files of the requests, the
  // history and the customers.
  LASTRO_ASSIGN_OR_RETURN(lake::Value new_scores,
                          engine->QueryValue("SELECT count(*) FROM bureau_new "
                                             "WHERE status IN ('FOUND', 'NOT_FOUND')"));
  if (std::get<int64_t>(new_scores) > 0) {
    LASTRO_ASSIGN_OR_RETURN(std::string dir,
                            stage("bronze", "bureau_scores", lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(WriteParquet(
        *engine,
        "SELECT customer_token, score, status, fetched_at, run_id, model, score_date FROM "
        "bureau_new "
        "WHERE status IN ('FOUND', 'NOT_FOUND')",
        dir, "score_date", prefix, rg));
  }
  LASTRO_ASSIGN_OR_RETURN(lake::Value quarantined,
                          engine->QueryValue("SELECT count(*) FROM quarantine_rows"));
  if (std::get<int64_t>(quarantined) > 0 || !store.Exists("quarantine", "credit_requests")) {
    LASTRO_ASSIGN_OR_RETURN(std::string dir,
                            stage("quarantine", "credit_requests", lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(WriteOnePartition(*engine, "SELECT * FROM quarantine_rows", dir,
                                             "batch_date", window.last_day, prefix, rg));
  }
  {
    LASTRO_RETURN_IF_ERROR(
        WriteQualityResults(*engine, report, "quality_results", m.run_id, window.last_day));
    LASTRO_ASSIGN_OR_RETURN(std::string dir,
                            stage("quality", "rule_results", lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(WriteOnePartition(*engine, "SELECT * FROM quality_results", dir,
                                             "batch_date", window.last_day, prefix, rg));
  }
  {
    LASTRO_ASSIGN_OR_RETURN(std::string dir,
                            stage("silver", "customers", lake::PublishMode::kReplaceTable));
    LASTRO_RETURN_IF_ERROR(WriteSilverCustomers(
        *engine, PublishedGlob(store, "silver", "customers", false), dir, m.run_id, rg));
  }
  {
    LASTRO_ASSIGN_OR_RETURN(
        std::string dir, stage("silver", "credit_requests", lake::PublishMode::kReplacePartitions));
    LASTRO_ASSIGN_OR_RETURN(
        std::vector<std::string> days,
        WriteSilverRequests(*engine, PublishedGlob(store, "silver", "credit_requests", true), dir,
                            m.run_id, rg));
    LASTRO_ASSIGN_OR_RETURN(lake::Value good,
                            engine->QueryValue("SELECT count(*) FROM good_requests"));
    m.counts.published = std::get<int64_t>(good);
    log::Info("silver partitions rewritten", {{"partitions", days}});
    // The history of those requests, in the same partitions (their request's day).
    // Staged after the requests, so it is swapped last: a crash between the two swaps
    // leaves silver history behind its requests, never ahead of them.
    LASTRO_ASSIGN_OR_RETURN(std::string history_dir, stage("silver", kStatusHistoryTable,
                                                           lake::PublishMode::kReplacePartitions));
    LASTRO_RETURN_IF_ERROR(
        WriteSilverStatusHistory(*engine, PublishedGlob(store, "silver", kStatusHistoryTable, true),
                                 history_dir, days, m.run_id, rg));
  }
  LASTRO_RETURN_IF_ERROR(stop.Check());
  timer.Stop(m.counts.published);

  // ---- publish --------------------------------------------------------------------
  timer.Start("publish");
  // The new data keys are durable before anything sealed with them is published: a
  // crash after this leaves unused keys at worst, never ciphertext without its key.
  if (keys) {
    LASTRO_ASSIGN_OR_RETURN(governance::SaveResult saved, keys->Save());
    log::Info("data keys saved", {{"keys", saved.keys_written},
                                  {"shards", saved.shards_written},
                                  {"erased_meanwhile", saved.erased_meanwhile}});
  }
  // Crash tests (tests/integration/batch_test.cc) kill the run between two swaps.
  if (const char* kill_after = std::getenv("LASTRO_FAULT_KILL_AFTER_PUBLISH")) {
    std::string table = kill_after;
    tx.set_after_swap_hook([table](const std::string& swapped) {
      if (swapped == table) ::raise(SIGKILL);
    });
  }
  LASTRO_RETURN_IF_ERROR(tx.Publish(config.lake.keep_versions));
  LASTRO_RETURN_IF_ERROR(
      WriteLakeState(store.root(), {.watermark = new_watermark ? new_watermark : state.watermark,
                                    .last_run_id = m.run_id,
                                    .last_batch_date = window.last_day}));
  timer.Stop(0);

  // ---- lineage: what this run wrote, with checksums ---------------------------------
  for (const Staged& s : staged) {
    ManifestOutput out{
        .zone = s.zone, .table = s.table, .version = store.CurrentVersion(s.zone, s.table)};
    const auto& files = tx.published().at(s.zone + "/" + s.table);
    for (const lake::DataFile& f : files) {
      if (f.path.find(m.run_id) == std::string::npos) continue;  // carried over
      fs::path full = store.TablePath(s.zone, s.table) / f.path;
      LASTRO_ASSIGN_OR_RETURN(std::string sha, Sha256File(full));
      LASTRO_ASSIGN_OR_RETURN(lake::Value rows,
                              engine->QueryValue(absl::StrCat("SELECT count(*) FROM read_parquet(",
                                                              SqlString(full.string()), ")")));
      out.files.push_back({f.path, f.bytes, std::get<int64_t>(rows), sha});
      out.rows += std::get<int64_t>(rows);
    }
    m.outputs.push_back(std::move(out));
  }
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult schema, engine->Query("DESCRIBE good_requests"));
  for (size_t i = 0; i < schema.rows(); ++i) {
    std::string name = *schema.Text(i, 0);
    if (name != "cpf_valid") silver_fields->push_back({name, *schema.Text(i, 1)});
  }
  return absl::OkStatus();
}

// One DogStatsD flush per run (a batch is too short-lived for a periodic exporter):
// rows, quarantined rows, phase durations and the outcome, tagged by mode; plus the
// bureau client's own metrics from the same registry.
void ReportMetrics(const Config& config, metrics::Registry& registry, const RunManifest& m,
                   const Status& status) {
  if (!config.metrics.statsd_enabled) return;
  metrics::Labels mode = {{"mode", std::string(RunModeName(m.mode))}};
  registry.GetCounter("lastro.batch.rows.extracted", "Requests extracted", mode)
      .Add(m.counts.extracted);
  registry.GetCounter("lastro.batch.rows.published", "Requests published to silver", mode)
      .Add(m.counts.published);
  registry.GetCounter("lastro.batch.rows.quarantined", "Rows quarantined", mode)
      .Add(m.counts.quarantined);
  for (const ManifestPhase& p : m.phases) {
    registry.GetGauge("lastro.batch.phase.seconds", "Phase duration", {{"phase", p.name}})
        .Set(p.seconds);
  }
  registry
      .GetCounter("lastro.batch.runs", "Batch runs by outcome",
                  {{"outcome", status.ok() ? "succeeded" : "failed"}})
      .Add();
  auto exporter = metrics::StatsdExporter::Create(registry, config.metrics.statsd_addr,
                                                  config.metrics.tags, std::chrono::hours(1));
  if (!exporter.ok()) {
    log::Warn("batch metrics not sent", {{"error", std::string(exporter.status().message())}});
    return;
  }
  // Destroying the exporter sends what the registry holds, once.
}

}  // namespace

StatusOr<RunManifest> RunDailyBatch(const Config& config, const BatchRunOptions& options) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(config.batch.timezone, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("batch.timezone '", config.batch.timezone,
                                                   "' is unknown (is tzdata installed?)"));
  }
  LASTRO_ASSIGN_OR_RETURN(RunWindow window,
                          MakeRunWindow(options.date, options.from, options.to, zone, absl::Now()));
  LASTRO_ASSIGN_OR_RETURN(lake::TableStore store, lake::TableStore::Open(config.lake.dir));
  RunManifest m;
  m.run_id = NewRunId();
  LASTRO_ASSIGN_OR_RETURN(
      lake::LakeLock lock,
      lake::LakeLock::Acquire(store.root(),
                              absl::StrCat("batch run ", window.label, " ", m.run_id)));
  LASTRO_ASSIGN_OR_RETURN(LakeState state, ReadLakeState(store.root()));
  if (window.mode == RunMode::kIncremental && state.watermark && window.end <= *state.watermark) {
    // The day is already behind the watermark: rerunning it means rebuilding it.
    window.mode = RunMode::kBackfill;
    log::Info("the day is already covered by the watermark: rebuilding it as a one-day backfill",
              {{"date", window.last_day}});
  }
  m.code_version = options.code_version;
  m.batch_date_from = window.first_day;
  m.batch_date_to = window.last_day;
  m.mode = window.mode;
  auto started = absl::Now();
  m.started_at = Rfc3339Millis(started);
  std::string source_dsn =
      config.batch.replica_dsn.empty() ? config.pg.dsn : config.batch.replica_dsn;
  m.source.dsn_host = PgEndpoint::FromDsn(source_dsn).ToString();

  fs::path run_dir = store.root() / "_runs" / m.run_id;
  // Configuration errors surface before the run is on record.
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<LineageEmitter> lineage,
                          LineageEmitter::Create(config.lineage, run_dir));
  LASTRO_RETURN_IF_ERROR(MarkRunning(run_dir, m));
  log::Info("batch run started", {{"run_id", m.run_id},
                                  {"mode", std::string(RunModeName(m.mode))},
                                  {"from", window.first_day},
                                  {"to", window.last_day}});

  PgEndpoint endpoint = PgEndpoint::FromDsn(source_dsn);
  std::vector<LineageDataset> pg_inputs;
  for (const char* t :
       {"credit_requests", "credit_decisions", "customers", "credit_request_status_history"}) {
    pg_inputs.push_back({.ns = endpoint.Namespace(),
                         .name = absl::StrCat(endpoint.dbname, ".public.", t),
                         .source_name = "postgres",
                         .source_uri = endpoint.Namespace()});
  }
  RunEventInput event{.type = EventType::kStart,
                      .event_time = absl::ToChronoTime(started),
                      .run_id = m.run_id,
                      .job_namespace = config.lineage.job_namespace,
                      .job_name = m.job,
                      .code_version = options.code_version,
                      .nominal_start = absl::ToChronoTime(window.start),
                      .nominal_end = absl::ToChronoTime(window.end),
                      .inputs = pg_inputs};
  LASTRO_RETURN_IF_ERROR(lineage->Emit(MakeRunEvent(event)));

  std::vector<std::pair<std::string, std::string>> silver_fields;
  metrics::Registry registry;
  Status status = Run(config, options, store, state, m, window, registry, &silver_fields);
  ReportMetrics(config, registry, m, status);

  m.finished_at = Rfc3339Millis(absl::Now());
  m.state = status.ok() ? RunState::kSucceeded : RunState::kFailed;
  m.error = status.ok() ? "" : std::string(status.message());
  event.type = status.ok() ? EventType::kComplete : EventType::kFail;
  event.event_time = std::chrono::system_clock::now();
  event.error_message = m.error;
  event.inputs = pg_inputs;
  for (size_t i = 0; i < event.inputs.size() && i < m.inputs.size(); ++i) {
    event.inputs[i].row_count = m.inputs[i].rows;
  }
  if (!event.inputs.empty()) {
    for (const ManifestRule& r : m.rules) {
      if (r.table == "credit_requests") {
        event.inputs[0].assertions.push_back(
            {r.id, !r.breached && r.failed == 0, r.column, r.severity});
      }
    }
  }
  std::string lake_ns = LakeNamespace(store.root());
  for (const ManifestOutput& o : m.outputs) {
    int64_t bytes = 0;
    for (const ManifestFile& f : o.files) bytes += f.bytes;
    LineageDataset d{.ns = lake_ns, .name = o.zone + "/" + o.table};
    d.row_count = o.rows;
    d.bytes = bytes;
    if (o.zone == "silver" && o.table == "credit_requests") {
      d.fields = silver_fields;
    }
    event.outputs.push_back(std::move(d));
  }
  Status emitted = lineage->Emit(MakeRunEvent(event));
  Status written = WriteJsonFileAtomic(run_dir / "manifest.json", m.ToJson());
  log::Write(status.ok() ? log::Level::kInfo : log::Level::kError,
             status.ok() ? "batch run succeeded" : "batch run failed",
             {{"run_id", m.run_id},
              {"extracted", m.counts.extracted},
              {"published", m.counts.published},
              {"quarantined", m.counts.quarantined},
              {"error", m.error}});
  LASTRO_RETURN_IF_ERROR(status);
  LASTRO_RETURN_IF_ERROR(written);
  LASTRO_RETURN_IF_ERROR(emitted);
  return m;
}

}  // namespace lastro::batch
