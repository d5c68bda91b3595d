#include "lake/engine.h"

#include <duckdb.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "fmt/format.h"
#include "lake/source_function.h"

namespace lastro::lake {
namespace {

Status FromDuckError(duckdb_error_type type, const char* message) {
  std::string msg = message != nullptr ? message : "DuckDB error";
  switch (type) {
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_SYNTAX:
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_MISMATCH_TYPE:
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
    case DUCKDB_ERROR_DECIMAL:
    case DUCKDB_ERROR_INVALID_TYPE:
    case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
    case DUCKDB_ERROR_PARAMETER_NOT_ALLOWED:
    case DUCKDB_ERROR_SETTINGS:
      return absl::InvalidArgumentError(msg);
    case DUCKDB_ERROR_CATALOG:
    case DUCKDB_ERROR_CONSTRAINT:
    case DUCKDB_ERROR_DEPENDENCY:
    case DUCKDB_ERROR_MISSING_EXTENSION:
      return absl::FailedPreconditionError(msg);
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(msg);
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_PERMISSION:
      return absl::UnavailableError(msg);
    case DUCKDB_ERROR_INTERRUPT:
      return absl::CancelledError(msg);
    default:
      return absl::InternalError(msg);
  }
}

std::string TypeName(duckdb_logical_type type) {
  duckdb_type id = duckdb_get_type_id(type);
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:
      return "TINYINT";
    case DUCKDB_TYPE_SMALLINT:
      return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_HUGEINT:
      return "HUGEINT";
    case DUCKDB_TYPE_UTINYINT:
      return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT:
      return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER:
      return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT:
      return "UBIGINT";
    case DUCKDB_TYPE_FLOAT:
      return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_TIMESTAMP:
      return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:
      return "BLOB";
    case DUCKDB_TYPE_UUID:
      return "UUID";
    case DUCKDB_TYPE_DECIMAL:
      return absl::StrCat("DECIMAL(", duckdb_decimal_width(type), ",", duckdb_decimal_scale(type),
                          ")");
    case DUCKDB_TYPE_LIST: {
      duckdb_logical_type child = duckdb_list_type_child_type(type);
      std::string name = TypeName(child) + "[]";
      duckdb_destroy_logical_type(&child);
      return name;
    }
    case DUCKDB_TYPE_STRUCT:
      return "STRUCT";
    case DUCKDB_TYPE_MAP:
      return "MAP";
    default:
      return "OTHER";
  }
}

class DuckAppender final : public Appender {
 public:
  explicit DuckAppender(duckdb_appender appender) : appender_(appender) {}
  ~DuckAppender() override {
    if (appender_ != nullptr) duckdb_appender_destroy(&appender_);
  }
  void AppendNull() override { Check(duckdb_append_null(appender_)); }
  void AppendBool(bool value) override { Check(duckdb_append_bool(appender_, value)); }
  void AppendInt(int64_t value) override { Check(duckdb_append_int64(appender_, value)); }
  void AppendDouble(double value) override { Check(duckdb_append_double(appender_, value)); }
  void AppendText(std::string_view value) override {
    Check(duckdb_append_varchar_length(appender_, value.data(), value.size()));
  }
  Status EndRow() override {
    if (!error_.ok()) return error_;
    return Result(duckdb_appender_end_row(appender_));
  }
  Status Flush() override {
    if (!error_.ok()) return error_;
    return Result(duckdb_appender_flush(appender_));
  }
  Status Close() override {
    if (appender_ == nullptr) return error_;
    Status s = error_.ok() ? Result(duckdb_appender_close(appender_)) : error_;
    duckdb_appender_destroy(&appender_);
    appender_ = nullptr;
    return s;
  }

 private:
  // The first failed append is kept and reported by the next EndRow()/Flush()/Close().
  void Check(duckdb_state state) {
    if (state != DuckDBSuccess && error_.ok()) error_ = Result(state);
  }
  Status Result(duckdb_state state) {
    if (state == DuckDBSuccess) return absl::OkStatus();
    duckdb_error_data data = duckdb_appender_error_data(appender_);
    Status s = FromDuckError(duckdb_error_data_error_type(data), duckdb_error_data_message(data));
    duckdb_destroy_error_data(&data);
    if (error_.ok()) error_ = s;
    return s;
  }

