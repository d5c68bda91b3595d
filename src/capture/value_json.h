// Conversion of pgoutput text-format column values to JSON, faithful to the
// column's PostgreSQL type and following Debezium's PostgreSQL connector
// conventions (decimal.handling.mode=string, time.precision.mode=adaptive_time_microseconds,
// binary.handling.mode=base64, interval as text):
//
//   bool                       -> true / false
//   int2, int4, int8, oid      -> integer (int8 exact)
//   float4, float8             -> number; NaN, Infinity, -Infinity -> those strings
//   numeric                    -> string, exact ("12.500", "NaN", "Infinity")
//   bytea                      -> base64 string
//   date                       -> integer days since 1970-01-01        (io.debezium.time.Date)
//   time                       -> integer µs since midnight            (MicroTime)
//   timetz                     -> "HH:MM:SS[.f]Z" in UTC               (ZonedTime)
//   timestamp                  -> integer µs since 1970-01-01          (MicroTimestamp)
//   timestamptz                -> "2024-01-02T03:04:05.123456Z" in UTC (ZonedTimestamp)
//   date/timestamp[tz] ±infinity -> the strings "infinity" / "-infinity"
//   json, jsonb                -> string holding the JSON text         (io.debezium.data.Json)
//   interval, text, varchar, bpchar, name, uuid, enums, every other type -> string as sent
//   built-in arrays (_int4, _text, _numeric, _jsonb, _timestamptz, ...) -> JSON arrays,
//       nested for multi-dimensional arrays, elements converted by the element type
//   NULL -> null; an unchanged TOASTed value -> "__debezium_unavailable_value"
//
// Strings carry the bytes PostgreSQL sent (server encoding; UTF-8 expected).
// When the database may hold other encodings, serialize with
// `dump(-1, ' ', false, Json::error_handler_t::replace)`.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "capture/pgoutput.h"
#include "common/status.h"

namespace lastro::capture {

// JSON objects keep insertion order, so rows list columns in table order and
// envelopes read like Debezium's.
using Json = nlohmann::ordered_json;

// Debezium's placeholder for a value that was not sent (unchanged TOAST).
inline constexpr std::string_view kUnavailableValuePlaceholder = "__debezium_unavailable_value";

// OIDs of the built-in types with a dedicated conversion (pg_type.dat).
namespace pg_oid {
inline constexpr uint32_t kBool = 16;
inline constexpr uint32_t kBytea = 17;
inline constexpr uint32_t kName = 19;
inline constexpr uint32_t kInt8 = 20;
inline constexpr uint32_t kInt2 = 21;
inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kOid = 26;
inline constexpr uint32_t kJson = 114;
inline constexpr uint32_t kFloat4 = 700;
inline constexpr uint32_t kFloat8 = 701;
inline constexpr uint32_t kBpchar = 1042;
inline constexpr uint32_t kVarchar = 1043;
inline constexpr uint32_t kDate = 1082;
inline constexpr uint32_t kTime = 1083;
inline constexpr uint32_t kTimestamp = 1114;
inline constexpr uint32_t kTimestamptz = 1184;
inline constexpr uint32_t kInterval = 1186;
inline constexpr uint32_t kTimetz = 1266;
inline constexpr uint32_t kNumeric = 1700;
inline constexpr uint32_t kUuid = 2950;
inline constexpr uint32_t kJsonb = 3802;
}  // namespace pg_oid

// The element type of a built-in array type (e.g. 1007 _int4 -> 23 int4), or 0
// when `type_oid` is not one this module parses as an array. Arrays of
// user-defined types (e.g. enum[]) are not known by OID and stay strings.
uint32_t ArrayElementType(uint32_t type_oid);

// Converts the text output of a value of type `type_oid`.
// InvalidArgument, naming the type and the text, when the text is not valid
// output of that type (e.g. "abc" for int4, an unterminated array literal).
StatusOr<Json> TextToJson(uint32_t type_oid, std::string_view text);

// Converts one tuple column: kNull -> null, kUnchangedToast -> the placeholder,
// kText -> TextToJson. kBinary is FailedPrecondition: start the stream without
// the `binary` option.
StatusOr<Json> ColumnToJson(uint32_t type_oid, const TupleColumn& column);

// Converts a row to a JSON object {column name: value} in the relation's column
// order. InvalidArgument when the tuple does not match the relation's column
// count, or a value does not convert (the message names the column).
StatusOr<Json> TupleToJson(const TupleData& tuple, const Relation& relation);

}  // namespace lastro::capture
