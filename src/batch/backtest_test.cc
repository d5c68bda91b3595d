#include "batch/backtest.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

namespace lastro::batch {
namespace {

namespace fs = std::filesystem;
using decide::Policy;

const std::string kDefaultPolicy = std::string(LASTRO_SOURCE_DIR) + "/config/policy.toml";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Policy MustParse(const std::string& text) {
  auto policy = Policy::Parse(text, "candidate.toml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return std::move(policy).value();
}

Policy DefaultPolicy() { return MustParse(ReadFile(kDefaultPolicy)); }

// config/policy.toml under a new version with `rules` appended (evaluated last).
Policy DefaultPolicyPlus(const std::string& rules) {
  std::string text = ReadFile(kDefaultPolicy);
  const std::string version = "version = \"2026.11-1\"";
  size_t at = text.find(version);
  EXPECT_NE(at, std::string::npos);
  text.replace(at, version.size(), "version = \"2026.12-1\"");
  return MustParse(text + "\n" + rules);
}

// config/policy.toml with `from` replaced by `to` (which must occur exactly once).
Policy EditedDefaultPolicy(const std::string& from, const std::string& to) {
  std::string text = ReadFile(kDefaultPolicy);
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from;
  text.replace(at, from.size(), to);
  return MustParse(text);
}

// The baseline of src/decide/testdata/default_policy_cases.txt: a healthy repeat
// customer, approved by the default policy with DEFAULT_APPROVED.
BacktestRow Row(int64_t id) {
  BacktestRow row;
  row.request_id = id;
  row.request_date = "2026-11-20";
  row.channel = "app_ios";
  row.purpose = "personal";
  row.amount_cents = 1'000'000;
  row.term_months = 24;
  row.declared_income_cents = 800'000;
  row.risk_score = 720;
  row.probability_of_default = 0.03;
  row.provider_reason_codes = {"NO_ADVERSE_FACTORS"};
  row.first_time_customer = false;
  return row;
}

// Sets the actual decision to what `policy` decides, as the stream would have.
BacktestRow DecidedBy(const Policy& policy, BacktestRow row) {
  decide::PolicyInput in = PolicyInputOf(row);
  // The stream never has a bureau score, whatever the lake later learned.
  in.bureau_score = std::nullopt;
  decide::PolicyDecision d = policy.Decide(in);
  row.actual_decision = std::string(decide::OutcomeName(d.outcome));
  row.actual_reason_codes = d.reason_codes;
  return row;
}

// A varied history decided by the default policy: every rule of it fires somewhere.
std::vector<BacktestRow> History(const Policy& policy, int n) {
  static const char* kChannels[] = {"app_ios", "app_android", "web", "partner", "call_center"};
  static const char* kPurposes[] = {
      "personal",  "debt_consolidation", "vehicle", "home_improvement",
      "education", "business",           "medical", "other"};
  static const int kTerms[] = {6, 12, 24, 48, 61, 97, 120};
  std::vector<BacktestRow> rows;
  for (int i = 0; i < n; ++i) {
    BacktestRow row = Row(1000 + i);
    row.request_date = "2026-11-0" + std::to_string(1 + i % 3);
    row.channel = kChannels[i % 5];
    row.purpose = kPurposes[(i / 5) % 8];
    row.risk_score = (i * 37) % 1001;
    row.probability_of_default = ((i * 13) % 40) / 100.0;
    row.amount_cents = 100'000 + (i * 7919 % 40) * 100'000;
    row.term_months = kTerms[i % 7];
    if (i % 11 == 0) row.declared_income_cents = std::nullopt;
    row.first_time_customer = i % 3 == 0;
    if (i % 4 == 0) row.provider_reason_codes = {"ADVERSE_CREDIT_HISTORY", "LONG_TERM"};
    if (i % 5 != 0) row.bureau_score = (i * 53) % 1001;
    rows.push_back(DecidedBy(policy, row));
  }
  return rows;
}

std::set<int64_t> ChangedIds(const BacktestReport& report) {
  std::set<int64_t> ids;
  for (const ChangedRequest& c : report.changed_sample) ids.insert(c.request_id);
  return ids;
}

std::vector<std::tuple<std::string, std::string, std::string, int64_t>> Drivers(
    const std::vector<RuleDriver>& drivers) {
  std::vector<std::tuple<std::string, std::string, std::string, int64_t>> out;
  for (const RuleDriver& d : drivers)
    out.emplace_back(d.rule_id, d.change, d.direction, d.requests);
  return out;
}

TEST(Backtest, TheDecidingPolicyChangesNothing) {
  Policy policy = DefaultPolicy();
  std::vector<BacktestRow> rows = History(policy, 600);
  BacktestReport report = RunBacktest(policy, rows);
  EXPECT_EQ(report.candidate_version, policy.version());
  EXPECT_EQ(report.rows, 600);
  EXPECT_EQ(report.replayed, 600);
  EXPECT_EQ(report.not_replayable, 0);
  EXPECT_EQ(report.totals.changed, 0);
  EXPECT_TRUE(report.totals.drivers.empty());
  EXPECT_TRUE(report.changed_sample.empty());
  EXPECT_EQ(report.first_date, "2026-11-01");
  EXPECT_EQ(report.last_date, "2026-11-03");
  // The history exercises every outcome.
  EXPECT_GT(report.totals.actual.approved, 0);
  EXPECT_GT(report.totals.actual.manual_review, 0);
  EXPECT_GT(report.totals.actual.rejected, 0);
  int64_t in_groups = 0;
  for (const BacktestGroup& g : report.groups) {
    SCOPED_TRACE(g.request_date + " " + g.channel + " " + g.band);
    in_groups += g.requests;
    EXPECT_EQ(g.changed, 0);
    EXPECT_EQ(g.candidate.approved, g.actual.approved);
    EXPECT_EQ(g.candidate.manual_review, g.actual.manual_review);
    EXPECT_EQ(g.candidate.rejected, g.actual.rejected);
    EXPECT_EQ(g.delta_pp.approved, 0.0);
    EXPECT_EQ(g.delta_pp.manual_review, 0.0);
    EXPECT_EQ(g.delta_pp.rejected, 0.0);
  }
  EXPECT_EQ(in_groups, 600);
  // 3 days x 5 channels x 5 bands at most, sorted by key.
  EXPECT_GT(report.groups.size(), 15u);
  EXPECT_LE(report.groups.size(), 75u);
  EXPECT_TRUE(std::is_sorted(report.groups.begin(), report.groups.end(),
                             [](const BacktestGroup& a, const BacktestGroup& b) {
                               return std::tie(a.request_date, a.channel, a.band) <
                                      std::tie(b.request_date, b.channel, b.band);
                             }));
}

TEST(Backtest, AHigherScoreFloorRejectsExactlyTheRowsBetweenTheFloors) {
  Policy current = DefaultPolicy();
  Policy candidate = EditedDefaultPolicy("score_lt = 350", "score_lt = 400");
  std::vector<BacktestRow> rows;
  auto add = [&](int64_t id, int32_t score, double pd = 0.03) {
    BacktestRow row = Row(id);
    row.risk_score = score;
    row.probability_of_default = pd;
    rows.push_back(DecidedBy(current, row));
  };
  add(1, 349);        // rejected by both floors
  add(2, 350);        // BAND_D review -> rejected
  add(3, 399);        // BAND_D review -> rejected
  add(4, 400);        // stays in review
  add(5, 399, 0.30);  // already rejected by PD_ABOVE_MAX
  add(6, 720);        // approved either way
  BacktestReport report = RunBacktest(candidate, rows);
  EXPECT_EQ(report.totals.changed, 2);
  EXPECT_EQ(ChangedIds(report), (std::set<int64_t>{2, 3}));
  EXPECT_EQ(Drivers(report.totals.drivers),
            (std::vector<std::tuple<std::string, std::string, std::string, int64_t>>{
                {"SCORE_BELOW_MIN", "added", "MANUAL_REVIEW->REJECTED", 2}}));
  const ChangedRequest& c = report.changed_sample[0];
  EXPECT_EQ(c.request_id, 2);
  EXPECT_EQ(c.band, "D");
  EXPECT_EQ(c.actual_decision, "MANUAL_REVIEW");
  EXPECT_EQ(c.actual_reason_codes, std::vector<std::string>{"BAND_D"});
  EXPECT_EQ(c.candidate_decision, "REJECTED");
  EXPECT_EQ(c.candidate_reason_codes, (std::vector<std::string>{"SCORE_BELOW_MIN", "BAND_D"}));
  // Of 6 requests, two reviews became rejections.
  EXPECT_EQ(report.totals.actual.manual_review, 3);
  EXPECT_EQ(report.totals.candidate.manual_review, 1);
  EXPECT_NEAR(report.totals.delta_pp.manual_review, -100.0 * 2 / 6, 1e-9);
  EXPECT_NEAR(report.totals.delta_pp.rejected, 100.0 * 2 / 6, 1e-9);
  EXPECT_EQ(report.totals.delta_pp.approved, 0.0);
}

TEST(Backtest, ANewBureauRuleChangesOnlyRowsWithALowKnownBureauScore) {
  Policy current = DefaultPolicy();
  Policy candidate = DefaultPolicyPlus(
      "[[rule]]\nid = \"BUREAU_BELOW_300\"\noutcome = \"REJECTED\"\n"
      "when = { bureau_score_lt = 300 }\n");
  EXPECT_EQ(candidate.version(), "2026.12-1");
  std::vector<BacktestRow> rows;
  auto add = [&](int64_t id, std::optional<int32_t> bureau, auto edit) {
    BacktestRow row = Row(id);
    edit(row);
    row = DecidedBy(current, row);
    row.bureau_score = bureau;  // learned by the batch after the decision
    rows.push_back(row);
  };
  auto same = [](BacktestRow&) {};
  add(10, 299, same);                                                   // approved -> rejected
  add(11, 300, same);                                                   // at the threshold
  add(12, std::nullopt, same);                                          // unknown: no change
  add(13, 100, [](BacktestRow& r) { r.risk_score = 100; });             // already rejected
  add(14, 0, [](BacktestRow& r) { r.declared_income_cents.reset(); });  // review -> rejected
  add(15, 1000, same);
  BacktestReport report = RunBacktest(candidate, rows);
  EXPECT_EQ(ChangedIds(report), (std::set<int64_t>{10, 14}));
  std::set<std::tuple<std::string, std::string, std::string, int64_t>> drivers;
  for (const auto& d : Drivers(report.totals.drivers)) drivers.insert(d);
  EXPECT_EQ(drivers, (std::set<std::tuple<std::string, std::string, std::string, int64_t>>{
                         {"BUREAU_BELOW_300", "added", "APPROVED->REJECTED", 1},
                         {"BUREAU_BELOW_300", "added", "MANUAL_REVIEW->REJECTED", 1},
                         {"DEFAULT_APPROVED", "removed", "APPROVED->REJECTED", 1}}));
  // Row 14 keeps INCOME_MISSING: a reason in both is no driver.
  for (const ChangedRequest& c : report.changed_sample) {
    if (c.request_id != 14) continue;
    EXPECT_EQ(c.actual_reason_codes, std::vector<std::string>{"INCOME_MISSING"});
    EXPECT_EQ(c.candidate_reason_codes,
              (std::vector<std::string>{"INCOME_MISSING", "BUREAU_BELOW_300"}));
  }
  // Per group too: all rows share one date and channel; 13 is band E, the rest B or A.
  for (const BacktestGroup& g : report.groups) {
    if (g.band == "B") {
      EXPECT_EQ(g.changed, 2);
      EXPECT_EQ(g.drivers.size(), 3u);
    } else {
      EXPECT_EQ(g.changed, 0) << g.band;
      EXPECT_TRUE(g.drivers.empty()) << g.band;
    }
  }
}

TEST(Backtest, NotReplayableRowsAreCountedByReasonAndLeftOut) {
  Policy policy = DefaultPolicy();
  std::vector<BacktestRow> rows;
  rows.push_back(DecidedBy(policy, Row(1)));  // the only replayable row
  BacktestRow pending = Row(2);
  pending.risk_score.reset();
  pending.probability_of_default.reset();
  rows.push_back(pending);
  BacktestRow failed = Row(3);
  failed.risk_score.reset();
  failed.actual_decision = "FAILED";
  failed.actual_reason_codes = {"PROVIDER_UNAVAILABLE"};
  rows.push_back(failed);
  BacktestRow review = failed;  // stream.on_provider_failure = MANUAL_REVIEW
  review.request_id = 4;
  review.actual_decision = "MANUAL_REVIEW";
  rows.push_back(review);
  BacktestRow bad_input = review;  // the provider refused the input (4xx)
  bad_input.request_id = 5;
  bad_input.actual_reason_codes = {"PROVIDER_REJECTED_INPUT"};
  rows.push_back(bad_input);
  BacktestRow no_score = DecidedBy(policy, Row(6));
  no_score.risk_score.reset();
  rows.push_back(no_score);
  BacktestRow no_pd = DecidedBy(policy, Row(7));
  no_pd.probability_of_default.reset();
  rows.push_back(no_pd);
  BacktestRow old = DecidedBy(policy, Row(8));  // decided before migration 0002
  old.first_time_customer.reset();
  rows.push_back(old);
  BacktestRow odd = DecidedBy(policy, Row(9));
  odd.actual_decision = "PENDING";
  rows.push_back(odd);

  BacktestReport report =
      RunBacktest(EditedDefaultPolicy("score_lt = 350", "score_lt = 800"), rows);
  EXPECT_EQ(report.rows, 9);
  EXPECT_EQ(report.replayed, 1);
  EXPECT_EQ(report.not_replayable, 8);
  EXPECT_EQ(report.not_replayable_by_reason,
            (std::map<std::string, int64_t>{{"inputs_not_recorded", 1},
                                            {"no_decision", 1},
                                            {"no_risk_score", 2},
                                            {"provider_failure", 3},
                                            {"unknown_decision", 1}}));
  ASSERT_EQ(report.groups.size(), 1u);
  EXPECT_EQ(report.groups[0].requests, 1);
  EXPECT_EQ(ChangedIds(report), std::set<int64_t>{1});
}

TEST(Backtest, TheChangedSampleIsCappedButTheCountIsNot) {
  Policy current = DefaultPolicy();
  std::vector<BacktestRow> rows;
  for (int i = 0; i < 1500; ++i) rows.push_back(DecidedBy(current, Row(i + 1)));
  BacktestReport report =
      RunBacktest(EditedDefaultPolicy("score_lt = 350", "score_lt = 900"), rows);
  EXPECT_EQ(report.totals.changed, 1500);
  ASSERT_EQ(report.changed_sample.size(), kChangedSampleLimit);
  EXPECT_EQ(report.changed_sample.front().request_id, 1);
  EXPECT_EQ(report.changed_sample.back().request_id, 1000);
  EXPECT_EQ(report.totals.candidate_rates.rejected, 1.0);
  EXPECT_EQ(report.totals.actual_rates.approved, 1.0);
  EXPECT_EQ(report.totals.delta_pp.approved, -100.0);
}

TEST(Backtest, EmptyInputGivesAnEmptyReportInEveryFormat) {
  BacktestReport report = RunBacktest(DefaultPolicy(), {});
  EXPECT_EQ(report.replayed, 0);
  EXPECT_TRUE(report.groups.empty());
  EXPECT_EQ(report.totals.actual_rates.approved, 0.0);
  EXPECT_NE(FormatTable(report).find("Nothing to compare"), std::string::npos);
  std::string csv = FormatCsv(report);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1);
  auto json = nlohmann::json::parse(FormatJson(report));
  EXPECT_TRUE(json["first_date"].is_null());
  EXPECT_TRUE(json["groups"].empty());
}

BacktestReport SmallChangedReport() {
  Policy current = DefaultPolicy();
  std::vector<BacktestRow> rows = History(current, 300);
  return RunBacktest(EditedDefaultPolicy("score_lt = 350", "score_lt = 400"), rows);
}

TEST(Backtest, CsvHasAHeaderAndOneLinePerGroup) {
  BacktestReport report = SmallChangedReport();
  ASSERT_GT(report.totals.changed, 0);
  std::istringstream csv(FormatCsv(report));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), report.groups.size() + 1);
  EXPECT_EQ(lines[0],
            "request_date,channel,band,requests,"
            "actual_approved,actual_manual_review,actual_rejected,"
            "candidate_approved,candidate_manual_review,candidate_rejected,"
            "actual_approval_rate,candidate_approval_rate,approval_delta_pp,"
            "actual_manual_review_rate,candidate_manual_review_rate,manual_review_delta_pp,"
            "actual_rejection_rate,candidate_rejection_rate,rejection_delta_pp,changed");
  for (const std::string& line : lines) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 19) << line;
  }
  const BacktestGroup& g = report.groups[0];
  EXPECT_EQ(
      lines[1].rfind(fmt::format("{},{},{},{},", g.request_date, g.channel, g.band, g.requests), 0),
      0u)
      << lines[1];
}

