// `lastro decision explain` over a small hand-made lake and catalog (real Parquet
// files, a real DuckDB catalog, the repository's policy): the recorded inputs, the
// latest version, the point-in-time features, the replay and its verdicts, the pt-BR
// texts. The end-to-end test against PostgreSQL and a real batch run is
// tests/integration/explain_test.cc.
#include "governance/explain.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "governance/reason_texts.h"
#include "lake/engine.h"
#include "mart/catalog_store.h"

namespace lastro::governance {
namespace {
namespace fs = std::filesystem;

std::string PolicyFile() { return std::string(LASTRO_SOURCE_DIR) + "/config/policy.toml"; }

decide::Policy DefaultPolicy() {
  auto p = decide::Policy::LoadFile(PolicyFile());
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

// ---------------------------------------------------------------------------------
// The pt-BR texts.

TEST(ReasonTexts, EveryCodeTheDefaultPolicyAndTheStreamCanGiveHasAPortugueseText) {
  auto texts = ParseReasonTexts(EmbeddedReasonTextsToml(), "embedded");
  ASSERT_TRUE(texts.ok()) << texts.status();
  std::vector<std::string> codes = {"DEFAULT_APPROVED", "DEFAULT_MANUAL_REVIEW", "DEFAULT_REJECTED",
                                    "PROVIDER_UNAVAILABLE", "PROVIDER_REJECTED_INPUT"};
  const decide::Policy policy = DefaultPolicy();
  for (const decide::RuleInfo& rule : policy.rules()) codes.push_back(rule.id);
  for (const std::string& code : codes) {
    EXPECT_TRUE(texts->reason.contains(code))
        << code << " has no text in config/reason_codes.pt-BR.toml";
  }
  for (const char* outcome : {"APPROVED", "MANUAL_REVIEW", "REJECTED", "FAILED", "PENDING"}) {
    EXPECT_TRUE(texts->outcome.contains(outcome)) << outcome;
  }
}

TEST(ReasonTexts, RefusesUnknownTablesAndValuesThatAreNotText) {
  auto table = ParseReasonTexts("[reasons]\nX = \"y\"\n", "t.toml");
  ASSERT_FALSE(table.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(table.status()));
  EXPECT_NE(table.status().message().find("t.toml:1:"), std::string::npos) << table.status();
  EXPECT_NE(table.status().message().find("did you mean 'reason'"), std::string::npos)
      << table.status();
  auto number = ParseReasonTexts("[reason]\nX = 1\n", "t.toml");
  ASSERT_FALSE(number.ok());
  EXPECT_NE(number.status().message().find("t.toml:2: [reason] 'X' must be a non-empty string"),
            std::string::npos)
      << number.status();
}

// ---------------------------------------------------------------------------------
// The replay.

// Band D, adverse history above R$ 10.000: the default policy sends it to review.
batch::BacktestRow ReviewRow() {
  batch::BacktestRow row;
  row.request_id = 10;
  row.request_date = "2026-11-03";
  row.channel = "app_android";
  row.purpose = "personal";
  row.amount_cents = 1'500'000;
  row.term_months = 24;
  row.declared_income_cents = 1'000'000;
  row.risk_score = 420;
  row.probability_of_default = 0.05;
  row.provider_reason_codes = {"ADVERSE_CREDIT_HISTORY", "LONG_TERM"};
  row.first_time_customer = false;
  row.actual_decision = "MANUAL_REVIEW";
  row.actual_reason_codes = {"BAND_D", "ADVERSE_HISTORY_OVER_10K"};
  return row;
}

TEST(ReplayDecision, TheDecidingPolicyReproducesTheRecordedDecisionReasonsAndBand) {
  Replay r = ReplayDecision(DefaultPolicy(), ReviewRow(), "2026.11-1", "D");
  EXPECT_EQ(r.policy_version, "2026.11-1");
  EXPECT_TRUE(r.same_version);
  EXPECT_EQ(r.not_replayable, "");
  EXPECT_EQ(r.decision, "MANUAL_REVIEW");
  EXPECT_EQ(r.reason_codes, (std::vector<std::string>{"BAND_D", "ADVERSE_HISTORY_OVER_10K"}));
  EXPECT_EQ(r.band, "D");
  EXPECT_TRUE(r.decision_matches);
  EXPECT_TRUE(r.reason_codes_matches);
  EXPECT_TRUE(r.band_matches);
  EXPECT_NE(r.note.find("reproduces the recorded decision"), std::string::npos) << r.note;
}

TEST(ReplayDecision, SaysWhenAnotherPolicyVersionGivesAnotherAnswer) {
  batch::BacktestRow row = ReviewRow();
  row.actual_decision = "APPROVED";
  row.actual_reason_codes = {"DEFAULT_APPROVED"};
  Replay r = ReplayDecision(DefaultPolicy(), row, "2026.10-2", "C");
  EXPECT_FALSE(r.same_version);
  EXPECT_EQ(r.decision, "MANUAL_REVIEW");
  EXPECT_FALSE(r.decision_matches);
  EXPECT_FALSE(r.reason_codes_matches);
  EXPECT_FALSE(r.band_matches);
  EXPECT_NE(r.note.find("gives MANUAL_REVIEW (BAND_D, ADVERSE_HISTORY_OVER_10K) where the "
                        "recorded decision is APPROVED (DEFAULT_APPROVED)"),
            std::string::npos)
      << r.note;
  EXPECT_NE(r.note.find("another policy version than the decision (2026.11-1 now, 2026.10-2 "
                        "recorded)"),
            std::string::npos)
      << r.note;
}

TEST(ReplayDecision, TheSameOutcomeWithOtherReasonsIsNotAReproduction) {
  batch::BacktestRow row = ReviewRow();
  row.actual_reason_codes = {"BAND_D"};
  Replay r = ReplayDecision(DefaultPolicy(), row, "2026.11-1", "D");
  EXPECT_TRUE(r.decision_matches);
  EXPECT_FALSE(r.reason_codes_matches);
  EXPECT_NE(r.note.find("gives MANUAL_REVIEW"), std::string::npos) << r.note;
}

TEST(ReplayDecision, GivesThePolicyNoBureauScoreAsTheRealTimeDecisionHadNone) {
  auto policy = decide::Policy::Parse(R"(version = "b-1"
default = "APPROVED"
[bands]
A = 0
[[rule]]
id = "BUREAU_UNKNOWN"
outcome = "MANUAL_REVIEW"
when = { bureau_missing = true }
)",
                                      "bureau.toml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  batch::BacktestRow row = ReviewRow();
  row.bureau_score = 900;  // fetched by the batch after the decision
  row.actual_reason_codes = {"BUREAU_UNKNOWN"};
  Replay r = ReplayDecision(*policy, row, "b-1", "A");
  EXPECT_EQ(r.reason_codes, (std::vector<std::string>{"BUREAU_UNKNOWN"}));
  EXPECT_TRUE(r.reason_codes_matches);
}

TEST(ReplayDecision, NamesWhyARequestCannotBeReplayed) {
  batch::BacktestRow pending = ReviewRow();
  pending.actual_decision.clear();
  pending.actual_reason_codes.clear();
  Replay p = ReplayDecision(DefaultPolicy(), pending, "", "");
  EXPECT_EQ(p.not_replayable, batch::kNoDecision);
  EXPECT_EQ(p.decision, "");
  EXPECT_NE(p.note.find("undecided"), std::string::npos) << p.note;

  batch::BacktestRow failed = ReviewRow();
  failed.actual_decision = "MANUAL_REVIEW";
  failed.actual_reason_codes = {"PROVIDER_UNAVAILABLE"};
  failed.risk_score.reset();
  EXPECT_EQ(ReplayDecision(DefaultPolicy(), failed, "2026.11-1", "").not_replayable,
            batch::kProviderFailure);

  batch::BacktestRow old = ReviewRow();
  old.first_time_customer.reset();
  Replay o = ReplayDecision(DefaultPolicy(), old, "2026.11-1", "D");
  EXPECT_EQ(o.not_replayable, batch::kInputsNotRecorded);
  EXPECT_NE(o.note.find("predates the recording of its inputs"), std::string::npos) << o.note;
}

// ---------------------------------------------------------------------------------
// ExplainDecision over a hand-made lake.

// Request 10 (customer 1, 2026-11-03 10:00 São Paulo): decided MANUAL_REVIEW by
// 2026.11-1, then approved by an analyst (version 3; an older version 2 lies in another
// file of the same day). Request 11 (same customer and day) is PENDING.
constexpr char kSilverColumns[] =
    "request_id, customer_id, customer_token, amount_cents, term_months, purpose, channel, "
    "declared_income_cents, status, version, created_at, updated_at, decided_at, decision, "
    "risk_score, risk_band, probability_of_default, reason_codes, provider_reason_codes, "
    "first_time_customer, provider_ref, provider_model_version, policy_version, attempts, "
    "provider_latency_ms, customer_state, customer_acquisition_channel, customer_birth_year, "
    "bureau_score, bureau_status, bureau_as_of, run_id";
constexpr char kSilverV3[] = R"sql(
  (10::BIGINT, 1::BIGINT, 'tok-1', 1500000::BIGINT, 24, 'personal', 'app_android',
   1000000::BIGINT, 'APPROVED', 3, TIMESTAMP '2026-11-03 13:00:00',
   TIMESTAMP '2026-11-03 16:00:00.25', TIMESTAMP '2026-11-03 16:00:00.25', 'MANUAL_REVIEW', 420,
   'D', 0.05, ['BAND_D', 'ADVERSE_HISTORY_OVER_10K'], ['ADVERSE_CREDIT_HISTORY', 'LONG_TERM'],
   false, 'ra-1', 'risk-2.3', '2026.11-1', 2, 182.25, 'SP', 'organic', 1980, 712, 'FOUND',
   DATE '2026-11-03', 'run-1'),
  (11, 1, 'tok-1', 250000, 12, 'personal', 'web', NULL, 'PENDING', 1,
   TIMESTAMP '2026-11-03 17:00:00', TIMESTAMP '2026-11-03 17:00:00', NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'SP', 'organic', 1980, NULL,
   'UNAVAILABLE', DATE '2026-11-03', 'run-1'))sql";
constexpr char kSilverV2[] = R"sql(
  (10::BIGINT, 1::BIGINT, 'tok-1', 1500000::BIGINT, 24, 'personal', 'app_android',
   1000000::BIGINT, 'MANUAL_REVIEW', 2, TIMESTAMP '2026-11-03 13:00:00',
   TIMESTAMP '2026-11-03 13:00:02', TIMESTAMP '2026-11-03 13:00:02', 'MANUAL_REVIEW', 420, 'D',
   0.05, ['BAND_D', 'ADVERSE_HISTORY_OVER_10K'], ['ADVERSE_CREDIT_HISTORY', 'LONG_TERM'], false,
   'ra-1', 'risk-2.3', '2026.11-1', 2, 182.25, 'SP', 'organic', 1980, 712, 'FOUND',
   DATE '2026-11-03', 'run-0'))sql";
constexpr char kHistory[] = R"sql(
SELECT * FROM (VALUES
  (101::BIGINT, 10::BIGINT, 'MANUAL_REVIEW', 'APPROVED', TIMESTAMP '2026-11-03 16:00:00.25',
   'analyst:ana', 'renda conferida', 'run-1'),
  (100, 10, 'PENDING', 'MANUAL_REVIEW', TIMESTAMP '2026-11-03 13:00:02', 'lastro-stream',
   NULL, 'run-1'),
  (102, 11, NULL, 'PENDING', TIMESTAMP '2026-11-03 17:00:00', 'app', NULL, 'run-1'),
  (103, 10, 'MANUAL_REVIEW', 'MANUAL_REVIEW', TIMESTAMP '2026-11-03 16:00:00', 'analyst:ana',
   'em análise', 'run-1'))
  t(id, request_id, from_status, to_status, changed_at, changed_by, reason, run_id))sql";
