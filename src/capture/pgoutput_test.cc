#include "capture/pgoutput.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capture/test_fixtures.h"
#include "capture/value_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lastro::capture {
namespace {

using ::lastro::capture::testing::FixtureNames;
using ::lastro::capture::testing::LoadFixture;
using ::testing::HasSubstr;

using Kind = TupleColumn::Kind;

// 2020-01-01 and 2100-01-01 in Unix µs: captured commit times fall between.
constexpr int64_t k2020 = 1'577'836'800'000'000;
constexpr int64_t k2100 = 4'102'444'800'000'000;

std::vector<Message> DecodeFixture(std::string_view name) {
  std::vector<Message> messages;
  for (const std::string& payload : LoadFixture(name)) {
    StatusOr<Message> message = DecodeMessage(payload);
    EXPECT_TRUE(message.ok()) << name << ": " << message.status();
    if (message.ok()) messages.push_back(*std::move(message));
  }
  return messages;
}

std::string TypeBytes(const std::vector<Message>& messages) {
  std::string out;
  for (const Message& m : messages) out.push_back(MessageTypeByte(m));
  return out;
}

const std::string& Text(const TupleData& tuple, size_t i) {
  EXPECT_EQ(tuple.columns.at(i).kind, Kind::kText);
  return tuple.columns.at(i).data;
}

TEST(Pgoutput, DecodesEveryCapturedFixtureMessage) {
  const std::vector<std::string> names = FixtureNames();
  ASSERT_GE(names.size(), 8u);
  for (const std::string& name : names) {
    const std::vector<std::string> payloads = LoadFixture(name);
    EXPECT_FALSE(payloads.empty()) << name;
    EXPECT_EQ(DecodeFixture(name).size(), payloads.size()) << name;
  }
}

TEST(Pgoutput, DecodesBeginAndCommitOfRealTransaction) {
  const std::vector<Message> m = DecodeFixture("types");
  ASSERT_EQ(TypeBytes(m), "BYRICBICBIC");
  const auto& begin = std::get<Begin>(m[0]);
  const auto& commit = std::get<Commit>(m[4]);
  EXPECT_TRUE(begin.final_lsn.IsValid());
  EXPECT_GT(begin.xid, 0u);
  EXPECT_EQ(commit.flags, 0);
  EXPECT_EQ(commit.commit_lsn, begin.final_lsn);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_EQ(commit.commit_time_pg, begin.commit_time_pg);
  EXPECT_EQ(begin.commit_time_unix, begin.commit_time_pg + kPgEpochUnixMicros);
  EXPECT_EQ(commit.commit_time_unix, commit.commit_time_pg + kPgEpochUnixMicros);
  EXPECT_GT(begin.commit_time_unix, k2020);
  EXPECT_LT(begin.commit_time_unix, k2100);
  // Transactions come in commit order.
  const auto& next_begin = std::get<Begin>(m[5]);
  EXPECT_GT(next_begin.final_lsn, commit.end_lsn);
  EXPECT_GE(next_begin.commit_time_pg, commit.commit_time_pg);
}

TEST(Pgoutput, DecodesTypeMessageForEnum) {
  const std::vector<Message> m = DecodeFixture("types");
  ASSERT_GE(m.size(), 3u);
  const auto& type = std::get<Type>(m[1]);
  EXPECT_EQ(type.namespace_name, "public");
  EXPECT_EQ(type.name, "mood");
  EXPECT_GE(type.oid, 16384u);  // FirstNormalObjectId: a user-defined type.
  const auto& relation = std::get<Relation>(m[2]);
  EXPECT_EQ(relation.columns.at(23).name, "m");
  EXPECT_EQ(relation.columns.at(23).type_oid, type.oid);
}

TEST(Pgoutput, DecodesRelationColumnsTypesModifiersAndKeyFlag) {
  const std::vector<Message> m = DecodeFixture("types");
  const auto& r = std::get<Relation>(m.at(2));
  EXPECT_EQ(r.namespace_name, "public");
  EXPECT_EQ(r.name, "all_types");
  EXPECT_EQ(r.replica_identity, 'd');
  ASSERT_EQ(r.columns.size(), 32u);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_TRUE(r.columns[0].is_key());
  EXPECT_EQ(r.columns[0].type_oid, pg_oid::kInt8);
  for (size_t i = 1; i < r.columns.size(); ++i) EXPECT_FALSE(r.columns[i].is_key()) << i;
  EXPECT_EQ(r.columns[8].name, "n");
  EXPECT_EQ(r.columns[8].type_oid, pg_oid::kNumeric);
  EXPECT_EQ(r.columns[8].type_modifier, ((20 << 16) | 6) + 4);  // numeric(20,6)
  EXPECT_EQ(r.columns[9].type_modifier, -1);                    // bare numeric
  EXPECT_EQ(r.columns[11].type_modifier, 20 + 4);               // varchar(20)
  EXPECT_EQ(r.columns[20].type_oid, pg_oid::kTimestamptz);
  EXPECT_EQ(r.columns[24].type_oid, 1007u);  // _int4
  EXPECT_EQ(r.columns[30].name, "a_i8_2d");
  EXPECT_EQ(r.columns[30].type_oid, 1016u);  // _int8
}

TEST(Pgoutput, DecodesInsertValuesAsPostgresText) {
  const std::vector<Message> m = DecodeFixture("types");
  const auto& insert = std::get<Insert>(m.at(3));
  EXPECT_EQ(insert.relid, std::get<Relation>(m[2]).relid);
  const TupleData& row = insert.new_tuple;
  ASSERT_EQ(row.columns.size(), 32u);
  EXPECT_EQ(Text(row, 0), "1");
  EXPECT_EQ(Text(row, 1), "t");
  EXPECT_EQ(Text(row, 4), "9223372036854775807");
  EXPECT_EQ(Text(row, 9), "NaN");
  EXPECT_EQ(Text(row, 10), "tab\there \"quoted\" \\ back");
  EXPECT_EQ(Text(row, 11), "varchar \xc3\xa9");
  EXPECT_EQ(Text(row, 12), "ab   ");
  EXPECT_EQ(Text(row, 17), "\\xdeadbeef00ff");
  // The session ran in America/Sao_Paulo: pgoutput renders timestamptz there.
  EXPECT_EQ(Text(row, 20), "2024-01-02 00:04:05.123456-03");
  EXPECT_EQ(Text(row, 25), "{\"a b\",\"c,d\",\"e\\\"f\",\"g\\\\h\",NULL,\"NULL\",\"\"}");
  EXPECT_EQ(Text(row, 29), "{\"2024-06-01 09:00:00-03\",\"1999-12-31 21:59:59.5-02\"}");
}

TEST(Pgoutput, DecodesNullColumns) {
  const std::vector<Message> m = DecodeFixture("types");
  const auto& row = std::get<Insert>(m.at(9)).new_tuple;
  ASSERT_EQ(row.columns.size(), 32u);
  EXPECT_EQ(Text(row, 0), "3");
  for (size_t i = 1; i < row.columns.size(); ++i) {
    EXPECT_EQ(row.columns[i].kind, Kind::kNull) << i;
    EXPECT_TRUE(row.columns[i].data.empty());
  }
}

TEST(Pgoutput, UpdateCarriesNoOldTupleKeyTupleOrFullOldTuple) {
  const std::vector<Message> m = DecodeFixture("update_delete");
  ASSERT_EQ(TypeBytes(m), "BRIICBUCBUCBDCBRICBUCBDC");
  const auto& accounts = std::get<Relation>(m[1]);
  const auto& ledger = std::get<Relation>(m[15]);
  EXPECT_EQ(ledger.replica_identity, 'f');

  // Key unchanged, default identity: no old row.
  const auto& same_key = std::get<Update>(m[6]);
  EXPECT_EQ(same_key.relid, accounts.relid);
  EXPECT_FALSE(same_key.key_tuple.has_value());
  EXPECT_FALSE(same_key.old_tuple.has_value());
  EXPECT_EQ(Text(same_key.new_tuple, 2), "99.99");

  // Key changed: the old key, other columns null.
  const auto& new_key = std::get<Update>(m[9]);
  ASSERT_TRUE(new_key.key_tuple.has_value());
  EXPECT_FALSE(new_key.old_tuple.has_value());
  EXPECT_EQ(Text(*new_key.key_tuple, 0), "2");
  EXPECT_EQ(new_key.key_tuple->columns[1].kind, Kind::kNull);
  EXPECT_EQ(Text(new_key.new_tuple, 0), "20");
  EXPECT_EQ(new_key.new_tuple.columns[2].kind, Kind::kNull);  // balance was NULL

  const auto& del = std::get<Delete>(m[12]);
  ASSERT_TRUE(del.key_tuple.has_value());
  EXPECT_FALSE(del.old_tuple.has_value());
  EXPECT_EQ(Text(*del.key_tuple, 0), "1");

  // REPLICA IDENTITY FULL: the whole old row.
  const auto& full = std::get<Update>(m[19]);
  EXPECT_EQ(full.relid, ledger.relid);
  ASSERT_TRUE(full.old_tuple.has_value());
  EXPECT_FALSE(full.key_tuple.has_value());
  EXPECT_EQ(Text(*full.old_tuple, 1), "first");
  EXPECT_EQ(Text(full.new_tuple, 1), "second");
  const auto& full_del = std::get<Delete>(m[22]);
  ASSERT_TRUE(full_del.old_tuple.has_value());
  EXPECT_EQ(Text(*full_del.old_tuple, 1), "second");
}

TEST(Pgoutput, UnchangedToastedValueArrivesAsUnchanged) {
  const std::vector<Message> m = DecodeFixture("toast");
  ASSERT_EQ(TypeBytes(m), "BRICBUC");
  const auto& insert = std::get<Insert>(m[2]);
  EXPECT_EQ(Text(insert.new_tuple, 2).size(), 400u * 32u);
  const auto& update = std::get<Update>(m[5]);
  ASSERT_EQ(update.new_tuple.columns.size(), 3u);
  EXPECT_EQ(Text(update.new_tuple, 1), "1");
  EXPECT_EQ(update.new_tuple.columns[2].kind, Kind::kUnchangedToast);
  EXPECT_TRUE(update.new_tuple.columns[2].data.empty());
}

TEST(Pgoutput, DecodesTruncateOptionsAndRelids) {
  const std::vector<Message> m = DecodeFixture("truncate");
  ASSERT_EQ(TypeBytes(m), "BRICBRICBRRTCBRTC");
  const auto& parent = std::get<Relation>(m[9]);
  const auto& child = std::get<Relation>(m[10]);
  const auto& both = std::get<Truncate>(m[11]);
  EXPECT_TRUE(both.cascade());
  EXPECT_TRUE(both.restart_identity());
  EXPECT_THAT(both.relids, ::testing::ElementsAre(parent.relid, child.relid));
  const auto& plain = std::get<Truncate>(m[15]);
  EXPECT_EQ(plain.options, 0);
  EXPECT_THAT(plain.relids, ::testing::ElementsAre(std::get<Relation>(m[14]).relid));
}

TEST(Pgoutput, RelationCacheFollowsAnAddedColumnWithoutRestart) {
  const std::vector<Message> m = DecodeFixture("schema_change");
  ASSERT_EQ(TypeBytes(m), "BRICBRIC");
  RelationCache cache;
  std::vector<std::vector<std::string>> rows;
  for (const Message& message : m) {
    if (cache.Observe(message)) continue;
    const auto* insert = std::get_if<Insert>(&message);
    if (insert == nullptr) continue;
    StatusOr<const Relation*> relation = cache.Get(insert->relid);
    ASSERT_TRUE(relation.ok()) << relation.status();
    StatusOr<std::vector<NamedColumn>> named = NameColumns(insert->new_tuple, **relation);
    ASSERT_TRUE(named.ok()) << named.status();
    std::vector<std::string> row;
    for (const NamedColumn& c : *named)
      row.push_back(absl::StrCat(c.column->name, "=", c.value->data));
    rows.push_back(row);
  }
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0], ::testing::ElementsAre("id=3", "owner=carla", "balance=1.00"));
  EXPECT_THAT(rows[1], ::testing::ElementsAre("id=4", "owner=davi", "balance=2.00",
                                              "email=davi@example.com"));
}

