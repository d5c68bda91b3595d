// Internal: the state shared by the server, its connections and the responders
// and event streams handed to user code. Not part of the public interface.
//
// Lifetime: connections hold a shared_ptr to the core, so the io_context outlives
// every socket even when user code keeps a Responder past the server's destruction.
// User-originated work is posted through `PostUnlessStopped`, which refuses new work
// once Stop() has begun; that lets Stop() drain the io_context without a cycle
// (queued handler -> connection -> core -> io_context -> queued handler).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "web/http_server.h"
#include "web/http_util.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace lastro::web::internal {

class Connection;

class ServerCore {
 public:
  // `tls` null: plain HTTP; else every connection speaks TLS with this context.
  ServerCore(ServerOptions options, std::shared_ptr<boost::asio::ssl::context> tls)
      : options_(std::move(options)), tls_(std::move(tls)) {}

  const ServerOptions& options() const { return options_; }
  // Read-only once connections exist (OpenSSL contexts are safe to share then).
  boost::asio::ssl::context* tls() const { return tls_.get(); }
  Router& router() { return router_; }
  const Router& router() const { return router_; }
  boost::asio::io_context& ioc() { return ioc_; }

  // Posts `fn` to `executor` unless Stop() has begun (then drops it, returns false).
  template <typename Fn>
  bool PostUnlessStopped(const boost::asio::any_io_executor& executor, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return false;
    }
    boost::asio::post(executor, std::forward<Fn>(fn));
    return true;
  }

  // Runs `fn` on an IO thread after `delay` unless Stop() begins first.
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);

  // Tracks a live connection so Stop() can close it. Returns false (and the caller
  // must close the socket) when Stop() has begun.
  bool Register(Connection* key, std::weak_ptr<Connection> conn);
  void Forget(Connection* key);

  // Marks the core stopped, cancels pending RunAfter timers and returns the
  // connections that were live, for the caller to close. Idempotent.
  std::vector<std::shared_ptr<Connection>> BeginStop();
  bool stopping() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }

 private:
  const ServerOptions options_;
  const std::shared_ptr<boost::asio::ssl::context> tls_;
  Router router_;  // written only before Start()
  boost::asio::io_context ioc_;

  mutable std::mutex mu_;
  bool stopped_ = false;                                                    // guarded by mu_
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;  // guarded by mu_
  std::unordered_set<std::shared_ptr<boost::asio::steady_timer>> timers_;   // guarded by mu_
};

// Takes over an accepted socket (bound to its own strand) and serves it, over TLS
// when the core has a context.
void StartConnection(const std::shared_ptr<ServerCore>& core, boost::asio::ip::tcp::socket socket);
// Closes a connection from any thread (posted to its strand); fires OnClose of an
// open event stream.
void CloseConnectionAsync(const std::shared_ptr<Connection>& conn);

// Runs a user callback, swallowing exceptions so that one misbehaving callback
// cannot unwind through io_context::run() and kill an IO thread.
void InvokeUserCallback(const std::function<void()>& fn);

}  // namespace lastro::web::internal
