#include "governance/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "lake/engine.h"
#include "testing/fake_clock.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> ReadLines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const fs::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file, std::ios::trunc);
  for (const std::string& line : lines) out << line << '\n';
}

std::string ReadFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AuditEntry Query(std::string user, int64_t rows) {
  return {.user = std::move(user),
          .role = "finance",
          .action = "query",
          .sql = "SELECT month, sum(amount) FROM finance_monthly GROUP BY month",
          .tables = {"finance_monthly"},
          .columns = {"finance_monthly.month", "finance_monthly.amount"},
          .rows = rows,
          .duration_ms = 23.4567891,
          .outcome = "allowed",
          .remote = "127.0.0.1:50000",
          .catalog_version = "20260101T000000Z"};
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::Init("warn");  // one info line per entry otherwise
    dir_ = fs::temp_directory_path() /
           ("lastro_audit_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override {
    log::Init("info");
    fs::remove_all(dir_);
  }

  // A log of `n` entries; returns the path of its file.
  fs::path WriteEntries(int n) {
    auto log = AuditLog::Open(dir_, clock_);
    EXPECT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < n; ++i) {
      clock_.Advance(std::chrono::milliseconds(1500));
      auto seq = (*log)->Append(Query("ana", i));
      EXPECT_TRUE(seq.ok()) << seq.status();
    }
    return (*log)->path();
  }

  AuditVerification Verify(std::string_view expect_head = "") {
    auto v = VerifyAuditLog(dir_, expect_head);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : AuditVerification{.ok = false};
  }

  fs::path dir_;
  testing::FakeClock clock_;
};

TEST_F(AuditLogTest, AppendsAHashChainThatVerifies) {
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->path(), dir_ / "audit" / "audit.jsonl");
  for (int64_t want = 1; want <= 3; ++want) {
    clock_.Advance(std::chrono::microseconds(1234567));
    auto seq = (*log)->Append(Query("ana", want * 10));
    ASSERT_TRUE(seq.ok()) << seq.status();
    EXPECT_EQ(*seq, want);
  }
  std::vector<std::string> lines = ReadLines((*log)->path());
  ASSERT_EQ(lines.size(), 3u);
  json first = json::parse(lines[0]);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["prev"], std::string(kAuditGenesisHash));
  EXPECT_EQ(first["at"], "2026-01-01T00:00:01.234567Z");
  EXPECT_EQ(first["user"], "ana");
  EXPECT_EQ(first["tables"], json({"finance_monthly"}));
  EXPECT_EQ(first["rows"], 10);
  EXPECT_EQ(first["duration_ms"], 23.457);  // rounded to the microsecond
  EXPECT_EQ(first["hash"].get<std::string>().size(), 64u);
  json second = json::parse(lines[1]);
  EXPECT_EQ(second["prev"], first["hash"]);
  EXPECT_EQ(second["at"], "2026-01-01T00:00:02.469134Z");

  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 3);
  EXPECT_EQ(v.head_seq, 3);
  EXPECT_EQ(v.head_hash, json::parse(lines[2])["hash"]);
}

// With a sync window, an entry is in the file (and the chain) when Append returns; the
// group sync and the final sync at close only make it durable.
TEST_F(AuditLogTest, WithASyncWindowEntriesAreWrittenBeforeAppendReturns) {
  auto log = AuditLog::Open(dir_, clock_, std::chrono::milliseconds(20));
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 1; i <= 50; ++i) {
    auto seq = (*log)->Append(Query("ana", i));
    ASSERT_TRUE(seq.ok()) << seq.status();
    ASSERT_EQ(ReadLines((*log)->path()).size(), static_cast<size_t>(i));
  }
  EXPECT_EQ(Verify().entries, 50);
  log->reset();  // joins the sync thread after a last sync
  EXPECT_TRUE(Verify().ok);
  EXPECT_EQ(Verify().entries, 50);
}

