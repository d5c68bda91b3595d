#include "pg/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lastro::pg {

Result::Result(pg_result* res) : res_(res) {}
Result::Result(Result&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    if (res_) PQclear(res_);
    res_ = o.res_;
    o.res_ = nullptr;
  }
  return *this;
}
Result::~Result() {
  if (res_) PQclear(res_);
}
int Result::rows() const { return res_ ? PQntuples(res_) : 0; }
int Result::columns() const { return res_ ? PQnfields(res_) : 0; }
int Result::Column(std::string_view name) const {
  return res_ ? PQfnumber(res_, std::string(name).c_str()) : -1;
}
bool Result::IsNull(int r, int c) const { return PQgetisnull(res_, r, c) != 0; }
std::string_view Result::Get(int r, int c) const {
  return std::string_view(PQgetvalue(res_, r, c), PQgetlength(res_, r, c));
}
std::optional<std::string> Result::GetOpt(int r, int c) const {
  if (IsNull(r, c)) return std::nullopt;
  return std::string(Get(r, c));
}
int64_t Result::GetInt(int r, int c) const {
  if (IsNull(r, c)) return 0;
  std::string_view v = Get(r, c);
  int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}
int64_t Result::affected() const {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_);
  return (n && *n) ? std::atoll(n) : 0;
}

Status StatusFromSqlState(std::string_view state, std::string_view message) {
  std::string msg = absl::StrCat(std::string(message), " (SQLSTATE ", std::string(state), ")");
  if (state.size() != 5) return absl::UnavailableError(msg);
  std::string_view cls = state.substr(0, 2);
  if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03" || state == "55P03" ||
      state == "53300") {
    return absl::UnavailableError(msg);
  }
  if (state == "40001" || state == "40P01") return absl::AbortedError(msg);
  if (state == "57014") return absl::DeadlineExceededError(msg);
  if (state == "23505") return absl::AlreadyExistsError(msg);
  if (cls == "23" || cls == "22") return absl::InvalidArgumentError(msg);
  if (state == "28P01" || state == "28000" || state == "42501") {
    return absl::PermissionDeniedError(msg);
  }
  return absl::InternalError(msg);
}

StatusOr<std::unique_ptr<Connection>> Connection::Connect(const std::string& dsn,
                                                          const ConnectOptions& options) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &err);
  if (parsed == nullptr) {
    std::string msg = err ? err : "invalid DSN";
    if (err) PQfreemem(err);
    return absl::InvalidArgumentError(absl::StrCat("bad PostgreSQL DSN: ", msg));
  }
  PQconninfoFree(parsed);
  std::string timeout = std::to_string(options.connect_timeout_s);
  std::vector<const char*> keys = {"dbname", "application_name", "connect_timeout"};
  std::vector<const char*> values = {dsn.c_str(), options.application_name.c_str(),
                                     timeout.c_str()};
  if (options.replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname=1: the DSN in "dbname" is expanded; later keys override it.
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq could not allocate");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (msg.find("password authentication failed") != std::string::npos) {
      return absl::PermissionDeniedError(msg);
    }
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", msg));
  }
  return std::unique_ptr<Connection>(new Connection(conn, PQgetCancel(conn)));
}

Connection::~Connection() {
  if (cancel_ != nullptr) PQfreeCancel(cancel_);
  PQfinish(conn_);
}

void Connection::CancelStatement() const {
  if (cancel_ == nullptr) return;
  char errbuf[256];
  // Best effort: when the request cannot be sent, the statement ends on its own
  // (statement_timeout) and the caller's error stands.
  (void)PQcancel(cancel_, errbuf, sizeof errbuf);
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
int Connection::server_version() const { return PQserverVersion(conn_); }

Status Connection::CheckResult(pg_result* res, std::string_view what) {
  if (res == nullptr) {
    return absl::UnavailableError(absl::StrCat(std::string(what), ": ", PQerrorMessage(conn_)));
  }
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_OUT ||
      st == PGRES_COPY_IN || st == PGRES_COPY_BOTH || st == PGRES_EMPTY_QUERY) {
    return absl::OkStatus();
  }
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary ? primary : PQerrorMessage(conn_);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (!healthy()) return absl::UnavailableError(absl::StrCat("connection lost: ", message));
  return StatusFromSqlState(state ? state : "", message);
}

