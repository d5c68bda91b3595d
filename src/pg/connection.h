// RAII wrapper over libpq. The only place (with capture's replication use of the
// copy-both calls below) where libpq types appear; public methods speak Lastro's
// types and return absl statuses classified by SQLSTATE:
//   connection loss, admin shutdown, lock timeout  -> kUnavailable (retry/reconnect)
//   serialization failure, deadlock                -> kAborted (retry the transaction)
//   statement timeout / cancel                     -> kDeadlineExceeded
//   constraint violations, bad input syntax        -> kInvalidArgument (unique: kAlreadyExists)
//   anything else                                  -> kInternal
// Error messages carry the server's primary message and SQLSTATE, never its DETAIL
// (which may quote row values, i.e. personal data).
//
// A Connection is not thread-safe: use one per thread. The one exception is
// CancelStatement(), which any thread may call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct pg_cancel;
struct pg_conn;
struct pg_result;

namespace lastro::pg {

// Rows of one statement. Values are text (libpq text format).
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* res);
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  ~Result();

  int rows() const;
  int columns() const;
  // Column index by name, or -1.
  int Column(std::string_view name) const;
  bool IsNull(int row, int col) const;
  // Text of a value ("" for NULL). Valid while the Result lives.
  std::string_view Get(int row, int col) const;
  std::optional<std::string> GetOpt(int row, int col) const;
  // Parses an integer column; 0 for NULL.
  int64_t GetInt(int row, int col) const;
  // Rows affected by INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  pg_result* res_ = nullptr;
};

using Param = std::optional<std::string>;  // nullopt = SQL NULL

struct ConnectOptions {
  std::string application_name = "lastro";
  bool replication = false;  // logical replication connection (replication=database)
  int connect_timeout_s = 5;
};

class Connection {
 public:
  // Errors: kUnavailable when the server cannot be reached, kInvalidArgument for a
  // malformed DSN, kPermissionDenied for authentication failures.
  static StatusOr<std::unique_ptr<Connection>> Connect(const std::string& dsn,
                                                       const ConnectOptions& options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements (simple protocol); returns the last result.
  StatusOr<Result> Exec(std::string_view sql);
  // Runs one parameterised statement (extended protocol, text params).
  StatusOr<Result> Exec(std::string_view sql, const std::vector<Param>& params);

  // COPY ... TO STDOUT: calls `sink` with each chunk (one or more rows) as it
  // arrives; a sink error aborts the copy and is returned.
  Status CopyOut(std::string_view copy_sql, const std::function<Status(std::string_view)>& sink);

  // Asks the server to cancel the statement this connection is running, if any
  // (PQcancel, over a separate socket). Thread-safe: meant to be called by another
  // thread than the one blocked in Exec() or CopyOut(), which then returns the
  // server's "canceling statement due to user request" (kDeadlineExceeded). A no-op
  // between statements; a statement that starts right after may still be cancelled.
  // Best effort: errors (the server unreachable) are ignored.
  void CancelStatement() const;

  // True while the connection is usable.
  bool healthy() const;
  // The server's version number, e.g. 150020.
  int server_version() const;

  // --- copy-both (logical replication); used by capture/ only ---
  // Waits up to `timeout` for one CopyData message. Returns nullopt on timeout,
  // kOutOfRange when the server ended the copy, kUnavailable on connection loss.
  StatusOr<std::optional<std::string>> ReadCopyData(std::chrono::milliseconds timeout);
  // Sends one CopyData message and flushes. kUnavailable on failure.
  Status WriteCopyData(std::string_view data);

  // Escapes an identifier / literal for safe interpolation in SQL text.
  std::string QuoteIdentifier(std::string_view ident) const;
  std::string QuoteLiteral(std::string_view literal) const;

 private:
  Connection(pg_conn* conn, pg_cancel* cancel) : conn_(conn), cancel_(cancel) {}
  Status CheckResult(pg_result* res, std::string_view what);
  pg_conn* conn_;
  // Made once at connect time, so CancelStatement() never touches conn_ (which the
  // thread running a statement owns). nullptr when libpq could not make it.
  pg_cancel* cancel_;
};

// Maps a SQLSTATE (5 chars) and message to a Status of the right code.
Status StatusFromSqlState(std::string_view sqlstate, std::string_view message);

// Formats a list of integers as a PostgreSQL array literal ("{1,2,3}").
std::string IntArrayLiteral(const std::vector<int64_t>& values);
// Formats strings as a PostgreSQL text[] literal with quoting; nullopt -> NULL.
std::string TextArrayLiteral(const std::vector<std::optional<std::string>>& values);

}  // namespace lastro::pg
