// IngestEvents against a real lake in a temporary folder, read back with DuckDB.
#include "ingest/event_ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "ingest/event_bronze.h"
#include "lake/engine.h"
#include "lake/table_store.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;
using lake::SqlString;

// A valid line: `id` happens at `local` São Paulo time ("2026-11-20T10:00:00").
std::string Good(const std::string& id, const std::string& local,
                 const std::string& type = "session_start") {
  return absl::StrCat(
      R"({"event_id":")", id, R"(","event_type":")", type, R"(","occurred_at":")", local,
      R"(-03:00","received_at":")", local,
      R"(.5-03:00","anonymous_id":"anon-1","customer_id":null,)",
      R"("session_id":"s-1","device":{"os":"android","model":"Moto G","app_version":"4.1.0"},)",
      R"("properties":{"network":"wifi"}})");
}

class EventIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("event_ingest_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "in");
    config_.lake.dir = (root_ / "lake").string();
    config_.lake.memory_limit = "256MB";
    config_.lake.threads = 1;
    config_.metrics.statsd_enabled = false;
    auto e = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(e.ok());
    engine_ = std::move(*e);
  }
  void TearDown() override { fs::remove_all(root_); }

  void WriteFile(const std::string& name, const std::vector<std::string>& lines) {
    std::ofstream out(root_ / "in" / name, std::ios::binary);
    for (const std::string& l : lines) out << l << "\n";
  }

  StatusOr<EventIngestReport> Ingest(const std::atomic<bool>* stop = nullptr) {
    return IngestEvents(config_, {.path = (root_ / "in").string(), .stop = stop});
  }

  // A query over bronze/app_events (view `events`), quarantine (`refused`) and the
  // ledger (`ledger`), whichever exist.
  lake::QueryResult Query(const std::string& sql) {
    std::string views;
    for (const auto& [view, table, glob] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"events", "bronze/app_events", "*/*.parquet"},
             {"refused", "quarantine/app_events", "*/*.parquet"},
             {"ledger", "bronze/app_event_files", "*.parquet"}}) {
      if (fs::exists(root_ / "lake" / table)) {
        absl::StrAppend(&views, "CREATE OR REPLACE VIEW ", view, " AS SELECT * FROM read_parquet(",
                        SqlString((root_ / "lake" / table / glob).string()),
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

  std::string Versions() {
    auto store = lake::TableStore::Open(root_ / "lake");
    return absl::StrCat(store->CurrentVersion("bronze", "app_events"), "|",
                        store->CurrentVersion("quarantine", "app_events"), "|",
                        store->CurrentVersion("bronze", "app_event_files"));
  }

  fs::path root_;
  Config config_;
  std::unique_ptr<lake::Engine> engine_;
};

TEST_F(EventIngestTest, LoadsGoodLinesQuarantinesBadOnesAndAccountsForEveryLine) {
  WriteFile("events-2026-11-20-000.jsonl",
            {Good("e1", "2026-11-20T10:00:00"), Good("e2", "2026-11-20T23:59:59"),
             "{\"event_id\":\"e3\",\"event_type\":", Good("e1", "2026-11-20T10:00:00"),
             Good("e4", "2026-11-17T08:00:00"),  // late: three days before the file
             R"({"event_type":"logout"})", "", Good("e5", "2026-11-20T11:00:00", "teleport")});
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->read, 8);
  EXPECT_EQ(r->loaded, 3);
  EXPECT_EQ(r->duplicates_in_run, 1);
  EXPECT_EQ(r->duplicates_in_lake, 0);
  EXPECT_EQ(r->quarantined, 4);
  EXPECT_EQ(r->loaded_by_date,
            (std::map<std::string, int64_t>{{"2026-11-17", 1}, {"2026-11-20", 2}}));
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0].outcome, "ingested");
  EXPECT_TRUE(fs::exists(r->manifest_path));

  auto rows = Query(
      "SELECT event_date::VARCHAR, event_id, occurred_at::VARCHAR, line_number, source_file "
      "FROM events ORDER BY event_id");
  ASSERT_EQ(rows.rows(), 3u);
  EXPECT_EQ(*rows.Text(0, 0), "2026-11-20");
  EXPECT_EQ(*rows.Text(0, 2), "2026-11-20 13:00:00");  // stored in UTC
  EXPECT_EQ(*rows.Int(0, 3), 1);
  EXPECT_EQ(*rows.Text(0, 4), "events-2026-11-20-000.jsonl");
  EXPECT_EQ(*rows.Text(1, 2), "2026-11-21 02:59:59");  // UTC next day, local date the 20th
  EXPECT_EQ(*rows.Text(1, 0), "2026-11-20");
  EXPECT_EQ(*rows.Text(2, 0), "2026-11-17");

  auto types = Query(
      "SELECT column_name, column_type FROM (DESCRIBE events) WHERE column_name IN "
      "('occurred_at', 'received_at', 'customer_id', 'event_date', 'properties') ORDER BY 1");
  ASSERT_EQ(types.rows(), 5u);
  EXPECT_EQ(*types.Text(0, 1), "BIGINT");     // customer_id
  EXPECT_EQ(*types.Text(1, 1), "DATE");       // event_date
  EXPECT_EQ(*types.Text(2, 1), "TIMESTAMP");  // occurred_at
  EXPECT_EQ(*types.Text(3, 1), "VARCHAR");    // properties (JSON text)

  auto refused = Query("SELECT line_number, reason, event_id, raw_line FROM refused ORDER BY 1");
  ASSERT_EQ(refused.rows(), 4u);
  EXPECT_EQ(*refused.Int(0, 0), 3);
  EXPECT_TRUE(refused.Text(0, 1)->starts_with("invalid JSON at byte 31: ")) << *refused.Text(0, 1);
  EXPECT_EQ(*refused.Text(0, 3), "{\"event_id\":\"e3\",\"event_type\":");
  EXPECT_EQ(*refused.Text(1, 1), "missing event_id");
  EXPECT_EQ(*refused.Text(2, 1), "empty line");
  EXPECT_EQ(*refused.Text(3, 1), "unknown event_type 'teleport'");
  EXPECT_EQ(*refused.Text(3, 2), "e5");

  auto ledger = Query("SELECT lines_read, loaded, duplicates, quarantined FROM ledger");
  ASSERT_EQ(ledger.rows(), 1u);
  EXPECT_EQ(*ledger.Int(0, 0), 8);
  EXPECT_EQ(*ledger.Int(0, 1), 3);
  EXPECT_EQ(*ledger.Int(0, 2), 1);
  EXPECT_EQ(*ledger.Int(0, 3), 4);
}

