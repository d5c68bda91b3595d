// `lastro ingest events` (docs/ingest-events.md).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "ingest/event_ingest.h"

namespace lastro::cli {

void RegisterIngestEvents(CLI::App& ingest, GlobalFlags& flags, int& exit_code) {
  static ingest::EventIngestOptions options;
  CLI::App* e = ingest.add_subcommand(
      "events", "Load the event collector's *.jsonl files into bronze/app_events, idempotently");
  e->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  e->add_option("--path", options.path,
                "Folder of *.jsonl files (searched recursively), or one file")
      ->required();
  e->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      options.stop = &StopFlag();
      LASTRO_ASSIGN_OR_RETURN(ingest::EventIngestReport r, ingest::IngestEvents(config, options));
      nlohmann::json out = {
          {"run_id", r.run_id},
          {"files", {{"ingested", r.files_ingested}, {"skipped", r.files_skipped}}},
          {"read", r.read},
          {"loaded", r.loaded},
          {"duplicates", r.duplicates()},
          {"quarantined", r.quarantined},
          {"loaded_by_date", r.loaded_by_date},
          {"manifest", r.manifest_path}};
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
