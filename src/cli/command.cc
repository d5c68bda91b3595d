#include "cli/command.h"

#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "common/log.h"

namespace lastro::cli {

std::atomic<bool>& StopFlag() {
  static std::atomic<bool> stop{false};
  return stop;
}

namespace {
void OnSignal(int) { StopFlag().store(true); }
}  // namespace

void InstallSignalHandlers() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
}

StatusOr<Config> LoadConfigFor(const GlobalFlags& flags) {
  EnvLookup env = ProcessEnv();
  LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfig(ConfigPathFrom(flags.config_path, env), env));
  log::Init(config.log.level);
  return config;
}

std::string CliUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return std::string("cli:") + (pw != nullptr ? pw->pw_name : std::to_string(::geteuid()));
}

int Finish(const Status& status) {
  if (status.ok()) return 0;
  std::string message(status.message());
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  std::fprintf(stderr, "lastro: %s\n", message.c_str());
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status) ? 2 : 1;
}

}  // namespace lastro::cli
