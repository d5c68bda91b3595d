#include "batch/quality.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "lake/engine.h"

namespace lastro::batch {
namespace {

const std::string kSourceDir = LASTRO_SOURCE_DIR;
const std::string kTestData = kSourceDir + "/src/batch/testdata/quality";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<lake::Engine> OpenEngine() {
  auto engine = lake::Engine::Open({.memory_limit = "512MB", .threads = 2});
  EXPECT_TRUE(engine.ok()) << engine.status();
  return std::move(*engine);
}

// candidate_requests (good_rows requests of 2026-11-27), candidate_customers and
// candidate_status_history.
Status LoadCandidates(lake::Engine& engine, int64_t good_rows) {
  std::string sql = ReadFile(kTestData + "/candidates.sql");
  const std::string kHole = "{good_rows}";
  for (size_t at = sql.find(kHole); at != std::string::npos; at = sql.find(kHole, at)) {
    sql.replace(at, kHole.size(), std::to_string(good_rows));
  }
  return engine.Execute(sql);
}

// An engine holding `rows` good candidates, then `setup` applied (test-level asserts).
std::unique_ptr<lake::Engine> Candidates(int64_t rows, const std::string& setup = "") {
  auto engine = OpenEngine();
  Status s = LoadCandidates(*engine, rows);
  if (s.ok() && !setup.empty()) s = engine->Execute(setup);
  EXPECT_TRUE(s.ok()) << s;
  return engine;
}

QualityInput BatchInput() {
  QualityInput in;
  in.tables["credit_requests"] = {"candidate_requests", "request_id"};
  in.tables["customers"] = {"candidate_customers", "customer_id"};
  in.tables["credit_request_status_history"] = {"candidate_status_history", "id"};
  in.quarantine_relation = "quarantine";
  in.run_id = "run-1";
  in.batch_date = "2026-11-27";
  in.freshness_reference_utc = "2026-11-28 03:00:00";
  in.evaluated_at_utc = "2026-11-28 04:00:00";
  return in;
}

QualityRules Rules(std::string_view toml) {
  auto rules = QualityRules::Parse(toml, "rules");
  EXPECT_TRUE(rules.ok()) << rules.status();
  return rules.ok() ? *rules : QualityRules();
}

int64_t Count(lake::Engine& engine, const std::string& sql) {
  auto value = engine.QueryValue(sql);
  EXPECT_TRUE(value.ok()) << value.status() << "\n" << sql;
  return value.ok() ? std::get<int64_t>(*value) : -1;
}

bool TableExists(lake::Engine& engine, const std::string& name) {
  return Count(engine, "SELECT count(*) FROM duckdb_tables() WHERE table_name = " +
                           lake::SqlString(name)) > 0;
}

// ---- Cases as data: testdata/quality/cases/*.toml ------------------------------------
//
// A case: `setup` SQL run over the good candidates, `rules` (TOML text, named "rules"
// in errors) or `rules_file` (relative to the source tree), optional `good_rows`
// (default 100) and [trailing_counts]; then [expect] with any of:
//   error = "<message prefix>"         evaluation must fail with kInvalidArgument
//   breached, quarantined_rows         report totals
//   [[expect.quarantine]]              the exact quarantine: rule_id, record_key
//                                      ("<NULL>" for NULL), reason; `quarantine = []`
//                                      for none
//   [[expect.result]]                  id plus any of checked, failed, ratio,
//                                      threshold, passed, breached, severity, column,
//                                      message_contains, observed_contains

std::vector<std::string> CaseFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kTestData + "/cases")) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class QualityCase : public testing::TestWithParam<std::string> {};

void CheckResult(const QualityReport& report, const toml::table& want) {
  const std::string id = want["id"].value_or(std::string());
  SCOPED_TRACE("result " + id);
  auto it = std::find_if(report.results.begin(), report.results.end(),
                         [&](const RuleResult& r) { return r.id == id; });
  ASSERT_NE(it, report.results.end());
  const RuleResult& r = *it;
  for (const auto& [key, value] : want) {
    const std::string k(key.str());
    if (k == "id") continue;
    if (k == "checked") {
      EXPECT_EQ(r.checked, value.value<int64_t>());
    } else if (k == "failed") {
      EXPECT_EQ(r.failed, value.value<int64_t>());
    } else if (k == "ratio") {
      EXPECT_NEAR(r.ratio, *value.value<double>(), 1e-9);
    } else if (k == "threshold") {
      EXPECT_NEAR(r.threshold, *value.value<double>(), 1e-12);
    } else if (k == "passed") {
      EXPECT_EQ(r.passed, value.value<bool>()) << r.message;
    } else if (k == "breached") {
      EXPECT_EQ(r.breached, value.value<bool>()) << r.message;
    } else if (k == "severity") {
      EXPECT_EQ(r.severity, value.value<std::string>());
    } else if (k == "column") {
      EXPECT_EQ(r.column, value.value<std::string>());
    } else if (k == "message_contains") {
      EXPECT_NE(r.message.find(*value.value<std::string>()), std::string::npos) << r.message;
    } else if (k == "observed_contains") {
      EXPECT_NE(r.observed.find(*value.value<std::string>()), std::string::npos) << r.observed;
    } else {
      ADD_FAILURE() << "unknown expect.result key " << k;
    }
  }
}

