// `lastro lake ...`: tools over the lake's files. Each subcommand has its own
// Add*Command function below; RegisterLake wires them under `lake`.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "batch/lineage.h"
#include "cli/command.h"
#include "lake/compactor.h"
#include "lake/ddl.h"

namespace lastro::cli {

namespace {

lake::EngineOptions EngineOptionsFrom(const Config& config) {
  lake::EngineOptions options;
  options.memory_limit = config.lake.memory_limit;
  options.threads = config.lake.threads;
  return options;
}

void AddDdlCommand(CLI::App& lake_cmd, GlobalFlags& flags, int& exit_code) {
  CLI::App* ddl = lake_cmd.add_subcommand(
      "ddl", "Print DDL declaring the lake's published tables for another engine");
  static std::string engine;
  static std::string location;
  std::vector<std::string> engines(std::begin(lake::kDdlEngines), std::end(lake::kDdlEngines));
  ddl->add_option("--engine", engine, "Target engine")->required()->check(CLI::IsMember(engines));
  ddl->add_option("--location", location,
                  "Where the engine finds the lake root, e.g. s3://bucket/lake "
                  "(default: the local lake.dir, absolute)");
  ddl->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  ddl->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(std::string sql,
                              lake::GenerateDdl({.lake_dir = config.lake.dir,
                                                 .engine = engine,
                                                 .location = location,
                                                 .engine_options = EngineOptionsFrom(config)}));
      std::fputs(sql.c_str(), stdout);
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });
}

void AddCompactCommand(CLI::App& lake_cmd, GlobalFlags& flags, int& exit_code) {
  CLI::App* compact = lake_cmd.add_subcommand(
      "compact", "Merge each partition's files into one (per-run tables gain a file per run)");
  static std::vector<std::string> tables;
  static bool dry_run = false;
  compact->add_option("--table", tables, "zone/table to compact (repeatable; default: all)");
  compact->add_flag("--dry-run", dry_run, "Report what would be rewritten, change nothing");
  compact->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  compact->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(std::vector<lake::CompactedTable> report,
                              lake::Compact({.lake_dir = config.lake.dir,
                                             .version = batch::NewRunId(),
                                             .tables = tables,
                                             .dry_run = dry_run,
                                             .keep_versions = config.lake.keep_versions,
                                             .row_group_rows = config.lake.row_group_rows,
                                             .engine = EngineOptionsFrom(config)}));
      nlohmann::json out = nlohmann::json::array();
      for (const lake::CompactedTable& t : report) {
        out.push_back({{"table", t.table},
                       {"partitions_rewritten", t.partitions_rewritten},
                       {"files_before", t.files_before},
                       {"files_after", t.files_after},
                       {"bytes_before", t.bytes_before},
                       {"bytes_after", t.bytes_after},
                       {"rows", t.rows}});
      }
      std::printf("%s\n", nlohmann::json({{"dry_run", dry_run}, {"tables", out}}).dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });
}

}  // namespace

void RegisterLake(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* lake_cmd = app.add_subcommand("lake", "Lake tools (stage 2)");
  lake_cmd->require_subcommand(1);
  AddDdlCommand(*lake_cmd, flags, exit_code);
  AddCompactCommand(*lake_cmd, flags, exit_code);
}

}  // namespace lastro::cli