// Two files: one written before the bureau's model was recorded, one after.
constexpr char kBureau[] = R"sql(
SELECT * FROM (VALUES
  ('tok-1', 705, 'FOUND', NULL, TIMESTAMP '2026-11-04 05:00:00', 'run-0'),
  ('tok-1', 705, 'FOUND', NULL, TIMESTAMP '2026-11-04 06:00:00', 'run-2'),
  ('tok-2', 300, 'FOUND', NULL, TIMESTAMP '2026-11-04 06:00:00', 'run-1'))
  t(customer_token, score, status, detail, fetched_at, run_id))sql";
constexpr char kBureauWithModel[] = R"sql(
SELECT * FROM (VALUES
  ('tok-1', 712, 'FOUND', NULL, TIMESTAMP '2026-11-04 05:30:00', 'run-1', 'bureau-sim-1'))
  t(customer_token, score, status, detail, fetched_at, run_id, model))sql";
// Customer 1 has feature days 11-01 (1 request, bureau 500) and 11-03, the requests'
// own day (2 requests, bureau 712): the requests of 11-03 must see 11-01's.
constexpr char kCatalog[] = R"sql(
CREATE TABLE fact_credit_request AS
SELECT * FROM (VALUES
  (10, 1, 11, TIMESTAMP '2026-11-03 13:00:00', DATE '2026-11-03', 'APPROVED', 712),
  (11, 1, 11, TIMESTAMP '2026-11-03 17:00:00', DATE '2026-11-03', 'PENDING', NULL))
  t(request_id, customer_id, customer_sk, created_at, request_date, status, bureau_score),
  LATERAL (SELECT 100000 AS amount_cents, 12 AS term_months, 'personal' AS product,
           'web' AS channel, NULL::BIGINT AS declared_income_cents,
           status = 'APPROVED' AS is_approved, status AS decision, 420 AS risk_score);
