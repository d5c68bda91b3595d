#include "ingest/event_ingest.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "batch/lineage.h"
#include "common/log.h"
#include "common/metrics.h"
#include "ingest/event_bronze.h"
#include "ingest/event_file.h"
#include "ingest/event_line.h"
#include "ingest/event_stage.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;

// Adds the time since construction (or the last Lap) to a phase of the report.
class PhaseClock {
 public:
  explicit PhaseClock(EventIngestReport& r) : r_(r), last_(absl::Now()) {}
  void Lap(const std::string& phase) {
    const absl::Time now = absl::Now();
    r_.phase_seconds[phase] += absl::ToDoubleSeconds(now - last_);
    last_ = now;
  }

 private:
  EventIngestReport& r_;
  absl::Time last_;
};

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

Status Stopped(const EventIngestOptions& options) {
  if (options.stop != nullptr && options.stop->load()) {
    return absl::CancelledError("the ingest was stopped; nothing was published");
  }
  return absl::OkStatus();
}

// The body of a run, with the lock held; fills `r` as it goes.
Status Run(const Config& config, const EventIngestOptions& options, const absl::TimeZone& zone,
           const std::vector<EventFile>& files, lake::TableStore& store, EventIngestReport& r) {
  LASTRO_RETURN_IF_ERROR(store.CleanStaging());
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<lake::Engine> engine,
      lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                          .threads = config.lake.threads,
                          .temp_directory = store.root() / "_staging" / (r.run_id + ".tmp")}));
  LASTRO_RETURN_IF_ERROR(engine->Execute("SET TimeZone = 'UTC'"));
  LASTRO_ASSIGN_OR_RETURN(auto ledger, EventBronze::ReadLedger(*engine, store));
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<EventBronze> bronze,
      EventBronze::Create(*engine, r.run_id, static_cast<size_t>(config.events.raw_line_bytes)));

  const LineRules rules{.zone = zone,
                        .max_late = absl::Hours(24) * config.events.max_late_days,
                        .max_ahead = absl::Seconds(config.events.max_clock_skew_s)};
  EventStager stager(*bronze, rules, static_cast<size_t>(config.events.max_line_bytes),
                     config.lake.threads);
  std::map<std::string, std::string> seen;  // sha256 -> name, this run
  std::vector<int> staged;                  // indexes into r.files
  PhaseClock clock(r);
  for (const EventFile& file : files) {
    LASTRO_RETURN_IF_ERROR(Stopped(options));
    EventFileReport& fr = r.files.emplace_back();
    fr.name = file.name;
    fr.bytes = file.bytes;
    clock.Lap("setup");
    LASTRO_ASSIGN_OR_RETURN(fr.sha256, Sha256Hex(file.path));
    clock.Lap("hash");
    if (auto it = ledger.find(fr.sha256); it != ledger.end()) {
      fr.outcome = "skipped: already ingested by run " + it->second;
    } else if (auto same = seen.find(fr.sha256); same != seen.end()) {
      fr.outcome = "skipped: same content as " + same->second + " in this run";
    } else {
      seen[fr.sha256] = file.name;
      const int index = static_cast<int>(r.files.size()) - 1;
      LASTRO_ASSIGN_OR_RETURN(fr.read, stager.AddFile(file, index, fr.sha256));
      fr.outcome = "ingested";
      staged.push_back(index);
      clock.Lap("read");
    }
    log::Info("event file", {{"run_id", r.run_id},
                             {"file", fr.name},
                             {"sha256", fr.sha256},
                             {"outcome", fr.outcome},
                             {"lines", fr.read}});
  }
  LASTRO_RETURN_IF_ERROR(stager.Finish());
  clock.Lap("read");
  r.files_ingested = static_cast<int64_t>(staged.size());
  r.files_skipped = static_cast<int64_t>(r.files.size() - staged.size());
  if (staged.empty()) return absl::OkStatus();

  clock.Lap("setup");
  LASTRO_ASSIGN_OR_RETURN(ClassifyResult classified, bronze->Classify(store));
  clock.Lap("classify");
  for (int index : staged) {
    EventFileReport& fr = r.files[index];
    const FileCounts& c = classified.files[index];
    fr.loaded = c.loaded;
    fr.duplicates = c.duplicates_in_run + c.duplicates_in_lake;
    fr.quarantined = c.quarantined;
    if (fr.read != fr.loaded + fr.duplicates + fr.quarantined) {
      return absl::InternalError(absl::StrCat("line accounting of ", fr.name, " is off: read ",
                                              fr.read, " != loaded ", fr.loaded, " + duplicates ",
                                              fr.duplicates, " + quarantined ", fr.quarantined));
    }
    r.read += fr.read;
    r.loaded += c.loaded;
    r.quarantined += c.quarantined;
    r.duplicates_in_run += c.duplicates_in_run;
    r.duplicates_in_lake += c.duplicates_in_lake;
  }
  r.loaded_by_date = classified.loaded_by_date;
  r.quarantine_reasons = classified.quarantine_reasons;
  if (classified.quarantine_already_published > 0) {
    log::Info("refused lines already in quarantine (a killed run stored them)",
              {{"lines", classified.quarantine_already_published}});
  }

  // Stage in publish order: events, quarantine, then the ledger that marks the files done.
  const absl::Time now = absl::Now();
  const std::string now_utc = absl::FormatTime("%Y-%m-%d %H:%M:%E6S", now, absl::UTCTimeZone());
  lake::TableTransaction tx(store, r.run_id);
  if (r.loaded > 0) {
    LASTRO_ASSIGN_OR_RETURN(fs::path dir,
                            tx.Stage(kEventsZone, kEventsTable, lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(bronze->WriteEvents(dir.string(), config.lake.row_group_rows));
  }
  if (r.quarantined > classified.quarantine_already_published) {
    LASTRO_ASSIGN_OR_RETURN(
        fs::path dir, tx.Stage(kQuarantineZone, kQuarantineTable, lake::PublishMode::kAppend));
    LASTRO_RETURN_IF_ERROR(
        bronze->WriteQuarantine(dir.string(), absl::FormatCivilTime(absl::ToCivilDay(now, zone)),
                                now_utc, config.lake.row_group_rows));
  }
  LASTRO_ASSIGN_OR_RETURN(fs::path ledger_dir,
                          tx.Stage(kLedgerZone, kLedgerTable, lake::PublishMode::kAppend));
  LASTRO_RETURN_IF_ERROR(bronze->WriteLedger(ledger_dir.string(), now_utc));
  LASTRO_RETURN_IF_ERROR(Stopped(options));
  clock.Lap("write");

  // Crash tests (tests/integration/events_ingest_test.cc) kill the run after one swap.
  if (const char* kill_after = std::getenv("LASTRO_FAULT_KILL_AFTER_PUBLISH")) {
    std::string table = kill_after;
    tx.set_after_swap_hook([table](const std::string& swapped) {
      if (swapped == table) ::raise(SIGKILL);
    });
  }
  LASTRO_RETURN_IF_ERROR(tx.Publish(config.lake.keep_versions));
  clock.Lap("publish");
  return absl::OkStatus();
}

nlohmann::json ManifestJson(const EventIngestReport& r, const std::string& path,
                            const Status& status, const lake::TableStore& store) {
  nlohmann::json files = nlohmann::json::array();
  for (const EventFileReport& f : r.files) {
    files.push_back({{"name", f.name},
                     {"sha256", f.sha256},
                     {"bytes", f.bytes},
                     {"outcome", f.outcome},
                     {"read", f.read},
                     {"loaded", f.loaded},
                     {"duplicates", f.duplicates},
                     {"quarantined", f.quarantined}});
  }
  nlohmann::json outputs = nlohmann::json::array();
  for (const auto& [zone, table] :
       {std::pair{kEventsZone, kEventsTable}, std::pair{kQuarantineZone, kQuarantineTable},
        std::pair{kLedgerZone, kLedgerTable}}) {
    outputs.push_back({{"table", absl::StrCat(zone, "/", table)},
                       {"version", store.CurrentVersion(zone, table)}});
  }
  return {{"job", "ingest events"},
          {"run_id", r.run_id},
          {"state", status.ok() ? "SUCCEEDED" : "FAILED"},
          {"error", status.ok() ? "" : std::string(status.message())},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at},
          {"path", path},
          {"counts",
           {{"read", r.read},
            {"loaded", r.loaded},
            {"duplicates", r.duplicates()},
            {"duplicates_in_run", r.duplicates_in_run},
            {"duplicates_in_lake", r.duplicates_in_lake},
            {"quarantined", r.quarantined}}},
          {"files_ingested", r.files_ingested},
          {"files_skipped", r.files_skipped},
          {"loaded_by_date", r.loaded_by_date},
          {"quarantine_reasons", r.quarantine_reasons},
          {"phase_seconds", r.phase_seconds},
          {"files", files},
          {"outputs", outputs}};
}

