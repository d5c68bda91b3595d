#include "capture/change_envelope.h"

#include <string>
#include <vector>

#include "capture/test_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lastro::capture {
namespace {

using ::lastro::capture::testing::LoadFixture;

constexpr int64_t kNowMs = 1'700'000'000'123;

// Replays a fixture as a consumer would: tracks Relations and the current
// Begin, and builds an envelope for every row change and truncate.
std::vector<Json> Replay(std::string_view fixture, Begin* last_begin = nullptr) {
  RelationCache cache;
  EnvelopeContext context;
  context.db = "appdb";
  context.now_ms = kNowMs;
  std::vector<Json> envelopes;
  for (const std::string& payload : LoadFixture(fixture)) {
    StatusOr<Message> m = DecodeMessage(payload);
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok() || cache.Observe(*m)) continue;
    if (const auto* begin = std::get_if<Begin>(&*m)) {
      context.begin = *begin;
      if (last_begin != nullptr) *last_begin = *begin;
    } else if (const auto* truncate = std::get_if<Truncate>(&*m)) {
      StatusOr<std::vector<Json>> t = BuildTruncateEnvelopes(*truncate, cache, context);
      EXPECT_TRUE(t.ok()) << t.status();
      if (t.ok()) envelopes.insert(envelopes.end(), t->begin(), t->end());
    } else if (std::holds_alternative<Insert>(*m) || std::holds_alternative<Update>(*m) ||
               std::holds_alternative<Delete>(*m)) {
      const uint32_t relid = std::visit(
          [](const auto& change) -> uint32_t {
            if constexpr (requires { change.relid; }) return change.relid;
            return 0;
          },
          *m);
      StatusOr<Json> e = BuildChangeEnvelope(*m, **cache.Get(relid), context);
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) envelopes.push_back(*e);
    }
  }
  return envelopes;
}

std::vector<std::string> Ops(const std::vector<Json>& envelopes) {
  std::vector<std::string> ops;
  for (const Json& e : envelopes) ops.push_back(e["op"]);
  return ops;
}

TEST(ChangeEnvelope, InsertEnvelopeHasDebeziumShape) {
  Begin begin;
  const std::vector<Json> envelopes = Replay("origin", &begin);
  ASSERT_EQ(envelopes.size(), 1u);
  Json expected = Json::parse(R"({
    "before": null,
    "after": {"id": 6, "owner": "fabio", "balance": "1.00", "email": null},
    "source": {"version": "lastro-0.1", "connector": "postgresql", "name": "lastro",
               "ts_ms": 0, "snapshot": "false", "db": "appdb", "schema": "public",
               "table": "accounts", "txId": 0, "lsn": 0},
    "op": "c",
    "ts_ms": 1700000000123
  })");
  expected["source"]["ts_ms"] = begin.commit_time_unix / 1000;
  expected["source"]["txId"] = begin.xid;
  expected["source"]["lsn"] = begin.final_lsn.value();
  EXPECT_EQ(envelopes[0], expected) << envelopes[0].dump(2);
  // Key order matches Debezium's, for readers who diff envelopes by eye.
  EXPECT_EQ(envelopes[0].dump().substr(0, 24), R"({"before":null,"after":{)");
}

TEST(ChangeEnvelope, UpdatesAndDeletesCarryTheOldRowPostgresSent) {
  const std::vector<Json> e = Replay("update_delete");
  ASSERT_THAT(Ops(e), ::testing::ElementsAre("c", "c", "u", "u", "d", "c", "u", "d"));
  // Default identity, key unchanged: no before.
  EXPECT_TRUE(e[2]["before"].is_null());
  EXPECT_EQ(e[2]["after"], Json::parse(R"({"id": 1, "owner": "ana", "balance": "99.99"})"));
  // Key changed: before holds the old key, other columns null.
  EXPECT_EQ(e[3]["before"], Json::parse(R"({"id": 2, "owner": null, "balance": null})"));
  EXPECT_EQ(e[3]["after"], Json::parse(R"({"id": 20, "owner": "bruno", "balance": null})"));
  EXPECT_EQ(e[4]["before"], Json::parse(R"({"id": 1, "owner": null, "balance": null})"));
  EXPECT_TRUE(e[4]["after"].is_null());
  // REPLICA IDENTITY FULL: the whole old row.
  EXPECT_EQ(e[6]["before"], Json::parse(R"({"id": 7, "note": "first"})"));
  EXPECT_EQ(e[7]["before"], Json::parse(R"({"id": 7, "note": "second"})"));
  EXPECT_EQ(e[7]["source"]["table"], "ledger");
  // Each transaction has its own txId.
  EXPECT_NE(e[2]["source"]["txId"], e[3]["source"]["txId"]);
}

TEST(ChangeEnvelope, TruncateGivesOneEnvelopePerTable) {
  const std::vector<Json> e = Replay("truncate");
  ASSERT_THAT(Ops(e), ::testing::ElementsAre("c", "c", "t", "t", "t"));
  EXPECT_EQ(e[2]["source"]["table"], "parent");
  EXPECT_EQ(e[3]["source"]["table"], "child");
  EXPECT_EQ(e[4]["source"]["table"], "accounts");
  EXPECT_EQ(e[2]["source"]["txId"], e[3]["source"]["txId"]);
  EXPECT_TRUE(e[2]["before"].is_null());
  EXPECT_TRUE(e[2]["after"].is_null());
}

TEST(ChangeEnvelope, TruncateOfUnknownRelationIsFailedPrecondition) {
  RelationCache cache;
  Truncate truncate{.options = 0, .relids = {99}};
  EXPECT_TRUE(absl::IsFailedPrecondition(
      BuildTruncateEnvelopes(truncate, cache, EnvelopeContext{}).status()));
}

TEST(ChangeEnvelope, SnapshotInsertIsARead) {
  Relation relation{.relid = 5, .namespace_name = "public", .name = "t", .columns = {}};
  relation.columns.push_back({.flags = 1, .name = "id", .type_oid = 23});
  Insert insert{.relid = 5, .new_tuple = {{{TupleColumn::Kind::kText, "1"}}}};
  EnvelopeContext context{.db = "d", .begin = {}, .lsn = Lsn(77), .now_ms = 5, .snapshot = true};
  StatusOr<Json> e = BuildChangeEnvelope(insert, relation, context);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)["op"], "r");
  EXPECT_EQ((*e)["source"]["snapshot"], "true");
  EXPECT_EQ((*e)["source"]["lsn"], 77);  // The change's own LSN wins over Begin's.
}

TEST(ChangeEnvelope, RejectsNonChangesAndMismatchedRelation) {
  Relation relation{.relid = 5, .namespace_name = "public", .name = "t", .columns = {}};
  EXPECT_TRUE(
      absl::IsInvalidArgument(BuildChangeEnvelope(Begin{}, relation, EnvelopeContext{}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BuildChangeEnvelope(Delete{.relid = 6, .key_tuple = TupleData{}, .old_tuple = {}}, relation,
                          EnvelopeContext{})
          .status()));
}

TEST(ChangeEnvelope, CommitTimeBeforeEpochFloorsToMilliseconds) {
  Relation relation{.relid = 5, .namespace_name = "public", .name = "t", .columns = {}};
  EnvelopeContext context;
  context.begin.commit_time_unix = -1;  // 1969-12-31T23:59:59.999999Z
  StatusOr<Json> e = BuildChangeEnvelope(Insert{.relid = 5, .new_tuple = {}}, relation, context);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)["source"]["ts_ms"], -1);
}

}  // namespace
}  // namespace lastro::capture
