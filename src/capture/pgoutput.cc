#include "capture/pgoutput.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lastro::capture {
namespace {

// Bounds-checked big-endian reader over one message. Every read names the
// field it reads so that errors say what was being decoded and where.
class Reader {
 public:
  Reader(std::string_view data, std::string_view message_name)
      : data_(data), message_name_(message_name) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }

  StatusOr<uint8_t> U8(std::string_view field) {
    LASTRO_RETURN_IF_ERROR(Need(1, field));
    return static_cast<uint8_t>(data_[offset_++]);
  }
  StatusOr<int16_t> I16(std::string_view field) {
    LASTRO_ASSIGN_OR_RETURN(uint64_t v, BigEndian(2, field));
    return static_cast<int16_t>(static_cast<uint16_t>(v));
  }
  StatusOr<int32_t> I32(std::string_view field) {
    LASTRO_ASSIGN_OR_RETURN(uint64_t v, BigEndian(4, field));
    return static_cast<int32_t>(static_cast<uint32_t>(v));
  }
  StatusOr<uint32_t> U32(std::string_view field) {
    LASTRO_ASSIGN_OR_RETURN(uint64_t v, BigEndian(4, field));
    return static_cast<uint32_t>(v);
  }
  StatusOr<int64_t> I64(std::string_view field) {
    LASTRO_ASSIGN_OR_RETURN(uint64_t v, BigEndian(8, field));
    return static_cast<int64_t>(v);
  }
  StatusOr<Lsn> LsnField(std::string_view field) {
    LASTRO_ASSIGN_OR_RETURN(uint64_t v, BigEndian(8, field));
    return Lsn(v);
  }

  // A NUL-terminated string (PostgreSQL's pq_sendstring).
  StatusOr<std::string> CString(std::string_view field) {
    const size_t start = offset_;
    const void* nul = std::memchr(data_.data() + start, '\0', remaining());
    if (nul == nullptr) {
      return Truncated(field,
                       absl::StrFormat("no NUL terminator in the %d bytes left", remaining()));
    }
    const size_t length = static_cast<const char*>(nul) - (data_.data() + start);
    offset_ += length + 1;
    return std::string(data_.substr(start, length));
  }

  StatusOr<std::string> Bytes(size_t length, std::string_view field) {
    LASTRO_RETURN_IF_ERROR(Need(length, field));
    std::string out(data_.substr(offset_, length));
    offset_ += length;
    return out;
  }

  // DataLoss unless at least `n` bytes are left.
  Status Need(size_t n, std::string_view field) const {
    if (remaining() >= n) return absl::OkStatus();
    return Truncated(field, absl::StrFormat("need %d bytes, %d left", n, remaining()));
  }

  Status Invalid(std::string_view field, std::string_view detail) const {
    return absl::InvalidArgumentError(absl::StrFormat("pgoutput %s message: %s at offset %d: %s",
                                                      message_name_, field, offset_, detail));
  }

  // Every byte must be consumed: leftovers mean a protocol mismatch (e.g. a
  // stream started with a newer proto_version).
  Status ExpectEnd() const {
    if (remaining() == 0) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrFormat("pgoutput %s message: %d unexpected trailing bytes at offset %d of %d",
                        message_name_, remaining(), offset_, data_.size()));
  }

 private:
  Status Truncated(std::string_view field, std::string_view detail) const {
    return absl::DataLossError(
        absl::StrFormat("pgoutput %s message truncated reading %s at offset %d of %d: %s",
                        message_name_, field, offset_, data_.size(), detail));
  }

  StatusOr<uint64_t> BigEndian(size_t n, std::string_view field) {
    LASTRO_RETURN_IF_ERROR(Need(n, field));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v = (v << 8) | static_cast<uint8_t>(data_[offset_ + i]);
    }
    offset_ += n;
    return v;
  }

  std::string_view data_;
  std::string_view message_name_;
  size_t offset_ = 0;
};

