#include "lake/compactor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "lake/table_store.h"

namespace lastro::lake {
namespace {
namespace fs = std::filesystem;

class CompactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("lake_compact_" + std::to_string(getpid()));
    fs::remove_all(root_);
    auto s = TableStore::Open(root_);
    ASSERT_TRUE(s.ok());
    store_ = std::make_unique<TableStore>(std::move(*s));
    auto e = Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(e.ok());
    engine_ = std::move(*e);
  }
  void TearDown() override { fs::remove_all(root_); }

  // One appended run: 100 rows into each of two days.
  void AppendRun(int n) {
    TableTransaction tx(*store_, "v" + std::to_string(n));
    auto dir = tx.Stage("quality", "results", PublishMode::kAppend);
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE(engine_
                    ->Execute("COPY (SELECT " + std::to_string(n) +
                              " AS run, i AS id, DATE '2026-11-01' + (i % 2)::INTEGER AS day "
                              "FROM range(200) t(i)) TO " +
                              SqlString(dir->string()) +
                              " (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'part-v" +
                              std::to_string(n) + "-{i}')")
                    .ok());
    ASSERT_TRUE(tx.Publish(10).ok());
  }

  std::string Digest() {
    auto r = engine_->Query(
        "SELECT count(*)::VARCHAR || ':' || sum(hash(run, id, day))::VARCHAR FROM "
        "read_parquet(" +
        SqlString((store_->TablePath("quality", "results") / "*/*.parquet").string()) +
        ", hive_partitioning = true)");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r->Text(0, 0) : "";
  }

  fs::path root_;
  std::unique_ptr<TableStore> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(CompactorTest, MergesEachPartitionIntoOneFileWithTheSameRows) {
  for (int n = 1; n <= 4; ++n) AppendRun(n);
  ASSERT_EQ(store_->Files("quality", "results")->size(), 8u);
  std::string before = Digest();

  auto dry = Compact({.lake_dir = root_.string(), .version = "v5", .dry_run = true});
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(store_->Files("quality", "results")->size(), 8u);

  auto r = Compact({.lake_dir = root_.string(), .version = "v6"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].partitions_rewritten, 2);
  EXPECT_EQ((*r)[0].files_before, 8);
  EXPECT_EQ((*r)[0].files_after, 2);
  EXPECT_EQ((*r)[0].rows, 800);
  EXPECT_EQ(store_->Files("quality", "results")->size(), 2u);
  EXPECT_EQ(Digest(), before);

  // Nothing left to do: no new version.
  auto again = Compact({.lake_dir = root_.string(), .version = "v7"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].partitions_rewritten, 0);
  EXPECT_EQ(store_->CurrentVersion("quality", "results"), "v6");
}

TEST_F(CompactorTest, RefusesWhileAnotherWriterHoldsTheLakeAndUnknownTables) {
  AppendRun(1);
  {
    auto lock = LakeLock::Acquire(root_, "batch run");
    ASSERT_TRUE(lock.ok());
    // flock is per open file description: a second Acquire in this process conflicts too.
    auto r = Compact({.lake_dir = root_.string(), .version = "v2"});
    EXPECT_TRUE(absl::IsAborted(r.status())) << r.status();
  }
  auto missing = Compact({.lake_dir = root_.string(), .version = "v3", .tables = {"silver/nope"}});
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
}

}  // namespace
}  // namespace lastro::lake