// The hash is taken over the text as written, and verification re-parses it: awkward
// values must give the same canonical text both ways.
TEST_F(AuditLogTest, AwkwardValuesStillVerify) {
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok());
  for (const std::string& sql :
       {std::string("SELECT '\xff\xfe' -- invalid UTF-8"), std::string("SELECT '\x01\t\"\\'"),
        std::string("SELECT 'ção 名 😀'"), std::string(3000, 'x')}) {
    AuditEntry e = Query("ana", 7);
    e.sql = sql;
    ASSERT_TRUE((*log)->Append(e).ok()) << sql;
  }
  for (double d : {0.0, -0.0, 1e-7, 0.1 + 0.2, 123456789.123456, 1e300,
                   std::numeric_limits<double>::quiet_NaN()}) {
    AuditEntry e = Query("ana", std::numeric_limits<int64_t>::max());
    e.duration_ms = d;
    ASSERT_TRUE((*log)->Append(e).ok()) << d;
  }
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 11);
}

TEST_F(AuditLogTest, CreatesPrivateFolderAndFile) {
  fs::path file = WriteEntries(1);
  struct stat st {};
  ASSERT_EQ(::stat(file.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, HashDoesNotDependOnTheOrderOfKeysInTheFile) {
  fs::path file = WriteEntries(3);
  std::vector<std::string> lines = ReadLines(file);
  // The same entry with its keys written in reverse order (ordered_json keeps them).
  json j = json::parse(lines[1]);
  nlohmann::ordered_json reversed;
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  std::reverse(keys.begin(), keys.end());
  for (const std::string& k : keys) reversed[k] = j[k];
  ASSERT_NE(reversed.dump(), lines[1]);
  lines[1] = reversed.dump();
  WriteLines(file, lines);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, DetectsAnEditedFieldOfAMiddleEntry) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  json j = json::parse(lines[2]);
  j["rows"] = 0;  // hide what entry 3 returned, keeping its hash
  lines[2] = j.dump();
  WriteLines(file, lines);
  AuditVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3);
  EXPECT_EQ(v.entries, 2);
  EXPECT_NE(v.problem.find("edited"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, DetectsAnEditedSqlTextOrAnAddedField) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  json j = json::parse(lines[1]);
  j["sql"] = "SELECT 1";
  lines[1] = j.dump();
  WriteLines(file, lines);
  EXPECT_EQ(Verify().first_bad_seq, 2);

  lines = ReadLines(file);
  j = json::parse(lines[1]);
  j["sql"] = json::parse(ReadLines(file)[0])["sql"];  // restored
  j["note"] = "harmless";
  lines[1] = j.dump();
  WriteLines(file, lines);
  EXPECT_EQ(Verify().first_bad_seq, 2);
}

TEST_F(AuditLogTest, DetectsADeletedLine) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  lines.erase(lines.begin() + 2);
  WriteLines(file, lines);
  AuditVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3);
  EXPECT_NE(v.problem.find("seq 4 where 3 was expected"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, DetectsTwoSwappedLines) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  std::swap(lines[1], lines[2]);
  WriteLines(file, lines);
  AuditVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2);
}

TEST_F(AuditLogTest, DetectsAnInsertedLine) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  lines.insert(lines.begin() + 2, lines[1]);  // entry 2 replayed after itself
  WriteLines(file, lines);
  EXPECT_EQ(Verify().first_bad_seq, 3);
}

