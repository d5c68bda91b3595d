#include "batch/quality_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace lastro::batch {
namespace {

const std::string kSourceDir = LASTRO_SOURCE_DIR;
const std::string kRulesDir = kSourceDir + "/src/batch/testdata/quality/rules";

// Each testdata/quality/rules/*.toml starts with "# expect: ok" or
// "# expect: error <text>", where <text> must follow the file name in the message.
TEST(QualityRules, RulesFilesAreAcceptedOrRefusedAsTheirHeaderSays) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kRulesDir)) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 30u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    std::string header;
    std::getline(in, header);
    auto rules = QualityRules::LoadFile(file.string());
    if (header == "# expect: ok") {
      EXPECT_TRUE(rules.ok()) << rules.status();
      continue;
    }
    const std::string kPrefix = "# expect: error ";
    ASSERT_EQ(header.rfind(kPrefix, 0), 0u) << "bad header: " << header;
    ASSERT_FALSE(rules.ok()) << "accepted a bad file";
    EXPECT_TRUE(absl::IsInvalidArgument(rules.status())) << rules.status();
    std::string want = file.string() + header.substr(kPrefix.size());
    EXPECT_EQ(std::string(rules.status().message()).rfind(want, 0), 0u)
        << "message: " << rules.status().message() << "\nwanted prefix: " << want;
  }
}

TEST(QualityRules, DefaultRulesFileParsesWithEveryRuleTheBatchNeeds) {
  auto rules = QualityRules::LoadFile(kSourceDir + "/config/quality.toml");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_FALSE(rules->version().empty());
  std::vector<std::string> types;
  for (const QualityRule& rule : rules->rules()) {
    types.emplace_back(RuleTypeName(rule.type));
    EXPECT_TRUE(rule.table == "credit_requests" || rule.table == "customers" ||
                rule.table == "credit_request_status_history")
        << rule.id;
    if (rule.severity == Severity::kError && IsRowRule(rule.type)) {
      EXPECT_DOUBLE_EQ(rule.max_failure_ratio, kDefaultMaxFailureRatio) << rule.id;
    }
  }
  for (std::string_view type : {"not_null", "unique", "accepted_values", "range", "relationships",
                                "expression", "freshness", "row_count_anomaly"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), type), types.end()) << type;
  }
  auto find = [&](std::string_view id) -> const QualityRule* {
    for (const QualityRule& rule : rules->rules()) {
      if (rule.id == id) return &rule;
    }
    return nullptr;
  };
  const QualityRule* amount = find("amount_in_range");
  ASSERT_NE(amount, nullptr);
  EXPECT_EQ(amount->min_text, "1");
  EXPECT_EQ(amount->max_text, "100000000");
  const QualityRule* score = find("risk_score_in_range");
  ASSERT_NE(score, nullptr);
  EXPECT_EQ(score->severity, Severity::kWarn);
  EXPECT_EQ(score->max_failure_ratio, 0);
  const QualityRule* cpf = find("cpf_valid");
  ASSERT_NE(cpf, nullptr);
  EXPECT_EQ(cpf->expression, "cpf_valid");
  // The history's statuses are the requests' closed list.
  const QualityRule* status = find("status_accepted");
  const QualityRule* history = find("status_history_to_status_accepted");
  ASSERT_NE(status, nullptr);
  ASSERT_NE(history, nullptr);
  EXPECT_EQ(history->table, "credit_request_status_history");
  EXPECT_EQ(history->values, status->values);
}

TEST(QualityRules, DefaultsApplyWhereTheFileIsSilent) {
  auto rules = QualityRules::Parse(R"(version = "t-1"
[[rule]]
id = "volume"
table = "credit_requests"
type = "row_count_anomaly"
date_column = "request_date"
severity = "warn"

[[rule]]
id = "short_volume"
table = "credit_requests"
type = "row_count_anomaly"
date_column = "request_date"
trailing_days = 2
severity = "warn"

[[rule]]
id = "terms"
table = "credit_requests"
type = "accepted_values"
column = "term_months"
values = [12, 24]
severity = "error"
)",
                                   "inline");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->rules().size(), 3u);
  const QualityRule& volume = rules->rules()[0];
  EXPECT_EQ(volume.trailing_days, 7);
  EXPECT_EQ(volume.min_history_days, 3);
  EXPECT_DOUBLE_EQ(volume.max_deviation_ratio, 0.5);
  EXPECT_EQ(volume.columns, std::vector<std::string>{"request_date"});
  EXPECT_EQ(volume.line, 2);
  EXPECT_EQ(rules->rules()[1].min_history_days, 2);  // never above trailing_days
  const QualityRule& terms = rules->rules()[2];
  EXPECT_TRUE(terms.integer_values);
  EXPECT_EQ(terms.values, (std::vector<std::string>{"12", "24"}));
  EXPECT_DOUBLE_EQ(terms.max_failure_ratio, kDefaultMaxFailureRatio);
  EXPECT_EQ(rules->source(), "inline");
}

TEST(QualityRules, MissingFileIsNotFound) {
  auto rules = QualityRules::LoadFile(kRulesDir + "/no_such_rules.toml");
  EXPECT_TRUE(absl::IsNotFound(rules.status())) << rules.status();
}

TEST(QualityRules, ParseNamesTheSourceInErrors) {
  auto rules = QualityRules::Parse("version = \"v\"\nrule = 3\n", "inline-rules");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message(),
            "inline-rules:2: 'rule' must be an array of tables: write each rule as [[rule]]");
}

}  // namespace
}  // namespace lastro::batch