TEST_P(QualityCase, Run) {
  const std::string path = kTestData + "/cases/" + GetParam() + ".toml";
  toml::table c;
  try {
    c = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    FAIL() << path << ": " << err.description();
  }
  auto engine = OpenEngine();
  Status loaded = LoadCandidates(*engine, c["good_rows"].value_or(int64_t{100}));
  ASSERT_TRUE(loaded.ok()) << loaded;
  if (auto setup = c["setup"].value<std::string>()) {
    Status s = engine->Execute(*setup);
    ASSERT_TRUE(s.ok()) << s;
  }
  StatusOr<QualityRules> rules =
      c["rules_file"]
          ? QualityRules::LoadFile(kSourceDir + "/" + *c["rules_file"].value<std::string>())
          : QualityRules::Parse(c["rules"].value_or(std::string()), "rules");
  ASSERT_TRUE(rules.ok()) << rules.status();
  QualityInput input = BatchInput();
  if (const toml::table* counts = c["trailing_counts"].as_table()) {
    for (const auto& [day, rows] : *counts)
      input.trailing_counts[std::string(day.str())] = *rows.value<int64_t>();
  }
  // A misspelt key would silently check nothing.
  for (const auto& [key, value] : c) {
    static const std::set<std::string> kKeys = {"description", "good_rows",       "setup", "rules",
                                                "rules_file",  "trailing_counts", "expect"};
    ASSERT_TRUE(kKeys.count(std::string(key.str()))) << "unknown case key " << key.str();
  }
  ASSERT_TRUE(c["expect"].is_table()) << "a case needs [expect]";
  const toml::table& expect = *c["expect"].as_table();
  for (const auto& [key, value] : expect) {
    static const std::set<std::string> kKeys = {"error", "breached", "quarantined_rows",
                                                "quarantine", "result"};
    ASSERT_TRUE(kKeys.count(std::string(key.str()))) << "unknown expect key " << key.str();
  }
  StatusOr<QualityReport> report = EvaluateQuality(*engine, *rules, input);

  if (auto error = expect["error"].value<std::string>()) {
    ASSERT_FALSE(report.ok()) << "evaluation succeeded";
    EXPECT_TRUE(absl::IsInvalidArgument(report.status())) << report.status();
    EXPECT_EQ(std::string(report.status().message()).rfind(*error, 0), 0u)
        << "message: " << report.status().message() << "\nwanted prefix: " << *error;
    EXPECT_FALSE(TableExists(*engine, "quarantine")) << "a refused evaluation wrote something";
    return;
  }
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->results.size(), rules->rules().size());
  EXPECT_EQ(report->rules_version, rules->version());
  if (auto breached = expect["breached"].value<bool>()) {
    EXPECT_EQ(report->breached(), *breached);
  }
  if (auto rows = expect["quarantined_rows"].value<int64_t>()) {
    EXPECT_EQ(report->quarantined_rows, *rows);
  }
  EXPECT_EQ(Count(*engine, "SELECT count(*) FROM quarantine"), report->quarantined_rows);
  // Whatever the rule, a quarantine row says who, when and where.
  EXPECT_EQ(Count(*engine,
                  "SELECT count(*) FROM quarantine WHERE run_id <> 'run-1' OR severity <> 'error' "
                  "OR batch_date <> DATE '2026-11-27' OR table_name NOT IN ('credit_requests', "
                  "'credit_request_status_history') "
                  "OR quarantined_at <> TIMESTAMP '2026-11-28 04:00:00' OR reason IS NULL "
                  "OR record IS NULL"),
            0);

  if (const toml::array* want = expect["quarantine"].as_array()) {
    std::vector<std::tuple<std::string, std::string, std::string>> wanted, got;
    for (const toml::node& node : *want) {
      const toml::table& q = *node.as_table();
      wanted.emplace_back(q["rule_id"].value_or(std::string()),
                          q["record_key"].value_or(std::string()),
                          q["reason"].value_or(std::string()));
    }
    auto rows =
        engine->Query("SELECT rule_id, coalesce(record_key, '<NULL>'), reason FROM quarantine");
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (size_t i = 0; i < rows->rows(); ++i) {
      got.emplace_back(*rows->Text(i, 0), *rows->Text(i, 1), *rows->Text(i, 2));
    }
    std::sort(wanted.begin(), wanted.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, wanted);
  }
  if (const toml::array* results = expect["result"].as_array()) {
    for (const toml::node& node : *results) CheckResult(*report, *node.as_table());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, QualityCase, testing::ValuesIn(CaseFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---- Behaviour beyond one case ---------------------------------------------------------

constexpr std::string_view kAmountRule = R"(version = "t-1"
[[rule]]
id = "amount_in_range"
table = "credit_requests"
type = "range"
column = "amount_cents"
min = 1
severity = "error"
max_failure_ratio = 0.5
)";

TEST(Quality, QuarantineKeepsTheWholeRowAsJson) {
  auto engine = Candidates(10,
                           "UPDATE candidate_requests SET amount_cents = -500 "
                           "WHERE request_id = 3");
  auto report = EvaluateQuality(*engine, Rules(kAmountRule), BatchInput());
  ASSERT_TRUE(report.ok()) << report.status();
  auto row = engine->Query(
      "SELECT record_key, json_extract(record, '$.amount_cents')::BIGINT, "
      "json_extract_string(record, '$.purpose'), json_array_length(json_extract(record, "
      "'$.reason_codes')), json_extract_string(record, '$.created_at') FROM quarantine");
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_EQ(row->rows(), 1u);
  EXPECT_EQ(row->Text(0, 0), "3");
  EXPECT_EQ(row->Int(0, 1), -500);
  EXPECT_EQ(row->Text(0, 2), "home_improvement");
  EXPECT_EQ(row->Int(0, 3), 1);
  EXPECT_EQ(row->Text(0, 4), "2026-11-27 03:00:03");
  // The candidate rows are only read: the caller decides what to publish.
  EXPECT_EQ(Count(*engine, "SELECT count(*) FROM candidate_requests"), 10);
}

TEST(Quality, ReevaluatingARunReplacesItsQuarantineRows) {
  auto engine = Candidates(10,
                           "UPDATE candidate_requests SET amount_cents = 0 "
                           "WHERE request_id IN (1, 2)");
  QualityRules rules = Rules(kAmountRule);
  QualityInput input = BatchInput();
  ASSERT_TRUE(EvaluateQuality(*engine, rules, input).ok());
  ASSERT_TRUE(EvaluateQuality(*engine, rules, input).ok());
  EXPECT_EQ(Count(*engine, "SELECT count(*) FROM quarantine"), 2);
  input.run_id = "run-2";
  ASSERT_TRUE(EvaluateQuality(*engine, rules, input).ok());
  EXPECT_EQ(Count(*engine, "SELECT count(*) FROM quarantine"), 4);
}

TEST(Quality, AFailureWhileRunningWritesNoQuarantine) {
  auto engine = Candidates(10, "UPDATE candidate_requests SET amount_cents = 0");
  // Binds (so the up-front checks pass) but fails on the data: 'personal' is no integer.
  QualityRules rules = Rules(std::string(kAmountRule) + R"(
[[rule]]
id = "purpose_numeric"
table = "credit_requests"
type = "expression"
expression = "CAST(purpose AS INTEGER) > 0"
severity = "error"
)");
  auto report = EvaluateQuality(*engine, rules, BatchInput());
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(report.status())) << report.status();
  EXPECT_FALSE(TableExists(*engine, "quarantine"));
}