// Byte-format tags are printed so that an unprintable byte is still readable.
std::string DescribeByte(uint8_t byte) {
  if (byte >= 0x20 && byte < 0x7f) return absl::StrFormat("'%c' (0x%02x)", byte, byte);
  return absl::StrFormat("0x%02x", byte);
}

StatusOr<TupleData> ReadTuple(Reader& r) {
  LASTRO_ASSIGN_OR_RETURN(int16_t count, r.I16("tuple column count"));
  if (count < 0) return r.Invalid("tuple column count", absl::StrCat("negative: ", count));
  TupleData tuple;
  // Each column takes at least one byte: a corrupt count cannot over-allocate.
  tuple.columns.reserve(std::min(static_cast<size_t>(count), r.remaining()));
  for (int16_t i = 0; i < count; ++i) {
    LASTRO_ASSIGN_OR_RETURN(uint8_t kind, r.U8("tuple column kind"));
    TupleColumn column;
    switch (kind) {
      case 'n':
        column.kind = TupleColumn::Kind::kNull;
        break;
      case 'u':
        column.kind = TupleColumn::Kind::kUnchangedToast;
        break;
      case 't':
      case 'b': {
        column.kind = kind == 't' ? TupleColumn::Kind::kText : TupleColumn::Kind::kBinary;
        LASTRO_ASSIGN_OR_RETURN(int32_t length, r.I32("tuple column length"));
        if (length < 0) {
          return r.Invalid("tuple column length", absl::StrCat("negative: ", length));
        }
        LASTRO_ASSIGN_OR_RETURN(column.data,
                                r.Bytes(static_cast<size_t>(length), "tuple column data"));
        break;
      }
      default:
        return r.Invalid(
            absl::StrCat("tuple column ", i, " kind"),
            absl::StrCat("unknown kind ", DescribeByte(kind), "; expected 'n', 'u', 't' or 'b'"));
    }
    tuple.columns.push_back(std::move(column));
  }
  return tuple;
}

// Reads the tag byte that introduces a tuple and checks it is one of `allowed`.
StatusOr<char> ReadTupleTag(Reader& r, std::string_view allowed) {
  LASTRO_ASSIGN_OR_RETURN(uint8_t tag, r.U8("tuple tag"));
  if (tag == 0 || allowed.find(static_cast<char>(tag)) == std::string_view::npos) {
    return r.Invalid("tuple tag", absl::StrFormat("unexpected %s; expected one of '%s'",
                                                  DescribeByte(tag), allowed));
  }
  return static_cast<char>(tag);
}

StatusOr<Message> DecodeBegin(Reader& r) {
  Begin m;
  LASTRO_ASSIGN_OR_RETURN(m.final_lsn, r.LsnField("final LSN"));
  LASTRO_ASSIGN_OR_RETURN(m.commit_time_pg, r.I64("commit timestamp"));
  LASTRO_ASSIGN_OR_RETURN(m.xid, r.U32("xid"));
  m.commit_time_unix = m.commit_time_pg + kPgEpochUnixMicros;
  return m;
}

StatusOr<Message> DecodeCommit(Reader& r) {
  Commit m;
  LASTRO_ASSIGN_OR_RETURN(m.flags, r.U8("flags"));
  LASTRO_ASSIGN_OR_RETURN(m.commit_lsn, r.LsnField("commit LSN"));
  LASTRO_ASSIGN_OR_RETURN(m.end_lsn, r.LsnField("end LSN"));
  LASTRO_ASSIGN_OR_RETURN(m.commit_time_pg, r.I64("commit timestamp"));
  m.commit_time_unix = m.commit_time_pg + kPgEpochUnixMicros;
  return m;
}

StatusOr<Message> DecodeOrigin(Reader& r) {
  Origin m;
  LASTRO_ASSIGN_OR_RETURN(m.commit_lsn, r.LsnField("origin commit LSN"));
  LASTRO_ASSIGN_OR_RETURN(m.name, r.CString("origin name"));
  return m;
}

