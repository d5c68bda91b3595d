// Internal to risk/: one reusable libcurl easy handle for POSTing one request body,
// possibly several times (retries). Keeps curl out of every other file.
//
// Not thread-safe: used by the RiskClient loop thread only.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <vector>

namespace lastro::risk {

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

}  // namespace lastro::risk