TEST(Backtest, JsonCarriesTotalsGroupsDriversAndTheChangedSample) {
  BacktestReport report = SmallChangedReport();
  auto json = nlohmann::json::parse(FormatJson(report));
  EXPECT_EQ(json["candidate_version"], "2026.11-1");
  EXPECT_EQ(json["rows"], 300);
  EXPECT_EQ(json["replayed"], 300);
  EXPECT_EQ(json["not_replayable"]["total"], 0);
  EXPECT_EQ(json["totals"]["requests"], 300);
  EXPECT_EQ(json["totals"]["changed"], report.totals.changed);
  EXPECT_EQ(json["totals"]["actual"]["approved"], report.totals.actual.approved);
  EXPECT_DOUBLE_EQ(json["totals"]["candidate"]["rejection_rate"].get<double>(),
                   report.totals.candidate_rates.rejected);
  EXPECT_DOUBLE_EQ(json["totals"]["delta_pp"]["rejected"].get<double>(),
                   report.totals.delta_pp.rejected);
  ASSERT_EQ(json["groups"].size(), report.groups.size());
  for (const auto& g : json["groups"]) {
    for (const char* key : {"request_date", "channel", "band", "requests", "actual", "candidate",
                            "delta_pp", "changed", "drivers"}) {
      EXPECT_TRUE(g.contains(key)) << key;
    }
  }
  ASSERT_FALSE(json["drivers"].empty());
  EXPECT_EQ(json["drivers"][0]["rule_id"], "SCORE_BELOW_MIN");
  EXPECT_EQ(json["drivers"][0]["change"], "added");
  EXPECT_EQ(json["drivers"][0]["direction"], "MANUAL_REVIEW->REJECTED");
  EXPECT_EQ(json["changed"]["total"], report.totals.changed);
  EXPECT_EQ(json["changed"]["sample_limit"], kChangedSampleLimit);
  ASSERT_EQ(json["changed"]["sample"].size(), report.changed_sample.size());
  const auto& first = json["changed"]["sample"][0];
  EXPECT_EQ(first["request_id"], report.changed_sample[0].request_id);
  EXPECT_EQ(first["actual"]["decision"], "MANUAL_REVIEW");
  EXPECT_EQ(first["candidate"]["decision"], "REJECTED");
  EXPECT_TRUE(first["candidate"]["reason_codes"].is_array());
}

