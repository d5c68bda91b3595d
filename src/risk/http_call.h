// Internal to the HTTP clients (the risk client, the bureau client): one reusable
// libcurl easy handle for POSTing one request body, possibly several times
// (retries); how a finished call is classified; the shared multi handle's setup.
// Keeps curl out of every other file.
//
// Not thread-safe: an HttpCall is used by its client's loop (one thread) only.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::risk {

// Initialises libcurl once per process and makes a multi handle that keeps up to
// clamp(max_in_flight, 4, 1024) connections alive. The caller owns the handle
// (curl_multi_cleanup). Errors: kInternal when libcurl cannot be initialised.
StatusOr<CURLM*> NewMulti(int max_in_flight);

class HttpCall {
 public:
  // `body` is copied; `headers` are full lines ("Name: value"). `tag` is returned
  // by TagOf(handle()) so the multi loop can find its owner.
  HttpCall(const std::string& url, std::string body, const std::vector<std::string>& headers,
           void* tag);
  ~HttpCall();
  HttpCall(const HttpCall&) = delete;
  HttpCall& operator=(const HttpCall&) = delete;

  // Readies the handle for one more attempt with this total timeout; add handle()
  // to the multi afterwards.
  void Arm(std::chrono::milliseconds timeout);
  CURL* handle() const { return easy_; }
  static void* TagOf(CURL* easy);

  // After the multi reported the call done:
  long http_status() const;  // 0 when no response
  const std::string& response() const { return response_; }
  std::chrono::milliseconds retry_after() const { return retry_after_; }  // 0 when absent
  std::string Describe(CURLcode code) const;  // "Couldn't connect to server (...)"

 private:
  static size_t OnBody(char* data, size_t size, size_t n, void* self);
  static size_t OnHeader(char* data, size_t size, size_t n, void* self);

  CURL* easy_;
  curl_slist* headers_ = nullptr;
  std::string body_;
  std::string response_;
  std::chrono::milliseconds retry_after_{0};
  char errbuf_[CURL_ERROR_SIZE] = {0};
};

// How a finished call went (README.md, "Outcome classification").
enum class CallOutcome {
  kOk,           // 2xx: the caller reads the body
  kThrottled,    // 429: retry (not later than Retry-After)
  kServerError,  // 5xx: retry
  kRejected,     // any other status: the API refuses the request itself; never retried
  kTimeout,      // curl's timeout: retry
  kNetwork,      // any other curl error: retry
};

struct CallResult {
  CallOutcome outcome = CallOutcome::kOk;
  long http_status = 0;  // 0 without a response
  // The `outcome` label of the client's calls counter: "ok", "http_429",
  // "http_5xx", "http_4xx", "timeout" or "network".
  const char* metric = "ok";
  // What the circuit breaker records: a failure only for 5xx, timeouts and network
  // errors (an API that throttles or rejects a request is alive).
  bool breaker_success = true;
  // Unless kOk: "HTTP 503", "timeout after 2000 ms", or curl's description.
  std::string error;
  // kRejected: ": " + the body's `error` message with personal data redacted, or
  // "" when the body has none.
  std::string detail;

  bool retryable() const {
    return outcome != CallOutcome::kOk && outcome != CallOutcome::kRejected;
  }
  // 401 or 403: our credentials are wrong, so every call would fail the same way.
  bool unauthorized() const {
    return outcome == CallOutcome::kRejected && (http_status == 401 || http_status == 403);
  }
};

// Classifies `call` after the multi reported it done with `code`, `elapsed_ms`
// after it started.
CallResult ClassifyCall(const HttpCall& call, CURLcode code, double elapsed_ms);

}  // namespace lastro::risk
