// `lastro daily`: the whole day's flow, in order - the batch into the lake, the app
// events, the bank data, then the gold catalog (docs/model.md, "Refresh"). Each step
// is the same code as its own command; this only sequences them.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "batch/daily_batch.h"
#include "cli/command.h"
#include "ingest/event_ingest.h"
#include "ingest/openfinance_ingest.h"
#include "mart/refresh.h"

namespace lastro::cli {
namespace {

struct DailyOptions {
  std::string date;         // business day of the batch; empty = yesterday
  std::string events_path;  // empty = no events step
  bool openfinance = true;
  bool enrich = true;
};

// Runs the steps; stops at the first that fails (later steps would publish a catalog
// over an incomplete day). Bank consents that could not be pulled do not stop it:
// the rest of the bank data is published, the next run retries them, and the
// command still exits non-zero.
Status RunDaily(const Config& config, const DailyOptions& o, nlohmann::json& out) {
  out["steps"] = nlohmann::json::array();
  auto step = [&](const std::string& name, nlohmann::json detail) {
    detail["step"] = name;
    out["steps"].push_back(std::move(detail));
  };
  batch::BatchRunOptions run;
  run.date = o.date;
  run.enrich = o.enrich;
  run.code_version = LASTRO_VERSION;
  run.stop = &StopFlag();
  auto manifest = batch::RunDailyBatch(config, run);
  if (!manifest.ok()) {
    return Status(manifest.status().code(),
                  absl::StrCat("daily: batch run: ", manifest.status().message()));
  }
  step("batch", {{"run_id", manifest->run_id},
                 {"published", manifest->counts.published},
                 {"quarantined", manifest->counts.quarantined}});

  if (!o.events_path.empty()) {
    ingest::EventIngestOptions options;
    options.path = o.events_path;
    options.stop = &StopFlag();
    auto events = ingest::IngestEvents(config, options);
    if (!events.ok()) {
      return Status(events.status().code(),
                    absl::StrCat("daily: ingest events: ", events.status().message()));
    }
    step("events", {{"run_id", events->run_id},
                    {"loaded", events->loaded},
                    {"quarantined", events->quarantined}});
  }

  Status partial;
  if (o.openfinance) {
    ingest::OpenFinanceIngestOptions options;
    options.stop = &StopFlag();
    auto bank = ingest::RunOpenFinanceIngest(config, options);
    if (!bank.ok()) {
      return Status(bank.status().code(),
                    absl::StrCat("daily: ingest openfinance: ", bank.status().message()));
    }
    step("openfinance", {{"run_id", bank->run_id},
                         {"consents_pulled", bank->consents_pulled},
                         {"consents_failed", bank->consents_failed}});
    if (bank->consents_failed > 0) {
      partial = absl::UnavailableError(absl::StrCat(
          "daily: ", bank->consents_failed,
          " bank consents could not be pulled; the rest is published and in the catalog"));
    }
  }

  mart::RefreshOptions refresh_options;
  refresh_options.code_version = LASTRO_VERSION;
  auto refresh = mart::RunRefresh(config, refresh_options);
  if (!refresh.ok()) {
    return Status(refresh.status().code(),
                  absl::StrCat("daily: refresh: ", refresh.status().message()));
  }
  step("refresh", {{"state", refresh->state}, {"version", refresh->version}});
  return partial;
}

}  // namespace

void RegisterDaily(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  static DailyOptions options;
  static bool no_openfinance = false, no_enrich = false;
  CLI::App* d = app.add_subcommand(
      "daily", "The day's flow in order: batch run, ingest events, ingest openfinance, refresh");
  d->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  d->add_option("--date", options.date,
                "Business day of the batch YYYY-MM-DD (default: yesterday)");
  d->add_option("--events-path", options.events_path,
                "Folder of the event collector's *.jsonl files (omit to skip the events step)");
  d->add_flag("--no-openfinance", no_openfinance, "Skip the Open Finance step");
  d->add_flag("--no-enrich", no_enrich, "Batch without bureau calls (see batch run)");
  d->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      options.openfinance = !no_openfinance;
      options.enrich = !no_enrich;
      nlohmann::json out;
      Status s = RunDaily(config, options, out);
      out["ok"] = s.ok();
      std::printf("%s\n", out.dump().c_str());
      std::fflush(stdout);
      return s;
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
