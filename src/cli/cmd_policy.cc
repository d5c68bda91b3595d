#include <absl/strings/str_cat.h>
#include <unistd.h>

#include <cstdio>

#include "batch/backtest.h"
#include "cli/command.h"
#include "governance/policies.h"
#include "governance/role_catalog.h"

namespace lastro::cli {

void RegisterPolicy(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* policy = app.add_subcommand(
      "policy",
      "Credit policy tools (docs/policy.md) and the access policies (docs/governance.md)");
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

  static std::string policies_file;
  CLI::App* c = policy->add_subcommand(
      "check",
      "Validate the access policies against the published catalog and print, per role, what "
      "each table looks like");
  c->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  c->add_option("--policies", policies_file, "Policies file (default: governance.policies)");
  c->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      const std::string file = policies_file.empty() ? config.governance.policies : policies_file;
      LASTRO_ASSIGN_OR_RETURN(governance::Policies policies, governance::LoadPolicies(file));
      auto schema = governance::PublishedSchema(config.lake.dir);
      if (!schema.ok() && !absl::IsNotFound(schema.status())) return schema.status();
      const governance::CatalogSchema* known = schema.ok() ? &*schema : nullptr;
      std::fputs(governance::DescribePolicies(policies, known).c_str(), stdout);
      if (known == nullptr) {
        std::fprintf(stdout,
                     "\nno published catalog under %s: the file is valid, its columns "
                     "were not checked against the model\n",
                     config.lake.dir.c_str());
        return absl::OkStatus();
      }
      std::vector<std::string> problems = governance::CheckPolicies(policies, *known);
      if (problems.empty()) {
        std::fprintf(stdout, "\n%s: valid; every column of the %zu tables has a class\n",
                     file.c_str(), known->size());
        return absl::OkStatus();
      }
      for (const std::string& p : problems) std::fprintf(stdout, "problem: %s\n", p.c_str());
      return absl::FailedPreconditionError(
          absl::StrCat(problems.size(), " problem(s) in ", file, " against the published catalog"));
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
