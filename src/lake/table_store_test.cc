#include "lake/table_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "lake/engine.h"

namespace lastro::lake {
namespace {
namespace fs = std::filesystem;
using Pair = std::pair<int64_t, int64_t>;

class TableStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lake_store_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto s = TableStore::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::make_unique<TableStore>(std::move(*s));
    auto e = Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(e.ok());
    engine_ = std::move(*e);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes rows (id, day) for days [first, first + days) into `dir`, partitioned by day.
  void WriteDays(const fs::path& dir, int first, int days, int rows_per_day, int tag,
                 const std::string& file_tag) {
    std::string sql =
        "COPY (SELECT i AS id, " + std::to_string(tag) + " AS tag, DATE '2026-11-01' + (" +
        std::to_string(first) + " + i % " + std::to_string(days) + ")::INTEGER AS day FROM range(" +
        std::to_string(rows_per_day * days) + ") t(i)) TO " + SqlString(dir.string()) +
        " (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN " + SqlString(file_tag + "-{i}") +
        ", OVERWRITE_OR_IGNORE)";
    ASSERT_TRUE(engine_->Execute(sql).ok()) << sql;
  }

  // day -> (rows, max tag) as the published table reads.
  std::map<std::string, std::pair<int64_t, int64_t>> Read(const std::string& table) {
    std::map<std::string, std::pair<int64_t, int64_t>> out;
    auto r =
        engine_->Query("SELECT day::VARCHAR, count(*), max(tag) FROM read_parquet(" +
                       SqlString((store_->TablePath("silver", table) / "*/*.parquet").string()) +
                       ", hive_partitioning = true) GROUP BY 1 ORDER BY 1");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return out;
    for (size_t i = 0; i < r->rows(); ++i) out[*r->Text(i, 0)] = {*r->Int(i, 1), *r->Int(i, 2)};
    return out;
  }

  fs::path root_;
  std::unique_ptr<TableStore> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(TableStoreTest, PublishReplacesOnlyTheStagedPartitions) {
  {
    TableTransaction tx(*store_, "v1");
    auto dir = tx.Stage("silver", "t", PublishMode::kReplacePartitions);
    ASSERT_TRUE(dir.ok());
    WriteDays(*dir, 0, 3, 100, 1, "v1");
    ASSERT_TRUE(tx.Publish().ok());
  }
  EXPECT_EQ(store_->CurrentVersion("silver", "t"), "v1");
  auto before = Read("t");
  ASSERT_EQ(before.size(), 3u);
  auto old_file = store_->Files("silver", "t");
  ASSERT_TRUE(old_file.ok());
  {
    TableTransaction tx(*store_, "v2");
    auto dir = tx.Stage("silver", "t", PublishMode::kReplacePartitions);
    ASSERT_TRUE(dir.ok());
    WriteDays(*dir, 2, 2, 50, 2, "v2");  // rewrites day 3, adds day 4
    ASSERT_TRUE(tx.Publish().ok());
  }
  auto after = Read("t");
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after["2026-11-01"], (Pair{100, 1}));  // carried over
  EXPECT_EQ(after["2026-11-02"], (Pair{100, 1}));
  EXPECT_EQ(after["2026-11-03"], (Pair{50, 2}));  // replaced
  EXPECT_EQ(after["2026-11-04"], (Pair{50, 2}));
  auto parts = store_->Partitions("silver", "t");
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->size(), 4u);
  // Carried-over partitions are hard links, not copies.
  auto versions = root_ / "_versions" / "silver" / "t";
  auto p1 = fs::directory_iterator(versions / "v2" / "day=2026-11-01")->path();
  EXPECT_EQ(fs::hard_link_count(p1), 2u);
}

TEST_F(TableStoreTest, AppendKeepsEveryFileAndOldVersionsAreCollected) {
  for (int v = 1; v <= 5; ++v) {
    TableTransaction tx(*store_, "v" + std::to_string(v));
    auto dir = tx.Stage("silver", "q", PublishMode::kAppend);
    ASSERT_TRUE(dir.ok());
    WriteDays(*dir, 0, 1, 10, v, "v" + std::to_string(v));
    ASSERT_TRUE(tx.Publish(/*keep_versions=*/2).ok());
  }
  auto rows = Read("q");
  EXPECT_EQ(rows["2026-11-01"].first, 50);
  auto files = store_->Files("silver", "q");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 5u);
  int versions = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(root_ / "_versions" / "silver" / "q")) {
    ++versions;
  }
  EXPECT_EQ(versions, 2);
}

TEST_F(TableStoreTest, AnUnpublishedTransactionLeavesThePreviousVersionAndNoStaging) {
  {
    TableTransaction tx(*store_, "v1");
    auto dir = tx.Stage("silver", "t", PublishMode::kReplaceTable);
    WriteDays(*dir, 0, 2, 10, 1, "v1");
    ASSERT_TRUE(tx.Publish().ok());
  }
  {
    TableTransaction tx(*store_, "v2");
    auto dir = tx.Stage("silver", "t", PublishMode::kReplaceTable);
    WriteDays(*dir, 0, 1, 99, 2, "v2");
    // destroyed without Publish()
  }
  EXPECT_EQ(store_->CurrentVersion("silver", "t"), "v1");
  EXPECT_EQ(Read("t")["2026-11-01"].first, 10);
  EXPECT_TRUE(fs::is_empty(root_ / "_staging"));
}

TEST_F(TableStoreTest, CleanStagingRemovesWhatAKilledWriterLeft) {
  fs::create_directories(root_ / "_staging" / "dead-run" / "silver" / "t");
  std::ofstream(root_ / "_staging" / "dead-run" / "silver" / "t" / "x.parquet") << "partial";
  ASSERT_TRUE(store_->CleanStaging().ok());
  EXPECT_TRUE(fs::is_empty(root_ / "_staging"));
}

TEST_F(TableStoreTest, LockIsExclusiveAcrossProcessesAndSaysWhoHoldsIt) {
  auto lock = LakeLock::Acquire(root_, "batch run 2026-11-28");
  ASSERT_TRUE(lock.ok()) << lock.status();
  pid_t child = fork();
  if (child == 0) {
    auto second = LakeLock::Acquire(root_, "other");
    bool refused = !second.ok() && absl::IsAborted(second.status()) &&
                   second.status().message().find("batch run 2026-11-28") != std::string::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  *lock = std::move(*LakeLock::Acquire(root_ / "elsewhere", "x"));  // releases the first
  EXPECT_TRUE(LakeLock::Acquire(root_, "again").ok());
}

}  // namespace
}  // namespace lastro::lake
