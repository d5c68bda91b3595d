// `lastro ingest openfinance` (placeholder until the source lands; replaced by its owner).
#include "cli/command.h"

namespace lastro::cli {

void RegisterIngestOpenFinance(CLI::App& /*ingest*/, GlobalFlags& /*flags*/, int& /*exit_code*/) {}

}  // namespace lastro::cli
