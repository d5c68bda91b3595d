// Decoder for PostgreSQL's pgoutput logical replication protocol, version 1.
//
// Input is the payload of one XLogData ('w') message of a logical replication
// stream started with `proto_version '1'` (PostgreSQL 15, no `streaming`, no
// `two_phase`): the bytes after the 25-byte 'w' header, beginning with the
// pgoutput message type byte. The same bytes are the `data` column of
// pg_logical_slot_get_binary_changes(..., 'proto_version', '1', ...).
// Message layouts: https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
//
// Decoding is pure (no I/O) and total: every input, however malformed, yields
// either a Message or an error status; it never reads outside the input.
//   - InvalidArgument: an unknown message type or tuple-column kind, a negative
//     count or length, or bytes left over after a complete message.
//   - DataLoss: the input ends before the message does (truncation).
// Both name the message, the field and its byte offset; per common/status.h the
// caller dead-letters the payload. Decoded values own their bytes and do not
// refer to the input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "capture/lsn.h"
#include "common/status.h"

namespace lastro::capture {

// Microseconds between the Unix epoch (1970-01-01) and PostgreSQL's epoch
// (2000-01-01), both UTC. pgoutput timestamps count from PostgreSQL's epoch.
inline constexpr int64_t kPgEpochUnixMicros = 946'684'800'000'000;

// One column value of a row as pgoutput sends it.
struct TupleColumn {
  enum class Kind : char {
    kNull = 'n',            // SQL NULL; `data` is empty.
    kUnchangedToast = 'u',  // An out-of-line TOASTed value the UPDATE did not change;
                            // its value is not sent. `data` is empty.
    kText = 't',            // `data` is the type's text output (server encoding).
    kBinary = 'b',          // `data` is the type's binary send format (only when the
                            // stream was started with `binary 'true'`).
  };
  Kind kind = Kind::kNull;
  std::string data;

  friend bool operator==(const TupleColumn&, const TupleColumn&) = default;
};

// A row: one entry per column of the Relation, in the Relation's column order.
struct TupleData {
  std::vector<TupleColumn> columns;

  friend bool operator==(const TupleData&, const TupleData&) = default;
};

// 'B': a transaction starts. All changes up to the matching Commit belong to it.
struct Begin {
  Lsn final_lsn;                 // LSN of the transaction's commit record.
  int64_t commit_time_pg = 0;    // Commit time, µs since 2000-01-01 00:00 UTC.
  int64_t commit_time_unix = 0;  // The same instant, µs since 1970-01-01 00:00 UTC.
  uint32_t xid = 0;
};

// 'C': the transaction started by the last Begin committed.
struct Commit {
  uint8_t flags = 0;  // Unused by PostgreSQL 15; always 0.
  Lsn commit_lsn;     // LSN of the commit record (== Begin::final_lsn).
  Lsn end_lsn;        // End of the commit record: the position to confirm as flushed.
  int64_t commit_time_pg = 0;
  int64_t commit_time_unix = 0;
};

// 'O': the transaction was replayed from a replication origin (sent after Begin).
struct Origin {
  Lsn commit_lsn;  // The commit LSN on the origin server.
  std::string name;
};

struct RelationColumn {
  uint8_t flags = 0;  // Bit 1 (kKeyFlag) marks a column of the replica identity key.
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;  // atttypmod; -1 when the type has none.

