#include "ingest/openfinance_ingest.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "batch/lineage.h"
#include "common/log.h"
#include "common/metrics.h"
#include "ingest/openfinance_bronze.h"
#include "ingest/openfinance_client.h"
#include "ingest/openfinance_pull.h"
#include "ingest/openfinance_state.h"
#include "lake/engine.h"
#include "lake/table_store.h"
#include "pg/connection.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kLive = "status = 'AUTHORISED' AND revoked_at IS NULL AND expires_at > now()";

// The live consents, one per customer (the latest to expire), from one snapshot.
StatusOr<std::vector<ConsentToPull>> ReadConsents(const Config& config,
                                                  const std::vector<int64_t>& customers,
                                                  int64_t* inactive) {
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<pg::Connection> conn,
      pg::Connection::Connect(config.pg.dsn, {.application_name = "lastro-ingest-openfinance"}));
  LASTRO_RETURN_IF_ERROR(
      conn->Exec(absl::StrCat("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                              "SET LOCAL statement_timeout = ",
                              config.openfinance.statement_timeout_ms,
                              "; SET LOCAL lock_timeout = ", config.pg.lock_timeout_ms))
          .status());
  std::vector<pg::Param> params;
  std::string only;
  if (!customers.empty()) {
    only = " AND customer_id = ANY($1::bigint[])";
    params.push_back(pg::IntArrayLiteral(customers));
  }
  auto live =
      conn->Exec(absl::StrCat("SELECT DISTINCT ON (customer_id) consent_id, customer_id "
                              "FROM open_finance_consents WHERE ",
                              kLive, only, " ORDER BY customer_id, expires_at DESC, consent_id"),
                 params);
  if (!live.ok() && live.status().message().find("open_finance_consents") != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read open_finance_consents (",
                                                      live.status().message(),
                                                      "): run `lastro db migrate`"));
  }
  LASTRO_RETURN_IF_ERROR(live.status());
  LASTRO_ASSIGN_OR_RETURN(
      pg::Result rest,
      conn->Exec(
          absl::StrCat("SELECT count(*) FROM open_finance_consents WHERE NOT (", kLive, ")", only),
          params));
  *inactive = rest.GetInt(0, 0);
  LASTRO_RETURN_IF_ERROR(conn->Exec("COMMIT").status());
  std::vector<ConsentToPull> out;
  for (int i = 0; i < live->rows(); ++i) {
    out.push_back({std::string(live->Get(i, 0)), live->GetInt(i, 1)});
  }
  return out;
}

// Pulls every consent on `workers` threads; `on_done` runs on the calling thread for
// each finished consent, in completion order. Stops early (and returns the error)
// when a pull returns one or `stop` rises.
Status PullAll(OpenFinanceClient& client, const std::vector<ConsentToPull>& consents,
               const PullOptions& options, const WatermarkLookup& watermark, int workers,
               std::atomic<bool>& abort, const std::atomic<bool>* stop,
               const std::function<Status(ConsentPull&)>& on_done) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<StatusOr<ConsentPull>> done;  // guarded by mu
  int running = 0;                         // guarded by mu
  std::atomic<size_t> next{0};
  const size_t max_queued = static_cast<size_t>(2 * workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    {
      std::lock_guard lock(mu);
      ++running;
    }
    threads.emplace_back([&] {
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= consents.size() || abort.load()) break;
        StatusOr<ConsentPull> r = PullConsent(client, consents[i], options, watermark);
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done.size() < max_queued || abort.load(); });
        done.push_back(std::move(r));
        cv.notify_all();
      }
      std::lock_guard lock(mu);
      --running;
      cv.notify_all();
    });
  }
  Status first_error;
  for (;;) {
    std::deque<StatusOr<ConsentPull>> batch;
    bool finished = false;
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(100),
                  [&] { return !done.empty() || running == 0; });
      batch.swap(done);
      finished = running == 0 && batch.empty();
      cv.notify_all();
    }
    if (stop != nullptr && stop->load() && first_error.ok()) {
      first_error = absl::CancelledError("the run was stopped");
      abort.store(true);
    }
    for (StatusOr<ConsentPull>& r : batch) {
      if (!first_error.ok()) break;
      Status s = r.ok() ? on_done(*r) : r.status();
      if (!s.ok()) {
        first_error = s;
        abort.store(true);
      }
    }
    if (finished) break;
  }
  {
    std::lock_guard lock(mu);
    cv.notify_all();
  }
  for (std::thread& t : threads) t.join();
  return first_error;
}