TEST(Backtest, TableShowsTotalsFirstInAlignedColumnsThenTheDrivers) {
  BacktestReport report = SmallChangedReport();
  std::string table = FormatTable(report);
  std::istringstream in(table);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto header = std::find_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return l.rfind("date ", 0) == 0; });
  ASSERT_NE(header, lines.end()) << table;
  ASSERT_LT(header + 1 + report.groups.size(), lines.end());
  EXPECT_EQ((header + 1)->rfind("TOTAL ", 0), 0u) << *(header + 1);
  EXPECT_EQ((header + 2)->rfind(report.groups[0].request_date, 0), 0u);
  // Every line of the table has the same width: the last column is right-aligned.
  for (auto it = header; it != header + 2 + report.groups.size(); ++it) {
    EXPECT_EQ(it->size(), header->size()) << *it;
  }
  EXPECT_NE(table.find("SCORE_BELOW_MIN  added"), std::string::npos) << table;
  EXPECT_NE(table.find(fmt::format("{} changed outcome", report.totals.changed)),
            std::string::npos);
}

TEST(Backtest, ReportFormatsParseByName) {
  EXPECT_EQ(*ParseReportFormat("table"), ReportFormat::kTable);
  EXPECT_EQ(*ParseReportFormat("csv"), ReportFormat::kCsv);
  EXPECT_EQ(*ParseReportFormat("json"), ReportFormat::kJson);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseReportFormat("JSON").status()));
}

