// `lastro serve` end to end: real HTTP on loopback, real tokens, the real catalog.
#include "service/query_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "governance/api_tokens.h"
#include "governance/governance_fixture.h"
#include "web/http_test_client.h"

namespace lastro::service {
namespace {

using ::testing::HasSubstr;
using web::testing::Fetch;
using web::testing::FetchOptions;
using web::testing::HttpResult;

// Tokens never cross a network in clear: beyond loopback, serve needs TLS.
TEST(QueryServiceStartTest, RefusesANonLoopbackAddressWithoutTls) {
  Config config;
  config.governance.serve_addr = "0.0.0.0:0";
  std::atomic<bool> stop{true};
  Status s = RunQueryService({.config = config}, stop);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("only with TLS"));
}

class QueryServiceTest : public governance::GovernanceTest {
 protected:
  void SetUp() override {
    GovernanceTest::SetUp();
    Publish();
    config_.governance.serve_addr = "127.0.0.1:0";
    for (const char* role : {"finance", "marketing", "auditor"}) {
      auto t = governance::IssueApiToken(config_.governance.state_dir, std::string("u_") + role,
                                         role, &ids_[role]);
      ASSERT_TRUE(t.ok()) << t.status();
      tokens_[role] = *t;
    }
    std::promise<uint16_t> listening;
    auto port = listening.get_future();
    thread_ = std::thread([this, p = std::move(listening)]() mutable {
      QueryServiceOptions o{.config = config_,
                            .on_listening = [&p](uint16_t port) { p.set_value(port); }};
      result_ = RunQueryService(o, stop_);
    });
    ASSERT_EQ(port.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    base_ = "http://127.0.0.1:" + std::to_string(port.get());
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    EXPECT_TRUE(result_.ok()) << result_;
    GovernanceTest::TearDown();
  }
  HttpResult As(const std::string& role, const std::string& path, FetchOptions o = {}) {
    if (!role.empty()) o.AddHeader("Authorization: Bearer " + tokens_[role]);
    return Fetch(base_ + path, o);
  }
  HttpResult Post(const std::string& role, const nlohmann::json& body) {
    return As(role, "/v1/query",
              FetchOptions()
                  .Method("POST")
                  .Body(body.dump())
                  .AddHeader("Content-Type: application/json"));
  }

  std::map<std::string, std::string> tokens_, ids_;
  std::string base_;
  std::atomic<bool> stop_{false};
  Status result_;
  std::thread thread_;
};

TEST_F(QueryServiceTest, TokensAreRequiredAndRevocationCountsAtOnce) {
  EXPECT_EQ(Fetch(base_ + "/healthz").status, 200);
  HttpResult none = Fetch(base_ + "/v1/me");
  EXPECT_EQ(none.status, 401);
  HttpResult wrong =
      Fetch(base_ + "/v1/me", FetchOptions().AddHeader("Authorization: Bearer lst_nope"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, none.body);  // says nothing about why
  // An unknown path needs a token too: nothing can be probed without one.
  EXPECT_EQ(Fetch(base_ + "/v1/secret-admin").status, 401);

  HttpResult me = As("marketing", "/v1/me");
  ASSERT_EQ(me.status, 200) << me.body;
  auto doc = nlohmann::json::parse(me.body);
  EXPECT_EQ(doc["role"], "marketing");
  EXPECT_TRUE(doc["tables"].contains("dim_customer"));
  EXPECT_FALSE(doc["tables"].contains("fact_bank_transaction"));

  ASSERT_TRUE(governance::RevokeApiToken(config_.governance.state_dir, ids_["marketing"]).ok());
  EXPECT_EQ(As("marketing", "/v1/me").status, 401);
}

TEST_F(QueryServiceTest, QueriesNamedQueriesAndRefusals) {
  HttpResult ok =
      Post("finance", {{"sql", "SELECT count(*) AS n FROM mart_finance_daily"}, {"format", "csv"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_THAT(ok.body, HasSubstr("n\n"));
  EXPECT_EQ(ok.Header("content-type"), "text/csv");
  EXPECT_FALSE(ok.Header("x-lastro-audit-seq").empty());

  HttpResult named = As("finance", "/v1/named/finance.daily_volume?from=2026-11-01&to=2026-11-30");
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_THAT(named.body, HasSubstr(R"("columns":["request_date","requests")"));

  HttpResult theirs =
      As("marketing", "/v1/named/finance.daily_volume?from=2026-11-01&to=2026-11-30");
  EXPECT_EQ(theirs.status, 403);

  HttpResult bypass = Post("finance", {{"sql", "SELECT * FROM read_parquet('/etc/passwd')"}});
  EXPECT_EQ(bypass.status, 403);
  EXPECT_THAT(bypass.body, HasSubstr("table functions are not available"));
  HttpResult not_mine = Post("finance", {{"sql", "SELECT * FROM dim_customer"}});
  HttpResult not_there = Post("finance", {{"sql", "SELECT * FROM no_such_table"}});
  EXPECT_EQ(not_mine.status, 403);
  // The same answer whether the table exists or not.
  EXPECT_EQ(not_mine.body.substr(not_mine.body.find("is not")),
            not_there.body.substr(not_there.body.find("is not")));

  EXPECT_EQ(Post("finance", {{"sql", 42}}).status, 400);
  EXPECT_EQ(As("finance", "/v1/query", FetchOptions().Method("POST").Body("not json")).status, 400);
  EXPECT_EQ(Post("finance", {{"sql", "SELEC 1"}}).status, 400);

  HttpResult parquet = Post("finance", {{"sql", "SELECT * FROM dim_date"}, {"format", "parquet"}});
  ASSERT_EQ(parquet.status, 200) << parquet.body;
  EXPECT_EQ(parquet.body.substr(0, 4), "PAR1");

  // The service is still healthy, and the auditor sees every refusal.
  EXPECT_EQ(Fetch(base_ + "/healthz").status, 200);
  HttpResult audit = Post("auditor", {{"sql",
                                       "SELECT role, outcome, count(*) AS n FROM audit_log "
                                       "WHERE outcome <> 'allowed' GROUP BY ALL ORDER BY ALL"},
                                      {"format", "csv"}});
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(audit.body, "role,outcome,n\nfinance,denied,3\nfinance,error,3\nmarketing,denied,1\n");
}

TEST_F(QueryServiceTest, ATimedOutOrCancelledQueryAnswersAndTheServiceGoesOn) {
  // Marketing sees ~26 of the 40 requests: 26^8 combinations, far beyond any timeout.
  const std::string slow =
      "SELECT count(*) FROM fact_credit_request a, fact_credit_request b, fact_credit_request c, "
      "fact_credit_request d, fact_credit_request e, fact_credit_request f, fact_credit_request g, "
      "fact_credit_request h WHERE a.amount_cents + b.amount_cents + c.amount_cents + "
      "d.amount_cents + e.amount_cents + f.amount_cents + g.amount_cents + h.amount_cents > 0";
  HttpResult timed_out = Post("marketing", {{"sql", slow}, {"timeout_ms", 300}});
  EXPECT_EQ(timed_out.status, 408) << timed_out.body;

  auto running = std::async(std::launch::async, [&] {
    return Post("marketing", {{"sql", slow}, {"query_id", "long-1"}});
  });
  EXPECT_TRUE(web::testing::WaitFor([&] {
    return As("marketing", "/v1/queries/long-1", FetchOptions().Method("DELETE")).status == 200;
  }));
  EXPECT_EQ(running.get().status, 409);
  EXPECT_EQ(As("marketing", "/v1/me").status, 200);
}

}  // namespace
}  // namespace lastro::service
