#include "lake/engine.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace lastro::lake {
namespace {

std::unique_ptr<Engine> OpenEngine() {
  auto e = Engine::Open({.memory_limit = "256MB", .threads = 1});
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(*e);
}

TEST(Engine, QueryMaterialisesTypedValues) {
  auto e = OpenEngine();
  auto r = e->Query(
      "SELECT 42::BIGINT AS i, 1.5::DOUBLE AS d, 'x''y' AS s, NULL::INTEGER AS n, true AS b, "
      "DATE '2026-11-20' AS day, ['a','b']::VARCHAR AS l");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1u);
  EXPECT_EQ(r->columns()[2], "s");
  EXPECT_EQ(r->types()[0], "BIGINT");
  EXPECT_EQ(r->Text(0, 6), "[a, b]");
  auto list = e->Query("SELECT ['a'] AS l");
  EXPECT_TRUE(absl::IsInvalidArgument(list.status()));
  EXPECT_NE(list.status().message().find("VARCHAR[] cannot be read back"), std::string::npos);
  EXPECT_EQ(r->Int(0, 0), 42);
  EXPECT_EQ(r->Double(0, 1), 1.5);
  EXPECT_EQ(r->Text(0, 2), "x'y");
  EXPECT_TRUE(r->IsNull(0, 3));
  EXPECT_EQ(r->Int(0, 3), std::nullopt);
  EXPECT_EQ(r->Text(0, 4), "true");
  EXPECT_EQ(r->Text(0, 5), "2026-11-20");
  EXPECT_EQ(r->ColumnIndex("day"), 5);
  EXPECT_EQ(r->ColumnIndex("missing"), -1);
}

TEST(Engine, ErrorsTellTheCallerWhatToDo) {
  auto e = OpenEngine();
  EXPECT_TRUE(absl::IsInvalidArgument(e->Execute("SELEC 1")));
  EXPECT_TRUE(absl::IsFailedPrecondition(e->Query("SELECT * FROM no_such_table").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(e->Query("SELECT 'abc'::INTEGER").status()));
  EXPECT_FALSE(Engine::Open({.memory_limit = "lots"}).ok());
}

TEST(Engine, ExecuteRunsEveryStatementAndStopsAtTheFirstError) {
  auto e = OpenEngine();
  ASSERT_TRUE(e->Execute("CREATE TABLE t(i INTEGER); INSERT INTO t VALUES (1), (2);").ok());
  EXPECT_FALSE(e->Execute("INSERT INTO t VALUES (3); INSERT INTO t VALUES ('x'); "
                          "INSERT INTO t VALUES (4)")
                   .ok());
  auto v = e->QueryValue("SELECT sum(i) FROM t");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(std::get<int64_t>(*v), 6);  // 1 + 2 + 3; the statement after the error never ran
}

TEST(Engine, AppenderBulkLoadsAndReportsBadValues) {
  auto e = OpenEngine();
  ASSERT_TRUE(e->Execute("CREATE TABLE r(id BIGINT, name VARCHAR, ok BOOLEAN, x DOUBLE)").ok());
  auto a = e->NewAppender("r");
  ASSERT_TRUE(a.ok()) << a.status();
  for (int i = 0; i < 10000; ++i) {
    (*a)->AppendInt(i);
    if (i % 2) {
      (*a)->AppendText("odd");
    } else {
      (*a)->AppendNull();
    }
    (*a)->AppendBool(i % 3 == 0);
    (*a)->AppendDouble(i * 0.5);
    ASSERT_TRUE((*a)->EndRow().ok());
  }
  ASSERT_TRUE((*a)->Close().ok());
  auto r = e->Query("SELECT count(*), count(name), sum(x) FROM r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Int(0, 0), 10000);
  EXPECT_EQ(r->Int(0, 1), 5000);
  EXPECT_DOUBLE_EQ(*r->Double(0, 2), 0.5 * 9999 * 10000 / 2);

  auto bad = e->NewAppender("r");
  ASSERT_TRUE(bad.ok());
  (*bad)->AppendText("not a number");
  (*bad)->AppendText("x");
  (*bad)->AppendBool(true);
  (*bad)->AppendDouble(1);
  Status s = (*bad)->EndRow();
  if (s.ok()) s = (*bad)->Close();
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(e->NewAppender("nope").status()));
}

TEST(Engine, WritesAndReadsPartitionedZstdParquet) {
  auto dir = std::filesystem::temp_directory_path() / ("lake_engine_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto e = OpenEngine();
  ASSERT_TRUE(e->Execute("COPY (SELECT i AS id, DATE '2026-11-01' + (i % 3)::INTEGER AS day "
                         "FROM range(3000) t(i)) TO " +
                         SqlString(dir.string()) +
                         " (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)")
                  .ok());
  auto r = e->Query("SELECT day, count(*) FROM read_parquet(" +
                    SqlString((dir / "*/*.parquet").string()) +
                    ", hive_partitioning = true) GROUP BY day ORDER BY day");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 3u);
  EXPECT_EQ(r->Text(0, 0), "2026-11-01");
  EXPECT_EQ(r->Int(2, 1), 1000);
  std::filesystem::remove_all(dir);
}

TEST(SqlQuoting, EscapesQuotes) {
  EXPECT_EQ(SqlString("it's"), "'it''s'");
  EXPECT_EQ(SqlIdent("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace lastro::lake
