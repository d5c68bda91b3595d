// Shared plumbing for subcommands: flags common to all, config loading, the
// stop flag set by SIGINT/SIGTERM, and the exit-code convention (0 = success,
// non-zero with a one-line reason on stderr).
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace lastro::cli {

struct GlobalFlags {
  std::string config_path;  // --config / LASTRO_CONFIG
};

// Set by SIGINT/SIGTERM.
std::atomic<bool>& StopFlag();
void InstallSignalHandlers();

// Loads the configuration named by the flags (or the environment), and sets up
// logging from it.
StatusOr<Config> LoadConfigFor(const GlobalFlags& flags);

// "cli:<unix user>" of the effective uid, as the audit log records who ran a command
// (from the password database, not $USER, which the caller can set to anything).
std::string CliUser();

// Runs `body` and turns its status into the process exit code.
int Finish(const Status& status);

// Registration of each family of subcommands (one file each). `exit_code` is
// set by whichever subcommand runs.
void RegisterDb(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterStream(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterCdc(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterSim(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterPolicy(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterBatch(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterLake(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterIngest(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterMart(CLI::App& app, GlobalFlags& flags, int& exit_code);  // refresh, query
void RegisterDaily(CLI::App& app, GlobalFlags& flags, int& exit_code);
void RegisterFeatures(CLI::App& app, GlobalFlags& flags, int& exit_code);  // features export
void RegisterDecision(CLI::App& app, GlobalFlags& flags, int& exit_code);  // decision explain
void RegisterAudit(CLI::App& app, GlobalFlags& flags, int& exit_code);     // audit verify, token
void RegisterServe(CLI::App& app, GlobalFlags& flags, int& exit_code);     // governed query API
void RegisterPrivacy(CLI::App& app, GlobalFlags& flags, int& exit_code);   // privacy erase|export
void RegisterKeys(CLI::App& app, GlobalFlags& flags, int& exit_code);  // keys status|rotate-master

// `lastro ingest` sources, each in its own file (cmd_ingest_<source>.cc).
void RegisterIngestEvents(CLI::App& ingest, GlobalFlags& flags, int& exit_code);
void RegisterIngestOpenFinance(CLI::App& ingest, GlobalFlags& flags, int& exit_code);

}  // namespace lastro::cli
