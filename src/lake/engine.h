// The embedded analytics engine: one DuckDB 1.4.4 database (in memory, spilling to a
// temp directory under its memory limit) and one connection, behind project types.
// This folder is the only one that includes duckdb.h.
//
// Thread safety: an Engine and its Appenders are used by one thread at a time
// (DuckDB connections are not safe for concurrent use). Open several Engines for
// parallel work.
//
// Execution: the calling thread runs a statement's tasks alongside DuckDB's worker
// threads (`threads` in all). When none is left for it, it sleeps (50 µs up to 1 ms)
// instead of asking again in a busy loop as duckdb_execute_prepared does, so a
// statement whose work is on one worker (a single-threaded source, a final flush)
// does not keep a second core busy (docs/performance.md).
//
// Errors from DuckDB are mapped to statuses that tell the caller what to do:
//   kInvalidArgument     - SQL syntax/binding errors, conversions, bad input data;
//   kFailedPrecondition  - constraint violations, a missing table/file;
//   kResourceExhausted   - out of memory (raise memory_limit or lower threads);
//   kUnavailable         - I/O errors (disk full, permissions);
//   kInternal            - anything else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "lake/row_source.h"

namespace lastro::lake {

// Extensions are never installed or downloaded: parquet, json, icu and
// core_functions are built into the library, and nothing else is allowed.
struct EngineOptions {
  // DuckDB's memory_limit ("512MB", "2GB"); past it, operators spill to temp_directory.
  std::string memory_limit = "1GB";
  int threads = 0;                       // 0 = one per core
  std::filesystem::path temp_directory;  // empty = DuckDB's default (.tmp beside the cwd)
  // A database file to open instead of an in-memory database (the mart's catalog).
  // With read_only, it is opened READ_ONLY: any number of processes may read it at
  // once, and DuckDB refuses every write to it.
  std::filesystem::path database;
  bool read_only = false;
  // false: SQL may not touch files or the network (read_parquet, COPY ... TO, ATTACH
  // and EXPORT are refused); used to serve queries on a catalog that holds its tables.
  bool external_access = true;
  // With external_access false: the only files SQL may still touch (e.g. the one
  // output file a COPY ... TO wrapped by Lastro writes). Configuration is locked either
  // way, so SQL cannot widen it.
  std::vector<std::string> allowed_paths;
};

// Parses a memory size as DuckDB's memory_limit takes it ("512MB", "1GB", "2GiB",
// "1.5GB", "100000B"; decimal units are powers of 1000, binary ones of 1024).
// Errors: kInvalidArgument for anything else.
StatusOr<int64_t> ParseMemorySize(std::string_view text);

// `fraction` of a memory size, in DuckDB's notation ("700MB" for 0.7 of "1GB").
// Errors: as ParseMemorySize().
StatusOr<std::string> ScaleMemorySize(std::string_view text, double fraction);

// A value from a query result. Integers of every width come back as int64_t
// (HUGEINT/UBIGINT included: sums and counts),
// DECIMAL/FLOAT/DOUBLE as double, and every other type (VARCHAR, DATE, TIMESTAMP
// ...) as its text rendering. LIST, STRUCT, MAP and TIMESTAMPTZ columns must be cast
// to VARCHAR in the query (Query() says so with kInvalidArgument otherwise).
using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;

// A fully materialised query result (use for small results: summaries, checks).
class QueryResult {
 public:
  const std::vector<std::string>& columns() const { return columns_; }
  // DuckDB's logical type names, e.g. "BIGINT", "VARCHAR", "DATE", "VARCHAR[]".
  const std::vector<std::string>& types() const { return types_; }
  size_t rows() const { return rows_.size(); }
  const Value& at(size_t row, size_t col) const { return rows_[row][col]; }
  bool IsNull(size_t row, size_t col) const;
  // Typed accessors: nullopt for NULL. Int() of a double truncates; Text() renders
  // any value (booleans as "true"/"false").
  std::optional<int64_t> Int(size_t row, size_t col) const;
  std::optional<double> Double(size_t row, size_t col) const;
  std::optional<std::string> Text(size_t row, size_t col) const;
  // Index of a column by name; -1 when absent.
  int ColumnIndex(std::string_view name) const;

 private:
  friend class Engine;
  std::vector<std::string> columns_;
  std::vector<std::string> types_;
  std::vector<std::vector<Value>> rows_;
};

// Bulk-loads rows into one table (DuckDB's appender: columnar, no SQL per row).
// Call one Append*() per column in table order, then EndRow(). Values are buffered;
// errors (wrong column count, a value that does not convert) surface at EndRow(),
// Flush() or Close(). Close() before the Engine is destroyed; the destructor closes
// silently and drops errors (call Close() to see them).
class Appender {
 public:
  virtual ~Appender() = default;
  virtual void AppendNull() = 0;
  virtual void AppendBool(bool value) = 0;
  virtual void AppendInt(int64_t value) = 0;
  virtual void AppendDouble(double value) = 0;
  virtual void AppendText(std::string_view value) = 0;
  virtual Status EndRow() = 0;
  virtual Status Flush() = 0;
  virtual Status Close() = 0;
};

class Engine {
 public:
  // Opens an in-memory database with the options applied.
  // Errors: kInvalidArgument (bad memory_limit), kUnavailable (temp_directory).
  static StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs one or more ';'-separated statements, discarding results.
  Status Execute(std::string_view sql);

  // Runs one statement and materialises its result.
  StatusOr<QueryResult> Query(std::string_view sql);

  // Convenience: the single value of a one-row, one-column query (error otherwise).
  StatusOr<Value> QueryValue(std::string_view sql);

  // An appender into `table` (optionally schema-qualified "schema.table").
  // Errors: kFailedPrecondition when the table does not exist.
  StatusOr<std::unique_ptr<Appender>> NewAppender(std::string_view table);

  // Runs `sql`, in which the table function lastro_source() yields `source`'s rows
  // (row_source.h), pulled as the statement consumes them by one thread at a time:
  // this one or one of DuckDB's workers (the source is one stream). The source's own
  // error is returned as is; the statement's other errors as Execute().
  Status ExecuteWithSource(std::string_view sql, RowSource& source);

  // The kind of the single statement in `sql`, as DuckDB parses it: "SELECT",
  // "EXPLAIN", "INSERT", "CREATE", "COPY", ... Nothing is executed.
  // Errors: kInvalidArgument when `sql` holds no statement, more than one, or does
  // not parse or bind (DuckDB's message).
  StatusOr<std::string> StatementKind(std::string_view sql);

  // Asks a running statement on this engine to stop (callable from another thread,
  // e.g. a signal watcher); the statement fails with kCancelled.
  void Interrupt();

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SQL literal quoting for values built into statements ('it''s').
std::string SqlString(std::string_view value);
// SQL identifier quoting ("my col").
std::string SqlIdent(std::string_view name);

}  // namespace lastro::lake