  duckdb_appender appender_;
  Status error_;
};

// Statements slower than this are logged (debug level) with their duration: the
// batch's phases are a handful of big statements, and this says which one is slow.
// SQL text here holds no personal data (literals are dates, paths and run ids).
// Runs a prepared statement to completion, as duckdb_execute_prepared does, but
// without its busy wait. When the statement's remaining work is all on DuckDB's
// worker threads (a single-threaded source such as lastro_source(), the last task of
// a pipeline, a final flush), duckdb_execute_prepared asks for a task again at once,
// in a loop, and keeps a core busy doing nothing: a core taken from the workers and
// from every other process (on the batch's 2 cores, from PostgreSQL's backends).
// Here the calling thread yields for the first 100 µs of each wait (a short query's
// last task ends within it, and a sleep would add its whole slice to the answer),
// then sleeps, from 50 µs doubling up to 1 ms, and still runs every task it is given.
duckdb_state ExecutePreparedWithoutSpinning(duckdb_prepared_statement stmt, duckdb_result* out) {
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared(stmt, &pending) != DuckDBSuccess) {
    // Nothing ran: duckdb_execute_prepared reports the same failure, with its type
    // (the pending API gives only the message).
    duckdb_destroy_pending(&pending);
    return duckdb_execute_prepared(stmt, out);
  }
  constexpr std::chrono::microseconds kYieldFor(100), kFirstWait(50), kMaxWait(1000);
  std::chrono::microseconds wait = kFirstWait;
  std::optional<std::chrono::steady_clock::time_point> idle_since;
  for (;;) {
    duckdb_pending_state state = duckdb_pending_execute_task(pending);
    if (duckdb_pending_execution_is_finished(state)) break;  // a result or an error
    if (state != DUCKDB_PENDING_NO_TASKS_AVAILABLE) {
      wait = kFirstWait;
      idle_since.reset();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!idle_since) idle_since = now;
    if (now - *idle_since < kYieldFor) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, kMaxWait);
    }
  }
  duckdb_state state = duckdb_execute_pending(pending, out);  // the result, or the error
  duckdb_destroy_pending(&pending);
  return state;
}

class SlowStatementLog {
 public:
  explicit SlowStatementLog(std::string_view sql) : sql_(sql) {}
  ~SlowStatementLog() {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (s >= 0.5)
      log::Debug("slow statement", {{"seconds", s}, {"sql", std::string(sql_.substr(0, 160))}});
  }

 private:
  std::string_view sql_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

struct Engine::Impl {
  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  internal::SourceSlot source_slot;  // read by lastro_source(), registered at Open()
  ~Impl() {
    if (conn != nullptr) duckdb_disconnect(&conn);
    if (db != nullptr) duckdb_close(&db);
  }
};

StatusOr<int64_t> ParseMemorySize(std::string_view text) {
  const std::string original(text);
  std::string t(absl::StripAsciiWhitespace(original));
  size_t digits = 0;
  while (digits < t.size() && (absl::ascii_isdigit(t[digits]) || t[digits] == '.')) ++digits;
  double number = 0;
  std::string unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(t.substr(digits)));
  static const std::vector<std::pair<std::string, double>> kUnits = {{"b", 1},
                                                                     {"bytes", 1},
                                                                     {"kb", 1e3},
                                                                     {"mb", 1e6},
                                                                     {"gb", 1e9},
                                                                     {"tb", 1e12},
                                                                     {"kib", 1024.0},
                                                                     {"mib", 1048576.0},
                                                                     {"gib", 1073741824.0},
                                                                     {"tib", 1099511627776.0}};
  if (digits == 0 || !absl::SimpleAtod(t.substr(0, digits), &number) || number <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory size '", original, "' is not a positive number with a unit (e.g. 1GB)"));
  }
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) return static_cast<int64_t>(number * factor);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "memory size '", original, "' has no known unit (B, KB, MB, GB, TB, KiB ... TiB)"));
}

