#include <cstdio>

#include "capture/cdc_tail.h"
#include "cli/command.h"

namespace lastro::cli {

void RegisterCdc(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* cdc = app.add_subcommand("cdc", "Change data capture tools");
  cdc->require_subcommand(1);
  CLI::App* tail = cdc->add_subcommand(
      "tail", "Print each change as a JSON line (Debezium-compatible envelope)");
  static capture::CdcTailOptions options;
  static std::string format = "json";
  tail->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  tail->add_option("--slot", options.slot, "Use this named slot (default: a temporary one)");
  tail->add_option("--publication", options.publication, "Publication to stream")
      ->capture_default_str();
  tail->add_flag("--create-publication", options.create_publication_for_all_tables,
                 "Create the publication FOR ALL TABLES when it is missing");
  tail->add_option("--format", format, "Output format")->check(CLI::IsMember({"json"}));
  tail->add_option("--max-changes", options.max_changes, "Stop after N changes");
  tail->add_option("--idle-exit", options.idle_exit_s, "Stop after S seconds without changes");
  tail->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      options.dsn = config.pg.dsn;
      return capture::RunCdcTail(options, stdout, StopFlag());
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
