// `lastro sim events` writes a collector's files, `lastro ingest events` loads them,
// DuckDB reads the lake back as an analyst would. The real binary, real files; the
// simulator's answer key (--truth) says what each line is.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "batch/lineage.h"
#include "lake/engine.h"
#include "lake/table_store.h"
#include "testing/statsd_listener.h"
#include "testing/subprocess.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out, err;
  json Json() const { return json::parse(out, nullptr, false); }
};

class EventsIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir(std::string("events_") +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    lake_ = dir_ + "/lake";
    config_ = dir_ + "/lastro.toml";
    WriteConfig(false, "");
    auto e = lake::Engine::Open({.memory_limit = "512MB", .threads = 2});
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
    ASSERT_TRUE(engine_->Execute("SET TimeZone = 'UTC'").ok());
  }

  void WriteConfig(bool statsd, const std::string& extra) {
    std::ofstream(config_) << "[lake]\ndir = \"" << lake_ << "\"\nmemory_limit = \"512MB\"\n"
                           << "[metrics]\nstatsd_enabled = " << (statsd ? "true" : "false") << "\n"
                           << extra;
  }

  Result Lastro(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), LastroBin());
    static int n = 0;
    Result r;
    auto p = Subprocess::Start(args, env, absl::StrCat(dir_, "/cmd-", ++n));
    if (!p.ok()) {
      r.err = std::string(p.status().message());
      return r;
    }
    r.exit_code = (*p)->Wait(5min).value_or(-1);
    r.out = (*p)->Stdout();
    r.err = (*p)->Stderr();
    return r;
  }

  // Writes three days of events with every kind of fault; returns the answer key.
  json Simulate() {
    Result r = Lastro({"sim",
                       "events",
                       "--out",
                       dir_ + "/in",
                       "--date",
                       "2026-11-20",
                       "--days",
                       "3",
                       "--customers",
                       "300",
                       "--events-per-day",
                       "2000",
                       "--seed",
                       "11",
                       "--malformed-rate",
                       "0.01",
                       "--duplicate-rate",
                       "0.02",
                       "--late-rate",
                       "0.02",
                       "--truth",
                       dir_ + "/truth.json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(dir_ + "/truth.json");
    return json::parse(in, nullptr, false);
  }

  Result Ingest(const std::map<std::string, std::string>& env = {}) {
    return Lastro({"ingest", "events", "--path", dir_ + "/in", "--config", config_}, env);
  }

  lake::QueryResult Query(const std::string& sql) {
    std::string views;
    for (const auto& [view, table, glob] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"events", "bronze/app_events", "*/*.parquet"},
             {"refused", "quarantine/app_events", "*/*.parquet"},
             {"ledger", "bronze/app_event_files", "*.parquet"}}) {
      if (fs::exists(lake_ + "/" + table)) {
        absl::StrAppend(&views, "CREATE OR REPLACE VIEW ", view, " AS SELECT * FROM read_parquet(",
                        lake::SqlString(lake_ + "/" + table + "/" + glob),
                        ", hive_partitioning = true);");
      }
    }
    if (!views.empty()) {
      EXPECT_TRUE(engine_->Execute(views).ok());
    }
    auto r = engine_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status() << "\n" << sql;
    return r.ok() ? std::move(*r) : lake::QueryResult();
  }

  int64_t Count(const std::string& sql) { return Query(sql).Int(0, 0).value_or(-1); }

  // Every published file of the three tables with its SHA-256, and each table's version.
  std::map<std::string, std::string> LakeFingerprint() {
    std::map<std::string, std::string> out;
    auto store = lake::TableStore::Open(lake_);
    for (const auto& [zone, table] :
         std::vector<std::pair<std::string, std::string>>{{"bronze", "app_events"},
                                                          {"quarantine", "app_events"},
                                                          {"bronze", "app_event_files"}}) {
      out[zone + "/" + table] = store->CurrentVersion(zone, table);
      auto files = store->Files(zone, table);
      EXPECT_TRUE(files.ok()) << files.status();
      if (!files.ok()) continue;
      for (const lake::DataFile& f : *files) {
        out[zone + "/" + table + "/" + f.path] =
            *batch::Sha256File(store->TablePath(zone, table) / f.path);
      }
    }
    return out;
  }

  // The reason ingest must give for a malformed line of the answer key.
  static std::string ExpectedReason(const json& m) {
    const std::string kind = m.at("kind"), field = m.at("field");
    if (kind == "truncated_json") return "invalid JSON at byte ";  // a prefix
    if (kind == "missing_event_id") return "missing event_id";
    if (kind == "unknown_event_type") return "unknown event_type '" + field + "'";
    if (kind == "bad_timestamp") return field + " is not RFC 3339";
    if (field == "customer_id") return "customer_id is not an integer";
    return field + " is not a positive integer";
  }

  std::string dir_, lake_, config_;
  std::unique_ptr<lake::Engine> engine_;
};

