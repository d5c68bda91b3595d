// Streams rows produced by our own code into a DuckDB statement without storing them
// first: the statement reads them as the table function `lastro_source()`, so a
// `COPY (SELECT ... FROM lastro_source()) TO 'x.parquet'` writes a stream (e.g. a
// PostgreSQL COPY) straight to Parquet, and a `CREATE TABLE t AS SELECT ...` loads it.
//
// The source fills DuckDB's column vectors directly (ChunkWriter): no per-value call
// into DuckDB, no text round trip.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::lake {

enum class ColumnType { kBigint, kInteger, kDouble, kBoolean, kVarchar, kTimestamp, kDate, kBlob };

struct SourceColumn {
  std::string name;
  ColumnType type;
};

// One output chunk of the source: up to capacity() rows, column by column. Each
// setter writes the value of (column, row) and must match the column's declared type
// (kBigint and kInteger take SetInt; kTimestamp takes microseconds since 1970-01-01,
// kDate days since 1970-01-01; kBlob takes SetText with any bytes, e.g. ciphertext). Rows not
// written are undefined: write every column of every row the Fill() reports.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual size_t capacity() const = 0;
  virtual void SetNull(size_t column, size_t row) = 0;
  virtual void SetInt(size_t column, size_t row, int64_t value) = 0;
  virtual void SetDouble(size_t column, size_t row, double value) = 0;
  virtual void SetBool(size_t column, size_t row, bool value) = 0;
  virtual void SetText(size_t column, size_t row, std::string_view value) = 0;
  virtual void SetTimestampMicros(size_t column, size_t row, int64_t micros) = 0;
  virtual void SetDate(size_t column, size_t row, int32_t days) = 0;
};

// A producer of rows, pulled by DuckDB from the thread running the statement.
class RowSource {
 public:
  virtual ~RowSource() = default;
  // The columns, fixed for the source's life.
  virtual const std::vector<SourceColumn>& columns() const = 0;
  // Writes the next rows (at most out.capacity()) and returns how many; 0 means the
  // source is exhausted. An error fails the statement, and Engine::ExecuteWithSource
  // returns it as is.
  virtual StatusOr<size_t> Fill(ChunkWriter& out) = 0;
};

}  // namespace lastro::lake