TEST_F(AuditLogTest, DetectsAForgedLineWithAWrongPrev) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  json forged = json::parse(lines[4]);
  forged["seq"] = 6;
  forged["prev"] = json::parse(lines[3])["hash"];  // not entry 5's hash
  forged["user"] = "mallory";
  lines.push_back(forged.dump());
  WriteLines(file, lines);
  AuditVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 6);
  EXPECT_EQ(v.entries, 5);
  EXPECT_NE(v.problem.find("prev"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, DetectsATruncatedTailLine) {
  fs::path file = WriteEntries(5);
  fs::resize_file(file, fs::file_size(file) - 10);
  AuditVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5);
  EXPECT_EQ(v.entries, 4);
  EXPECT_NE(v.problem.find("incomplete"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, AnExpectedHeadDetectsLinesCutOffTheEndAndARewrittenChain) {
  fs::path file = WriteEntries(5);
  std::vector<std::string> lines = ReadLines(file);
  const std::string head3 = json::parse(lines[2])["hash"];
  const std::string head5 = json::parse(lines[4])["hash"];
  EXPECT_TRUE(Verify(head3).ok);  // an older head is still in the chain
  EXPECT_TRUE(Verify(head5).ok);

  lines.resize(3);  // whole lines cut off the end: the chain alone cannot tell
  WriteLines(file, lines);
  EXPECT_TRUE(Verify().ok);
  AuditVerification v = Verify(head5);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.entries, 3);
  EXPECT_NE(v.problem.find("is not in the log"), std::string::npos) << v.problem;

  fs::remove(file);  // rewritten from scratch with a valid chain of its own
  WriteEntries(5);
  EXPECT_TRUE(Verify().ok);
  EXPECT_FALSE(Verify(head5).ok);
}

TEST_F(AuditLogTest, VerifyErrors) {
  EXPECT_TRUE(absl::IsNotFound(VerifyAuditLog(dir_).status()));
  WriteEntries(1);
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyAuditLog(dir_, "abc").status()));
  AuditVerification empty_head_upper = Verify(std::string(64, 'A'));
  EXPECT_FALSE(empty_head_upper.ok);  // accepted as hex, but not in the log
}

TEST_F(AuditLogTest, AnIncompleteLastLineIsCutOffAndTheCutRecorded) {
  fs::path file = WriteEntries(3);
  {
    std::ofstream out(file, std::ios::app);
    out << R"({"action":"query","seq":4,"us)";  // a crash between write and sync
  }
  EXPECT_FALSE(Verify().ok);
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok());
  auto seq = (*log)->Append(Query("bia", 1));
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 5);
  std::vector<std::string> lines = ReadLines(file);
  ASSERT_EQ(lines.size(), 5u);
  json recovered = json::parse(lines[3]);
  EXPECT_EQ(recovered["action"], "audit.recover");
  EXPECT_EQ(recovered["outcome"], "error");
  EXPECT_NE(recovered["reason"].get<std::string>().find("incomplete last line of 29 bytes"),
            std::string::npos)
      << recovered["reason"];
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 5);
}

TEST_F(AuditLogTest, RefusesToAppendAfterALastLineThatIsNotAnEntry) {
  fs::path file = WriteEntries(2);
  {
    std::ofstream out(file, std::ios::app);
    out << "not json\n";
  }
  const std::string before = ReadFile(file);
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok());
  auto seq = (*log)->Append(Query("ana", 1));
  EXPECT_TRUE(absl::IsFailedPrecondition(seq.status())) << seq.status();
  EXPECT_EQ(ReadFile(file), before);
}

TEST_F(AuditLogTest, RefusesAnEntryWithoutActionOrWithAnUnknownOutcome) {
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok());
  AuditEntry e = Query("ana", 1);
  e.outcome = "ok";
  EXPECT_TRUE(absl::IsInvalidArgument((*log)->Append(e).status()));
  e = Query("ana", 1);
  e.action = "";
  EXPECT_TRUE(absl::IsInvalidArgument((*log)->Append(e).status()));
  EXPECT_EQ(fs::file_size((*log)->path()), 0u);
}