TEST(Pgoutput, NameColumnsRejectsTupleOfAnotherRelationVersion) {
  const std::vector<Message> m = DecodeFixture("schema_change");
  const auto& old_row = std::get<Insert>(m.at(2)).new_tuple;
  const auto& new_relation = std::get<Relation>(m.at(5));
  StatusOr<std::vector<NamedColumn>> named = NameColumns(old_row, new_relation);
  EXPECT_TRUE(absl::IsInvalidArgument(named.status()));
  EXPECT_THAT(std::string(named.status().message()), HasSubstr("3 columns"));
}

TEST(Pgoutput, RelationCacheGetOfUnknownRelidIsFailedPrecondition) {
  RelationCache cache;
  EXPECT_EQ(cache.Find(42), nullptr);
  EXPECT_TRUE(absl::IsFailedPrecondition(cache.Get(42).status()));
  EXPECT_FALSE(cache.Observe(Message(Begin{})));
}

TEST(Pgoutput, DecodesTransactionalAndNonTransactionalLogicalMessages) {
  const std::vector<Message> m = DecodeFixture("message");
  ASSERT_EQ(TypeBytes(m), "MBMRIC");
  const auto& outside = std::get<LogicalMessage>(m[0]);
  EXPECT_FALSE(outside.transactional());
  EXPECT_EQ(outside.prefix, "lastro.nontx");
  EXPECT_EQ(outside.content, "outside");
  EXPECT_TRUE(outside.lsn.IsValid());
  const auto& inside = std::get<LogicalMessage>(m[2]);
  EXPECT_TRUE(inside.transactional());
  EXPECT_EQ(inside.prefix, "lastro.tx");
  EXPECT_EQ(inside.content, std::string("\x00\xff", 2));
  EXPECT_LT(inside.lsn, std::get<Begin>(m[1]).final_lsn);
}