void ReportMetrics(const Config& config, metrics::Registry& registry,
                   const OpenFinanceIngestReport& r, const Status& status) {
  if (!config.metrics.statsd_enabled) return;
  for (const auto& [outcome, n] : {std::pair<const char*, int64_t>{"pulled", r.consents_pulled},
                                   {"skipped", r.consents_skipped},
                                   {"failed", r.consents_failed}}) {
    registry
        .GetCounter("lastro.openfinance.consents", "Consents by outcome", {{"outcome", outcome}})
        .Add(n);
  }
  for (const auto& [result, n] : {std::pair<const char*, int64_t>{"new", r.transactions_new},
                                  {"duplicate", r.transactions_duplicate},
                                  {"quarantined", r.quarantined}}) {
    registry
        .GetCounter("lastro.openfinance.transactions", "Transactions pulled", {{"result", result}})
        .Add(n);
  }
  registry
      .GetCounter("lastro.openfinance.runs", "Open Finance ingest runs",
                  {{"outcome", status.ok() ? "succeeded" : "failed"}})
      .Add();
  auto exporter = metrics::StatsdExporter::Create(registry, config.metrics.statsd_addr,
                                                  config.metrics.tags, std::chrono::hours(1));
  if (!exporter.ok()) {
    log::Warn("open finance metrics not sent",
              {{"error", std::string(exporter.status().message())}});
  }
  // Destroying the exporter sends what the registry holds, once.
}

Status Run(const Config& config, const OpenFinanceIngestOptions& options,
           OpenFinanceIngestReport& report, metrics::Registry& registry) {
  const auto started = std::chrono::steady_clock::now();
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(config.batch.timezone, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("batch.timezone '", config.batch.timezone,
                                                   "' is unknown (is tzdata installed?)"));
  }
  LASTRO_ASSIGN_OR_RETURN(lake::TableStore store, lake::TableStore::Open(config.lake.dir));
  LASTRO_ASSIGN_OR_RETURN(
      lake::LakeLock lock,
      lake::LakeLock::Acquire(store.root(), "ingest openfinance " + report.run_id));
  LASTRO_RETURN_IF_ERROR(store.CleanStaging());
  LASTRO_ASSIGN_OR_RETURN(OfIngestState state, ReadOfState(store.root()));
  LASTRO_ASSIGN_OR_RETURN(std::vector<ConsentToPull> consents,
                          ReadConsents(config, options.customers, &report.consents_inactive));
  report.consents_read = static_cast<int64_t>(consents.size());
  log::Info("open finance ingest started", {{"run_id", report.run_id},
                                            {"consents", report.consents_read},
                                            {"inactive_in_db", report.consents_inactive}});

  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<lake::Engine> engine,
      lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                          .threads = config.lake.threads,
                          .temp_directory = store.root() / "_staging" / (report.run_id + ".tmp")}));
  LASTRO_RETURN_IF_ERROR(engine->Execute("SET TimeZone = 'UTC'"));
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<OfBronzeWriter> writer,
                          OfBronzeWriter::Create(*engine, zone));
  std::atomic<bool> abort{false};
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<OpenFinanceClient> client,
      OpenFinanceClient::Create(config.openfinance, RealClock::Instance(), registry, &abort));

  const PullOptions pull_options{.page_size = config.openfinance.page_size,
                                 .history_days = config.openfinance.history_days,
                                 .overlap_days = config.openfinance.overlap_days,
                                 .zone = zone};
  WatermarkLookup watermark = [&state](const std::string& account) {
    std::optional<absl::CivilDay> day;
    auto it = state.accounts.find(account);
    absl::CivilDay parsed;
    if (it != state.accounts.end() && absl::ParseCivilTime(it->second.transactions_to, &parsed)) {
      day = parsed;
    }
    return day;
  };
  std::map<std::string, OfAccountState> moved;  // watermarks to write after publishing
  const int workers = std::max(
      1, std::min<int>(config.openfinance.max_in_flight, static_cast<int>(consents.size())));
  // Runs on this thread as each consent finishes: counts, logs, rows for the lake.
  auto on_done = [&](ConsentPull& pull) -> Status {
    report.calls += pull.calls.calls;
    report.retries += pull.calls.retries;
    report.pages += pull.pages;
    report.invalid_records += static_cast<int64_t>(pull.invalid.size());
    for (const std::string& why : pull.invalid) {
      log::Warn("open finance record failed its checks",
                {{"consent_id", pull.consent.consent_id}, {"reason", why}});
    }
    ConsentNote note{pull.consent.consent_id, pull.consent.customer_id, pull.reason};
    switch (pull.outcome) {
      case PullOutcome::kSkipped:
        ++report.consents_skipped;
        log::Warn("open finance consent skipped", {{"consent_id", note.consent_id},
                                                   {"customer_id", note.customer_id},
                                                   {"reason", note.reason}});
        report.skipped.push_back(std::move(note));
        return absl::OkStatus();
      case PullOutcome::kFailed:
        ++report.consents_failed;
        log::Warn("open finance consent failed", {{"consent_id", note.consent_id},
                                                  {"customer_id", note.customer_id},
                                                  {"reason", note.reason}});
        report.failed.push_back(std::move(note));
        return absl::OkStatus();
      case PullOutcome::kPulled:
        break;
    }
    ++report.consents_pulled;
    for (const PulledAccount& a : pull.accounts) {
      moved[a.account.account_id] = {pull.consent.customer_id, absl::FormatCivilTime(a.to),
                                     report.run_id};
    }
    return writer->Add(pull);
  };
  LASTRO_RETURN_IF_ERROR(
      PullAll(*client, consents, pull_options, watermark, workers, abort, options.stop, on_done));

  // Publish what is new, then move the watermarks behind it.
  lake::TableTransaction tx(store, report.run_id);
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  LASTRO_ASSIGN_OR_RETURN(
      OfBronzeCounts counts,
      writer->Stage(store, tx, report.run_id, now_us,
                    absl::FormatCivilTime(absl::ToCivilDay(absl::FromUnixMicros(now_us), zone)),
                    config.lake.row_group_rows));
  LASTRO_RETURN_IF_ERROR(tx.Publish(config.lake.keep_versions));
  report.accounts = counts.accounts;
  report.accounts_changed = counts.accounts_changed;
  report.balances = counts.balances;
  report.balances_new = counts.balances_new;
  report.transactions = counts.transactions;
  report.transactions_new = counts.transactions_new;
  report.transactions_duplicate = counts.transactions_duplicate;
  report.quarantined = counts.quarantined;
  report.quarantined_new = counts.quarantined_new;
  for (auto& [account, moved_to] : moved) {
    OfAccountState& s = state.accounts[account];
    // Never backwards: a bank clock that stepped back must not move a watermark back.
    if (moved_to.transactions_to >= s.transactions_to) s = std::move(moved_to);
  }
  state.last_run_id = report.run_id;
  LASTRO_RETURN_IF_ERROR(WriteOfState(store.root(), state));
  report.elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LASTRO_ASSIGN_OR_RETURN(
      fs::path path,
      WriteOfRunReport(store.root(), report.run_id, json::parse(OpenFinanceReportJson(report))));
  report.report_path = path.string();
  return absl::OkStatus();
}