// --- Reading the lake (a real DuckDB engine and real Parquet files, no database).

class BacktestLake : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("lastro_backtest_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes one partition file of the silver table with `select` as its rows.
  void WritePartition(const std::string& date, const std::string& select) {
    fs::path dir = root_ / "silver" / "credit_requests" / ("request_date=" + date);
    fs::create_directories(dir);
    auto engine = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(engine.ok()) << engine.status();
    Status s = (*engine)->Execute(fmt::format("COPY ({}) TO {} (FORMAT parquet)", select,
                                              lake::SqlString((dir / "part-0.parquet").string())));
    ASSERT_TRUE(s.ok()) << s;
  }

  fs::path root_;
};

constexpr char kSilverRow[] =
    "SELECT {id}::BIGINT AS request_id, 7::BIGINT AS customer_id, 'ab12' AS customer_token, "
    "{amount}::BIGINT AS amount_cents, 24::INTEGER AS term_months, 'personal' AS purpose, "
    "'web' AS channel, {income}::BIGINT AS declared_income_cents, '{decision}' AS status, "
    "2::INTEGER AS version, '{decision}' AS decision, {score}::INTEGER AS risk_score, 'B' AS "
    "risk_band, 0.03::DOUBLE AS probability_of_default, {reasons}::VARCHAR[] AS reason_codes, "
    "{provider}::VARCHAR[] AS provider_reason_codes, {first}::BOOLEAN AS first_time_customer, "
    "{bureau}::INTEGER AS bureau_score, 'r1' AS run_id";

