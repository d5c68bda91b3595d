#include "web/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <system_error>
#include <thread>

#include "web/server_core.h"
#include "web/tls_context.h"

namespace lastro::web {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::string Request::Header(const std::string& name, const std::string& fallback) const {
  auto it = headers.find(name);
  return it == headers.end() ? fallback : it->second;
}

Response Response::Error(int status, const std::string& message) {
  return Json(status, "{\"error\":\"" + internal::JsonEscape(message) + "\"}");
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

namespace internal {

void InvokeUserCallback(const std::function<void()>& fn) {
  if (!fn) {
    return;
  }
  try {
    fn();
  } catch (...) {
    // Deliberately ignored: an exception must not unwind through io_context::run().
  }
}

void ServerCore::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<net::steady_timer>(ioc_, delay);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) {
    return;
  }
  timers_.insert(timer);
  // `this` outlives the wait: Stop() cancels it and drains the io_context before the
  // core can go away.
  timer->async_wait([this, timer, fn = std::move(fn)](const error_code& ec) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      timers_.erase(timer);
    }
    if (!ec) {
      InvokeUserCallback(fn);
    }
  });
}

bool ServerCore::Register(Connection* key, std::weak_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) {
    return false;
  }
  connections_[key] = std::move(conn);
  return true;
}

void ServerCore::Forget(Connection* key) {
  std::lock_guard<std::mutex> lock(mu_);
  connections_.erase(key);
}

std::vector<std::shared_ptr<Connection>> ServerCore::BeginStop() {
  std::vector<std::shared_ptr<Connection>> live;
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  for (const auto& timer : timers_) {
    timer->cancel();
  }
  for (const auto& [key, weak] : connections_) {
    if (auto conn = weak.lock()) {
      live.push_back(std::move(conn));
    }
  }
  return live;
}

}  // namespace internal

struct HttpServer::State {
  explicit State(std::shared_ptr<internal::ServerCore> c)
      : core(std::move(c)),
        acceptor(net::make_strand(core->ioc())),
        retry_timer(acceptor.get_executor()) {}

  void DoAccept() {
    acceptor.async_accept(net::make_strand(core->ioc()), [this](error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) {
        return;
      }
      if (ec) {
        // Typically EMFILE: back off rather than spin on a listener that stays readable.
        retry_timer.expires_after(std::chrono::milliseconds(100));
        retry_timer.async_wait([this](error_code wait_ec) {
          if (!wait_ec) {
            DoAccept();
          }
        });
        return;
      }
      internal::StartConnection(core, std::move(s));
      DoAccept();
    });
  }

  std::shared_ptr<internal::ServerCore> core;  // first: outlives the IO objects below
  tcp::acceptor acceptor;                      // used on its own strand once started
  net::steady_timer retry_timer;               // on the acceptor's strand
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool started = false;  // Start/Stop are called by the owner, not concurrently
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() {
  try {
    Stop();
  } catch (...) {
    // Deliberately ignored: a destructor must not throw (only allocation can fail here).
  }
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const ServerOptions& options) {
  if (options.threads < 1) {
    return absl::InvalidArgumentError("threads must be at least 1");
  }
  if (options.idle_timeout.count() <= 0) {
    return absl::InvalidArgumentError("idle_timeout must be positive");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls_cert_file and tls_key_file go together: set both for HTTPS, or neither");
  }
  LASTRO_ASSIGN_OR_RETURN(internal::HostPort hp, internal::ParseHostPort(options.addr));
  error_code ec;
  net::ip::address address;
  if (hp.host.empty() || hp.host == "*") {
    address = net::ip::address_v4::any();
  } else if (hp.host == "localhost") {
    address = net::ip::address_v4::loopback();
  } else {
    address = net::ip::make_address(hp.host, ec);
    if (ec) {
      return absl::InvalidArgumentError("bad host in address '" + options.addr +
                                        "': need an IP literal, 'localhost' or '*'");
    }
  }

  std::shared_ptr<net::ssl::context> tls;
  if (!options.tls_cert_file.empty()) {
    LASTRO_ASSIGN_OR_RETURN(
        tls, internal::MakeServerTlsContext(options.tls_cert_file, options.tls_key_file));
  }
  auto state =
      std::make_unique<State>(std::make_shared<internal::ServerCore>(options, std::move(tls)));
  tcp::endpoint endpoint(address, hp.port);
  auto fail = [&](const char* what) {
    return absl::UnavailableError(std::string(what) + " " + options.addr + ": " + ec.message());
  };
  state->acceptor.open(endpoint.protocol(), ec);
  if (ec) {
    return fail("cannot open a socket for");
  }
  state->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) {
    return fail("cannot set SO_REUSEADDR for");
  }
  state->acceptor.bind(endpoint, ec);
  if (ec) {
    return fail("cannot bind");
  }
  state->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail("cannot listen on");
  }
  tcp::endpoint bound = state->acceptor.local_endpoint(ec);
  if (ec) {
    return fail("cannot read the bound port of");
  }
  state->port = bound.port();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

void HttpServer::Route(const std::string& method, const std::string& path, Handler handler) {
  if (state_->started || state_->stopped) {
    return;  // the table is read-only once IO runs
  }
  state_->core->router().Add(method, path, std::move(handler));
}

Status HttpServer::Start() {
  State& s = *state_;
  if (s.started || s.stopped) {
    return absl::FailedPreconditionError("server already started");
  }
  s.started = true;
  s.work.emplace(s.core->ioc().get_executor());
  net::post(s.acceptor.get_executor(), [&s] { s.DoAccept(); });
  for (int i = 0; i < s.core->options().threads; ++i) {
    s.threads.emplace_back([core = s.core] {
      for (;;) {
        try {
          core->ioc().run();
          return;
        } catch (...) {
          // Deliberately ignored: keep serving; user callbacks are already guarded.
        }
      }
    });
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  State& s = *state_;
  if (s.stopped) {
    return;
  }
  s.stopped = true;
  std::vector<std::shared_ptr<internal::Connection>> live = s.core->BeginStop();
  if (!s.started) {
    error_code ec;
    s.acceptor.close(ec);
    return;
  }
  net::post(s.acceptor.get_executor(), [&s] {
    error_code ec;
    s.acceptor.close(ec);
    s.retry_timer.cancel();
  });
  for (const auto& conn : live) {
    internal::CloseConnectionAsync(conn);
  }
  live.clear();
  // With the listener, connections and timers gone, run() returns once the
  // remaining handlers have finished.
  s.work.reset();
  for (std::thread& t : s.threads) {
    t.join();
  }
  s.threads.clear();
}

uint16_t HttpServer::port() const { return state_->port; }

void HttpServer::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  state_->core->RunAfter(delay, std::move(fn));
}

void HttpServer::Post(std::function<void()> fn) {
  state_->core->PostUnlessStopped(state_->core->ioc().get_executor(),
                                  [fn = std::move(fn)] { internal::InvokeUserCallback(fn); });
}

bool IsLoopbackAddress(const std::string& addr) {
  return addr.starts_with("127.") || addr.starts_with("localhost:") || addr.starts_with("[::1]:");
}

}  // namespace lastro::web
