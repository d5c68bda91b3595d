// A simulator of the credit bureau's batch score API (contract: docs/bureau-api.md),
// a real HTTP server for tests, demos and benchmarks (`lastro sim bureau`).
//
// POST /v1/scores:batch answers up to 1000 CPFs per call with the deterministic
// model in bureau_model.h (same answer for the same CPF and as_of on every run),
// and has the imperfections a real bureau has: unknown CPFs (NOT_FOUND), calls
// answered late (random per call, so a retry usually succeeds), answers that are
// inconsistent for some CPFs (deterministic per CPF and as_of: a score outside
// 0..1000, the CPF listed twice with different scores, or the CPF missing), random
// 500/503, 429 with Retry-After, outages, and 401 without the bearer token.
// Admin endpoints (/admin/...) change the behaviour at run time and list the calls.
//
// Latency and late answers are scheduled with HttpServer::RunAfter: no IO thread
// blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace lastro::web {
class HttpServer;
}

namespace lastro::sim {

// The most CPFs one call may carry.
inline constexpr int kBureauMaxCpfsPerCall = 1000;

struct BureauApiSimOptions {
  std::string addr = "127.0.0.1:8092";  // port 0 picks a free one
  std::string token;                    // when non-empty, scores need `Bearer <token>`
  double unknown_rate = 0.03;           // share of CPFs without a record (per CPF)
  double late_rate = 0.05;              // share of calls answered after late_ms (per call)
  int late_ms = 3000;
  double inconsistent_rate = 0.01;  // share of (CPF, as_of) answered inconsistently
  double error_rate = 0;            // share of calls answered 500 or 503
  double rate_429 = 0;              // share of calls answered 429 with Retry-After
  int retry_after_s = 1;            // the Retry-After value sent with 429
  int latency_ms = 0;               // added to every answer that is not late
  uint64_t seed = 42;               // for the per-call draws (late, 5xx, 429)
  int threads = 2;                  // server IO threads
};

class BureauApiSim {
 public:
  // Validates the options (rates in [0,1], non-negative times, threads >= 1) and
  // binds the address. Errors: kInvalidArgument, kUnavailable (address in use).
  static StatusOr<std::unique_ptr<BureauApiSim>> Create(const BureauApiSimOptions& options);
  ~BureauApiSim();  // Stop()s.
  BureauApiSim(const BureauApiSim&) = delete;
  BureauApiSim& operator=(const BureauApiSim&) = delete;

  // Starts serving; returns at once. Errors from HttpServer::Start.
  Status Start();
  // Stops serving and joins the IO threads; pending late answers are dropped.
  // Idempotent.
  void Stop();
  // The bound port (useful with port 0).
  uint16_t port() const;

  struct State;  // shared with the handlers; defined in the .cc

 private:
  BureauApiSim(std::shared_ptr<State> state, std::unique_ptr<web::HttpServer> server);
  std::shared_ptr<State> state_;
  std::unique_ptr<web::HttpServer> server_;
};

}  // namespace lastro::sim