// One DogStatsD flush per run, as the batch does (a run is too short for a periodic
// exporter).
void ReportMetrics(const Config& config, const EventIngestReport& r, const Status& status,
                   double seconds) {
  if (!config.metrics.statsd_enabled) return;
  metrics::Registry registry;
  const std::string lines = "lastro.ingest.events.lines";
  registry.GetCounter(lines, "Event lines by outcome", {{"outcome", "loaded"}}).Add(r.loaded);
  registry.GetCounter(lines, "Event lines by outcome", {{"outcome", "duplicate"}})
      .Add(r.duplicates());
  registry.GetCounter(lines, "Event lines by outcome", {{"outcome", "quarantined"}})
      .Add(r.quarantined);
  const std::string files = "lastro.ingest.events.files";
  registry.GetCounter(files, "Event files by outcome", {{"outcome", "ingested"}})
      .Add(r.files_ingested);
  registry.GetCounter(files, "Event files by outcome", {{"outcome", "skipped"}})
      .Add(r.files_skipped);
  registry.GetGauge("lastro.ingest.events.seconds", "Duration of the last ingest").Set(seconds);
  for (const auto& [phase, phase_seconds] : r.phase_seconds) {
    registry.GetGauge("lastro.ingest.events.phase.seconds", "Phase duration", {{"phase", phase}})
        .Set(phase_seconds);
  }
  registry
      .GetCounter("lastro.ingest.events.runs", "Event ingests by outcome",
                  {{"outcome", status.ok() ? "succeeded" : "failed"}})
      .Add();
  auto exporter = metrics::StatsdExporter::Create(registry, config.metrics.statsd_addr,
                                                  config.metrics.tags, std::chrono::hours(1));
  if (!exporter.ok()) {
    log::Warn("ingest metrics not sent", {{"error", std::string(exporter.status().message())}});
  }
  // Destroying the exporter sends what the registry holds, once.
}

}  // namespace