std::string SilverRow(int id, const std::string& decision, const std::string& score,
                      const std::string& reasons, const std::string& provider,
                      const std::string& first, const std::string& bureau,
                      const std::string& income = "800000") {
  return fmt::format(fmt::runtime(kSilverRow), fmt::arg("id", id),
                     fmt::arg("amount", 1'000'000 + id), fmt::arg("income", income),
                     fmt::arg("decision", decision), fmt::arg("score", score),
                     fmt::arg("reasons", reasons), fmt::arg("provider", provider),
                     fmt::arg("first", first), fmt::arg("bureau", bureau));
}

TEST_F(BacktestLake, ReadsTheDaysInRangeWithTheirInputs) {
  WritePartition("2026-11-01", SilverRow(1, "APPROVED", "720", "['DEFAULT_APPROVED']",
                                         "['NO_ADVERSE_FACTORS']", "false", "640"));
  WritePartition(
      "2026-11-02",
      SilverRow(3, "MANUAL_REVIEW", "420",
                "['INCOME_MISSING', 'BAND_D', 'ADVERSE_HISTORY_OVER_10K']",
                "['ADVERSE_CREDIT_HISTORY', 'LONG_TERM']", "true", "NULL", "NULL") +
          " UNION ALL " +
          SilverRow(2, "MANUAL_REVIEW", "NULL", "['PROVIDER_UNAVAILABLE']", "[]", "true", "NULL"));
  WritePartition("2026-11-03", SilverRow(4, "APPROVED", "720", "['DEFAULT_APPROVED']",
                                         "['NO_ADVERSE_FACTORS']", "false", "640"));
  auto rows = LoadBacktestRows(root_.string(), "2026-11-01", "2026-11-02");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  const BacktestRow& a = (*rows)[0];
  EXPECT_EQ(a.request_id, 1);
  EXPECT_EQ(a.request_date, "2026-11-01");
  EXPECT_EQ(a.channel, "web");
  EXPECT_EQ(a.purpose, "personal");
  EXPECT_EQ(a.amount_cents, 1'000'001);
  EXPECT_EQ(a.term_months, 24);
  EXPECT_EQ(a.declared_income_cents, 800'000);
  EXPECT_EQ(a.risk_score, 720);
  EXPECT_EQ(a.probability_of_default, 0.03);
  EXPECT_EQ(a.provider_reason_codes, std::vector<std::string>{"NO_ADVERSE_FACTORS"});
  EXPECT_EQ(a.first_time_customer, std::optional<bool>(false));
  EXPECT_EQ(a.bureau_score, 640);
  EXPECT_EQ(a.actual_decision, "APPROVED");
  EXPECT_EQ(a.actual_reason_codes, std::vector<std::string>{"DEFAULT_APPROVED"});
  // Within a day, by request id.
  const BacktestRow& b = (*rows)[1];
  EXPECT_EQ(b.request_id, 2);
  EXPECT_EQ(b.request_date, "2026-11-02");
  EXPECT_FALSE(b.risk_score.has_value());
  EXPECT_TRUE(b.provider_reason_codes.empty());
  const BacktestRow& c = (*rows)[2];
  EXPECT_EQ(c.request_id, 3);
  EXPECT_FALSE(c.declared_income_cents.has_value());
  EXPECT_FALSE(c.bureau_score.has_value());
  EXPECT_EQ(c.first_time_customer, std::optional<bool>(true));
  EXPECT_EQ(c.provider_reason_codes,
            (std::vector<std::string>{"ADVERSE_CREDIT_HISTORY", "LONG_TERM"}));
  EXPECT_EQ(c.actual_reason_codes,
            (std::vector<std::string>{"INCOME_MISSING", "BAND_D", "ADVERSE_HISTORY_OVER_10K"}));

  // The rows replay through the deciding policy without change.
  BacktestReport report = RunBacktest(DefaultPolicy(), *rows);
  EXPECT_EQ(report.replayed, 2);
  EXPECT_EQ(report.not_replayable_by_reason.at("provider_failure"), 1);
  EXPECT_EQ(report.totals.changed, 0);
}

// Decisions written before migration 0002 have no first-time flag: they are read,
// then counted as not replayable.
TEST_F(BacktestLake, ADecisionWithoutRecordedInputsIsReadAndNotReplayed) {
  WritePartition("2026-10-31",
                 SilverRow(9, "APPROVED", "720", "['DEFAULT_APPROVED']", "[]", "NULL", "NULL") +
                     " UNION ALL " +
                     SilverRow(10, "APPROVED", "720", "['DEFAULT_APPROVED']",
                               "['NO_ADVERSE_FACTORS']", "false", "640"));
  auto rows = LoadBacktestRows(root_.string(), "2026-10-01", "2026-10-31");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_FALSE((*rows)[0].first_time_customer.has_value());
  BacktestReport report = RunBacktest(DefaultPolicy(), *rows);
  EXPECT_EQ(report.replayed, 1);
  EXPECT_EQ(report.not_replayable_by_reason,
            (std::map<std::string, int64_t>{{"inputs_not_recorded", 1}}));
}

TEST_F(BacktestLake, NoSilverTableIsAFailedPrecondition) {
  auto rows = LoadBacktestRows(root_.string(), "2026-11-01", "2026-11-02");
  ASSERT_TRUE(absl::IsFailedPrecondition(rows.status())) << rows.status();
  EXPECT_NE(rows.status().message().find("no silver table"), std::string::npos);
}

TEST_F(BacktestLake, AnEmptyRangeReadsNoRows) {
  WritePartition("2026-11-01", SilverRow(1, "APPROVED", "720", "['DEFAULT_APPROVED']",
                                         "['NO_ADVERSE_FACTORS']", "false", "640"));
  auto rows = LoadBacktestRows(root_.string(), "2026-12-01", "2026-12-31");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->empty());
}

