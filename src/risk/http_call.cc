#include "risk/http_call.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/pii.h"

namespace lastro::risk {
namespace {
constexpr size_t kMaxResponseBytes = 1 << 20;
}  // namespace

StatusOr<CURLM*> NewMulti(int max_in_flight) {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) return absl::InternalError("curl_global_init failed");
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(std::clamp(max_in_flight, 4, 1024)));
  return multi;
}

HttpCall::HttpCall(const std::string& url, std::string body,
                   const std::vector<std::string>& headers, void* tag)
    : easy_(curl_easy_init()), body_(std::move(body)) {
  for (const auto& h : headers) headers_ = curl_slist_append(headers_, h.c_str());
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpCall::OnBody);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &HttpCall::OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, tag);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);  // we are multi-threaded
  curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, "lastro-risk/0.1");
}

HttpCall::~HttpCall() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

void HttpCall::Arm(std::chrono::milliseconds timeout) {
  long ms = static_cast<long>(std::max<int64_t>(1, timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, ms);
  response_.clear();
  retry_after_ = std::chrono::milliseconds(0);
  errbuf_[0] = '\0';
}

void* HttpCall::TagOf(CURL* easy) {
  void* tag = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &tag);
  return tag;
}

long HttpCall::http_status() const {
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

std::string HttpCall::Describe(CURLcode code) const {
  std::string text = curl_easy_strerror(code);
  if (errbuf_[0] != '\0') text += std::string(" (") + errbuf_ + ")";
  return text;
}

size_t HttpCall::OnBody(char* data, size_t size, size_t n, void* self) {
  auto* call = static_cast<HttpCall*>(self);
  if (call->response_.size() + size * n > kMaxResponseBytes) return 0;  // aborts the call
  call->response_.append(data, size * n);
  return size * n;
}

size_t HttpCall::OnHeader(char* data, size_t size, size_t n, void* self) {
  auto* call = static_cast<HttpCall*>(self);
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string name(line.substr(0, kName.size()));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == kName) {
      // Delta-seconds only; an HTTP-date is ignored (the backoff still applies).
      std::string value(line.substr(kName.size()));
      char* end = nullptr;
      long seconds = std::strtol(value.c_str(), &end, 10);
      if (end != value.c_str() && seconds > 0) {
        call->retry_after_ = std::chrono::milliseconds(int64_t{seconds} * 1000);
      }
    }
  }
  return size * n;
}

CallResult ClassifyCall(const HttpCall& call, CURLcode code, double elapsed_ms) {
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return {.outcome = CallOutcome::kTimeout,
            .metric = "timeout",
            .breaker_success = false,
            .error = "timeout after " + std::to_string(static_cast<int64_t>(elapsed_ms)) + " ms"};
  }
  if (code != CURLE_OK) {
    return {.outcome = CallOutcome::kNetwork,
            .metric = "network",
            .breaker_success = false,
            .error = call.Describe(code)};
  }
  CallResult r;
  r.http_status = call.http_status();
  if (r.http_status >= 200 && r.http_status < 300) return r;
  r.error = "HTTP " + std::to_string(r.http_status);
  if (r.http_status == 429) {
    r.outcome = CallOutcome::kThrottled;
    r.metric = "http_429";
  } else if (r.http_status >= 500) {
    r.outcome = CallOutcome::kServerError;
    r.metric = "http_5xx";
    r.breaker_success = false;
  } else {
    r.outcome = CallOutcome::kRejected;
    r.metric = "http_4xx";
    auto j = nlohmann::json::parse(call.response(), nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      r.detail = ": " + pii::Redact(j["error"].get<std::string>());
    }
  }
  return r;
}

}  // namespace lastro::risk