json Notes(const std::vector<ConsentNote>& notes) {
  json out = json::array();
  for (const ConsentNote& n : notes) {
    out.push_back(
        {{"consent_id", n.consent_id}, {"customer_id", n.customer_id}, {"reason", n.reason}});
  }
  return out;
}

}  // namespace

std::string OpenFinanceReportJson(const OpenFinanceIngestReport& r) {
  json j = {{"run_id", r.run_id},
            {"consents",
             {{"read", r.consents_read},
              {"pulled", r.consents_pulled},
              {"skipped", r.consents_skipped},
              {"failed", r.consents_failed},
              {"inactive_in_db", r.consents_inactive}}},
            {"accounts", {{"seen", r.accounts}, {"new_or_changed", r.accounts_changed}}},
            {"balances", {{"fetched", r.balances}, {"new", r.balances_new}}},
            {"transactions",
             {{"fetched", r.transactions + r.quarantined},
              {"new", r.transactions_new},
              {"duplicate", r.transactions_duplicate},
              {"quarantined", r.quarantined},
              {"quarantined_new", r.quarantined_new}}},
            {"invalid_records", r.invalid_records},
            {"calls", r.calls},
            {"retries", r.retries},
            {"pages", r.pages},
            {"elapsed_s", r.elapsed_s},
            {"skipped", Notes(r.skipped)},
            {"failed", Notes(r.failed)}};
  if (!r.report_path.empty()) j["report"] = r.report_path;
  return j.dump();
}

StatusOr<OpenFinanceIngestReport> RunOpenFinanceIngest(const Config& config,
                                                       const OpenFinanceIngestOptions& options) {
  OpenFinanceIngestReport report;
  report.run_id = batch::NewRunId();  // UUIDv7: the lake's version ids
  metrics::Registry registry;
  Status status = Run(config, options, report, registry);
  ReportMetrics(config, registry, report, status);
  log::Fields fields = {{"run_id", report.run_id},
                        {"ok", status.ok()},
                        {"consents_pulled", report.consents_pulled},
                        {"consents_skipped", report.consents_skipped},
                        {"consents_failed", report.consents_failed},
                        {"transactions_new", report.transactions_new},
                        {"transactions_duplicate", report.transactions_duplicate},
                        {"quarantined", report.quarantined},
                        {"elapsed_s", report.elapsed_s}};
  if (!status.ok()) fields.push_back({"error", std::string(status.message())});
  log::Info("open finance ingest done", fields);
  if (!status.ok()) return status;
  return report;
}

}  // namespace lastro::ingest