TEST_F(BacktestLake, MalformedDatesAreInvalidArguments) {
  for (auto [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"2026-11-1", "2026-11-02"},
                                                        {"2026-11-01", "2026/11/02"},
                                                        {"2026-02-30", "2026-03-01"},
                                                        {"2026-13-01", "2026-13-02"},
                                                        {"2026-11-02", "2026-11-01"}}) {
    auto rows = LoadBacktestRows(root_.string(), from, to);
    EXPECT_TRUE(absl::IsInvalidArgument(rows.status())) << from << " " << to << rows.status();
  }
}

TEST_F(BacktestLake, TheJobWritesTheReportFile) {
  WritePartition("2026-11-01", SilverRow(1, "APPROVED", "720", "['DEFAULT_APPROVED']",
                                         "['NO_ADVERSE_FACTORS']", "false", "640"));
  BacktestJobOptions options;
  options.rules_file = kDefaultPolicy;
  options.lake_dir = root_.string();
  options.engine = {.memory_limit = "256MB", .threads = 1};
  options.from = options.to = "2026-11-01";
  options.format = ReportFormat::kCsv;
  options.output = (root_ / "report.csv").string();
  ASSERT_TRUE(RunBacktestJob(options).ok());
  std::string csv = ReadFile(options.output);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << csv;
  EXPECT_NE(csv.find("\n2026-11-01,web,B,1,"), std::string::npos) << csv;

  options.rules_file = (root_ / "missing.toml").string();
  EXPECT_TRUE(absl::IsNotFound(RunBacktestJob(options)));
}

}  // namespace
}  // namespace lastro::batch
