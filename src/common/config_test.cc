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

}  // namespace
}  // namespace lastro
