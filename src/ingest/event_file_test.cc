#include "ingest/event_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "batch/lineage.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;

class EventFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("event_file_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& content) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  // Every line of `path` as (text, number, bytes, too_long), and the reader's hash.
  std::vector<std::tuple<std::string, int64_t, int64_t, bool>> ReadAll(const fs::path& path,
                                                                       size_t max,
                                                                       std::string* sha = nullptr) {
    std::vector<std::tuple<std::string, int64_t, int64_t, bool>> out;
    auto reader = LineReader::Open(path, max);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    Line line;
    while (true) {
      auto more = (*reader)->Next(line);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      out.emplace_back(std::string(line.text), line.number, line.bytes, line.too_long);
    }
    if (sha) *sha = (*reader)->Sha256Hex();
    return out;
  }

  fs::path dir_;
};

TEST_F(EventFileTest, ListsJsonlFilesRecursivelySortedSkippingHiddenAndOthers) {
  Write("events-2026-11-21-000.jsonl", "{}\n");
  Write("events-2026-11-20-001.jsonl", "{}\n");
  Write("2026/11/events-2026-11-19-000.jsonl", "{}\n");
  Write(".events-2026-11-21-001.jsonl", "{}\n");  // the collector is still writing it
  Write(".tmp/events-2026-11-21-002.jsonl", "{}\n");
  Write("events-2026-11-21-003.jsonl.gz", "x");
  Write("README.txt", "x");
  auto files = ListEventFiles(dir_);
  ASSERT_TRUE(files.ok()) << files.status();
  std::vector<std::string> names;
  for (const EventFile& f : *files) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"2026/11/events-2026-11-19-000.jsonl",
                                             "events-2026-11-20-001.jsonl",
                                             "events-2026-11-21-000.jsonl"}));
  EXPECT_EQ((*files)[0].bytes, 3);
}

TEST_F(EventFileTest, ASingleFileIsListedWhateverItsName) {
  fs::path p = Write("export.json", "{}\n");
  auto files = ListEventFiles(p);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "export.json");
}

TEST_F(EventFileTest, AMissingPathIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(ListEventFiles(dir_ / "nope").status()));
  EXPECT_TRUE(absl::IsNotFound(LineReader::Open(dir_ / "nope", 10).status()));
}

TEST_F(EventFileTest, ReadsLinesWithNumbersEmptyLinesAndALastLineWithoutNewline) {
  fs::path p = Write("a.jsonl", "one\n\ntwo\r\nthree");
  auto lines = ReadAll(p, 100);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], std::make_tuple(std::string("one"), int64_t{1}, int64_t{3}, false));
  EXPECT_EQ(lines[1], std::make_tuple(std::string(""), int64_t{2}, int64_t{0}, false));
  EXPECT_EQ(std::get<0>(lines[2]), "two\r");  // ParseEventLine drops the '\r'
  EXPECT_EQ(lines[3], std::make_tuple(std::string("three"), int64_t{4}, int64_t{5}, false));
}

TEST_F(EventFileTest, AnEmptyFileHasNoLines) {
  EXPECT_TRUE(ReadAll(Write("e.jsonl", ""), 100).empty());
  EXPECT_EQ(ReadAll(Write("n.jsonl", "\n"), 100).size(), 1u);
}

TEST_F(EventFileTest, LongLinesAreCutToTheBoundButCountedWhole) {
  fs::path p = Write("a.jsonl", std::string(50, 'x') + "\nshort\n");
  auto lines = ReadAll(p, 10);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], std::make_tuple(std::string(10, 'x'), int64_t{1}, int64_t{50}, true));
  EXPECT_EQ(lines[1], std::make_tuple(std::string("short"), int64_t{2}, int64_t{5}, false));
}

TEST_F(EventFileTest, LinesSpanningChunksAndTheHashMatchTheWholeFile) {
  // Lines of 999 bytes cross the reader's 1 MiB chunks at odd places.
  std::string content;
  for (int i = 0; i < 3000; ++i)
    content += std::string(998, static_cast<char>('a' + i % 26)) + "\n";
  fs::path p = Write("big.jsonl", content);
  std::string sha;
  auto lines = ReadAll(p, 4096, &sha);
  ASSERT_EQ(lines.size(), 3000u);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(std::get<0>(lines[i]), std::string(998, static_cast<char>('a' + i % 26))) << i;
  }
  auto expected = batch::Sha256File(p);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(sha, *expected);
}

}  // namespace
}  // namespace lastro::ingest