TEST(Pgoutput, DecodesOriginOfReplayedTransaction) {
  const std::vector<Message> m = DecodeFixture("origin");
  ASSERT_EQ(TypeBytes(m), "BORIC");
  const auto& origin = std::get<Origin>(m[1]);
  EXPECT_EQ(origin.name, "upstream_a");
  EXPECT_EQ(origin.commit_lsn.ToString(), "0/ABCDEF12");
}

TEST(Pgoutput, UnknownMessageTypeIsErrorNamingTheByte) {
  StatusOr<Message> m = DecodeMessage("Zabc");
  EXPECT_TRUE(absl::IsInvalidArgument(m.status()));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("'Z' (0x5a)"));
  // Streaming ('S') is proto_version 2: not ours.
  EXPECT_THAT(std::string(DecodeMessage(std::string("\x01", 1)).status().message()),
              HasSubstr("0x01"));
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeMessage("S").status()));
}

TEST(Pgoutput, EmptyPayloadIsDataLoss) {
  EXPECT_TRUE(absl::IsDataLoss(DecodeMessage("").status()));
}

TEST(Pgoutput, TruncationErrorNamesMessageFieldAndOffset) {
  const std::string begin = LoadFixture("types").at(0);
  StatusOr<Message> m = DecodeMessage(std::string_view(begin).substr(0, begin.size() - 1));
  EXPECT_TRUE(absl::IsDataLoss(m.status()));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("Begin"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("xid at offset 17"));
}

