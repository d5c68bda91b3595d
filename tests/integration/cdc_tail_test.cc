// `lastro cdc tail` end to end: real changes in a real database come out as
// Debezium-compatible JSON lines with every value faithful to its type.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/subprocess.h"
#include "testing/test_database.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::vector<json> Lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

TEST(CdcTail, PrintsInsertUpdateDeleteWithFaithfulValues) {
  auto db = TestDatabase::Create("cdctail", /*migrate=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  auto c = (*db)->Connect();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec(R"sql(
    CREATE TYPE mood AS ENUM ('ok', 'happy');
    CREATE TABLE t (
      id bigint PRIMARY KEY, n numeric, f float8, b bytea, a int[], j jsonb, m mood,
      ts timestamptz, d date, big text, flag boolean, note text);
    CREATE PUBLICATION tail_pub FOR TABLE t;
  )sql")
                  .ok());
  std::string dir = TestDir("cdctail");
  auto tail = Subprocess::Start({LastroBin(), "cdc", "tail", "--publication", "tail_pub",
                                 "--max-changes", "4", "--idle-exit", "60"},
                                {{"LASTRO_PG_DSN", (*db)->dsn()}}, dir + "/tail");
  ASSERT_TRUE(tail.ok());
  // Started once its walsender streams (a slot shows as active while it is still
  // being created, before its consistent point: changes made then are not sent).
  ASSERT_TRUE(WaitFor(
      [&] {
        return (*db)->Scalar(
                   "SELECT count(*) FROM pg_stat_replication WHERE "
                   "application_name = 'lastro-cdc-tail' AND state = 'streaming'") == "1";
      },
      seconds(20)))
      << (*tail)->Stderr();
  ASSERT_TRUE((*c)->Exec(R"sql(
    INSERT INTO t VALUES (1, 12345678901234567890.123456789, 'NaN', '\x00ff10', '{1,NULL,3}',
      '{"k": [1, 2]}', 'happy', '2026-11-29 10:00:00.25-03', '2026-11-29',
      (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400)), true, NULL);
    UPDATE t SET note = 'changed' WHERE id = 1;
    DELETE FROM t WHERE id = 1;
    INSERT INTO t (id, n) VALUES (2, 'Infinity');
  )sql")
                  .ok());
  ASSERT_EQ((*tail)->Wait(seconds(30)), 0) << (*tail)->Stderr();
  std::vector<json> lines = Lines((*tail)->Stdout());
  ASSERT_EQ(lines.size(), 4u) << (*tail)->Stdout();

  const json& ins = lines[0];
  EXPECT_EQ(ins["op"], "c");
  EXPECT_TRUE(ins["before"].is_null());
  EXPECT_EQ(ins["source"]["table"], "t");
  EXPECT_EQ(ins["source"]["schema"], "public");
  EXPECT_EQ(ins["source"]["db"], (*db)->name());
  EXPECT_TRUE(ins["source"]["lsn"].is_number_integer());
  EXPECT_TRUE(ins["source"]["txId"].is_number_integer());
  const json& after = ins["after"];
  EXPECT_EQ(after["id"], 1);
  EXPECT_EQ(after["n"], "12345678901234567890.123456789");
  EXPECT_EQ(after["f"], "NaN");
  EXPECT_EQ(after["b"], "AP8Q");  // base64 of 00 ff 10
  EXPECT_EQ(after["a"], json::parse("[1, null, 3]"));
  EXPECT_EQ(json::parse(after["j"].get<std::string>()), json::parse(R"({"k": [1, 2]})"));
  EXPECT_EQ(after["m"], "happy");
  EXPECT_EQ(after["ts"], "2026-11-29T13:00:00.25Z");
  EXPECT_EQ(after["d"], 20786);  // days since 1970-01-01
  EXPECT_EQ(after["big"].get<std::string>().size(), 32u * 400u);
  EXPECT_EQ(after["flag"], true);
  EXPECT_TRUE(after["note"].is_null());

  const json& upd = lines[1];
  EXPECT_EQ(upd["op"], "u");
  EXPECT_EQ(upd["after"]["note"], "changed");
  // The TOASTed value the update did not touch is not resent by PostgreSQL.
  EXPECT_TRUE(upd["after"]["big"] == "__debezium_unavailable_value")
      << upd["after"]["big"].get<std::string>().substr(0, 40);

  const json& del = lines[2];
  EXPECT_EQ(del["op"], "d");
  EXPECT_TRUE(del["after"].is_null());
  EXPECT_EQ(del["before"]["id"], 1);

  EXPECT_EQ(lines[3]["after"]["n"], "Infinity");
}

TEST(CdcTail, MissingPublicationIsAClearError) {
  auto db = TestDatabase::Create("cdcnopub", false);
  ASSERT_TRUE(db.ok());
  auto tail = Subprocess::Start({LastroBin(), "cdc", "tail", "--publication", "nope"},
                                {{"LASTRO_PG_DSN", (*db)->dsn()}}, TestDir("cdcnopub") + "/tail");
  ASSERT_TRUE(tail.ok());
  auto code = (*tail)->Wait(seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE((*tail)->Stderr().find("publication nope does not exist"), std::string::npos)
      << (*tail)->Stderr();
}

}  // namespace
}  // namespace lastro::testing
