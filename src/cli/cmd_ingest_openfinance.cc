// `lastro ingest openfinance` (docs/openfinance.md).
#include <cstdint>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "ingest/openfinance_ingest.h"

namespace lastro::cli {

void RegisterIngestOpenFinance(CLI::App& ingest, GlobalFlags& flags, int& exit_code) {
  static std::vector<int64_t> customers;
  CLI::App* o = ingest.add_subcommand(
      "openfinance", "Pull Open Finance bank data for consented customers into bronze");
  o->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  o->add_option("--customers", customers, "Only these customer ids (comma-separated)")
      ->delimiter(',');
  o->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      ingest::OpenFinanceIngestOptions options;
      options.customers = customers;
      options.stop = &StopFlag();
      LASTRO_ASSIGN_OR_RETURN(ingest::OpenFinanceIngestReport report,
                              ingest::RunOpenFinanceIngest(config, options));
      std::printf("%s\n", ingest::OpenFinanceReportJson(report).c_str());
      std::fflush(stdout);
      if (report.consents_failed > 0) {
        return absl::UnavailableError(absl::StrCat(
            report.consents_failed, " of ", report.consents_read,
            " consents could not be pulled completely (see \"failed\"); the rest is published "
            "and the next run retries them"));
      }
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