StatusOr<Message> DecodeRelation(Reader& r) {
  Relation m;
  LASTRO_ASSIGN_OR_RETURN(m.relid, r.U32("relation id"));
  LASTRO_ASSIGN_OR_RETURN(m.namespace_name, r.CString("namespace"));
  LASTRO_ASSIGN_OR_RETURN(m.name, r.CString("relation name"));
  LASTRO_ASSIGN_OR_RETURN(uint8_t identity, r.U8("replica identity"));
  m.replica_identity = static_cast<char>(identity);
  LASTRO_ASSIGN_OR_RETURN(int16_t count, r.I16("column count"));
  if (count < 0) return r.Invalid("column count", absl::StrCat("negative: ", count));
  m.columns.reserve(std::min(static_cast<size_t>(count), r.remaining()));
  for (int16_t i = 0; i < count; ++i) {
    RelationColumn c;
    LASTRO_ASSIGN_OR_RETURN(c.flags, r.U8("column flags"));
    LASTRO_ASSIGN_OR_RETURN(c.name, r.CString("column name"));
    LASTRO_ASSIGN_OR_RETURN(c.type_oid, r.U32("column type OID"));
    LASTRO_ASSIGN_OR_RETURN(c.type_modifier, r.I32("column type modifier"));
    m.columns.push_back(std::move(c));
  }
  return m;
}

StatusOr<Message> DecodeType(Reader& r) {
  Type m;
  LASTRO_ASSIGN_OR_RETURN(m.oid, r.U32("type OID"));
  LASTRO_ASSIGN_OR_RETURN(m.namespace_name, r.CString("type namespace"));
  LASTRO_ASSIGN_OR_RETURN(m.name, r.CString("type name"));
  return m;
}

StatusOr<Message> DecodeInsert(Reader& r) {
  Insert m;
  LASTRO_ASSIGN_OR_RETURN(m.relid, r.U32("relation id"));
  LASTRO_RETURN_IF_ERROR(ReadTupleTag(r, "N").status());
  LASTRO_ASSIGN_OR_RETURN(m.new_tuple, ReadTuple(r));
  return m;
}

StatusOr<Message> DecodeUpdate(Reader& r) {
  Update m;
  LASTRO_ASSIGN_OR_RETURN(m.relid, r.U32("relation id"));
  LASTRO_ASSIGN_OR_RETURN(char tag, ReadTupleTag(r, "KON"));
  if (tag == 'K' || tag == 'O') {
    LASTRO_ASSIGN_OR_RETURN(TupleData old, ReadTuple(r));
    (tag == 'K' ? m.key_tuple : m.old_tuple) = std::move(old);
    LASTRO_ASSIGN_OR_RETURN(tag, ReadTupleTag(r, "N"));
  }
  LASTRO_ASSIGN_OR_RETURN(m.new_tuple, ReadTuple(r));
  return m;
}

StatusOr<Message> DecodeDelete(Reader& r) {
  Delete m;
  LASTRO_ASSIGN_OR_RETURN(m.relid, r.U32("relation id"));
  LASTRO_ASSIGN_OR_RETURN(char tag, ReadTupleTag(r, "KO"));
  LASTRO_ASSIGN_OR_RETURN(TupleData old, ReadTuple(r));
  (tag == 'K' ? m.key_tuple : m.old_tuple) = std::move(old);
  return m;
}

StatusOr<Message> DecodeTruncate(Reader& r) {
  Truncate m;
  LASTRO_ASSIGN_OR_RETURN(int32_t count, r.I32("relation count"));
  if (count < 0) return r.Invalid("relation count", absl::StrCat("negative: ", count));
  LASTRO_ASSIGN_OR_RETURN(m.options, r.U8("options"));
  // Check the length up front so a corrupt count cannot make us reserve gigabytes.
  LASTRO_RETURN_IF_ERROR(r.Need(static_cast<size_t>(count) * 4, "relation ids"));
  m.relids.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) {
    LASTRO_ASSIGN_OR_RETURN(uint32_t relid, r.U32("relation id"));
    m.relids.push_back(relid);
  }
  return m;
}