StatusOr<EventIngestReport> IngestEvents(const Config& config, const EventIngestOptions& options) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(config.batch.timezone, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("batch.timezone '", config.batch.timezone,
                                                   "' is unknown (is tzdata installed?)"));
  }
  if (options.path.empty()) return absl::InvalidArgumentError("the path to ingest is empty");
  LASTRO_ASSIGN_OR_RETURN(std::vector<EventFile> files, ListEventFiles(options.path));
  LASTRO_ASSIGN_OR_RETURN(lake::TableStore store, lake::TableStore::Open(config.lake.dir));

  EventIngestReport r;
  r.run_id = batch::NewRunId();
  LASTRO_ASSIGN_OR_RETURN(lake::LakeLock lock,
                          lake::LakeLock::Acquire(store.root(), "ingest events " + r.run_id));
  const absl::Time started = absl::Now();
  r.started_at = Rfc3339(started);
  log::Info("event ingest started",
            {{"run_id", r.run_id}, {"path", options.path}, {"files", files.size()}});

  Status status = Run(config, options, zone, files, store, r);
  const absl::Time finished = absl::Now();
  r.finished_at = Rfc3339(finished);
  const fs::path manifest = store.root() / "_ingest" / "events" / r.run_id / "manifest.json";
  Status written = batch::WriteJsonFileAtomic(
      manifest,
      ManifestJson(r, fs::absolute(options.path).lexically_normal().string(), status, store));
  r.manifest_path = manifest.string();
  ReportMetrics(config, r, status, absl::ToDoubleSeconds(finished - started));
  log::Write(status.ok() ? log::Level::kInfo : log::Level::kError,
             status.ok() ? "event ingest succeeded" : "event ingest failed",
             {{"run_id", r.run_id},
              {"files_ingested", r.files_ingested},
              {"files_skipped", r.files_skipped},
              {"read", r.read},
              {"loaded", r.loaded},
              {"duplicates", r.duplicates()},
              {"quarantined", r.quarantined},
              {"quarantine_reasons", r.quarantine_reasons},
              {"phase_seconds", r.phase_seconds},
              {"error", status.ok() ? "" : std::string(status.message())}});
  LASTRO_RETURN_IF_ERROR(status);
  LASTRO_RETURN_IF_ERROR(written);
  return r;
}

}  // namespace lastro::ingest