StatusOr<std::string> ScaleMemorySize(std::string_view text, double fraction) {
  LASTRO_ASSIGN_OR_RETURN(int64_t bytes, ParseMemorySize(text));
  return absl::StrCat(std::max<int64_t>(1, static_cast<int64_t>(bytes * fraction / 1e6)), "MB");
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) {
    return absl::InternalError("duckdb_create_config failed");
  }
  auto set = [&](const char* name, const std::string& value) -> Status {
    if (duckdb_set_config(config, name, value.c_str()) != DuckDBSuccess) {
      return absl::InvalidArgumentError(absl::StrCat("DuckDB setting ", name, "='", value, "'"));
    }
    return absl::OkStatus();
  };
  Status s = set("memory_limit", options.memory_limit);
  if (s.ok() && options.threads > 0) s = set("threads", std::to_string(options.threads));
  if (s.ok() && !options.temp_directory.empty()) {
    s = set("temp_directory", options.temp_directory.string());
  }
  // Machines are offline and the engine must never fetch code: no extension installs.
  if (s.ok()) s = set("autoinstall_known_extensions", "false");
  if (s.ok()) s = set("allow_community_extensions", "false");
  if (s.ok() && options.read_only) s = set("access_mode", "READ_ONLY");
  // allowed_paths can only be set while external access is on: the sandbox is then
  // closed by SET statements right after connecting (below).
  if (s.ok() && !options.external_access && options.allowed_paths.empty()) {
    s = set("enable_external_access", "false");
  }
  auto impl = std::make_unique<Impl>();
  char* error = nullptr;
  const std::string path = options.database.string();
  if (s.ok() && duckdb_open_ext(path.empty() ? nullptr : path.c_str(), &impl->db, config, &error) !=
                    DuckDBSuccess) {
    s = absl::InvalidArgumentError(absl::StrCat("cannot open DuckDB: ", error ? error : "?"));
    impl->db = nullptr;
  }
  if (error != nullptr) duckdb_free(error);
  duckdb_destroy_config(&config);
  LASTRO_RETURN_IF_ERROR(s);
  if (duckdb_connect(impl->db, &impl->conn) != DuckDBSuccess) {
    impl->conn = nullptr;
    return absl::InternalError("cannot connect to DuckDB");
  }
  LASTRO_RETURN_IF_ERROR(internal::RegisterSourceFunction(impl->conn, &impl->source_slot));
  auto engine = std::unique_ptr<Engine>(new Engine(std::move(impl)));
  if (!options.external_access) {
    std::vector<std::string> paths;
    for (const std::string& p : options.allowed_paths) paths.push_back(SqlString(p));
    LASTRO_RETURN_IF_ERROR(engine->Execute(absl::StrCat(
        paths.empty() ? ""
                      : absl::StrCat("SET allowed_paths = [", absl::StrJoin(paths, ", "),
                                     "]; SET enable_external_access = false; "),
        "SET lock_configuration = true;")));
  }
  return engine;
}

Status Engine::ExecuteWithSource(std::string_view sql, RowSource& source) {
  impl_->source_slot = {&source, absl::OkStatus()};
  Status s = Execute(sql);
  Status source_error = std::move(impl_->source_slot.error);
  impl_->source_slot = {};
  return source_error.ok() ? s : source_error;
}