TEST(Quality, InputIsCheckedBeforeAnythingRuns) {
  auto engine = Candidates(10);
  QualityRules rules = Rules(kAmountRule);
  auto with = [&](auto edit) {
    QualityInput input = BatchInput();
    edit(input);
    return EvaluateQuality(*engine, rules, input).status();
  };
  EXPECT_TRUE(absl::IsInvalidArgument(with([](QualityInput& in) { in.run_id.clear(); })));
  EXPECT_TRUE(
      absl::IsInvalidArgument(with([](QualityInput& in) { in.batch_date = "2026-11-31"; })));
  EXPECT_TRUE(
      absl::IsInvalidArgument(with([](QualityInput& in) { in.batch_date = "27/11/2026"; })));
  EXPECT_TRUE(absl::IsInvalidArgument(
      with([](QualityInput& in) { in.tables["credit_requests"].key_column = "id"; })));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      with([](QualityInput& in) { in.tables["credit_requests"].relation = "no_such_table"; })));
  EXPECT_FALSE(TableExists(*engine, "quarantine"));

  QualityRules fresh = Rules(R"(version = "t-1"
[[rule]]
id = "fresh"
table = "credit_requests"
type = "freshness"
column = "created_at"
max_age_hours = 26
severity = "error"
)");
  QualityInput input = BatchInput();
  input.freshness_reference_utc = "";
  EXPECT_TRUE(absl::IsInvalidArgument(EvaluateQuality(*engine, fresh, input).status()));
  input.freshness_reference_utc = "2026-11-28T03:00:00Z";
  EXPECT_TRUE(absl::IsInvalidArgument(EvaluateQuality(*engine, fresh, input).status()));
}