TEST(Pgoutput, TrailingBytesAreInvalidArgument) {
  const std::string commit = LoadFixture("types").at(4) + "x";
  StatusOr<Message> m = DecodeMessage(commit);
  EXPECT_TRUE(absl::IsInvalidArgument(m.status()));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("1 unexpected trailing bytes"));
}

TEST(Pgoutput, NegativeLengthsAndBadTupleKindsAreInvalidArgument) {
  using std::string_literals::operator""s;
  // Insert, relid 1, 'N', 1 column, kind 't', length -1.
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeMessage("I\0\0\0\1N\0\1t\xff\xff\xff\xff"s).status()));
  // Unknown column kind 'x'.
  StatusOr<Message> m = DecodeMessage("I\0\0\0\1N\0\1x"s);
  EXPECT_TRUE(absl::IsInvalidArgument(m.status()));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("'x'"));
  // Update whose old tuple tag is 'N' is fine; 'Q' is not.
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeMessage("U\0\0\0\1Q"s).status()));
  // Negative column count in a Relation.
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeMessage("R\0\0\0\1s\0t\0d\xff\xff"s).status()));
}

TEST(Pgoutput, HugeCountsInShortMessagesAreDataLossNotAllocations) {
  using std::string_literals::operator""s;
  EXPECT_TRUE(absl::IsDataLoss(DecodeMessage("T\x7f\xff\xff\xff\0"s).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeMessage("I\0\0\0\1N\x7f\xff"s).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeMessage("I\0\0\0\1N\0\1t\x7f\xff\xff\xff"s).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeMessage("M\1\0\0\0\0\0\0\0\0p\0\x7f\xff\xff\xff"s).status()));
}