TEST_F(AuditLogTest, ConcurrentAppendsFromThreadsKeepOneChain) {
  // Two logs open on the same file in this process (two open files, like two
  // processes) and two threads on each.
  auto a = AuditLog::Open(dir_);
  auto b = AuditLog::Open(dir_);
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::vector<int64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    AuditLog* log = (t % 2 == 0 ? *a : *b).get();
    threads.emplace_back([&, log, t] {
      for (int i = 0; i < kEach; ++i) {
        auto seq = log->Append(Query("thread" + std::to_string(t), i));
        seqs[t].push_back(seq.ok() ? *seq : -1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<int64_t> all;
  for (const auto& s : seqs) all.insert(s.begin(), s.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kEach);
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, kThreads * kEach);
}

// An append reads the head back from the file when another writer may have appended;
// an entry longer than the one read of the file's end it tries first still chains.
TEST_F(AuditLogTest, EntriesLongerThanOneReadOfTheEndAndOtherWritersStillChain) {
  auto a = AuditLog::Open(dir_, clock_);
  auto b = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(a.ok() && b.ok());
  AuditEntry long_one = Query("ana", 1);
  long_one.sql = "SELECT " + std::string(40 * 1024, '1');
  for (auto* log : {&*a, &*b, &*a, &*a, &*b}) {
    auto seq = (*log)->Append(long_one);
    ASSERT_TRUE(seq.ok()) << seq.status();
    ASSERT_TRUE((*b)->Append(Query("bia", 2)).ok());
  }
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 10);
}

TEST_F(AuditLogTest, ConcurrentAppendsFromProcessesKeepOneChain) {
  constexpr int kChildren = 2, kEach = 100;
  ASSERT_TRUE(AuditLog::Open(dir_).ok());  // the file exists before the race
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: its own open file, so only flock orders it with the others.
      auto log = AuditLog::Open(dir_);
      int failures = log.ok() ? 0 : kEach;
      for (int i = 0; log.ok() && i < kEach; ++i) {
        if (!(*log)->Append(Query("child" + std::to_string(c), i)).ok()) ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  auto log = AuditLog::Open(dir_);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < kEach; ++i) EXPECT_TRUE((*log)->Append(Query("parent", i)).ok());
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, (kChildren + 1) * kEach);
  std::map<std::string, int> per_user;
  for (const std::string& line : ReadLines((*log)->path())) {
    ++per_user[json::parse(line)["user"].get<std::string>()];
  }
  EXPECT_EQ(per_user,
            (std::map<std::string, int>{{"child0", kEach}, {"child1", kEach}, {"parent", kEach}}));
}

TEST_F(AuditLogTest, TheAuditorViewReadsTheEntriesWithTypedColumns) {
  fs::path file = WriteEntries(0);
  auto engine = lake::Engine::Open({.memory_limit = "256MB",
                                    .threads = 1,
                                    .external_access = false,
                                    .allowed_paths = {file.string()}});
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->Execute(AuditViewSql(file)).ok());
  auto empty = (*engine)->QueryValue("SELECT count(*) FROM audit_log");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(std::get<int64_t>(*empty), 0);

  WriteEntries(2);
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)
                  ->Append({.user = "cli:root",
                            .action = "query",
                            .sql = "SELECT cpf FROM dim_customer",
                            .tables = {"dim_customer"},
                            .columns = {"dim_customer.cpf"},
                            .outcome = "denied",
                            .reason = "column dim_customer.cpf is restricted",
                            .remote = "cli"})
                  .ok());
  auto r = (*engine)->Query(
      "SELECT seq, \"at\", user, role, action, outcome, reason, rows, duration_ms, "
      "len(tables) AS n_tables, columns[1] AS first_column, remote, catalog_version, "
      "subject, length(prev) AS prev_len, hash FROM audit_log ORDER BY seq");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 3u);
  EXPECT_EQ(r->types()[0], "BIGINT");
  EXPECT_EQ(r->types()[1], "TIMESTAMP");
  EXPECT_EQ(r->types()[7], "BIGINT");
  EXPECT_EQ(r->types()[8], "DOUBLE");
  EXPECT_EQ(r->Int(0, 0), 1);
  EXPECT_EQ(r->Text(0, 1), "2026-01-01 00:00:01.5");
  EXPECT_EQ(r->Text(0, 2), "ana");
  EXPECT_EQ(r->Text(0, 3), "finance");
  EXPECT_EQ(r->Int(1, 7), 1);
  EXPECT_EQ(r->Double(1, 8), 23.457);
  EXPECT_EQ(r->Int(1, 9), 1);
  EXPECT_EQ(r->Text(1, 10), "finance_monthly.month");
  EXPECT_EQ(r->Text(2, 5), "denied");
  EXPECT_EQ(r->Text(2, 6), "column dim_customer.cpf is restricted");
  EXPECT_EQ(r->Text(2, 3), "");
  EXPECT_EQ(r->Int(2, 14), 64);
  EXPECT_EQ(r->Text(2, 15), Verify().head_hash);
  auto types = (*engine)->Query(
      "SELECT column_type FROM (DESCRIBE audit_log) WHERE column_name IN ('tables', 'columns')");
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_EQ(types->rows(), 2u);
  EXPECT_EQ(types->Text(0, 0), "VARCHAR[]");
  // The auditor's engine may read this file and no other.
  auto other = (*engine)->Query("SELECT * FROM read_text('/etc/hostname')");
  EXPECT_FALSE(other.ok());
}

