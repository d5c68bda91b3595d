// lastro: one binary, one subcommand per job. No business logic here: flags
// become options, options go to the owning subsystem's Run function.
#include <cstdio>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{"Lastro — credit data platform"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lastro ") + LASTRO_VERSION);
  lastro::cli::GlobalFlags flags;
  int exit_code = 0;
  lastro::cli::RegisterDb(app, flags, exit_code);
  lastro::cli::RegisterStream(app, flags, exit_code);
  lastro::cli::RegisterCdc(app, flags, exit_code);
  lastro::cli::RegisterSim(app, flags, exit_code);
  lastro::cli::RegisterPolicy(app, flags, exit_code);
  lastro::cli::RegisterBatch(app, flags, exit_code);
  lastro::cli::RegisterLake(app, flags, exit_code);
  lastro::cli::RegisterIngest(app, flags, exit_code);
  lastro::cli::RegisterMart(app, flags, exit_code);
  lastro::cli::RegisterDaily(app, flags, exit_code);
  lastro::cli::RegisterFeatures(app, flags, exit_code);
  lastro::cli::RegisterDecision(app, flags, exit_code);
  lastro::cli::RegisterAudit(app, flags, exit_code);
  lastro::cli::RegisterServe(app, flags, exit_code);
  lastro::cli::RegisterPrivacy(app, flags, exit_code);
  lastro::cli::RegisterKeys(app, flags, exit_code);
  lastro::cli::InstallSignalHandlers();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors follow the same convention as every other failure: one line
    // on stderr, exit code 2 (invalid input).
    std::fprintf(stderr, "lastro: %s (see lastro --help)\n", e.what());
    return 2;
  }
  return exit_code;
}
