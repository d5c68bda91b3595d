#include "capture/change_envelope.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lastro::capture {
namespace {

constexpr char kVersion[] = "lastro-0.1";
constexpr char kConnector[] = "postgresql";
constexpr char kServerName[] = "lastro";

Json Source(const Relation& relation, const EnvelopeContext& context) {
  const Lsn lsn = context.lsn.IsValid() ? context.lsn : context.begin.final_lsn;
  Json source = Json::object();
  source["version"] = kVersion;
  source["connector"] = kConnector;
  source["name"] = kServerName;
  // Floor division: commit times before 1970 still give the right millisecond.
  const int64_t us = context.begin.commit_time_unix;
  source["ts_ms"] = us / 1000 - (us % 1000 < 0 ? 1 : 0);
  source["snapshot"] = context.snapshot ? "true" : "false";
  source["db"] = context.db;
  source["schema"] = relation.namespace_name;
  source["table"] = relation.name;
  source["txId"] = context.begin.xid;
  source["lsn"] = lsn.value();
  return source;
}

Json Envelope(Json before, Json after, const Relation& relation, const EnvelopeContext& context,
              std::string_view op) {
  Json envelope = Json::object();
  envelope["before"] = std::move(before);
  envelope["after"] = std::move(after);
  envelope["source"] = Source(relation, context);
  envelope["op"] = op;
  envelope["ts_ms"] = context.now_ms;
  return envelope;
}

// The old row pgoutput sent, if any: the key tuple or the full old tuple.
StatusOr<Json> OldRow(const std::optional<TupleData>& key, const std::optional<TupleData>& old,
                      const Relation& relation) {
  if (old.has_value()) return TupleToJson(*old, relation);
  if (key.has_value()) return TupleToJson(*key, relation);
  return Json(nullptr);
}

Status CheckRelid(uint32_t relid, const Relation& relation) {
  if (relid == relation.relid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("change to relation id ", relid,
                                                 " paired with Relation ", relation.relid, " (",
                                                 relation.namespace_name, ".", relation.name, ")"));
}

}  // namespace

StatusOr<Json> BuildChangeEnvelope(const Message& change, const Relation& relation,
                                   const EnvelopeContext& context) {
  if (const auto* insert = std::get_if<Insert>(&change)) {
    LASTRO_RETURN_IF_ERROR(CheckRelid(insert->relid, relation));
    LASTRO_ASSIGN_OR_RETURN(Json after, TupleToJson(insert->new_tuple, relation));
    return Envelope(nullptr, std::move(after), relation, context, context.snapshot ? "r" : "c");
  }
  if (const auto* update = std::get_if<Update>(&change)) {
    LASTRO_RETURN_IF_ERROR(CheckRelid(update->relid, relation));
    LASTRO_ASSIGN_OR_RETURN(Json before, OldRow(update->key_tuple, update->old_tuple, relation));
    LASTRO_ASSIGN_OR_RETURN(Json after, TupleToJson(update->new_tuple, relation));
    return Envelope(std::move(before), std::move(after), relation, context, "u");
  }
  if (const auto* del = std::get_if<Delete>(&change)) {
    LASTRO_RETURN_IF_ERROR(CheckRelid(del->relid, relation));
    LASTRO_ASSIGN_OR_RETURN(Json before, OldRow(del->key_tuple, del->old_tuple, relation));
    return Envelope(std::move(before), nullptr, relation, context, "d");
  }
  return absl::InvalidArgumentError(absl::StrCat("pgoutput message '",
                                                 std::string(1, MessageTypeByte(change)),
                                                 "' is not a row change (Insert/Update/Delete)"));
}

StatusOr<std::vector<Json>> BuildTruncateEnvelopes(const Truncate& truncate,
                                                   const RelationCache& relations,
                                                   const EnvelopeContext& context) {
  std::vector<Json> envelopes;
  envelopes.reserve(truncate.relids.size());
  for (uint32_t relid : truncate.relids) {
    LASTRO_ASSIGN_OR_RETURN(const Relation* relation, relations.Get(relid));
    envelopes.push_back(Envelope(nullptr, nullptr, *relation, context, "t"));
  }
  return envelopes;
}

}  // namespace lastro::capture