TEST_F(EventIngestTest, TheSameFilesTwiceChangeNothing) {
  WriteFile("a.jsonl", {Good("e1", "2026-11-20T10:00:00"), "not json"});
  ASSERT_TRUE(Ingest().ok());
  const std::string versions = Versions();
  // The same content under another name is the same file.
  fs::copy_file(root_ / "in" / "a.jsonl", root_ / "in" / "b.jsonl");
  auto again = Ingest();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->files_ingested, 0);
  EXPECT_EQ(again->files_skipped, 2);
  EXPECT_TRUE(again->files[0].outcome.starts_with("skipped: already ingested by run "))
      << again->files[0].outcome;
  EXPECT_EQ(again->read, 0);
  EXPECT_EQ(Versions(), versions);
  EXPECT_EQ(*Query("SELECT count(*) FROM events").Int(0, 0), 1);
  EXPECT_EQ(*Query("SELECT count(*) FROM refused").Int(0, 0), 1);
}

TEST_F(EventIngestTest, ANewFileAddsOnlyEventsNotYetInTheLake) {
  WriteFile("a.jsonl", {Good("e1", "2026-11-20T10:00:00"), Good("e2", "2026-11-19T10:00:00")});
  ASSERT_TRUE(Ingest().ok());
  WriteFile("b.jsonl", {Good("e2", "2026-11-19T10:00:00"), Good("e3", "2026-11-20T12:00:00"),
                        Good("e1", "2026-11-20T10:00:00")});
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_ingested, 1);
  EXPECT_EQ(r->loaded, 1);
  EXPECT_EQ(r->duplicates_in_lake, 2);
  auto rows = Query("SELECT event_id, source_file FROM events ORDER BY 1");
  ASSERT_EQ(rows.rows(), 3u);
  EXPECT_EQ(*rows.Text(0, 1), "a.jsonl");
  EXPECT_EQ(*rows.Text(2, 1), "b.jsonl");
}

TEST_F(EventIngestTest, WithinOneRunTheFirstFileAndLineWin) {
  WriteFile("a.jsonl", {Good("e1", "2026-11-20T10:00:00")});
  WriteFile("b.jsonl", {Good("e1", "2026-11-20T10:00:00"), Good("e2", "2026-11-20T10:00:00")});
  auto r = Ingest();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->loaded, 2);
  EXPECT_EQ(r->duplicates_in_run, 1);
  EXPECT_EQ(r->files[1].duplicates, 1);
  EXPECT_EQ(*Query("SELECT source_file FROM events WHERE event_id = 'e1'").Text(0, 0), "a.jsonl");
}

