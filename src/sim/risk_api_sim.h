// A simulator of the third-party risk-assessment API (contract: docs/risk-api.md),
// a real HTTP server for tests, demos and benchmarks (`lastro sim risk-api`).
//
// POST /v1/risk/assessments scores the request with the deterministic model in
// risk_model.h after a normally distributed latency, and injects the failures a
// real provider has: random 500/503, 429 with Retry-After, hangs, outages, 401
// without the bearer token. Responses are cached per Idempotency-Key and replayed
// with `Idempotent-Replayed: true`. Admin endpoints (/admin/...) let tests change
// the behaviour at run time and see every call that was made.
//
// Latency and hangs are scheduled with HttpServer::RunAfter: no IO thread blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace lastro::web {
class HttpServer;
}

namespace lastro::sim {

struct RiskApiSimOptions {
  std::string addr = "127.0.0.1:8091";  // port 0 picks a free one
  double latency_ms = 20;               // mean added latency
  double jitter_ms = 5;                 // its standard deviation (latency never below 0)
  double error_rate = 0;                // fraction answered 500 or 503
  double rate_429 = 0;                  // fraction answered 429 with Retry-After
  int retry_after_s = 1;                // the Retry-After value sent with 429
  double timeout_rate = 0;              // fraction that hang for hang_ms, then 504
  int hang_ms = 30000;
  std::string token;   // when non-empty, assessments need `Bearer <token>`
  uint64_t seed = 42;  // for latency and failure draws
  int threads = 2;     // server IO threads
};

class RiskApiSim {
 public:
  // Validates the options (rates in [0,1], non-negative times) and binds the
  // address. Errors: kInvalidArgument, kUnavailable (address in use).
  static StatusOr<std::unique_ptr<RiskApiSim>> Create(const RiskApiSimOptions& options);
  ~RiskApiSim();  // Stop()s.
  RiskApiSim(const RiskApiSim&) = delete;
  RiskApiSim& operator=(const RiskApiSim&) = delete;

  // Starts serving; returns at once. Errors from HttpServer::Start.
  Status Start();
  // Stops serving and joins the IO threads; pending delayed answers are dropped.
  // Idempotent.
  void Stop();
  // The bound port (useful with port 0).
  uint16_t port() const;

  struct State;  // shared with the handlers; defined in the .cc

 private:
  RiskApiSim(std::shared_ptr<State> state, std::unique_ptr<web::HttpServer> server);
  std::shared_ptr<State> state_;
  std::unique_ptr<web::HttpServer> server_;
};

}  // namespace lastro::sim