CREATE TABLE customer_features_daily AS
SELECT customer_id, feature_date, 2 AS sessions, 1 AS simulations, 0 AS login_failures,
       3 AS app_events, 0::HUGEINT AS credits_cents, 0::HUGEINT AS debits_cents,
       0 AS bank_transactions, 0::HUGEINT AS income_30d_cents, NULL::HUGEINT AS balance_cents,
       credit_requests, bureau_score
FROM (VALUES (1, DATE '2026-11-01', 1, 500), (1, DATE '2026-11-03', 2, 712))
  t(customer_id, feature_date, credit_requests, bureau_score);
)sql";

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() /
        absl::StrCat("explain_", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                     "_", ::getpid());
    fs::remove_all(root_);
    lake_ = root_ / "lake";
    fs::create_directories(lake_);
    config_.lake.dir = lake_.string();
    config_.lake.memory_limit = "256MB";
    config_.lake.threads = 1;
    config_.stream.policy_file = PolicyFile();
  }
  void TearDown() override { fs::remove_all(root_); }

  // Publishes `select`'s rows as <zone>/<table>, version v1, in partition `partition`.
  void Write(const std::string& table, const std::string& partition, const std::string& file,
             const std::string& select) {
    const fs::path version = lake_ / "_versions" / table / "v1";
    fs::create_directories(version / partition);
    auto e = lake::Engine::Open({.memory_limit = "128MB", .threads = 1});
    ASSERT_TRUE(e.ok()) << e.status();
    Status s = (*e)->Execute(absl::StrCat("COPY (", select, ") TO ",
                                          lake::SqlString((version / partition / file).string()),
                                          " (FORMAT parquet)"));
    ASSERT_TRUE(s.ok()) << s;
    const fs::path link = lake_ / table;
    fs::create_directories(link.parent_path());
    if (!fs::is_symlink(link)) {
      fs::create_directory_symlink(fs::path("../_versions") / table / "v1", link);
    }
  }

  void WriteLake() {
    auto silver = [](const char* rows) {
      return absl::StrCat("SELECT * FROM (VALUES ", rows, ") t(", kSilverColumns, ")");
    };
    Write("silver/credit_requests", "request_date=2026-11-03", "part-1.parquet", silver(kSilverV3));
    Write("silver/credit_requests", "request_date=2026-11-03", "part-0.parquet", silver(kSilverV2));
    Write("silver/credit_request_status_history", "request_date=2026-11-03", "part-1.parquet",
          kHistory);
    Write("bronze/bureau_scores", "score_date=2026-11-03", "part-1.parquet", kBureau);
    Write("bronze/bureau_scores", "score_date=2026-11-03", "part-2.parquet", kBureauWithModel);
  }

  void PublishCatalog() {
    mart::CatalogStore store(config_.lake.dir);
    auto dir = store.Stage("c1");
    ASSERT_TRUE(dir.ok()) << dir.status();
    {
      auto e = lake::Engine::Open(
          {.memory_limit = "128MB", .threads = 1, .database = *dir / "catalog.duckdb"});
      ASSERT_TRUE(e.ok()) << e.status();
      ASSERT_TRUE((*e)->Execute(kCatalog).ok());
    }
    ASSERT_TRUE(store.Publish("c1", 3).ok());
  }

  fs::path root_, lake_;
  Config config_;
};