TEST(Quality, NamesFromTheFileAndTheCallerAreQuoted) {
  auto engine = OpenEngine();
  ASSERT_TRUE(engine
                  ->Execute("CREATE SCHEMA s; CREATE TABLE s.\"odd table\" (\"the key\" BIGINT, "
                            "\"Amount \"\"Cents\"\"\" BIGINT); INSERT INTO s.\"odd table\" VALUES "
                            "(1, 10), (2, -1)")
                  .ok());
  QualityRules rules = Rules(R"(version = "t-1"
[[rule]]
id = "odd_in_range"
table = "odd"
type = "range"
column = 'Amount "Cents"'
min = 0
severity = "error"
max_failure_ratio = 1
)");
  QualityInput input = BatchInput();
  input.tables = {{"odd", {"s.odd table", "the key"}}};
  input.quarantine_relation = "s.quarantine";
  auto report = EvaluateQuality(*engine, rules, input);
  ASSERT_TRUE(report.ok()) << report.status();
  auto row = engine->Query("SELECT record_key, reason FROM s.quarantine");
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_EQ(row->rows(), 1u);
  EXPECT_EQ(row->Text(0, 0), "2");
  EXPECT_EQ(row->Text(0, 1), "Amount \"Cents\" = -1 is below min 0");
}

TEST(Quality, ResultsAreWrittenOnePerRuleAndReplacedOnRetry) {
  auto engine = Candidates(10,
                           "UPDATE candidate_requests SET amount_cents = 0 "
                           "WHERE request_id = 1");
  QualityRules rules = Rules(std::string(kAmountRule) + R"(
[[rule]]
id = "daily_volume"
table = "credit_requests"
type = "row_count_anomaly"
date_column = "request_date"
severity = "warn"
)");
  auto report = EvaluateQuality(*engine, rules, BatchInput());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_TRUE(WriteQualityResults(*engine, *report, "quality_results", "run-1", "2026-11-27").ok());
  ASSERT_TRUE(WriteQualityResults(*engine, *report, "quality_results", "run-1", "2026-11-27").ok());
  auto rows = engine->Query(
      "SELECT rule_id, rule_type, severity, table_name, column_name, checked, failed, ratio, "
      "threshold, passed, breached, rules_version, batch_date::VARCHAR, message "
      "FROM quality_results ORDER BY rule_id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->rows(), 2u);
  EXPECT_EQ(rows->Text(0, 0), "amount_in_range");
  EXPECT_EQ(rows->Text(0, 1), "range");
  EXPECT_EQ(rows->Text(0, 2), "error");
  EXPECT_EQ(rows->Text(0, 3), "credit_requests");
  EXPECT_EQ(rows->Text(0, 4), "amount_cents");
  EXPECT_EQ(rows->Int(0, 5), 10);
  EXPECT_EQ(rows->Int(0, 6), 1);
  EXPECT_DOUBLE_EQ(*rows->Double(0, 7), 0.1);
  EXPECT_DOUBLE_EQ(*rows->Double(0, 8), 0.5);
  EXPECT_EQ(rows->Text(0, 9), "false");
  EXPECT_EQ(rows->Text(0, 10), "false");
  EXPECT_EQ(rows->Text(0, 11), "t-1");
  EXPECT_EQ(rows->Text(0, 12), "2026-11-27");
  EXPECT_EQ(rows->Text(1, 0), "daily_volume");
  EXPECT_EQ(rows->Text(1, 9), "true");  // skipped without history
  EXPECT_NE(rows->Text(1, 13)->find("skipped"), std::string::npos);

  EXPECT_TRUE(absl::IsInvalidArgument(
      WriteQualityResults(*engine, *report, "quality_results", "run-1", "2026-13-01")));
  ASSERT_TRUE(engine->Execute("CREATE TABLE narrow (run_id VARCHAR)").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      WriteQualityResults(*engine, *report, "narrow", "run-1", "2026-11-27")));
}

}  // namespace
}  // namespace lastro::batch
