#include "cli/command.h"
#include "service/stream_service.h"

namespace lastro::cli {

void RegisterStream(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* stream = app.add_subcommand(
      "stream", "Decide credit requests in real time from PostgreSQL logical replication");
  stream->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  stream->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      service::StreamServiceOptions options;
      options.config = config;
      return service::RunStreamService(options, StopFlag());
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