TEST_F(ExplainTest, GivesTheRecordedInputsOfTheLatestVersionAndTheFeaturesOfTheDayBefore) {
  WriteLake();
  PublishCatalog();
  auto got = ExplainDecision(config_, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  const DecisionExplanation& e = *got;
  EXPECT_EQ(e.request_id, 10);
  EXPECT_EQ(e.request.customer_id, 1);
  EXPECT_EQ(e.request.customer_token, "tok-1");
  EXPECT_EQ(e.request.amount_cents, 1'500'000);
  EXPECT_EQ(e.request.term_months, 24);
  EXPECT_EQ(e.request.purpose, "personal");
  EXPECT_EQ(e.request.channel, "app_android");
  EXPECT_EQ(e.request.declared_income_cents, 1'000'000);
  EXPECT_EQ(e.request.created_at, "2026-11-03T13:00:00Z");
  EXPECT_EQ(e.request.request_date, "2026-11-03");
  EXPECT_EQ(e.request.status, "APPROVED");  // version 3, not the older 2
  EXPECT_EQ(e.request.version, 3);
  EXPECT_EQ(e.request.updated_at, "2026-11-03T16:00:00.250000Z");

  ASSERT_TRUE(e.decision.decided);
  EXPECT_EQ(e.decision.decision, "MANUAL_REVIEW");
  EXPECT_EQ(e.decision.reason_codes,
            (std::vector<std::string>{"BAND_D", "ADVERSE_HISTORY_OVER_10K"}));
  EXPECT_EQ(e.decision.policy_version, "2026.11-1");
  EXPECT_EQ(e.decision.first_time_customer, false);
  ASSERT_EQ(e.decision.reasons.size(), 2u);
  EXPECT_EQ(e.decision.reasons[0].language, "pt-BR");
  EXPECT_NE(e.decision.reasons[0].text.find("entre 350 e 499"), std::string::npos);
  ASSERT_TRUE(e.decision.risk);
  EXPECT_EQ(e.decision.risk->score, 420);
  EXPECT_EQ(e.decision.risk->band, "D");
  EXPECT_EQ(e.decision.risk->probability_of_default, 0.05);
  EXPECT_EQ(e.decision.risk->provider_reason_codes,
            (std::vector<std::string>{"ADVERSE_CREDIT_HISTORY", "LONG_TERM"}));
  EXPECT_EQ(e.decision.risk->provider_ref, "ra-1");
  EXPECT_EQ(e.decision.risk->provider_model_version, "risk-2.3");
  EXPECT_EQ(e.decision.risk->attempts, 2);
  EXPECT_EQ(e.decision.risk->latency_ms, 182.25);

  EXPECT_EQ(e.bureau.status, "FOUND");
  EXPECT_EQ(e.bureau.score, 712);
  EXPECT_EQ(e.bureau.as_of, "2026-11-03");
  // The latest fetch that gave silver's answer (a later one answered 705).
  EXPECT_EQ(e.bureau.fetched_at, "2026-11-04T05:30:00Z");
  EXPECT_EQ(e.bureau.fetched_by_run, "run-1");
  EXPECT_EQ(e.bureau.model, "bureau-sim-1");

  // Strictly before the request's day: 11-01 (1 request, bureau 500), never 11-03's.
  EXPECT_TRUE(e.features.available);
  EXPECT_EQ(e.features.catalog_version, "c1");
  EXPECT_EQ(e.features.feature_date, "2026-11-01");
  EXPECT_EQ(e.features.age_days, 2);
  std::map<std::string, lake::Value> values(e.features.values.begin(), e.features.values.end());
  EXPECT_EQ(values["credit_requests"], lake::Value(int64_t{1}));
  EXPECT_EQ(values["bureau_score"], lake::Value(int64_t{500}));
  EXPECT_EQ(values["sessions"], lake::Value(int64_t{2}));
  EXPECT_FALSE(values.contains("feature_date"));

  // By instant (16:00:00 before 16:00:00.25, whatever their text), then id.
  ASSERT_EQ(e.status_history.size(), 3u);
  EXPECT_EQ(e.status_history[0].id, 100);
  EXPECT_EQ(e.status_history[0].to_status, "MANUAL_REVIEW");
  EXPECT_EQ(e.status_history[1].id, 103);
  EXPECT_EQ(e.status_history[1].changed_at, "2026-11-03T16:00:00Z");
  EXPECT_EQ(e.status_history[2].changed_by, "analyst:ana");
  EXPECT_EQ(e.status_history[2].to_status, "APPROVED");
  EXPECT_EQ(e.status_history[2].changed_at, "2026-11-03T16:00:00.250000Z");

  EXPECT_TRUE(e.replay.decision_matches);
  EXPECT_TRUE(e.replay.reason_codes_matches);
  EXPECT_TRUE(e.replay.band_matches);
  EXPECT_TRUE(e.replay.same_version);

  EXPECT_EQ(e.sources.at("silver/credit_requests"), "v1");
  EXPECT_EQ(e.sources.at("catalog"), "c1");
  EXPECT_NE(e.summary_pt_br.find("em análise manual"), std::string::npos) << e.summary_pt_br;
  EXPECT_NE(e.summary_pt_br.find("Situação atual do pedido: aprovado"), std::string::npos)
      << e.summary_pt_br;

  // The JSON carries the same values and none of the customer's other attributes.
  nlohmann::json j = nlohmann::json::parse(FormatExplanationJson(e));
  EXPECT_EQ(j["risk_api"]["provider_reason_codes"][1], "LONG_TERM");
  EXPECT_EQ(j["features"]["feature_date"], "2026-11-01");
  EXPECT_EQ(j["replay"]["decision_matches"], true);
  EXPECT_EQ(j["summary"]["language"], "pt-BR");
  for (const std::string& text : {FormatExplanationJson(e), FormatExplanationText(e)}) {
    for (const char* absent : {"1980", "organic", "\"SP\""}) {
      EXPECT_EQ(text.find(absent), std::string::npos) << absent << " in\n" << text;
    }
  }
  EXPECT_NE(FormatExplanationText(e).find("ADVERSE_HISTORY_OVER_10K"), std::string::npos);
}

TEST_F(ExplainTest, APendingRequestIsExplainedAsUndecided) {
  WriteLake();
  PublishCatalog();
  auto got = ExplainDecision(config_, 11);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->decision.decided);
  EXPECT_FALSE(got->decision.risk);
  EXPECT_EQ(got->request.status, "PENDING");
  EXPECT_FALSE(got->request.declared_income_cents);
  EXPECT_EQ(got->bureau.status, "UNAVAILABLE");
  EXPECT_EQ(got->bureau.fetched_at, "");  // not a cached answer: none to trace
  EXPECT_EQ(got->replay.not_replayable, batch::kNoDecision);
  EXPECT_EQ(got->features.feature_date, "2026-11-01");
  ASSERT_EQ(got->status_history.size(), 1u);
  EXPECT_EQ(got->status_history[0].from_status, "");
  EXPECT_NE(got->summary_pt_br.find("pendente, ainda sem decisão"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(FormatExplanationJson(*got));
  EXPECT_EQ(j["decision"]["decided"], false);
  EXPECT_TRUE(j["decision"]["decision"].is_null());
  EXPECT_TRUE(j["risk_api"].is_null());
  EXPECT_EQ(j["replay"]["replayed"], false);
  EXPECT_EQ(j["replay"]["not_replayable"], "no_decision");
}

TEST_F(ExplainTest, WithoutACatalogTheRestIsExplainedAndTheFeaturesSayWhy) {
  WriteLake();
  auto got = ExplainDecision(config_, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->features.available);
  EXPECT_NE(got->features.note.find("run lastro refresh"), std::string::npos);
  EXPECT_EQ(got->decision.decision, "MANUAL_REVIEW");
}

TEST_F(ExplainTest, ABadPolicyFileLeavesTheRecordedInputsAndSaysWhyNothingWasReplayed) {
  WriteLake();
  config_.stream.policy_file = (root_ / "missing.toml").string();
  auto got = ExplainDecision(config_, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_NE(got->replay.error.find("missing.toml"), std::string::npos) << got->replay.error;
  EXPECT_EQ(got->replay.decision, "");
  EXPECT_EQ(got->decision.reasons[0].language, "pt-BR");
}

TEST_F(ExplainTest, AnUnknownRequestIsNotFoundAndABadIdIsInvalid) {
  auto empty = ExplainDecision(config_, 10);
  EXPECT_TRUE(absl::IsNotFound(empty.status())) << empty.status();
  EXPECT_NE(empty.status().message().find("run lastro batch run for its day"), std::string::npos);
  WriteLake();
  auto unknown = ExplainDecision(config_, 999);
  EXPECT_TRUE(absl::IsNotFound(unknown.status())) << unknown.status();
  EXPECT_NE(unknown.status().message().find("credit request 999 not found in the lake"),
            std::string::npos)
      << unknown.status();
  EXPECT_TRUE(absl::IsInvalidArgument(ExplainDecision(config_, 0).status()));
  Write("quarantine/credit_requests", "batch_date=2026-11-03", "part-1.parquet",
        "SELECT 'run-1' AS run_id, DATE '2026-11-03' AS batch_date, 'amount_in_range' AS "
        "rule_id, 'error' AS severity, 'credit_requests' AS table_name, '998' AS record_key, "
        "'amount_cents 0 outside 1..100000000' AS reason, '{}' AS record, "
        "TIMESTAMP '2026-11-04 05:30:00' AS quarantined_at");
  auto quarantined = ExplainDecision(config_, 998);
  EXPECT_TRUE(absl::IsNotFound(quarantined.status())) << quarantined.status();
  EXPECT_NE(quarantined.status().message().find(
                "is in quarantine/credit_requests by rule amount_in_range (amount_cents 0 "
                "outside 1..100000000), batch of 2026-11-03"),
            std::string::npos)
      << quarantined.status();
  EXPECT_TRUE(absl::IsNotFound(ExplainDecision(config_, 999).status()));
  EXPECT_EQ(AuditEntryFor(999, unknown).outcome, "not_found");
  auto found = ExplainDecision(config_, 10);
  ExplainAuditEntry entry = AuditEntryFor(10, found);
  EXPECT_EQ(entry.action, "decision.explain");
  EXPECT_EQ(entry.subject, "10");
  EXPECT_EQ(entry.customer_id, 1);
  EXPECT_EQ(entry.outcome, "ok");
}

}  // namespace
}  // namespace lastro::governance