Status Engine::Execute(std::string_view sql) {
  duckdb_extracted_statements stmts = nullptr;
  std::string text(sql);
  idx_t n = duckdb_extract_statements(impl_->conn, text.c_str(), &stmts);
  if (n == 0) {
    Status s = absl::InvalidArgumentError(duckdb_extract_statements_error(stmts));
    duckdb_destroy_extracted(&stmts);
    return s;
  }
  Status status;
  for (idx_t i = 0; i < n && status.ok(); ++i) {
    duckdb_prepared_statement stmt = nullptr;
    if (duckdb_prepare_extracted_statement(impl_->conn, stmts, i, &stmt) != DuckDBSuccess) {
      // The C API gives no error type for a failed prepare: DuckDB's message prefix does.
      std::string msg = duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "prepare failed";
      status = msg.starts_with("Catalog Error") ? FromDuckError(DUCKDB_ERROR_CATALOG, msg.c_str())
               : msg.starts_with("IO Error")    ? FromDuckError(DUCKDB_ERROR_IO, msg.c_str())
                                                : FromDuckError(DUCKDB_ERROR_PARSER, msg.c_str());
    } else {
      duckdb_result result;
      SlowStatementLog slow(text);
      if (ExecutePreparedWithoutSpinning(stmt, &result) != DuckDBSuccess) {
        status = FromDuckError(duckdb_result_error_type(&result), duckdb_result_error(&result));
      }
      duckdb_destroy_result(&result);
    }
    duckdb_destroy_prepare(&stmt);
  }
  duckdb_destroy_extracted(&stmts);
  return status;
}

StatusOr<QueryResult> Engine::Query(std::string_view sql) {
  std::string text(sql);
  duckdb_result result;
  SlowStatementLog slow(text);
  duckdb_prepared_statement stmt = nullptr;
  duckdb_state state = duckdb_prepare(impl_->conn, text.c_str(), &stmt) == DuckDBSuccess
                           ? ExecutePreparedWithoutSpinning(stmt, &result)
                           // What DuckDB cannot prepare (several statements, a syntax
                           // error) runs as before, with its error typed.
                           : duckdb_query(impl_->conn, text.c_str(), &result);
  duckdb_destroy_prepare(&stmt);
  if (state != DuckDBSuccess) {
    Status s = FromDuckError(duckdb_result_error_type(&result), duckdb_result_error(&result));
    duckdb_destroy_result(&result);
    return s;
  }
  QueryResult out;
  idx_t cols = duckdb_column_count(&result);
  idx_t rows = duckdb_row_count(&result);
  std::vector<duckdb_type> ids(cols);
  for (idx_t c = 0; c < cols; ++c) {
    out.columns_.emplace_back(duckdb_column_name(&result, c));
    duckdb_logical_type type = duckdb_column_logical_type(&result, c);
    out.types_.push_back(TypeName(type));
    ids[c] = duckdb_get_type_id(type);
    duckdb_destroy_logical_type(&type);
  }
  out.rows_.resize(rows);
  for (idx_t r = 0; r < rows; ++r) {
    std::vector<Value>& row = out.rows_[r];
    row.resize(cols);
    for (idx_t c = 0; c < cols; ++c) {
      if (duckdb_value_is_null(&result, c, r)) continue;
      switch (ids[c]) {
        case DUCKDB_TYPE_BOOLEAN:
          row[c] = duckdb_value_boolean(&result, c, r);
          break;
        case DUCKDB_TYPE_TINYINT:
        case DUCKDB_TYPE_SMALLINT:
        case DUCKDB_TYPE_INTEGER:
        case DUCKDB_TYPE_BIGINT:
        case DUCKDB_TYPE_UTINYINT:
        case DUCKDB_TYPE_USMALLINT:
        case DUCKDB_TYPE_UINTEGER:
        case DUCKDB_TYPE_UBIGINT:  // sums and counts; values past int64 are not expected
        case DUCKDB_TYPE_HUGEINT:
          row[c] = static_cast<int64_t>(duckdb_value_int64(&result, c, r));
          break;
        case DUCKDB_TYPE_FLOAT:
        case DUCKDB_TYPE_DOUBLE:
        case DUCKDB_TYPE_DECIMAL:
          row[c] = duckdb_value_double(&result, c, r);
          break;
        default: {
          char* text_value = duckdb_value_varchar(&result, c, r);
          if (text_value == nullptr) {
            // The C API renders only plain types (not LIST, STRUCT, TIMESTAMPTZ, ...).
            duckdb_destroy_result(&result);
            return absl::InvalidArgumentError(
                absl::StrCat("column '", out.columns_[c], "' of type ", out.types_[c],
                             " cannot be read back: cast it to VARCHAR in the query"));
          }
          row[c] = std::string(text_value);
          duckdb_free(text_value);
        }
      }
    }
  }
  duckdb_destroy_result(&result);
  return out;
}

