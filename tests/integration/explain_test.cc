// `lastro decision explain` end to end: real PostgreSQL seeded with a week of requests
// plus one customer's decisions written as the stream writes them, `lastro batch run`
// into a real lake, `lastro refresh`, then the explanation compared field by field with
// what PostgreSQL holds, and its features with the training set's row.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "batch_harness.h"
#include "lake/engine.h"
#include "pg/connection.h"

namespace lastro::testing {
namespace {

// The customer under review and their requests (explicit ids, after the seeded ones).
// 2026-11-03 11:00 (São Paulo): A, approved, their first credit.
// 2026-11-05 10:00: R, sent to review by policy 2026.11-1 (band D, adverse history
//   above R$ 10.000), then approved by an analyst.
// 2026-11-05 14:00: O, rejected by an older policy version (2026.10-2).
// 2026-11-05 16:00: P, still PENDING.
constexpr int64_t kA = 900001, kR = 900002, kO = 900003, kP = 900004;
constexpr char kCpf[] = "52998224725";
constexpr char kName[] = "Maria Revisada";
constexpr char kEmail[] = "maria.revisada@example.com";
constexpr char kPhone[] = "+5511987654321";

constexpr char kSeedCustomer[] = R"sql(
INSERT INTO customers (cpf, full_name, email, phone, birth_date, monthly_income_cents, state,
                       acquisition_channel, created_at, updated_at)
VALUES ('52998224725', 'Maria Revisada', 'maria.revisada@example.com', '+5511987654321',
        '1985-04-02', 1000000, 'SP', 'organic', '2026-10-01 12:00-03', '2026-10-01 12:00-03');
INSERT INTO credit_requests (id, customer_id, amount_cents, term_months, purpose, channel,
                             declared_income_cents, status, version, created_at, updated_at,
                             decided_at)
SELECT r.*
FROM (SELECT id FROM customers WHERE cpf = '52998224725') c,
LATERAL (VALUES
  (900001::bigint, c.id, 300000::bigint, 12, 'personal', 'web', 800000::bigint, 'APPROVED', 2,
   timestamptz '2026-11-03 11:00:00-03', timestamptz '2026-11-03 11:00:02-03',
   timestamptz '2026-11-03 11:00:02-03'),
  (900002, c.id, 1500000, 24, 'personal', 'app_android', 1000000, 'APPROVED', 3,
   '2026-11-05 10:00:00-03', '2026-11-05 13:00:00-03', '2026-11-05 10:00:02-03'),
  (900003, c.id, 200000, 12, 'personal', 'web', 900000, 'REJECTED', 2,
   '2026-11-05 14:00:00-03', '2026-11-05 14:00:01-03', '2026-11-05 14:00:01-03'),
  (900004, c.id, 250000, 6, 'education', 'app_ios', NULL, 'PENDING', 1,
   '2026-11-05 16:00:00-03', '2026-11-05 16:00:00-03', NULL)) r;
INSERT INTO credit_decisions (request_id, decision, score, risk_band, probability_of_default,
                              reason_codes, provider_reason_codes, first_time_customer,
                              provider_ref, provider_model_version, policy_version, attempts,
                              provider_latency_ms, decided_at)
VALUES
  (900001, 'APPROVED', 900, 'A', 0.02, '{DEFAULT_APPROVED}', '{STRONG_INCOME_COVERAGE}', true,
   'ra-explain-a', 'risk-sim-2.3', '2026.11-1', 1, 95.5, '2026-11-03 11:00:02-03'),
  (900002, 'MANUAL_REVIEW', 420, 'D', 0.05, '{BAND_D,ADVERSE_HISTORY_OVER_10K}',
   '{ADVERSE_CREDIT_HISTORY,LONG_TERM}', false, 'ra-explain-r', 'risk-sim-2.3', '2026.11-1', 2,
   182.25, '2026-11-05 10:00:02-03'),
  (900003, 'REJECTED', 610, 'C', 0.04, '{OLD_SCORE_FLOOR}', '{}', false, 'ra-explain-o',
   'risk-sim-2.2', '2026.10-2', 1, 77.125, '2026-11-05 14:00:01-03');
INSERT INTO credit_request_status_history (request_id, from_status, to_status, changed_by,
                                           reason, changed_at)
VALUES
  (900001, 'PENDING', 'APPROVED', 'lastro-stream', 'policy 2026.11-1', '2026-11-03 11:00:02-03'),
  (900002, 'PENDING', 'MANUAL_REVIEW', 'lastro-stream', 'policy 2026.11-1',
   '2026-11-05 10:00:02-03'),
  (900002, 'MANUAL_REVIEW', 'APPROVED', 'analyst:ana', 'renda conferida',
   '2026-11-05 13:00:00-03'),
  (900003, 'PENDING', 'REJECTED', 'lastro-stream', 'policy 2026.10-2', '2026-11-05 14:00:01-03');
)sql";

std::string SourceDir() {
  const char* src = std::getenv("LASTRO_SOURCE_DIR");
  return src ? src : ".";
}

// One JSON document from PostgreSQL (a query returning one json column and row).
nlohmann::json PgJson(const std::string& dsn, const std::string& sql) {
  auto conn = pg::Connection::Connect(dsn);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return nullptr;
  auto r = (*conn)->Exec(sql);
  EXPECT_TRUE(r.ok()) << r.status() << "\n" << sql;
  if (!r.ok() || r->rows() != 1) return nullptr;
  return nlohmann::json::parse(std::string(r->Get(0, 0)));
}

std::optional<int64_t> OptionalInt(const nlohmann::json& v) {
  if (v.is_null()) return std::nullopt;
  return v.get<int64_t>();
}

class ExplainIntegration : public ::testing::Test {
 protected:
  // One lake for every test of the suite: seeding, the batch and the refresh take
  // most of the time, and explain only reads.
  static void SetUpTestSuite() {
    auto h =
        BatchHarness::Create({.name = "explain",
                              .extra_toml = absl::StrCat("[stream]\npolicy_file = \"", SourceDir(),
                                                         "/config/policy.toml\"\n")});
    ASSERT_TRUE(h.ok()) << h.status();
    harness_ = h->release();
    ASSERT_TRUE(harness_->Seed(300, 40).ok());
    ASSERT_TRUE(harness_->PgExec(kSeedCustomer).ok());
    CommandResult batch =
        harness_->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"});
    ASSERT_EQ(batch.exit_code, 0) << batch.err;
    CommandResult refresh = harness_->Lastro({"refresh"});
    ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the lake could not be built"; }

  // `lastro decision explain --request <id> --format json`, parsed (null on failure).
  nlohmann::json Explain(int64_t id) {
    CommandResult r = harness_->Lastro(
        {"decision", "explain", "--request", std::to_string(id), "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }

  // The request and its decision as PostgreSQL holds them, under the explanation's keys.
  nlohmann::json Stored(int64_t id) {
    return PgJson(harness_->dsn(), absl::StrCat(R"sql(
SELECT json_build_object(
  'customer_id', r.customer_id, 'amount_cents', r.amount_cents, 'term_months', r.term_months,
  'purpose', r.purpose, 'channel', r.channel, 'declared_income_cents', r.declared_income_cents,
  'status', r.status, 'version', r.version,
  'created_at', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'request_date', (r.created_at AT TIME ZONE 'America/Sao_Paulo')::date::text,
  'decided_at', to_char(r.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'decision', d.decision, 'score', d.score, 'band', d.risk_band,
  'probability_of_default', d.probability_of_default::float8, 'reason_codes', d.reason_codes,
  'provider_reason_codes', d.provider_reason_codes,
  'first_time_customer', d.first_time_customer, 'provider_ref', d.provider_ref,
  'provider_model_version', d.provider_model_version, 'policy_version', d.policy_version,
  'attempts', d.attempts, 'latency_ms', d.provider_latency_ms::float8)::text
FROM credit_requests r LEFT JOIN credit_decisions d ON d.request_id = r.id
WHERE r.id = )sql",
                                                id));
  }

  static BatchHarness* harness_;
  static bool ready_;
};

BatchHarness* ExplainIntegration::harness_ = nullptr;
bool ExplainIntegration::ready_ = false;

TEST_F(ExplainIntegration, ExplainReturnsExactlyTheInputsStoredForTheRequest) {
  nlohmann::json e = Explain(kR);
  nlohmann::json pg = Stored(kR);
  ASSERT_FALSE(e.is_null());
  ASSERT_FALSE(pg.is_null());
  EXPECT_EQ(e["request_id"], kR);
  EXPECT_EQ(e["customer"]["customer_id"], pg["customer_id"]);
  for (const char* key :
       {"amount_cents", "term_months", "purpose", "channel", "declared_income_cents", "status",
        "version", "created_at", "request_date"}) {
    EXPECT_EQ(e["request"][key], pg[key]) << key;
  }
  EXPECT_EQ(e["request"]["status"], "APPROVED");  // the analyst's, after the review
  for (const char* key :
       {"decision", "decided_at", "reason_codes", "policy_version", "first_time_customer"}) {
    EXPECT_EQ(e["decision"][key], pg[key]) << key;
  }
  EXPECT_EQ(e["decision"]["decided"], true);
  for (const char* key : {"score", "band", "probability_of_default", "provider_reason_codes",
                          "provider_ref", "provider_model_version", "attempts", "latency_ms"}) {
    EXPECT_EQ(e["risk_api"][key], pg[key]) << key;
  }
  // The values themselves, not only their agreement.
  EXPECT_EQ(e["risk_api"]["provider_reason_codes"],
            nlohmann::json({"ADVERSE_CREDIT_HISTORY", "LONG_TERM"}));
  EXPECT_EQ(e["decision"]["reason_codes"], nlohmann::json({"BAND_D", "ADVERSE_HISTORY_OVER_10K"}));
  EXPECT_EQ(e["decision"]["policy_version"], "2026.11-1");
  EXPECT_EQ(e["risk_api"]["latency_ms"], 182.25);
  EXPECT_EQ(e["decision"]["reasons"][0]["language"], "pt-BR");

  // The customer is a pseudonym: the token silver holds, and no contact data at all.
  auto token = harness_->Lake(
      absl::StrCat("SELECT customer_token, bureau_status, bureau_score, bureau_as_of::VARCHAR "
                   "FROM silver_requests WHERE request_id = ",
                   kR));
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_EQ(token->rows(), 1u);
  EXPECT_EQ(e["customer"]["customer_token"], *token->Text(0, 0));
  const std::string dump = e.dump();
  for (const char* pii : {kCpf, kName, kEmail, kPhone, "1985"}) {
    EXPECT_EQ(dump.find(pii), std::string::npos) << pii;
  }

  // The bureau's answer the batch attached, and when it fetched a definitive one.
  EXPECT_EQ(e["bureau"]["status"], *token->Text(0, 1));
  EXPECT_EQ(OptionalInt(e["bureau"]["score"]), token->Int(0, 2));
  EXPECT_EQ(e["bureau"]["as_of"], "2026-11-05");
  EXPECT_EQ(e["bureau"]["used_by_decision"], false);
  if (e["bureau"]["status"] == "FOUND" || e["bureau"]["status"] == "NOT_FOUND") {
    auto fetched = harness_->Lake(
        absl::StrCat("SELECT run_id FROM bureau_scores WHERE customer_token = ",
                     lake::SqlString(*token->Text(0, 0)),
                     " AND score_date = DATE '2026-11-05' ORDER BY fetched_at DESC LIMIT 1"));
    ASSERT_TRUE(fetched.ok()) << fetched.status();
    ASSERT_EQ(fetched->rows(), 1u);
    EXPECT_EQ(e["bureau"]["fetched_by_run"], *fetched->Text(0, 0));
    EXPECT_EQ(e["bureau"]["model_version"], "bureau-sim-1");  // as the simulator names it
  }

  // The status history, as PostgreSQL recorded it.
  nlohmann::json history = PgJson(
      harness_->dsn(),
      absl::StrCat("SELECT json_agg(json_build_object('from_status', from_status, 'to_status', "
                   "to_status, 'changed_by', changed_by, 'reason', reason, 'changed_at', "
                   "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "
                   "ORDER BY changed_at, id)::text FROM credit_request_status_history "
                   "WHERE request_id = ",
                   kR));
  ASSERT_EQ(e["status_history"].size(), 2u);
  ASSERT_EQ(history.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    for (const char* key : {"from_status", "to_status", "changed_by", "reason", "changed_at"}) {
      EXPECT_EQ(e["status_history"][i][key], history[i][key]) << i << " " << key;
    }
  }

  // Every lake table and the catalog it read, by version.
  EXPECT_EQ(e["sources"]["catalog"], harness_->CurrentCatalog());
  EXPECT_TRUE(e["sources"].contains("silver/credit_requests"));
}

TEST_F(ExplainIntegration, TheFeaturesAreThoseOfTheLastDayStrictlyBeforeTheRequestsDay) {
  nlohmann::json e = Explain(kR);
  ASSERT_FALSE(e.is_null());
  const nlohmann::json& f = e["features"];
  ASSERT_EQ(f["available"], true) << f;
  // The customer's days: 11-03 (request A) and 11-05, R's own day, with R, O and P.
  // `<=` would give 11-05 and its 3 requests.
  EXPECT_EQ(f["feature_date"], "2026-11-03") << f;
  EXPECT_EQ(f["age_days"], 2);
  const int64_t customer = e["customer"]["customer_id"];
  const auto pg_day_count = [&](const std::string& day) {
    return harness_->PgCount(absl::StrCat(
        "SELECT count(*) FROM credit_requests WHERE customer_id = ", customer,
        " AND (created_at AT TIME ZONE 'America/Sao_Paulo')::date = date '", day, "'"));
  };
  EXPECT_EQ(f["values"]["credit_requests"], pg_day_count("2026-11-03"));
  EXPECT_EQ(pg_day_count("2026-11-05"), 3);
  EXPECT_NE(f["values"]["credit_requests"], 3);
  EXPECT_EQ(f["used_by_decision"], false);

  // The same row as the training set's for R (one definition of "as of the request").
  const std::string out = harness_->dir() + "/explain_training.parquet";
  CommandResult exported = harness_->Lastro({"features", "export", "--training", "--from",
                                             "2026-11-05", "--to", "2026-11-05", "--out", out});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto engine = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
  ASSERT_TRUE(engine.ok());
  auto row = (*engine)->Query(
      absl::StrCat("SELECT f_feature_date::VARCHAR, f_credit_requests, f_bureau_score, f_sessions, "
                   "f_balance_cents FROM read_parquet(",
                   lake::SqlString(out), ") WHERE request_id = ", kR));
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_EQ(row->rows(), 1u);
  EXPECT_EQ(f["feature_date"], *row->Text(0, 0));
  EXPECT_EQ(f["values"]["credit_requests"], *row->Int(0, 1));
  EXPECT_EQ(OptionalInt(f["values"]["bureau_score"]), row->Int(0, 2));
  EXPECT_EQ(f["values"]["sessions"], *row->Int(0, 3));
}

TEST_F(ExplainIntegration, TheReplayReproducesTheDecisionOrSaysThePolicyVersionDiffers) {
  nlohmann::json r = Explain(kR);
  ASSERT_FALSE(r.is_null());
  EXPECT_EQ(r["replay"]["replayed"], true) << r["replay"];
  EXPECT_EQ(r["replay"]["policy_version"], "2026.11-1");
  EXPECT_EQ(r["replay"]["same_version"], true);
  EXPECT_EQ(r["replay"]["decision"], "MANUAL_REVIEW");
  EXPECT_EQ(r["replay"]["reason_codes"], r["decision"]["reason_codes"]);
  EXPECT_EQ(r["replay"]["decision_matches"], true);
  EXPECT_EQ(r["replay"]["reason_codes_match"], true);
  EXPECT_EQ(r["replay"]["band_matches"], true);

  nlohmann::json o = Explain(kO);
  ASSERT_FALSE(o.is_null());
  EXPECT_EQ(o["decision"]["policy_version"], "2026.10-2");
  EXPECT_EQ(o["replay"]["same_version"], false);
  EXPECT_EQ(o["replay"]["decision"], "APPROVED");
  EXPECT_EQ(o["replay"]["decision_matches"], false);
  EXPECT_NE(o["replay"]["note"].get<std::string>().find("another policy version"),
            std::string::npos)
      << o["replay"];
  // A code the configured policy does not know keeps its place, without a text.
  EXPECT_EQ(o["decision"]["reasons"][0]["code"], "OLD_SCORE_FLOOR");
  EXPECT_TRUE(o["decision"]["reasons"][0]["text"].is_null());
}

TEST_F(ExplainIntegration, APendingRequestIsExplainedAsUndecided) {
  nlohmann::json p = Explain(kP);
  nlohmann::json pg = Stored(kP);
  ASSERT_FALSE(p.is_null());
  EXPECT_EQ(p["decision"]["decided"], false);
  EXPECT_TRUE(p["decision"]["decision"].is_null());
  EXPECT_TRUE(p["risk_api"].is_null());
  EXPECT_EQ(p["request"]["status"], "PENDING");
  for (const char* key : {"amount_cents", "term_months", "purpose", "channel",
                          "declared_income_cents", "created_at"}) {
    EXPECT_EQ(p["request"][key], pg[key]) << key;
  }
  EXPECT_TRUE(p["request"]["declared_income_cents"].is_null());
  EXPECT_EQ(p["replay"]["replayed"], false);
  EXPECT_EQ(p["replay"]["not_replayable"], "no_decision");
  EXPECT_NE(p["summary"]["text"].get<std::string>().find("ainda sem decisão"), std::string::npos);

  CommandResult text = harness_->Lastro(
      {"decision", "explain", "--request", std::to_string(kP), "--format", "text"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("undecided"), std::string::npos) << text.out;
}

TEST_F(ExplainIntegration, AnUnknownRequestIsNotFoundAndBadArgumentsAreRefused) {
  CommandResult unknown = harness_->Lastro({"decision", "explain", "--request", "99999999"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("credit request 99999999 not found in the lake"), std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("run lastro batch run for its day"), std::string::npos) << unknown.err;
  EXPECT_EQ(unknown.out, "");

  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"decision", "explain"},
           {"decision", "explain", "--request", "abc"},
           {"decision", "explain", "--request", "0"},
           {"decision", "explain", "--request", "1", "--format", "xml"}}) {
    CommandResult bad = harness_->Lastro(args);
    EXPECT_EQ(bad.exit_code, 2) << args.back() << ": " << bad.err;
    EXPECT_EQ(bad.out, "");
  }

  CommandResult text = harness_->Lastro(
      {"decision", "explain", "--request", std::to_string(kR), "--format", "text"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Decisão do pedido de crédito 900002: em análise manual"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("ADVERSE_HISTORY_OVER_10K"), std::string::npos);
  EXPECT_EQ(text.out.find(kCpf), std::string::npos);
}

}  // namespace
}  // namespace lastro::testing
