// libFuzzer target over the pgoutput decoder and the JSON conversion.
//
// The input is one pgoutput message payload (as in testdata/*.hex; the
// pgoutput_fuzz_corpus target writes those as seeds). Whatever decodes is
// pushed through the rest of the pure pipeline: Relations go into a cache that
// persists across inputs (so row messages meet real schemas), rows become JSON
// and Debezium envelopes, and the raw input is also converted as the text of
// every type with a dedicated conversion. Errors are expected; crashes,
// sanitizer reports and exceptions are bugs.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <variant>

#include "capture/change_envelope.h"
#include "capture/lsn.h"
#include "capture/pgoutput.h"
#include "capture/value_json.h"

namespace {

using namespace lastro::capture;  // NOLINT(build/namespaces): fuzz harness only.

constexpr uint32_t kTypes[] = {
    pg_oid::kBool,      pg_oid::kBytea,       pg_oid::kInt2,           pg_oid::kInt4,
    pg_oid::kInt8,      pg_oid::kOid,         pg_oid::kFloat4,         pg_oid::kFloat8,
    pg_oid::kNumeric,   pg_oid::kDate,        pg_oid::kTime,           pg_oid::kTimetz,
    pg_oid::kTimestamp, pg_oid::kTimestamptz, pg_oid::kJsonb,          1007 /* _int4 */,
    1009 /* _text */,   1231 /* _numeric */,  1185 /* _timestamptz */, 1001 /* _bytea */,
    1016 /* _int8 */,
};

void Serialize(const Json& json) {
  // Values carry server-encoding bytes; replace invalid UTF-8 rather than throw.
  (void)json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void Envelope(const Message& message, uint32_t relid, const RelationCache& cache) {
  const Relation* relation = cache.Find(relid);
  if (relation == nullptr) return;
  EnvelopeContext context;
  context.db = "fuzz";
  if (auto envelope = BuildChangeEnvelope(message, *relation, context); envelope.ok()) {
    Serialize(*envelope);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static RelationCache* cache = new RelationCache();  // Persists across inputs.
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (lastro::StatusOr<Message> message = DecodeMessage(input); message.ok()) {
    if (!cache->Observe(*message)) {
      std::visit(
          [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Insert> || std::is_same_v<T, Update> ||
                          std::is_same_v<T, Delete>) {
              Envelope(*message, m.relid, *cache);
            } else if constexpr (std::is_same_v<T, Truncate>) {
              if (auto envelopes = BuildTruncateEnvelopes(m, *cache, EnvelopeContext{});
                  envelopes.ok()) {
                for (const Json& e : *envelopes) Serialize(e);
              }
            }
          },
          *message);
    }
    if (cache->size() > 1000) cache->Clear();  // Bound memory over long runs.
  }

  for (uint32_t type : kTypes) {
    if (auto json = TextToJson(type, input); json.ok()) Serialize(*json);
  }
  (void)Lsn::Parse(input);
  return 0;
}
