// Decodes PostgreSQL's binary COPY format (COPY ... TO STDOUT (FORMAT binary)) into
// typed fields, for statements whose every column is cast to one of a few wire types.
//
// The stream: an 11-byte signature, flags and a header extension, then tuples (a
// 16-bit field count, and per field a 32-bit length, -1 for NULL, and that many
// bytes), then a trailer (field count -1). All integers are big-endian. The caller
// fixes each column's wire type by casting it in the SELECT (`x::int8`, `y::text`),
// so the decoder never depends on how a table declares its columns.
//
// Wire types and their values:
//   kInt8 / kInt4   int8 / int4                      -> int64_t
//   kFloat8         float8 (cast numerics to it)     -> double
//   kBool           bool                             -> bool
//   kText           text, varchar, bpchar            -> bytes as sent (bpchar padded)
//   kTimestamptz    timestamptz                      -> microseconds since 1970-01-01 UTC
//   kDate           date                             -> days since 1970-01-01
//
// Not thread-safe; one decoder per COPY stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::batch {

enum class WireType { kInt8, kInt4, kFloat8, kBool, kText, kTimestamptz, kDate };

class CopyBinaryDecoder {
 public:
  explicit CopyBinaryDecoder(std::vector<WireType> columns);

  // Adds the next piece of the stream (any split: libpq hands over one CopyData
  // message at a time); it is buffered until Next() consumes it.
  void Append(std::string_view data);

  // Decodes the next complete tuple. True: the accessors read it until the next
  // call. False: more bytes are needed, or the stream has ended (finished()).
  // Errors: kInvalidArgument when the stream is not binary COPY, a tuple has the
  // wrong field count, or a field has the wrong length for its wire type (the
  // message says which column).
  StatusOr<bool> Next();

  // Append() then `row(*this)` for each complete tuple; stops at row's first error.
  template <typename RowFn>
  Status Feed(std::string_view data, RowFn&& row) {
    Append(data);
    for (;;) {
      StatusOr<bool> tuple = Next();
      if (!tuple.ok()) return tuple.status();
      if (!*tuple) return absl::OkStatus();
      LASTRO_RETURN_IF_ERROR(row(*this));
    }
  }

  // Whether the trailer has been read (the stream ended cleanly).
  bool finished() const { return finished_; }
  // Bytes buffered and not yet decoded (an incomplete tuple).
  size_t pending_bytes() const { return buffer_.size() - pos_; }

  // Accessors for the current tuple; `i` is the column index. The typed accessors
  // require the column's declared wire type and a non-NULL value.
  bool IsNull(size_t i) const { return fields_[i].data() == nullptr; }
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  bool Bool(size_t i) const { return fields_[i][0] != 0; }
  std::string_view Text(size_t i) const { return fields_[i]; }
  int64_t TimestampMicros(size_t i) const;
  int32_t Date(size_t i) const;

 private:
  std::vector<WireType> types_;
  std::vector<std::string_view> fields_;  // data()==nullptr for NULL
  std::string buffer_;                    // bytes appended; [pos_, end) not yet decoded
  size_t pos_ = 0;
  bool header_read_ = false;
  bool finished_ = false;
};

}  // namespace lastro::batch