TEST(Pgoutput, EveryTruncationOfEveryFixtureMessageIsAnError) {
  size_t checked = 0;
  for (const std::string& name : FixtureNames()) {
    for (const std::string& payload : LoadFixture(name)) {
      for (size_t length = 0; length < payload.size(); ++length) {
        StatusOr<Message> m = DecodeMessage(std::string_view(payload).substr(0, length));
        ASSERT_FALSE(m.ok()) << name << " prefix of " << length << "/" << payload.size();
        ASSERT_TRUE(absl::IsDataLoss(m.status()) || absl::IsInvalidArgument(m.status()))
            << m.status();
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10'000u);
}

// Flips random bytes of real messages and runs the decoder and the JSON
// conversion on whatever decodes. Passing means: no crash, no sanitizer report.
TEST(Pgoutput, RandomByteFlipsNeverCrash) {
  std::mt19937 rng(20240102);
  size_t decoded = 0;
  for (const std::string& name : FixtureNames()) {
    RelationCache cache;
    for (const std::string& original : LoadFixture(name)) {
      for (int round = 0; round < 300; ++round) {
        std::string payload = original;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
          payload[rng() % payload.size()] = static_cast<char>(rng() & 0xff);
        }
        StatusOr<Message> m = DecodeMessage(payload);
        if (!m.ok()) continue;
        ++decoded;
        if (cache.Observe(*m)) continue;
        if (const auto* insert = std::get_if<Insert>(&*m)) {
          if (const Relation* relation = cache.Find(insert->relid)) {
            IgnoreError(TupleToJson(insert->new_tuple, *relation).status());
          }
        }
      }
      // Keep the real Relation so that later flipped rows are converted.
      if (StatusOr<Message> m = DecodeMessage(original); m.ok()) cache.Observe(*m);
    }
  }
  EXPECT_GT(decoded, 0u);
}

}  // namespace
}  // namespace lastro::capture
