#include "risk/http_call.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

namespace lastro::risk {
namespace {
constexpr size_t kMaxResponseBytes = 1 << 20;
}  // namespace

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

}  // namespace lastro::risk