TEST_F(EventsIngestTest, LoadsEachGoodEventOnceQuarantinesEachBadLineAndIsIdempotent) {
  json truth = Simulate();
  ASSERT_TRUE(truth.is_object());
  const int64_t good = truth["good"], lines = truth["lines"];
  const int64_t malformed = truth["malformed"].size(), duplicates = truth["duplicates"].size();
  ASSERT_GT(malformed, 20);
  ASSERT_GT(duplicates, 50);
  ASSERT_GT(truth["late"].size(), 5u);

  Result r = Ingest();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = r.Json();
  EXPECT_EQ(out["read"], lines);
  EXPECT_EQ(out["loaded"], good);
  EXPECT_EQ(out["duplicates"], duplicates);
  EXPECT_EQ(out["quarantined"], malformed);
  EXPECT_EQ(out["files"]["ingested"], truth["files"].size());
  ASSERT_TRUE(fs::exists(out["manifest"].get<std::string>()));

  // Bronze: the simulator's distinct good events per São Paulo day, each id once.
  std::map<std::string, int64_t> by_day;
  auto days = Query("SELECT event_date::VARCHAR, count(*) FROM events GROUP BY 1 ORDER BY 1");
  for (size_t i = 0; i < days.rows(); ++i) by_day[*days.Text(i, 0)] = *days.Int(i, 1);
  using DayCounts = std::map<std::string, int64_t>;
  EXPECT_EQ(by_day, truth["good_by_date"].get<DayCounts>());
  EXPECT_EQ(Count("SELECT count(DISTINCT event_id) - count(*) FROM events"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE occurred_at > received_at"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE event_date <> "
                  "CAST(timezone('America/Sao_Paulo', occurred_at::TIMESTAMPTZ) AS DATE)"),
            0);

  // Late events are in their own, older partitions.
  std::vector<std::string> late_ids;
  std::map<std::string, std::string> late_date;
  for (const json& l : truth["late"]) {
    late_ids.push_back(lake::SqlString(l["event_id"].get<std::string>()));
    late_date[l["event_id"]] = l["event_date"];
  }
  auto late =
      Query(absl::StrCat("SELECT event_id, event_date::VARCHAR, source_file FROM events "
                         "WHERE event_id IN (",
                         absl::StrJoin(late_ids, ","), ")"));
  ASSERT_EQ(late.rows(), late_ids.size());
  for (size_t i = 0; i < late.rows(); ++i) {
    EXPECT_EQ(*late.Text(i, 1), late_date[*late.Text(i, 0)]);
    EXPECT_LT(*late.Text(i, 1), late.Text(i, 2)->substr(7, 10));  // before the file's day
  }

  // Every injected bad line is quarantined with the reason its fault calls for.
  auto refused = Query("SELECT source_file, line_number, reason, raw_line FROM refused");
  ASSERT_EQ(static_cast<int64_t>(refused.rows()), malformed);
  std::map<std::pair<std::string, int64_t>, std::string> reasons;
  for (size_t i = 0; i < refused.rows(); ++i) {
    reasons[{*refused.Text(i, 0), *refused.Int(i, 1)}] = *refused.Text(i, 2);
    EXPECT_FALSE(refused.Text(i, 3)->empty());
  }
  for (const json& m : truth["malformed"]) {
    auto it = reasons.find({m["file"], m["line"].get<int64_t>()});
    ASSERT_NE(it, reasons.end()) << m.dump();
    EXPECT_TRUE(it->second.starts_with(ExpectedReason(m))) << m.dump() << " -> " << it->second;
  }

  // The same folder again changes nothing: same versions, same files, same bytes.
  const auto before = LakeFingerprint();
  Result again = Ingest();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.Json()["files"]["ingested"], 0);
  EXPECT_EQ(again.Json()["files"]["skipped"], truth["files"].size());
  EXPECT_EQ(again.Json()["read"], 0);
  EXPECT_EQ(LakeFingerprint(), before);

  // A new file repeating five known events and bringing three new ones adds three.
  std::set<int64_t> bad_lines;
  for (const json& m : truth["malformed"]) {
    if (m["file"] == "events-2026-11-21-001.jsonl") bad_lines.insert(m["line"].get<int64_t>());
  }
  std::ifstream first(dir_ + "/in/events-2026-11-21-001.jsonl");
  std::vector<std::string> known;
  int64_t number = 0;
  for (std::string l; known.size() < 5 && std::getline(first, l);) {
    if (!bad_lines.count(++number)) known.push_back(l);
  }
  ASSERT_EQ(known.size(), 5u);
  {
    std::ofstream extra(dir_ + "/in/events-2026-11-23-000.jsonl");
    for (const std::string& l : known) extra << l << "\n";
    for (int i = 0; i < 3; ++i) {
      extra
          << R"({"event_id":"new-)" << i
          << R"(","event_type":"session_start","occurred_at":"2026-11-23T09:00:0)" << i
          << R"(-03:00","received_at":"2026-11-23T12:00:05Z","anonymous_id":"a","customer_id":null,)"
          << R"("session_id":"s","device":{"os":"ios"},"properties":{}})"
          << "\n";
    }
  }
  Result more = Ingest();
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_EQ(more.Json()["loaded"], 3);
  EXPECT_EQ(more.Json()["duplicates"], 5);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), good + 3);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE event_date = DATE '2026-11-23'"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM ledger"), static_cast<int64_t>(truth["files"].size()) + 1);
}

