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

TEST(Engine, ReadOnlyFileRefusesWritesAndFileAccessAndNamesStatementKinds) {
  auto file = std::filesystem::temp_directory_path() /
              ("lake_engine_ro_" + std::to_string(getpid()) + ".duckdb");
  std::filesystem::remove(file);
  {
    auto w = Engine::Open({.memory_limit = "128MB", .threads = 1, .database = file});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Execute("CREATE TABLE t AS SELECT 42 AS v").ok());
  }
  auto r = Engine::Open({.memory_limit = "128MB",
                         .threads = 1,
                         .database = file,
                         .read_only = true,
                         .external_access = false});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->QueryValue("SELECT v FROM t").value(), Value(int64_t{42}));
  EXPECT_EQ((*r)->StatementKind("SELECT v FROM t").value(), "SELECT");
  EXPECT_EQ((*r)->StatementKind("INSERT INTO t VALUES (1)").value_or("error"), "INSERT");
  EXPECT_TRUE(absl::IsInvalidArgument((*r)->StatementKind("SELECT 1; SELECT 2").status()));
  EXPECT_FALSE((*r)->Execute("INSERT INTO t VALUES (1)").ok());
  EXPECT_FALSE((*r)->Query("SELECT * FROM read_csv('/etc/hostname')").ok());
  std::filesystem::remove(file);
}

TEST(SqlQuoting, EscapesQuotes) {
  EXPECT_EQ(SqlString("it's"), "'it''s'");
  EXPECT_EQ(SqlIdent("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace lastro::lake

namespace lastro::lake {
namespace {

// Counts 0..rows-1 into every column type, NULL on every 7th row, failing after
// `fail_after` rows when set.
class CountingSource : public RowSource {
 public:
  CountingSource(int64_t rows, int64_t fail_after = -1) : rows_(rows), fail_after_(fail_after) {}
  const std::vector<SourceColumn>& columns() const override { return columns_; }
  StatusOr<size_t> Fill(ChunkWriter& out) override {
    size_t n = 0;
    for (; n < out.capacity() && next_ < rows_; ++n, ++next_) {
      if (next_ == fail_after_) return absl::UnavailableError("the stream dropped");
      if (next_ % 7 == 3) {
        for (size_t c = 0; c < columns_.size(); ++c) out.SetNull(c, n);
        continue;
      }
      out.SetInt(0, n, next_ * 1000000007LL);
      out.SetInt(1, n, next_);
      out.SetDouble(2, n, next_ / 4.0);
      out.SetBool(3, n, next_ % 2 == 0);
      out.SetText(4, n, next_ % 2 == 0 ? "a string longer than twelve bytes" : "short");
      out.SetTimestampMicros(5, n, 1795182300LL * 1000000 + next_);
      out.SetDate(6, n, 20777);
      // Any bytes: a NUL, and bytes that are not UTF-8 (ciphertext).
      const char blob[] = {'\0', '\xff', '\xfe', static_cast<char>(next_ & 0x7f)};
      out.SetText(7, n, std::string_view(blob, sizeof blob));
    }
    return n;
  }

 private:
  std::vector<SourceColumn> columns_ = {
      {"big", ColumnType::kBigint},    {"small", ColumnType::kInteger},
      {"ratio", ColumnType::kDouble},  {"even", ColumnType::kBoolean},
      {"label", ColumnType::kVarchar}, {"seen_at", ColumnType::kTimestamp},
      {"day", ColumnType::kDate},      {"sealed", ColumnType::kBlob}};
  int64_t rows_, fail_after_;
  int64_t next_ = 0;
};

TEST(EngineSource, StreamsRowsOfEveryTypeIntoParquetWithoutATable) {
  auto e = OpenEngine();
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "lastro-source-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string file = (dir / "out.parquet").string();
  CountingSource source(10000);  // several chunks
  ASSERT_TRUE(
      e->ExecuteWithSource(
           "COPY (SELECT * FROM lastro_source()) TO '" + file + "' (FORMAT parquet)", source)
          .ok());
  auto r = e->Query(
      "SELECT count(*), count(big), sum(small), max(label), min(seen_at)::VARCHAR, "
      "max(day)::VARCHAR, sum(ratio), count(*) FILTER (WHERE even), "
      "count(*) FILTER (WHERE octet_length(sealed) = 4 AND hex(sealed) LIKE '00FFFE%') "
      "FROM '" +
      file + "'");
  ASSERT_TRUE(r.ok()) << r.status();
  int64_t nulls = 0, sum = 0, evens = 0;
  double ratio = 0;
  for (int64_t i = 0; i < 10000; ++i) {
    if (i % 7 == 3) {
      ++nulls;
      continue;
    }
    sum += i;
    ratio += i / 4.0;
    evens += i % 2 == 0;
  }
  EXPECT_EQ(r->Int(0, 0), 10000);
  EXPECT_EQ(r->Int(0, 1), 10000 - nulls);
  EXPECT_EQ(r->Int(0, 2), sum);
  EXPECT_EQ(r->Text(0, 3), "short");
  EXPECT_EQ(r->Text(0, 4), "2026-11-20 13:45:00");
  EXPECT_EQ(r->Text(0, 5), "2026-11-20");
  EXPECT_DOUBLE_EQ(*r->Double(0, 6), ratio);
  EXPECT_EQ(r->Int(0, 7), evens);
  EXPECT_EQ(r->Int(0, 8), 10000 - nulls);
  std::filesystem::remove_all(dir);
}

TEST(EngineSource, TheSourcesOwnErrorIsReturnedAndTheEngineStaysUsable) {
  auto e = OpenEngine();
  CountingSource source(10000, 5000);
  Status s = e->ExecuteWithSource("CREATE TABLE t AS SELECT * FROM lastro_source()", source);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(s.message(), "the stream dropped");
  auto outside = e->Execute("SELECT * FROM lastro_source()");
  EXPECT_FALSE(outside.ok());
  auto ok = e->QueryValue("SELECT 1");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

}  // namespace
}  // namespace lastro::lake

namespace lastro::lake {
namespace {

TEST(MemorySize, ParsesDuckDbNotationAndScalesIt) {
  EXPECT_EQ(*ParseMemorySize("1GB"), 1000000000);
  EXPECT_EQ(*ParseMemorySize(" 512 MB "), 512000000);
  EXPECT_EQ(*ParseMemorySize("2GiB"), 2147483648);
  EXPECT_EQ(*ParseMemorySize("1.5gb"), 1500000000);
  EXPECT_EQ(*ParseMemorySize("100000B"), 100000);
  for (const char* bad : {"", "GB", "lots", "-1GB", "1PB", "0MB"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseMemorySize(bad).status())) << bad;
  }
  EXPECT_EQ(*ScaleMemorySize("1GB", 0.7), "700MB");
  EXPECT_EQ(*ScaleMemorySize("4GiB", 0.5), "2147MB");
  EXPECT_FALSE(ScaleMemorySize("x", 0.5).ok());
}

}  // namespace
}  // namespace lastro::lake
