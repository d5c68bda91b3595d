// `lastro batch run` and `lastro batch status` (docs/batch.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "batch/daily_batch.h"
#include "batch/run_history.h"
#include "cli/command.h"

namespace lastro::cli {

void RegisterBatch(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* batch = app.add_subcommand("batch", "The daily ETL into the lake");
  batch->require_subcommand(1);

  static batch::BatchRunOptions run;
  static bool no_enrich = false;
  CLI::App* r = batch->add_subcommand(
      "run", "Extract, enrich, check and publish one day (default: yesterday) or a backfill");
  r->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  r->add_option("--date", run.date, "Business day YYYY-MM-DD (default: yesterday)");
  r->add_option("--from", run.from, "Backfill: first business day")->excludes("--date");
  r->add_option("--to", run.to, "Backfill: last business day")->excludes("--date");
  r->add_flag("--no-enrich", no_enrich,
              "Do not call the bureau: cached scores apply, the rest is SKIPPED");
  r->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      run.enrich = !no_enrich;
      run.code_version = LASTRO_VERSION;
      run.stop = &StopFlag();
      const bool tty = ::isatty(STDERR_FILENO) == 1;
      auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
      if (tty) {
        run.progress = [&](const std::string& phase, int64_t rows, double rate) {
          auto now = std::chrono::steady_clock::now();
          if (now - last < std::chrono::milliseconds(250)) return;
          last = now;
          std::fprintf(stderr, "\r\033[K%-18s %12lld rows  %10.0f rows/s", phase.c_str(),
                       static_cast<long long>(rows), rate);
          std::fflush(stderr);
        };
      }
      auto manifest = batch::RunDailyBatch(config, run);
      if (tty) std::fprintf(stderr, "\r\033[K");
      LASTRO_RETURN_IF_ERROR(manifest.status());
      nlohmann::json out = {
          {"run_id", manifest->run_id},
          {"state", batch::RunStateName(manifest->state)},
          {"batch_dates", {{"from", manifest->batch_date_from}, {"to", manifest->batch_date_to}}},
          {"extracted", manifest->counts.extracted},
          {"published", manifest->counts.published},
          {"quarantined", manifest->counts.quarantined},
          {"manifest", config.lake.dir + "/_runs/" + manifest->run_id + "/manifest.json"}};
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });

  static size_t limit = 20;
  static bool json = false;
  CLI::App* s = batch->add_subcommand("status", "Recent runs, their state, counts and durations");
  s->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  s->add_option("--limit", limit, "Runs to show")->capture_default_str();
  s->add_flag("--json", json, "JSON instead of a table");
  s->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(batch::LakeState state, batch::ReadLakeState(config.lake.dir));
      LASTRO_ASSIGN_OR_RETURN(std::vector<batch::RunSummary> runs,
                              batch::ListRuns(config.lake.dir, limit));
      if (!json) {
        std::fputs(batch::FormatRuns(state, runs).c_str(), stdout);
        return absl::OkStatus();
      }
      nlohmann::json out = nlohmann::json::array();
      for (const batch::RunSummary& r : runs) {
        out.push_back({{"run_id", r.run_id},
                       {"state", r.state},
                       {"mode", r.mode},
                       {"batch_dates", {{"from", r.batch_from}, {"to", r.batch_to}}},
                       {"started_at", r.started_at},
                       {"finished_at", r.finished_at},
                       {"duration_s", r.duration_s},
                       {"extracted", r.extracted},
                       {"published", r.published},
                       {"quarantined", r.quarantined},
                       {"error", r.error}});
      }
      std::printf("%s\n", nlohmann::json({{"last_run_id", state.last_run_id},
                                          {"last_batch_date", state.last_batch_date},
                                          {"runs", out}})
                              .dump()
                              .c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
