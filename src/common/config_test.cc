#include "common/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace lastro {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteTemp(const std::string& text) {
  char name[] = "/tmp/lastro_config_XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

TEST(Config, DefaultsWithoutFile) {
  auto c = LoadConfig("", FakeEnv({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http.addr, "127.0.0.1:8080");
  EXPECT_EQ(c->stream.batch_max, 500);
}

TEST(Config, FileValuesThenEnvironmentOverrides) {
  std::string path = WriteTemp("[pg]\ndsn = \"host=file\"\n[http]\naddr = \"0.0.0.0:9\"\n");
  auto c = LoadConfig(path, FakeEnv({{"LASTRO_PG_DSN", "host=env"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pg.dsn, "host=env");
  EXPECT_EQ(c->http.addr, "0.0.0.0:9");
  std::remove(path.c_str());
}

TEST(Config, SecretFromFileVariable) {
  std::string secret = WriteTemp("s3cret\n");
  auto c = LoadConfig("", FakeEnv({{"LASTRO_RISK_TOKEN_FILE", secret}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->risk.token, "s3cret");
  std::remove(secret.c_str());
}

TEST(Config, UnknownKeyNamesLine) {
  std::string path = WriteTemp("[stream]\nbatch_max = 10\nbatch_mx = 3\n");
  auto c = LoadConfig(path, FakeEnv({}));
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(c.status()));
  EXPECT_NE(c.status().message().find(":3:"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("stream.batch_mx"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Config, WrongTypeAndRangeAreRefused) {
  std::string path = WriteTemp("[stream]\nbatch_max = \"ten\"\n");
  EXPECT_TRUE(absl::IsInvalidArgument(LoadConfig(path, FakeEnv({})).status()));
  std::ofstream(path) << "[stream]\nbatch_max = 0\n";
  EXPECT_TRUE(absl::IsInvalidArgument(LoadConfig(path, FakeEnv({})).status()));
  std::ofstream(path) << "[stream\n";
  EXPECT_TRUE(absl::IsInvalidArgument(LoadConfig(path, FakeEnv({})).status()));
  std::remove(path.c_str());
}

TEST(Config, MissingFileIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(LoadConfig("/nonexistent/lastro.toml", FakeEnv({})).status()));
}

TEST(Config, PathFromFlagThenEnvironment) {
  EXPECT_EQ(ConfigPathFrom("a.toml", FakeEnv({{"LASTRO_CONFIG", "b.toml"}})), "a.toml");
  EXPECT_EQ(ConfigPathFrom("", FakeEnv({{"LASTRO_CONFIG", "b.toml"}})), "b.toml");
  EXPECT_EQ(ConfigPathFrom("", FakeEnv({})), "");
}

}  // namespace
}  // namespace lastro

namespace lastro {
namespace {

// lastro.example.toml documents every setting with its default: it must parse, and
// loading it must change nothing.
TEST(Config, TheExampleFileParsesAndStatesTheDefaults) {
  auto from_file = LoadConfig(std::string(LASTRO_SOURCE_DIR) + "/lastro.example.toml", FakeEnv({}));
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  auto defaults = LoadConfig("", FakeEnv({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(from_file->pg.dsn, defaults->pg.dsn);
  EXPECT_EQ(from_file->stream.batch_max_ms, defaults->stream.batch_max_ms);
  EXPECT_EQ(from_file->lake.memory_limit, defaults->lake.memory_limit);
  EXPECT_EQ(from_file->lake.row_group_rows, defaults->lake.row_group_rows);
  EXPECT_EQ(from_file->batch.overlap_minutes, defaults->batch.overlap_minutes);
  EXPECT_EQ(from_file->batch.statement_timeout_ms, defaults->batch.statement_timeout_ms);
  EXPECT_EQ(from_file->batch.quality_rules, defaults->batch.quality_rules);
  EXPECT_EQ(from_file->bureau.url, defaults->bureau.url);
  EXPECT_EQ(from_file->bureau.batch_size, defaults->bureau.batch_size);
  EXPECT_EQ(from_file->bureau.deadline_ms, defaults->bureau.deadline_ms);
  EXPECT_EQ(from_file->lineage.timeout_ms, defaults->lineage.timeout_ms);
}

TEST(Config, StageTwoSecretsComeFromTheEnvironment) {
  auto c = LoadConfig("", FakeEnv({{"LASTRO_TOKEN_KEY", "k-0123456789abcdef"},
                                   {"LASTRO_REPLICA_DSN", "host=replica"},
                                   {"LASTRO_BUREAU_TOKEN", "b"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->batch.token_key, "k-0123456789abcdef");
  EXPECT_EQ(c->batch.replica_dsn, "host=replica");
  EXPECT_EQ(c->bureau.token, "b");
}

TEST(Config, TheMasterKeyComesFromTheEnvironmentAndPlaintextContactPiiIsGone) {
  std::string key = WriteTemp(std::string(64, 'a') + "\n");
  auto c = LoadConfig("", FakeEnv({{"LASTRO_MASTER_KEY_FILE", key},
                                   {"LASTRO_GOVERNANCE_DIR", "/var/lib/lastro/governance"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->governance.master_key, std::string(64, 'a'));
  EXPECT_EQ(c->governance.state_dir, "/var/lib/lastro/governance");
  std::remove(key.c_str());
  // batch.include_contact_pii (names and e-mails in plaintext) no longer exists: a
  // config that still sets it fails loudly instead of silently dropping the data.
  std::string path = WriteTemp("[batch]\ninclude_contact_pii = true\n");
  auto old = LoadConfig(path, FakeEnv({}));
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("batch.include_contact_pii"), std::string::npos)
      << old.status();
  std::remove(path.c_str());
}

TEST(Config, OpenFinanceSettingsFromFileAndEnvironment) {
  std::string secret = WriteTemp("of-s3cret\n");
  std::string path = WriteTemp("[openfinance]\npage_size = 1000\nhistory_days = 90\n");
  auto c = LoadConfig(path, FakeEnv({{"LASTRO_OPENFINANCE_URL", "http://bank:1"},
                                     {"LASTRO_OPENFINANCE_TOKEN_FILE", secret}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->openfinance.url, "http://bank:1");
  EXPECT_EQ(c->openfinance.token, "of-s3cret");
  EXPECT_EQ(c->openfinance.page_size, 1000);
  EXPECT_EQ(c->openfinance.history_days, 90);
  auto example = LoadConfig(std::string(LASTRO_SOURCE_DIR) + "/lastro.example.toml", FakeEnv({}));
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_EQ(example->openfinance.deadline_ms, OpenFinanceConfig().deadline_ms);
  EXPECT_EQ(example->openfinance.overlap_days, OpenFinanceConfig().overlap_days);
  std::remove(path.c_str());
  std::remove(secret.c_str());
}

TEST(Config, EventsSettingsAreReadAndChecked) {
  std::string path = WriteTemp("[events]\nmax_line_bytes = 65536\nraw_line_bytes = 512\n");
  auto c = LoadConfig(path, FakeEnv({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events.max_line_bytes, 65536);
  EXPECT_EQ(c->events.raw_line_bytes, 512);
  std::remove(path.c_str());
  auto example = LoadConfig(std::string(LASTRO_SOURCE_DIR) + "/lastro.example.toml", FakeEnv({}));
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_EQ(example->events.max_line_bytes, EventsConfig().max_line_bytes);
  EXPECT_EQ(example->events.raw_line_bytes, EventsConfig().raw_line_bytes);
  EXPECT_EQ(example->events.max_late_days, EventsConfig().max_late_days);
  EXPECT_EQ(example->events.max_clock_skew_s, EventsConfig().max_clock_skew_s);
  for (const char* bad : {"max_line_bytes = 0", "raw_line_bytes = -1", "max_late_days = 0",
                          "max_clock_skew_s = -1"}) {
    path = WriteTemp(std::string("[events]\n") + bad + "\n");
    auto refused = LoadConfig(path, FakeEnv({}));
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << bad;
    EXPECT_NE(refused.status().message().find("events."), std::string::npos) << refused.status();
    std::remove(path.c_str());
  }
}

TEST(Config, OpenFinanceLimitsAreChecked) {
  for (const char* bad : {"page_size = 1001", "page_size = 0", "history_days = 367",
                          "overlap_days = -1", "url = \"ftp://x\"", "backoff_max_ms = 1",
                          "breaker_failure_ratio = 0.0", "max_in_flight = 0"}) {
    std::string path = WriteTemp(std::string("[openfinance]\n") + bad + "\n");
    auto c = LoadConfig(path, FakeEnv({}));
    EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << bad;
    EXPECT_NE(c.status().message().find("openfinance"), std::string::npos) << c.status();
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace lastro
