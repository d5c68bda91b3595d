// A UDP "agent" on loopback for tests: what a Datadog agent would receive from
// Lastro's DogStatsD exporter.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace lastro::testing {

class StatsdListener {
 public:
  // Binds 127.0.0.1 on a free port; ok() says whether it worked.
  StatsdListener();
  ~StatsdListener();
  StatsdListener(const StatsdListener&) = delete;
  StatsdListener& operator=(const StatsdListener&) = delete;

  bool ok() const { return fd_ >= 0; }
  // "127.0.0.1:<port>", for LASTRO_STATSD_ADDR.
  std::string addr() const;

  // Receives packets until every one of `lines` appears in what arrived, or `timeout`
  // passes. Returns true on success; received() holds everything (one packet a line).
  bool WaitForAll(const std::vector<std::string>& lines, std::chrono::milliseconds timeout);
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string received_;
};

}  // namespace lastro::testing