StatusOr<Message> DecodeLogicalMessage(Reader& r) {
  LogicalMessage m;
  LASTRO_ASSIGN_OR_RETURN(m.flags, r.U8("flags"));
  LASTRO_ASSIGN_OR_RETURN(m.lsn, r.LsnField("message LSN"));
  LASTRO_ASSIGN_OR_RETURN(m.prefix, r.CString("prefix"));
  LASTRO_ASSIGN_OR_RETURN(int32_t length, r.I32("content length"));
  if (length < 0) return r.Invalid("content length", absl::StrCat("negative: ", length));
  LASTRO_ASSIGN_OR_RETURN(m.content, r.Bytes(static_cast<size_t>(length), "content"));
  return m;
}

}  // namespace

StatusOr<Message> DecodeMessage(std::string_view payload) {
  if (payload.empty()) {
    return absl::DataLossError("pgoutput message is empty: no message type byte at offset 0");
  }
  struct Decoder {
    char type;
    std::string_view name;
    StatusOr<Message> (*decode)(Reader&);
  };
  static constexpr Decoder kDecoders[] = {
      {'B', "Begin", DecodeBegin},       {'C', "Commit", DecodeCommit},
      {'O', "Origin", DecodeOrigin},     {'R', "Relation", DecodeRelation},
      {'Y', "Type", DecodeType},         {'I', "Insert", DecodeInsert},
      {'U', "Update", DecodeUpdate},     {'D', "Delete", DecodeDelete},
      {'T', "Truncate", DecodeTruncate}, {'M', "Message", DecodeLogicalMessage},
  };
  const uint8_t type = static_cast<uint8_t>(payload.front());
  const Decoder* decoder = nullptr;
  for (const Decoder& d : kDecoders) {
    if (static_cast<uint8_t>(d.type) == type) decoder = &d;
  }
  if (decoder == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown pgoutput message type ", DescribeByte(type),
                     " at offset 0 (expected proto_version 1 without streaming or two_phase)"));
  }
  // Offsets in errors count from the type byte, i.e. from the start of `payload`.
  Reader reader(payload, decoder->name);
  IgnoreError(reader.U8("message type").status());  // Cannot fail: payload is non-empty.
  LASTRO_ASSIGN_OR_RETURN(Message message, decoder->decode(reader));
  LASTRO_RETURN_IF_ERROR(reader.ExpectEnd());
  return message;
}

char MessageTypeByte(const Message& message) {
  static constexpr char kBytes[] = {'B', 'C', 'O', 'R', 'Y', 'I', 'U', 'D', 'T', 'M'};
  static_assert(sizeof(kBytes) == std::variant_size_v<Message>);
  return kBytes[message.index()];
}

void RelationCache::Put(Relation relation) {
  const uint32_t relid = relation.relid;
  relations_.insert_or_assign(relid, std::move(relation));
}

const Relation* RelationCache::Find(uint32_t relid) const {
  auto it = relations_.find(relid);
  return it == relations_.end() ? nullptr : &it->second;
}

StatusOr<const Relation*> RelationCache::Get(uint32_t relid) const {
  if (const Relation* relation = Find(relid)) return relation;
  return absl::FailedPreconditionError(
      absl::StrCat("no Relation message seen for relation id ", relid,
                   " before a change to it; the stream was consumed out of order"));
}

bool RelationCache::Observe(const Message& message) {
  const auto* relation = std::get_if<Relation>(&message);
  if (relation == nullptr) return false;
  Put(*relation);
  return true;
}

StatusOr<std::vector<NamedColumn>> NameColumns(const TupleData& tuple, const Relation& relation) {
  if (tuple.columns.size() != relation.columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tuple has ", tuple.columns.size(), " columns but relation ", relation.namespace_name, ".",
        relation.name, " (id ", relation.relid, ") has ", relation.columns.size()));
  }
  std::vector<NamedColumn> named;
  named.reserve(tuple.columns.size());
  for (size_t i = 0; i < tuple.columns.size(); ++i) {
    named.push_back(NamedColumn{&relation.columns[i], &tuple.columns[i]});
  }
  return named;
}

}  // namespace lastro::capture
