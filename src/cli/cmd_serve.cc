// `lastro serve`: the governed query API (docs/governance.md).
#include "cli/command.h"
#include "service/query_service.h"

namespace lastro::cli {

void RegisterServe(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* serve = app.add_subcommand(
      "serve",
      "The governed query API: SQL and named queries per role, audited (docs/governance.md)");
  serve->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  serve->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      service::QueryServiceOptions options;
      options.config = config;
      return service::RunQueryService(options, StopFlag());
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
