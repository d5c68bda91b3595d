// Runs the real pieces for a pipeline integration test: a fresh database on the
// private cluster, `lastro sim risk-api` and `lastro stream` as child processes,
// and `lastro sim requests` as the app. Everything talks over loopback.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "testing/subprocess.h"
#include "testing/test_database.h"

namespace lastro::testing {

struct HarnessOptions {
  std::string name;  // short, used in database / slot / file names
  double risk_latency_ms = 5;
  double risk_jitter_ms = 1;
  int sweep_interval_s = 30;
  int sweep_threshold_s = 120;
  std::string extra_toml;  // appended to the generated config
  std::string pg_dsn;      // use this server instead of a fresh test database
  std::string risk_token;  // bearer token the risk simulator requires
};

// Minimal HTTP client for tests (libcurl). Returns the body; `status` gets the code.
std::string HttpGet(const std::string& url, long* status = nullptr);
std::string HttpPost(const std::string& url, const std::string& body, long* status = nullptr);

class StreamHarness {
 public:
  static StatusOr<std::unique_ptr<StreamHarness>> Create(const HarnessOptions& options);
  ~StreamHarness();

  // Starts `lastro stream` and waits until the replication stream is attached.
  Status StartStream();
  // Sends `sig` to the stream and waits for it to exit.
  void StopStream(int sig);
  bool stream_running();

  // Runs `lastro sim requests` with the given extra arguments and waits for it.
  // Returns how many requests it inserted.
  StatusOr<int64_t> Generate(const std::vector<std::string>& args);
  // Starts the generator without waiting.
  StatusOr<std::unique_ptr<Subprocess>> StartGenerator(const std::vector<std::string>& args);

  int64_t Count(const std::string& sql) const;
  // Waits until no request is PENDING.
  bool WaitNonePending(std::chrono::milliseconds timeout) const;
  // The exactly-once invariants; empty when they hold, else what is wrong.
  std::string CheckDecidedExactlyOnce() const;

  std::string risk_url() const { return risk_url_; }
  std::string stream_url() const { return stream_url_; }
  std::string dsn() const { return dsn_; }
  std::string slot() const { return slot_; }
  std::string dir() const { return dir_; }
  std::string stream_log() const { return stream_ ? stream_->Stderr() : ""; }
  // Metric value from the stream's /metrics (sum over label sets); -1 if absent.
  double Metric(const std::string& name) const;

 private:
  StreamHarness() = default;
  HarnessOptions options_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<pg::Connection> conn_;
  std::unique_ptr<Subprocess> risk_;
  std::unique_ptr<Subprocess> stream_;
  std::string dsn_, dir_, config_, risk_url_, stream_url_, slot_;
  int stream_starts_ = 0;
};

}  // namespace lastro::testing
