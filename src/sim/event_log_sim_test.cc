#include "sim/event_log_sim.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace lastro::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class EventLogSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("event_log_sim_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  EventLogSimOptions Options(const std::string& sub) {
    EventLogSimOptions o;
    o.out_dir = (dir_ / sub).string();
    o.date = "2026-11-20";
    o.days = 3;
    o.customers = 200;
    o.events_per_day = 3000;
    o.files_per_day = 3;
    o.malformed_rate = 0.01;
    o.duplicate_rate = 0.02;
    o.late_rate = 0.02;
    return o;
  }

  // file -> its lines.
  std::map<std::string, std::vector<std::string>> Read(const std::string& sub) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& entry : fs::directory_iterator(dir_ / sub)) {
      std::ifstream in(entry.path());
      std::string line;
      auto& lines = out[entry.path().filename().string()];
      while (std::getline(in, line)) lines.push_back(line);
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(EventLogSimTest, TheSameSeedWritesTheSameBytes) {
  auto a = RunEventLogSim(Options("a"));
  auto b = RunEventLogSim(Options("b"));
  EventLogSimOptions other = Options("c");
  other.seed = 8;
  auto c = RunEventLogSim(other);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status() << b.status() << c.status();
  EXPECT_EQ(Read("a"), Read("b"));
  EXPECT_NE(Read("a"), Read("c"));
  EXPECT_EQ(EventLogTruthJson(*a), EventLogTruthJson(*b));
}

TEST_F(EventLogSimTest, EveryLineIsAGoodEventADuplicateOrAMalformedLine) {
  auto r = RunEventLogSim(Options("a"));
  ASSERT_TRUE(r.ok()) << r.status();
  const auto files = Read("a");
  EXPECT_EQ(files.size(), r->files.size());
  EXPECT_GE(r->files.size(), 9u);  // three days, three files or more each
  EXPECT_TRUE(files.count("events-2026-11-20-000.jsonl"));
  EXPECT_TRUE(files.count("events-2026-11-22-002.jsonl"));

  std::set<std::pair<std::string, int64_t>> bad, dup;
  for (const MalformedLine& m : r->malformed) bad.insert({m.file, m.line});
  for (const DuplicateLine& d : r->duplicates) dup.insert({d.file, d.line});
  std::set<std::string> kinds;
  for (const MalformedLine& m : r->malformed) kinds.insert(m.kind);
  EXPECT_EQ(kinds.size(), 5u);
  std::set<std::string> scopes;
  for (const DuplicateLine& d : r->duplicates) scopes.insert(d.scope);
  EXPECT_EQ(scopes, (std::set<std::string>{"next_file", "same_file"}));

  int64_t lines = 0;
  std::set<std::string> ids;
  std::map<std::string, int64_t> by_date, by_type;
  std::map<std::string, std::string> first_file;  // event_id -> first file seen
  for (const auto& [file, content] : files) {
    for (size_t i = 0; i < content.size(); ++i) {
      ++lines;
      const std::pair<std::string, int64_t> at{file, static_cast<int64_t>(i + 1)};
      if (bad.count(at)) continue;
      json j = json::parse(content[i]);  // every other line is valid JSON
      const std::string id = j.at("event_id");
      if (dup.count(at)) {
        EXPECT_TRUE(ids.count(id))
            << "a duplicate of an event not seen before: " << file << ":" << i + 1;
        continue;
      }
      EXPECT_TRUE(ids.insert(id).second) << "an unexpected repeat: " << file << ":" << i + 1;
      const std::string occurred = j.at("occurred_at");
      EXPECT_EQ(occurred.substr(occurred.size() - 6), "-03:00");
      ++by_date[occurred.substr(0, 10)];
      ++by_type[j.at("event_type")];
      EXPECT_TRUE(j.at("device").at("os").is_string());
      if (j.at("event_type") == "session_start") {
        EXPECT_TRUE(j.at("customer_id").is_null());
      }
      if (j.at("event_type") == "request_submitted") {
        EXPECT_TRUE(j.at("customer_id").is_number_integer());
        EXPECT_GT(j.at("properties").at("amount_cents").get<int64_t>(), 0);
      }
    }
  }
  EXPECT_EQ(lines, r->lines);
  EXPECT_EQ(lines, r->good + static_cast<int64_t>(r->malformed.size() + r->duplicates.size()));
  EXPECT_EQ(static_cast<int64_t>(ids.size()), r->good);
  EXPECT_EQ(by_date, r->good_by_date);

  // A funnel: sessions > simulations > submissions, and some logins fail.
  EXPECT_GT(by_type["session_start"], by_type["loan_simulation"] / 3);
  EXPECT_GT(by_type["loan_simulation"], by_type["request_submitted"]);
  EXPECT_GT(by_type["request_submitted"], 0);
  EXPECT_GT(by_type["document_upload"], 0);
  EXPECT_GT(by_type["login_failure"], 0);
  EXPECT_EQ(by_type["session_start"], by_type["session_end"]);
  EXPECT_NEAR(r->good / 3.0, 3000, 600);  // about --events-per-day
}

TEST_F(EventLogSimTest, LateEventsHappenDaysBeforeTheirFile) {
  auto r = RunEventLogSim(Options("a"));
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->late.empty());
  for (const LateEvent& l : r->late) {
    const std::string file_day = l.file.substr(7, 10);  // events-YYYY-MM-DD-NNN.jsonl
    EXPECT_LT(l.event_date, file_day) << l.event_id;
  }
  // Some fall before the first day: their partitions are older than the files.
  EXPECT_LT(r->good_by_date.begin()->first, "2026-11-20");
}

TEST_F(EventLogSimTest, TheAnswerKeyIsWrittenWhenAsked) {
  EventLogSimOptions o = Options("a");
  o.truth_path = (dir_ / "truth.json").string();
  auto r = RunEventLogSim(o);
  ASSERT_TRUE(r.ok());
  std::ifstream in(o.truth_path);
  json truth = json::parse(in);
  EXPECT_EQ(truth.at("good").get<int64_t>(), r->good);
  EXPECT_EQ(truth.at("malformed").size(), r->malformed.size());
  EXPECT_EQ(truth.at("malformed")[0].at("kind"), "truncated_json");
}

TEST_F(EventLogSimTest, BadOptionsAreRefused) {
  EventLogSimOptions o = Options("a");
  o.date = "2026-02-30";
  EXPECT_TRUE(absl::IsInvalidArgument(RunEventLogSim(o).status()));
  o = Options("a");
  o.days = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(RunEventLogSim(o).status()));
  o = Options("a");
  o.duplicate_rate = 1.5;
  EXPECT_TRUE(absl::IsInvalidArgument(RunEventLogSim(o).status()));
  EXPECT_FALSE(fs::exists(dir_ / "a"));
}

}  // namespace
}  // namespace lastro::sim
