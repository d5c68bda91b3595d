#include <cstdio>

#include "cli/command.h"
#include "pg/connection.h"
#include "pg/migrations.h"

namespace lastro::cli {

void RegisterDb(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* db = app.add_subcommand("db", "Operational database tools");
  db->require_subcommand(1);
  CLI::App* migrate = db->add_subcommand("migrate", "Apply pending schema migrations");
  migrate->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  migrate->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(auto conn,
                              pg::Connection::Connect(config.pg.dsn, {"lastro-migrate"}));
      LASTRO_ASSIGN_OR_RETURN(auto report, pg::Migrate(*conn, pg::EmbeddedMigrations()));
      for (const std::string& name : report.applied) std::printf("applied %s\n", name.c_str());
      std::printf("schema up to date (%zu applied now, %d already)\n", report.applied.size(),
                  report.already_applied);
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