StatusOr<Value> Engine::QueryValue(std::string_view sql) {
  LASTRO_ASSIGN_OR_RETURN(QueryResult r, Query(sql));
  if (r.rows() != 1 || r.columns().size() != 1) {
    return absl::InternalError(absl::StrCat("expected one value, got ", r.rows(), " rows of ",
                                            r.columns().size(), " columns"));
  }
  return r.at(0, 0);
}

StatusOr<std::unique_ptr<Appender>> Engine::NewAppender(std::string_view table) {
  std::string schema, name(table);
  if (size_t dot = name.find('.'); dot != std::string::npos) {
    schema = name.substr(0, dot);
    name = name.substr(dot + 1);
  }
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create(impl_->conn, schema.empty() ? nullptr : schema.c_str(), name.c_str(),
                             &appender) != DuckDBSuccess) {
    duckdb_error_data data = duckdb_appender_error_data(appender);
    std::string msg = duckdb_error_data_message(data);
    duckdb_destroy_error_data(&data);
    duckdb_appender_destroy(&appender);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot append to ", std::string(table), ": ", msg));
  }
  return std::unique_ptr<Appender>(new DuckAppender(appender));
}

StatusOr<std::string> Engine::StatementKind(std::string_view sql) {
  duckdb_extracted_statements stmts = nullptr;
  std::string text(sql);
  idx_t n = duckdb_extract_statements(impl_->conn, text.c_str(), &stmts);
  if (n != 1) {
    Status s =
        n == 0 ? absl::InvalidArgumentError(duckdb_extract_statements_error(stmts))
               : absl::InvalidArgumentError(absl::StrCat("expected one SQL statement, got ", n));
    duckdb_destroy_extracted(&stmts);
    return s;
  }
  duckdb_prepared_statement stmt = nullptr;
  StatusOr<std::string> out;
  if (duckdb_prepare_extracted_statement(impl_->conn, stmts, 0, &stmt) != DuckDBSuccess) {
    const char* msg = duckdb_prepare_error(stmt);
    out = absl::InvalidArgumentError(msg != nullptr ? msg : "prepare failed");
  } else {
    static const char* const kKinds[] = {
        "INVALID",     "SELECT",   "INSERT",    "UPDATE",       "EXPLAIN", "DELETE",  "PREPARE",
        "CREATE",      "EXECUTE",  "ALTER",     "TRANSACTION",  "COPY",    "ANALYZE", "SET",
        "CREATE_FUNC", "DROP",     "EXPORT",    "PRAGMA",       "VACUUM",  "CALL",    "SET",
        "LOAD",        "RELATION", "EXTENSION", "LOGICAL_PLAN", "ATTACH",  "DETACH",  "MULTI"};
    int kind = static_cast<int>(duckdb_prepared_statement_type(stmt));
    out = kind >= 0 && kind < static_cast<int>(std::size(kKinds)) ? std::string(kKinds[kind])
                                                                  : std::string("OTHER");
  }
  duckdb_destroy_prepare(&stmt);
  duckdb_destroy_extracted(&stmts);
  return out;
}

void Engine::Interrupt() { duckdb_interrupt(impl_->conn); }

bool QueryResult::IsNull(size_t row, size_t col) const {
  return std::holds_alternative<std::monostate>(rows_[row][col]);
}

std::optional<int64_t> QueryResult::Int(size_t row, size_t col) const {
  const Value& v = rows_[row][col];
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  if (auto* s = std::get_if<std::string>(&v)) {
    try {
      return std::stoll(*s);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<double> QueryResult::Double(size_t row, size_t col) const {
  const Value& v = rows_[row][col];
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* s = std::get_if<std::string>(&v)) {
    try {
      return std::stod(*s);
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::string> QueryResult::Text(size_t row, size_t col) const {
  const Value& v = rows_[row][col];
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  if (auto* b = std::get_if<bool>(&v)) return std::string(*b ? "true" : "false");
  return std::nullopt;
}

int QueryResult::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string SqlString(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string SqlIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace lastro::lake
