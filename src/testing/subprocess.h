// A child process for integration tests: the real `lastro` binary (stream,
// simulators), started with extra environment, its output captured to files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::testing {

class Subprocess {
 public:
  // Starts `argv` with the current environment plus `env`. Output goes to
  // `<log_prefix>.out` and `<log_prefix>.err`.
  static StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                     const std::map<std::string, std::string>& env,
                                                     const std::string& log_prefix);
  ~Subprocess();  // SIGKILL if still running

  void Signal(int sig);
  // Waits for exit; returns the exit code (128+signal when killed), or nullopt on
  // timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();
  pid_t pid() const { return pid_; }
  std::string Stdout() const;
  std::string Stderr() const;
  // Waits until stdout or stderr contains `text`.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  Subprocess(pid_t pid, std::string prefix) : pid_(pid), prefix_(std::move(prefix)) {}
  pid_t pid_;
  std::string prefix_;
  std::optional<int> exit_code_;
};

// Path of the `lastro` binary under test ($LASTRO_BIN, set by scripts/run-tests).
std::string LastroBin();
// A fresh directory for a test's files under the build tree.
std::string TestDir(const std::string& name);

}  // namespace lastro::testing