  static constexpr uint8_t kKeyFlag = 1;
  bool is_key() const { return (flags & kKeyFlag) != 0; }
};

// 'R': the schema of a table. Sent before the first change of each table in a
// session and again whenever the table's definition changes.
struct Relation {
  uint32_t relid = 0;
  std::string namespace_name;  // Schema, e.g. "public".
  std::string name;
  // pg_class.relreplident: 'd' default (primary key), 'n' nothing, 'f' full,
  // 'i' index.
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
};

// 'Y': a non-built-in data type (enum, domain, composite, ...) used by a
// following Relation.
struct Type {
  uint32_t oid = 0;
  std::string namespace_name;
  std::string name;
};

// 'I': a row was inserted.
struct Insert {
  uint32_t relid = 0;
  TupleData new_tuple;
};

// 'U': a row was updated. At most one of key_tuple and old_tuple is set:
//   key_tuple ('K'): the old replica identity key, when the update changed it
//                    (other columns are kNull);
//   old_tuple ('O'): the whole old row, for REPLICA IDENTITY FULL;
//   neither: the key did not change and the identity is not FULL.
struct Update {
  uint32_t relid = 0;
  std::optional<TupleData> key_tuple;
  std::optional<TupleData> old_tuple;
  TupleData new_tuple;
};

// 'D': a row was deleted. Exactly one of key_tuple ('K') and old_tuple ('O',
// REPLICA IDENTITY FULL) is set.
struct Delete {
  uint32_t relid = 0;
  std::optional<TupleData> key_tuple;
  std::optional<TupleData> old_tuple;
};

// 'T': one TRUNCATE statement over one or more tables.
struct Truncate {
  static constexpr uint8_t kCascade = 1;
  static constexpr uint8_t kRestartIdentity = 2;

  uint8_t options = 0;
  std::vector<uint32_t> relids;

  bool cascade() const { return (options & kCascade) != 0; }
  bool restart_identity() const { return (options & kRestartIdentity) != 0; }
};

// 'M': a message written by pg_logical_emit_message() (sent only when the
// stream was started with `messages 'true'`).
struct LogicalMessage {
  static constexpr uint8_t kTransactional = 1;

  uint8_t flags = 0;
  Lsn lsn;
  std::string prefix;
  std::string content;  // Arbitrary bytes.

  bool transactional() const { return (flags & kTransactional) != 0; }
};

using Message = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete,
                             Truncate, LogicalMessage>;

// Decodes one pgoutput message (see the file comment for input and errors).
// Thread-safe: pure function of its input.
StatusOr<Message> DecodeMessage(std::string_view payload);

// The protocol's type byte of a decoded message ('B', 'C', 'I', ...).
char MessageTypeByte(const Message& message);

// The latest Relation per relid, as the stream announces them. Apply every
// Relation message, in stream order, before the changes that follow it: a
// schema change (e.g. an added column) arrives as a new Relation for the same
// relid and replaces the old one, so later rows are read with the new columns
// without a restart. Not thread-safe: one cache per replication stream.
class RelationCache {
 public:
  // Stores `relation`, replacing any previous Relation with the same relid.
  // Pointers previously returned for that relid become dangling.
  void Put(Relation relation);

  // The Relation for `relid`, or nullptr if none was put. The pointer stays
  // valid until the next Put of the same relid or Clear().
  const Relation* Find(uint32_t relid) const;

  // Like Find, but a missing relid is FailedPrecondition: pgoutput always
  // sends a Relation before the first change of a table, so a miss means the
  // stream was consumed out of order.
  StatusOr<const Relation*> Get(uint32_t relid) const;

  // If `message` is a Relation, Put()s a copy of it and returns true.
  bool Observe(const Message& message);

  size_t size() const { return relations_.size(); }
  void Clear() { relations_.clear(); }

 private:
  std::unordered_map<uint32_t, Relation> relations_;
};

// A column value paired with its Relation column. Both pointers refer into the
// Relation and TupleData passed to NameColumns and live as long as they do.
struct NamedColumn {
  const RelationColumn* column = nullptr;
  const TupleColumn* value = nullptr;

  std::string_view name() const { return column->name; }
};

// Pairs each value of `tuple` with its column in `relation`, in order.
// InvalidArgument when the counts differ (the tuple does not belong to this
// version of the relation).
StatusOr<std::vector<NamedColumn>> NameColumns(const TupleData& tuple, const Relation& relation);

}  // namespace lastro::capture
