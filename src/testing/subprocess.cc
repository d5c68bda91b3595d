#include "testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "testing/wait_for.h"

extern char** environ;

namespace lastro::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    const std::string& log_prefix) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  std::string out = log_prefix + ".out", err = log_prefix + ".err";
  pid_t pid = fork();
  if (pid < 0) return absl::ResourceExhaustedError("fork failed");
  if (pid == 0) {
    int fo = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int fe = open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fo < 0 || fe < 0) _exit(126);
    dup2(fo, 1);
    dup2(fe, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    setpgid(0, 0);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  return std::unique_ptr<Subprocess>(new Subprocess(pid, log_prefix));
}

Subprocess::~Subprocess() {
  if (running()) {
    Signal(SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

void Subprocess::Signal(int sig) {
  if (!exit_code_) kill(pid_, sig);
}

bool Subprocess::running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  WaitFor([this] { return !running(); }, timeout, std::chrono::milliseconds(10));
  return exit_code_;
}

std::string Subprocess::Stdout() const { return ReadFile(prefix_ + ".out"); }
std::string Subprocess::Stderr() const { return ReadFile(prefix_ + ".err"); }

bool Subprocess::WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) const {
  return WaitFor(
      [&] {
        return Stdout().find(text) != std::string::npos || Stderr().find(text) != std::string::npos;
      },
      timeout, std::chrono::milliseconds(20));
}

std::string LastroBin() {
  const char* bin = std::getenv("LASTRO_BIN");
  return bin ? bin : "lastro";
}

std::string TestDir(const std::string& name) {
  const char* base = std::getenv("LASTRO_TEST_TMP");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/lastro-test-", name, "-", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace lastro::testing