// With a sync window the log lines leave the answer's path too: the group sync's
// thread ships them, in seq order, and closing the log ships what is left.
TEST_F(AuditLogTest, WithASyncWindowEveryEntryIsShippedInOrderByClose) {
  auto log = AuditLog::Open(dir_, clock_, std::chrono::milliseconds(20));
  ASSERT_TRUE(log.ok());
  log::Init("info");
  ::testing::internal::CaptureStderr();
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE((*log)->Append(Query("ana", i)).ok());
  log->reset();
  const std::string err = ::testing::internal::GetCapturedStderr();
  std::vector<int64_t> shipped;
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);) {
    json j = json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("logger", "") == "audit") shipped.push_back(j["seq"]);
  }
  std::vector<int64_t> expected(50);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(shipped, expected);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, TheLogLineCarriesNoPersonalData) {
  auto log = AuditLog::Open(dir_, clock_);
  ASSERT_TRUE(log.ok());
  log::Init("info");
  ::testing::internal::CaptureStderr();
  auto seq =
      (*log)->Append({.user = "ana",
                      .role = "credit",
                      .action = "query",
                      .sql = "SELECT * FROM dim_customer WHERE cpf = '529.982.247-25' OR email = "
                             "'maria.silva@example.com' OR cpf = '52998224725'",
                      .tables = {"dim_customer"},
                      .rows = 1,
                      .duration_ms = 31.5,
                      .outcome = "error",
                      .reason = "Conversion Error: '529.982.247-25' for maria.silva@example.com",
                      .remote = "10.0.0.7:41000"});
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(seq.ok()) << seq.status();
  std::optional<json> line;
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);) {
    json j = json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("logger", "") == "audit") line = j;
  }
  ASSERT_TRUE(line.has_value()) << err;
  EXPECT_EQ((*line)["seq"], *seq);
  EXPECT_EQ((*line)["hash"], Verify().head_hash);
  EXPECT_EQ((*line)["user"], "ana");
  EXPECT_EQ((*line)["role"], "credit");
  EXPECT_EQ((*line)["action"], "query");
  EXPECT_EQ((*line)["outcome"], "error");
  EXPECT_EQ((*line)["tables"], json({"dim_customer"}));
  EXPECT_EQ((*line)["rows"], 1);
  EXPECT_EQ((*line)["duration_ms"], 31.5);
  for (const char* pii : {"529.982.247-25", "52998224725", "maria.silva@example.com", "982.247"}) {
    EXPECT_EQ(err.find(pii), std::string::npos) << pii << " in " << err;
  }
  EXPECT_NE((*line)["sql"].get<std::string>().find("FROM dim_customer WHERE cpf = '[redacted]'"),
            std::string::npos)
      << (*line)["sql"];
  // The audit file itself keeps the SQL text as received: it is the record.
  EXPECT_NE(ReadFile((*log)->path()).find("529.982.247-25"), std::string::npos);
}

}  // namespace
}  // namespace lastro::governance
