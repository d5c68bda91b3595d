#include "web/http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>

namespace lastro::web::testing {
namespace {

const bool kCurlReady = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<HttpResult*>(user)->body.append(data, size * n);
  return size * n;
}

// Parses "Name: value\r\n" into lower-cased name and trimmed value.
bool ParseHeaderLine(std::string_view line, std::string* name, std::string* value) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  name->assign(line.substr(0, colon));
  std::transform(name->begin(), name->end(), name->begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
    v.remove_suffix(1);
  }
  value->assign(v);
  return true;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::multimap<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  // A new status line (after "100 Continue") starts a new header block.
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();
  }
  std::string name, value;
  if (ParseHeaderLine(line, &name, &value)) {
    headers->emplace(std::move(name), std::move(value));
  }
  return size * n;
}

}  // namespace

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval, not a wait
  }
  return true;
}

std::string HttpResult::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

void PrepareHandle(CURL* h, const std::string& url, const FetchOptions& options, HttpResult* result,
                   curl_slist** header_list) {
  (void)kCurlReady;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, result);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &result->headers);
  if (options.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, options.method.c_str());
  }
  if (!options.body.empty() || options.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(options.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, options.body.c_str());
  }
  if (!options.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (!options.userpwd.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERPWD, options.userpwd.c_str());
  }
  *header_list = nullptr;
  for (const std::string& header : options.headers) {
    *header_list = curl_slist_append(*header_list, header.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, *header_list);
}

HttpResult Fetch(const std::string& url, const FetchOptions& options, CURL* handle) {
  CURL* h = handle ? handle : curl_easy_init();
  if (handle) {
    curl_easy_reset(h);  // keeps the connection cache, hence keep-alive
  }
  HttpResult result;
  curl_slist* header_list = nullptr;
  PrepareHandle(h, url, options, &result, &header_list);
  result.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  if (!handle) {
    curl_easy_cleanup(h);
  }
  curl_slist_free_all(header_list);
  return result;
}

StreamClient::StreamClient(std::string url, std::string ca_file) {
  thread_ = std::thread([this, url = std::move(url), ca_file = std::move(ca_file)] {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    if (!ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &StreamClient::OnBody);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &StreamClient::OnHeader);
    // The progress callback lets the destructor abort a transfer that is idle.
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &StreamClient::OnProgress);
    code_ = curl_easy_perform(h);
    curl_easy_cleanup(h);
    done_ = true;
  });
}

size_t StreamClient::OnBody(char* data, size_t size, size_t n, void* user) {
  auto* self = static_cast<StreamClient*>(user);
  if (self->abort_) {
    return 0;
  }
  std::lock_guard<std::mutex> lock(self->mu_);
  self->body_.append(data, size * n);
  return size * n;
}

size_t StreamClient::OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* self = static_cast<StreamClient*>(user);
  std::string name, value;
  if (ParseHeaderLine(std::string_view(data, size * n), &name, &value)) {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->headers_.emplace(std::move(name), std::move(value));
  }
  return size * n;
}

int StreamClient::OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<StreamClient*>(user)->abort_ ? 1 : 0;
}

StreamClient::~StreamClient() {
  abort_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string StreamClient::Body() const {
  std::lock_guard<std::mutex> lock(mu_);
  return body_;
}

size_t StreamClient::BodySize() const {
  std::lock_guard<std::mutex> lock(mu_);
  return body_.size();
}

std::string StreamClient::Header(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = headers_.find(name);
  return it == headers_.end() ? "" : it->second;
}

void OpenedStreams::Add(const std::shared_ptr<EventStream>& stream) {
  auto count = std::make_shared<std::atomic<int>>(0);
  stream->OnClose([count] { ++*count; });
  std::lock_guard<std::mutex> lock(mu_);
  opened_.push_back(stream);
  closes_.push_back(std::move(count));
}

size_t OpenedStreams::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return opened_.size();
}

std::shared_ptr<EventStream> OpenedStreams::at(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return opened_.at(i);
}

int OpenedStreams::closes_of(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return closes_.at(i)->load();
}

RawClient::RawClient(uint16_t port, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) {
    return;
  }
  if (receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
  }
}

RawClient::~RawClient() { Close(); }

void RawClient::Close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ssl_ctx_ != nullptr) {
    SSL_CTX_free(ssl_ctx_);
    ssl_ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = -1;
}

bool RawClient::StartTls(const std::string& ca_file, int max_version) {
  if (fd_ < 0 || ssl_ != nullptr) {
    return false;
  }
  // OpenSSL writes with write(): a peer that has closed would raise SIGPIPE and kill
  // the test binary instead of failing the write.
  static const bool kSigpipeIgnored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)kSigpipeIgnored;
  // Blocking calls with a bound: a server that stalls fails the call, not the test run.
  timeval limit{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr ||
      SSL_CTX_load_verify_locations(ssl_ctx_, ca_file.c_str(), nullptr) != 1) {
    return false;
  }
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
  if (max_version != 0) {
    // Old versions need security level 0 on the client, so only the server can refuse.
    SSL_CTX_set_security_level(ssl_ctx_, 0);
    SSL_CTX_set_min_proto_version(ssl_ctx_, 0);
    SSL_CTX_set_max_proto_version(ssl_ctx_, max_version);
  }
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 ||
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1") != 1) {
    return false;
  }
  return SSL_connect(ssl_) == 1;
}

bool RawClient::Send(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = 0;
    if (ssl_ != nullptr) {
      int w = SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent));
      n = w > 0 ? w : -1;
    } else {
      n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    }
    if (n <= 0) {
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string RawClient::ReadUntil(const std::function<bool(const std::string&)>& done, bool* eof,
                                 std::chrono::milliseconds timeout) {
  *eof = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (!done(received_)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    bool buffered = ssl_ != nullptr && SSL_pending(ssl_) > 0;
    pollfd p{fd_, POLLIN, 0};
    if (!buffered && ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    if (ssl_ != nullptr) {
      int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
        continue;
      }
      int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        continue;  // a record not complete yet, or a post-handshake message
      }
      close_notify_ = error == SSL_ERROR_ZERO_RETURN;
      *eof = true;  // close_notify, or TCP closed / reset under the session
      break;
    }
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      *eof = true;
      break;
    }
    received_.append(buf, static_cast<size_t>(n));
  }
  return received_;
}

}  // namespace lastro::web::testing
