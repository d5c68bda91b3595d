#include "governance/api_tokens.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ApiTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lastro_tokens_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Issue(const std::string& user, const std::string& role, std::string* id = nullptr) {
    auto token = IssueApiToken(dir_, user, role, id);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  std::optional<ApiIdentity> Authenticate(std::string_view token) {
    auto tokens = ApiTokens::Load(dir_);
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    return tokens.ok() ? tokens->Authenticate(token) : std::nullopt;
  }

  fs::path dir_;
};

TEST_F(ApiTokensTest, IssuedTokenAuthenticatesUntilRevoked) {
  std::string id;
  const std::string token = Issue("ana.souza@lastro", "finance", &id);
  EXPECT_TRUE(token.starts_with("lst_"));
  EXPECT_EQ(token.size(), 4u + 43u);  // 32 bytes in unpadded base64url
  EXPECT_TRUE(id.starts_with("tok_"));

  std::optional<ApiIdentity> who = Authenticate(token);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->user, "ana.souza@lastro");
  EXPECT_EQ(who->role, "finance");
  EXPECT_EQ(who->token_id, id);

  ASSERT_TRUE(RevokeApiToken(dir_, id).ok());
  EXPECT_FALSE(Authenticate(token).has_value());
  EXPECT_TRUE(RevokeApiToken(dir_, id).ok());  // again: nothing changes

  auto list = ListApiTokens(dir_);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, id);
  EXPECT_EQ((*list)[0].user, "ana.souza@lastro");
  EXPECT_EQ((*list)[0].role, "finance");
  EXPECT_EQ((*list)[0].created_at.size(), 20u);  // 2026-01-01T00:00:00Z
  EXPECT_FALSE((*list)[0].revoked_at.empty());
}

TEST_F(ApiTokensTest, WrongTokensAreRefused) {
  const std::string token = Issue("ana", "finance");
  Issue("bia", "marketing");
  std::string altered = token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  for (const std::string& wrong :
       {std::string(), std::string("lst_"), altered, token.substr(4), token + "x",
        std::string("Bearer ") + token, token.substr(0, token.size() - 1)}) {
    EXPECT_FALSE(Authenticate(wrong).has_value()) << wrong;
  }
  EXPECT_EQ(Authenticate(token)->user, "ana");
}

TEST_F(ApiTokensTest, TheTokenFileHoldsNoPlaintextToken) {
  const std::string token = Issue("ana", "finance");
  const fs::path file = ApiTokenFile(dir_);
  const std::string text = ReadFile(file);
  EXPECT_EQ(text.find(token), std::string::npos);
  EXPECT_EQ(text.find(token.substr(4)), std::string::npos);
  EXPECT_EQ(text.find(token.substr(4, 16)), std::string::npos);
  EXPECT_NE(text.find("\"sha256\""), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
}

TEST_F(ApiTokensTest, UserAndRoleMustBeSimpleNames) {
  for (const std::string& bad :
       {std::string(), std::string("Ana"), std::string("a b"), std::string(65, 'a'),
        std::string("ana;drop"), std::string("ana\n")}) {
    EXPECT_TRUE(absl::IsInvalidArgument(IssueApiToken(dir_, bad, "finance").status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(IssueApiToken(dir_, "ana", bad).status())) << bad;
  }
  EXPECT_TRUE(IssueApiToken(dir_, std::string(64, 'a'), "credit_analyst-2.x@y").ok());
}

TEST_F(ApiTokensTest, NoFileIsNoTokens) {
  auto tokens = ApiTokens::Load(dir_);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_TRUE(tokens->List().empty());
  EXPECT_FALSE(tokens->Authenticate("lst_anything").has_value());
  EXPECT_TRUE(absl::IsNotFound(RevokeApiToken(dir_, "tok_000000000000")));
}

TEST_F(ApiTokensTest, AMalformedFileIsAnError) {
  fs::create_directories(dir_);
  std::ofstream(ApiTokenFile(dir_)) << R"({"version":1,"tokens":[{"id":"tok_1"}]})";
  EXPECT_TRUE(absl::IsFailedPrecondition(ApiTokens::Load(dir_).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(IssueApiToken(dir_, "ana", "finance").status()));
  std::ofstream(ApiTokenFile(dir_)) << "{";
  EXPECT_TRUE(absl::IsFailedPrecondition(ApiTokens::Load(dir_).status()));
}

TEST_F(ApiTokensTest, TheCacheSeesTokensIssuedAndRevokedAfterItLoaded) {
  auto cache = ApiTokenCache::Create(dir_);
  ASSERT_TRUE(cache.ok()) << cache.status();
  std::string id;
  const std::string token = Issue("ana", "credit", &id);
  auto snapshot = ApiTokens::Load(dir_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(snapshot->IsCurrent());
  std::optional<ApiIdentity> who = (*cache)->Authenticate(token);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->role, "credit");
  ASSERT_TRUE(RevokeApiToken(dir_, id).ok());
  EXPECT_FALSE(snapshot->IsCurrent());
  EXPECT_TRUE(snapshot->Authenticate(token).has_value());  // a snapshot is a snapshot
  EXPECT_FALSE((*cache)->Authenticate(token).has_value());
}

TEST_F(ApiTokensTest, ConcurrentIssuesLoseNoToken) {
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::vector<std::string>> tokens(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto token = IssueApiToken(dir_, "user" + std::to_string(t), "finance");
        tokens[t].push_back(token.ok() ? *token : "");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto snapshot = ApiTokens::Load(dir_);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->List().size(), size_t{kThreads * kEach});
  for (int t = 0; t < kThreads; ++t) {
    for (const std::string& token : tokens[t]) {
      std::optional<ApiIdentity> who = snapshot->Authenticate(token);
      ASSERT_TRUE(who.has_value());
      EXPECT_EQ(who->user, "user" + std::to_string(t));
    }
  }
}

}  // namespace
}  // namespace lastro::governance
