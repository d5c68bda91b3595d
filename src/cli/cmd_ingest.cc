// `lastro ingest <source>`: one subcommand per source, registered by its own file.
#include "cli/command.h"

namespace lastro::cli {

void RegisterIngest(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* ingest = app.add_subcommand("ingest", "Load a source into the lake's bronze zone");
  ingest->require_subcommand(1);
  RegisterIngestEvents(*ingest, flags, exit_code);
  RegisterIngestOpenFinance(*ingest, flags, exit_code);
}

}  // namespace lastro::cli