// Killed right after quarantine/app_events is swapped (events published, ledger not):
// readers see complete tables, and the next run stores nothing twice.
TEST_F(EventsIngestTest, AKilledIngestLeavesCompleteTablesAndTheNextRunConverges) {
  json truth = Simulate();
  const int64_t good = truth["good"], malformed = truth["malformed"].size();
  Result killed = Ingest({{"LASTRO_FAULT_KILL_AFTER_PUBLISH", "quarantine/app_events"}});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  EXPECT_EQ(Count("SELECT count(*) FROM events"), good);
  EXPECT_EQ(Count("SELECT count(*) FROM refused"), malformed);
  EXPECT_FALSE(fs::exists(lake_ + "/bronze/app_event_files"));

  Result next = Ingest();
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(next.Json()["loaded"], 0);
  EXPECT_EQ(next.Json()["quarantined"], malformed);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), good);
  EXPECT_EQ(Count("SELECT count(*) FROM refused"), malformed);
  EXPECT_EQ(Count("SELECT count(*) FROM ledger"), static_cast<int64_t>(truth["files"].size()));
  EXPECT_EQ(Count("SELECT count(*) FROM ledger WHERE lines_read <> loaded + duplicates + "
                  "quarantined"),
            0);
}

TEST_F(EventsIngestTest, BadInvocationsGetAClearErrorAndTheirExitCode) {
  Result missing = Lastro({"ingest", "events", "--path", dir_ + "/nope", "--config", config_});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("lastro: no such file or folder: "), std::string::npos) << missing.err;
  Result date = Lastro({"sim", "events", "--out", dir_ + "/x", "--date", "2026-13-01"});
  EXPECT_EQ(date.exit_code, 2);
  EXPECT_NE(date.err.find("--date must be YYYY-MM-DD"), std::string::npos) << date.err;

  // Another writer holds the lake: refused, naming it, and nothing changes.
  Simulate();
  auto store = lake::TableStore::Open(lake_);
  ASSERT_TRUE(store.ok());
  auto lock = lake::LakeLock::Acquire(store->root(), "batch run 2026-11-28 test");
  ASSERT_TRUE(lock.ok()) << lock.status();
  Result locked = Ingest();
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_NE(locked.err.find("batch run 2026-11-28 test"), std::string::npos) << locked.err;
  EXPECT_FALSE(fs::exists(lake_ + "/bronze/app_events"));
}

TEST_F(EventsIngestTest, ARunSendsItsCountsToDogStatsd) {
  StatsdListener agent;
  ASSERT_TRUE(agent.ok());
  WriteConfig(true, "[events]\nraw_line_bytes = 256\n");

  json truth = Simulate();
  Result r = Ingest({{"LASTRO_STATSD_ADDR", agent.addr()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string loaded =
      absl::StrCat("lastro.ingest.events.lines:", truth["good"].get<int64_t>(), "|c");
  EXPECT_TRUE(agent.WaitForAll({"lastro.ingest.events.runs:1|c", loaded}, 10s)) << agent.received();
  const std::string& received = agent.received();
  EXPECT_NE(received.find("outcome:quarantined"), std::string::npos) << received;
  EXPECT_EQ(Count("SELECT count(*) FROM refused WHERE strlen(raw_line) > 256"), 0);
  EXPECT_GT(Count("SELECT count(*) FROM refused WHERE raw_bytes > 256"), 0);
}

}  // namespace
}  // namespace lastro::testing
