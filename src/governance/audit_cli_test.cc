// `lastro audit verify` and `lastro token ...` as operators run them: the real binary
// ($LASTRO_BIN) on a state folder of its own (LASTRO_GOVERNANCE_DIR).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "governance/api_tokens.h"
#include "governance/audit_log.h"
#include "testing/subprocess.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::LastroBin;
using testing::Subprocess;

struct CliRun {
  int code = -1;
  std::string out, err;
};

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestDir(std::string("audit-cli-") +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    state_ = dir_ + "/governance";
    log::Init("warn");  // the entries this test appends itself
  }

  std::unique_ptr<Subprocess> Start(std::vector<std::string> args) {
    args.insert(args.begin(), LastroBin());
    auto p = Subprocess::Start(args, {{"LASTRO_GOVERNANCE_DIR", state_}},
                               dir_ + "/cmd-" + std::to_string(++n_));
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }

  CliRun Lastro(std::vector<std::string> args) {
    auto p = Start(std::move(args));
    if (!p) return {};
    std::optional<int> code = p->Wait(std::chrono::seconds(60));
    return {code.value_or(-1), p->Stdout(), p->Stderr()};
  }

  std::string dir_, state_;
  int n_ = 0;
};

TEST_F(AuditCliTest, TokenCreatePrintsOnlyTheTokenAndIsAudited) {
  CliRun created = Lastro({"token", "create", "--user", "ana", "--role", "finance"});
  ASSERT_EQ(created.code, 0) << created.err;
  ASSERT_TRUE(created.out.starts_with("lst_")) << created.out;
  EXPECT_EQ(created.out.size(), 4u + 43u + 1u);  // the token and a newline, nothing else
  const std::string token = created.out.substr(0, created.out.size() - 1);

  auto tokens = ApiTokens::Load(state_);
  ASSERT_TRUE(tokens.ok());
  std::optional<ApiIdentity> who = tokens->Authenticate(token);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->role, "finance");

  CliRun listed = Lastro({"token", "list", "--json"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  json list = json::parse(listed.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], who->token_id);
  EXPECT_EQ(listed.out.find(token.substr(4)), std::string::npos);

  CliRun revoked = Lastro({"token", "revoke", "--id", who->token_id});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_FALSE(ApiTokens::Load(state_)->Authenticate(token).has_value());
  EXPECT_EQ(Lastro({"token", "revoke", "--id", "tok_000000000000"}).code, 2);
  EXPECT_EQ(Lastro({"token", "create", "--user", "Ana", "--role", "finance"}).code, 2);

  // Both token commands are in the audit log, which verifies.
  CliRun verified = Lastro({"audit", "verify", "--json"});
  ASSERT_EQ(verified.code, 0) << verified.out << verified.err;
  json v = json::parse(verified.out);
  EXPECT_EQ(v["entries"], 2);
  std::ifstream in(AuditLogFile(state_));
  std::string line1, line2;
  std::getline(in, line1);
  std::getline(in, line2);
  EXPECT_EQ(json::parse(line1)["action"], "token.create");
  EXPECT_EQ(json::parse(line1)["subject"], who->token_id);
  EXPECT_EQ(json::parse(line2)["action"], "token.revoke");
  EXPECT_TRUE(json::parse(line1)["user"].get<std::string>().starts_with("cli:"));
}

TEST_F(AuditCliTest, VerifyExitCodesSayIntactTamperedOrUnreadable) {
  EXPECT_EQ(Lastro({"audit", "verify"}).code, 2);  // no log yet
  {
    auto log = AuditLog::Open(state_);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*log)->Append({.user = "ana", .action = "query", .outcome = "allowed"}).ok());
    }
  }
  auto v = VerifyAuditLog(state_);
  ASSERT_TRUE(v.ok());
  CliRun ok = Lastro({"audit", "verify", "--expect-head", v->head_hash});
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK, 3 entries"), std::string::npos) << ok.out;
  EXPECT_EQ(Lastro({"audit", "verify", "--expect-head", "xyz"}).code, 2);
  EXPECT_EQ(Lastro({"audit", "verify", "--expect-head", std::string(64, '0')}).code, 1);

  fs::resize_file(AuditLogFile(state_), fs::file_size(AuditLogFile(state_)) - 5);
  CliRun tampered = Lastro({"audit", "verify"});
  EXPECT_EQ(tampered.code, 1);
  EXPECT_NE(tampered.out.find("TAMPERED: entry 3"), std::string::npos) << tampered.out;
}

TEST_F(AuditCliTest, TwoProcessesIssuingAtOnceKeepOneChain) {
  constexpr int kEach = 5;
  std::vector<std::unique_ptr<Subprocess>> running;
  for (int i = 0; i < kEach; ++i) {
    for (const char* user : {"ana", "bia"}) {
      running.push_back(Start({"token", "create", "--user", user, "--role", "credit"}));
    }
  }
  for (auto& p : running) {
    ASSERT_TRUE(p);
    EXPECT_EQ(p->Wait(std::chrono::seconds(60)), 0) << p->Stderr();
  }
  auto v = VerifyAuditLog(state_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries, 2 * kEach);
  EXPECT_EQ(ListApiTokens(state_)->size(), size_t{2 * kEach});
}

}  // namespace
}  // namespace lastro::governance
