// `lastro policy backtest` over a lake built from decisions the real stream made:
// replaying them through the same rules reproduces them, and a stricter rule changes
// exactly the requests it should.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "batch_harness.h"
#include "pg/connection.h"
#include "stream_harness.h"

namespace lastro::testing {
namespace {

using namespace std::chrono_literals;

std::set<int64_t> ChangedIds(const nlohmann::json& report) {
  std::set<int64_t> out;
  for (const auto& c : report["changed"]["sample"]) out.insert(c["request_id"].get<int64_t>());
  return out;
}

TEST(BacktestTest,
     CurrentRulesReproduceTheStreamsDecisionsAndAStricterRuleChangesExactlyItsRequests) {
  auto stream = StreamHarness::Create({.name = "backtest"});
  ASSERT_TRUE(stream.ok()) << stream.status();
  StreamHarness& s = **stream;
  ASSERT_TRUE(s.StartStream().ok());
  auto inserted = s.Generate({"--count", "2000", "--days", "3", "--seed", "7"});
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  ASSERT_TRUE(s.WaitNonePending(120s));
  s.StopStream(SIGTERM);

  auto batch = BatchHarness::Create({.name = "backtest_lake", .pg_dsn = s.dsn()});
  ASSERT_TRUE(batch.ok()) << batch.status();
  BatchHarness& b = **batch;
  std::string from, to;
  {
    auto conn = pg::Connection::Connect(s.dsn());
    ASSERT_TRUE(conn.ok());
    auto r = (*conn)->Exec(
        "SELECT min((created_at AT TIME ZONE 'America/Sao_Paulo')::date)::text, "
        "max((created_at AT TIME ZONE 'America/Sao_Paulo')::date)::text FROM credit_requests");
    ASSERT_TRUE(r.ok());
    from = std::string(r->Get(0, 0));
    to = std::string(r->Get(0, 1));
  }
  CommandResult run = b.Lastro({"batch", "run", "--from", from, "--to", to});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  const char* src = std::getenv("LASTRO_SOURCE_DIR");
  std::string policy = std::string(src ? src : ".") + "/config/policy.toml";
  CommandResult same = b.Lastro(
      {"policy", "backtest", "--rules", policy, "--from", from, "--to", to, "--format", "json"});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  auto report = nlohmann::json::parse(same.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << same.out;
  int64_t scored = b.PgCount(
      "SELECT count(*) FROM credit_decisions WHERE score IS NOT NULL AND decision <> 'FAILED' "
      "AND NOT reason_codes && ARRAY['PROVIDER_UNAVAILABLE', 'PROVIDER_REJECTED_INPUT']");
  EXPECT_EQ(report["replayed"].get<int64_t>(), scored);
  EXPECT_GT(scored, 1500);
  EXPECT_EQ(report["changed"]["total"].get<int64_t>(), 0) << same.out.substr(0, 2000);

  // Stricter: the unsecured ceiling drops from R$ 300.000 to R$ 10.000.
  std::ifstream in(policy);
  std::stringstream text;
  text << in.rdbuf();
  std::string stricter = std::regex_replace(text.str(), std::regex("amount_gt_cents = 30_000_000"),
                                            "amount_gt_cents = 1_000_000");
  ASSERT_NE(stricter, text.str());
  std::string stricter_file = b.dir() + "/stricter.toml";
  std::ofstream(stricter_file) << stricter;
  CommandResult changed = b.Lastro({"policy", "backtest", "--rules", stricter_file, "--from", from,
                                    "--to", to, "--format", "json"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  auto stricter_report = nlohmann::json::parse(changed.out, nullptr, false);
  ASSERT_FALSE(stricter_report.is_discarded());

  std::set<int64_t> expected;
  {
    auto conn = pg::Connection::Connect(s.dsn());
    ASSERT_TRUE(conn.ok());
    auto r = (*conn)->Exec(
        "SELECT d.request_id FROM credit_decisions d JOIN credit_requests r ON r.id = d.request_id "
        "WHERE r.amount_cents > 1000000 AND d.decision IN ('APPROVED', 'MANUAL_REVIEW') "
        "AND d.score IS NOT NULL");
    ASSERT_TRUE(r.ok());
    for (int i = 0; i < r->rows(); ++i) expected.insert(r->GetInt(i, 0));
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(stricter_report["changed"]["total"].get<int64_t>(),
            static_cast<int64_t>(expected.size()));
  EXPECT_EQ(ChangedIds(stricter_report), expected);
  bool driver = false;
  for (const auto& d : stricter_report["drivers"]) {
    if (d["rule_id"] == "AMOUNT_OVER_MAX") driver = true;
  }
  EXPECT_TRUE(driver) << changed.out.substr(0, 2000);
}

}  // namespace
}  // namespace lastro::testing
