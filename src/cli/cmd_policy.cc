#include <unistd.h>

#include "batch/backtest.h"
#include "cli/command.h"

namespace lastro::cli {

void RegisterPolicy(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* policy = app.add_subcommand("policy", "Credit policy tools (docs/policy.md)");
  policy->require_subcommand(1);

  static batch::BacktestJobOptions job;
  static std::string format;
  CLI::App* b = policy->add_subcommand(
      "backtest",
      "Replay the lake's requests through a candidate rules file and compare with the "
      "decisions actually made");
  b->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  b->add_option("--rules", job.rules_file, "Candidate policy file")->required();
  b->add_option("--from", job.from, "First request day, YYYY-MM-DD")->required();
  b->add_option("--to", job.to, "Last request day, YYYY-MM-DD (inclusive)")->required();
  b->add_option("--format", format,
                "table, csv or json (default: table on a terminal, otherwise json)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  b->add_option("--output", job.output, "Write the report to FILE instead of stdout");
  b->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      job.lake_dir = config.lake.dir;
      job.engine.memory_limit = config.lake.memory_limit;
      job.engine.threads = config.lake.threads;
      if (format.empty()) {
        format = job.output.empty() && ::isatty(STDOUT_FILENO) ? "table" : "json";
      }
      LASTRO_ASSIGN_OR_RETURN(job.format, batch::ParseReportFormat(format));
      return batch::RunBacktestJob(job);
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