StatusOr<Result> Connection::Exec(std::string_view sql) {
  std::string text(sql);
  if (!PQsendQuery(conn_, text.c_str())) {
    return absl::UnavailableError(absl::StrCat("send failed: ", PQerrorMessage(conn_)));
  }
  Result last;
  Status first_error;
  while (pg_result* res = PQgetResult(conn_)) {
    Status s = CheckResult(res, "query");
    if (!s.ok() && first_error.ok()) first_error = s;
    ExecStatusType st = PQresultStatus(res);
    last = Result(res);
    if (st == PGRES_COPY_BOTH || st == PGRES_COPY_OUT || st == PGRES_COPY_IN) break;
  }
  if (!first_error.ok()) return first_error;
  if (!healthy()) return absl::UnavailableError("connection lost");
  return last;
}

StatusOr<Result> Connection::Exec(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  std::string text(sql);
  pg_result* res = PQexecParams(conn_, text.c_str(), int(params.size()), nullptr, values.data(),
                                nullptr, nullptr, 0);
  Result owned(res);
  LASTRO_RETURN_IF_ERROR(CheckResult(res, "query"));
  return owned;
}

Status Connection::CopyOut(std::string_view copy_sql,
                           const std::function<Status(std::string_view)>& sink) {
  LASTRO_ASSIGN_OR_RETURN(Result start, Exec(copy_sql));
  (void)start;
  Status sink_status;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, 0);
    if (n > 0) {
      const bool was_ok = sink_status.ok();
      if (was_ok) sink_status = sink(std::string_view(buf, size_t(n)));
      PQfreemem(buf);
      // Cancel the COPY once so the connection stays usable, then drain it.
      if (was_ok && !sink_status.ok()) CancelStatement();
      continue;
    }
    if (n == -1) break;
    return absl::UnavailableError(absl::StrCat("COPY failed: ", PQerrorMessage(conn_)));
  }
  Status final_status;
  while (pg_result* res = PQgetResult(conn_)) {
    Status s = CheckResult(res, "COPY");
    if (!s.ok() && final_status.ok()) final_status = s;
    PQclear(res);
  }
  if (!sink_status.ok()) return sink_status;
  return final_status;
}

StatusOr<std::optional<std::string>> Connection::ReadCopyData(std::chrono::milliseconds timeout) {
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, 1 /*async*/);
    if (n > 0) {
      std::string out(buf, size_t(n));
      PQfreemem(buf);
      return std::optional<std::string>(std::move(out));
    }
    if (n == -1) {
      Status st = absl::OutOfRangeError("server ended the replication stream");
      while (pg_result* res = PQgetResult(conn_)) {
        Status s = CheckResult(res, "replication");
        if (!s.ok()) st = s;
        PQclear(res);
      }
      return st;
    }
    if (n == -2) {
      return absl::UnavailableError(absl::StrCat("replication read: ", PQerrorMessage(conn_)));
    }
    // n == 0: nothing buffered; wait for the socket.
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    int rc = poll(&pfd, 1, int(timeout.count()));
    if (rc == 0) return std::optional<std::string>();
    if (rc < 0 && errno != EINTR)
      return absl::UnavailableError("poll failed on replication socket");
    if (!PQconsumeInput(conn_)) {
      return absl::UnavailableError(absl::StrCat("replication read: ", PQerrorMessage(conn_)));
    }
    timeout = std::chrono::milliseconds(0);  // data arrived: next round does not wait
  }
}

Status Connection::WriteCopyData(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), int(data.size())) != 1 || PQflush(conn_) != 0) {
    return absl::UnavailableError(absl::StrCat("replication write: ", PQerrorMessage(conn_)));
  }
  return absl::OkStatus();
}

std::string Connection::QuoteIdentifier(std::string_view ident) const {
  char* q = PQescapeIdentifier(conn_, ident.data(), ident.size());
  std::string out = q ? q : "";
  if (q) PQfreemem(q);
  return out;
}

std::string Connection::QuoteLiteral(std::string_view literal) const {
  char* q = PQescapeLiteral(conn_, literal.data(), literal.size());
  std::string out = q ? q : "";
  if (q) PQfreemem(q);
  return out;
}

std::string IntArrayLiteral(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(values[i]);
  }
  out.push_back('}');
  return out;
}

std::string TextArrayLiteral(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out.push_back('"');
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace lastro::pg