// A run killed after publishing events and quarantine but before the ledger: the next
// run reads the file again and stores nothing twice.
TEST_F(EventIngestTest, ARunThatLostItsLedgerConvergesWithoutStoringTwice) {
  WriteFile("a.jsonl", {Good("e1", "2026-11-20T10:00:00"), "oops"});
  ASSERT_TRUE(Ingest().ok());
  fs::remove(root_ / "lake" / "bronze" / "app_event_files");  // unpublish the ledger
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files_ingested, 1);
  EXPECT_EQ(r->loaded, 0);
  EXPECT_EQ(r->duplicates_in_lake, 1);
  EXPECT_EQ(r->quarantined, 1);
  EXPECT_EQ(*Query("SELECT count(*) FROM events").Int(0, 0), 1);
  EXPECT_EQ(*Query("SELECT count(*) FROM refused").Int(0, 0), 1);
  EXPECT_EQ(*Query("SELECT count(*) FROM ledger").Int(0, 0), 1);
}

// Lines are checked on worker threads in batches of 8,192; the outcome must still be
// in file and line order.
TEST_F(EventIngestTest, BatchesParsedInParallelKeepLineOrder) {
  config_.lake.threads = 3;
  std::vector<std::string> lines;
  for (int i = 1; i <= 20000; ++i) {
    lines.push_back(Good("e" + std::to_string(i), "2026-11-20T10:00:00"));
  }
  lines[9000 - 1] = "{broken";
  lines[19999 - 1] = Good("e1", "2026-11-20T10:00:00");  // a late repeat of line 1
  WriteFile("a.jsonl", lines);
  WriteFile("b.jsonl", {Good("e2", "2026-11-20T10:00:00")});
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->read, 20001);
  EXPECT_EQ(r->loaded, 19998);
  EXPECT_EQ(r->duplicates_in_run, 2);
  EXPECT_EQ(r->quarantined, 1);
  EXPECT_EQ(*Query("SELECT line_number FROM refused").Int(0, 0), 9000);
  auto first = Query(
      "SELECT line_number, source_file FROM events WHERE event_id IN ('e1', 'e2') "
      "ORDER BY 1");
  ASSERT_EQ(first.rows(), 2u);
  EXPECT_EQ(*first.Int(0, 0), 1);
  EXPECT_EQ(*first.Int(1, 0), 2);
  EXPECT_EQ(*first.Text(1, 1), "a.jsonl");
  EXPECT_EQ(*Query("SELECT count(*) FROM events WHERE line_number = 19999").Int(0, 0), 0);
}

TEST_F(EventIngestTest, AStoppedRunPublishesNothing) {
  WriteFile("a.jsonl", {Good("e1", "2026-11-20T10:00:00")});
  std::atomic<bool> stop{true};
  auto r = Ingest(&stop);
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  EXPECT_EQ(Versions(), "||");
}

TEST_F(EventIngestTest, ALockedLakeIsRefusedWithItsHolder) {
  auto store = lake::TableStore::Open(root_ / "lake");
  ASSERT_TRUE(store.ok());
  auto lock = lake::LakeLock::Acquire(store->root(), "batch run test");
  ASSERT_TRUE(lock.ok());
  WriteFile("a.jsonl", {Good("e1", "2026-11-20T10:00:00")});
  auto r = Ingest();
  EXPECT_TRUE(absl::IsAborted(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("batch run test"), std::string::npos);
}

TEST_F(EventIngestTest, AnEmptyFolderIsASuccessfulRunThatLoadsNothing) {
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->files.size(), 0u);
  EXPECT_EQ(Versions(), "||");
}

TEST_F(EventIngestTest, AMissingPathIsNotFound) {
  auto r = IngestEvents(config_, {.path = (root_ / "nope").string()});
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

TEST_F(EventIngestTest, AnOverlongLineIsQuarantinedWithItsLengthAndABoundedRawText) {
  config_.events.max_line_bytes = 1000;
  config_.events.raw_line_bytes = 100;
  WriteFile("a.jsonl", {std::string(5000, 'x'), Good("e1", "2026-11-20T10:00:00")});
  auto r = Ingest();
  ASSERT_TRUE(r.ok()) << r.status();
  auto refused = Query("SELECT reason, length(raw_line), raw_bytes FROM refused");
  ASSERT_EQ(refused.rows(), 1u);
  EXPECT_EQ(*refused.Text(0, 0), "line longer than 1000 bytes");
  EXPECT_EQ(*refused.Int(0, 1), 100);
  EXPECT_EQ(*refused.Int(0, 2), 5000);
}

}  // namespace
}  // namespace lastro::ingest
