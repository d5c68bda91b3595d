#include "common/log.h"

#include <gtest/gtest.h>

namespace lastro::log {
namespace {

TEST(Log, RendersJsonWithFieldsAndCorrelation) {
  ScopedCorrelation c("abc123");
  auto line = nlohmann::json::parse(Render(Level::kInfo, "decided", {{"request_id", 42}}));
  EXPECT_EQ(line["message"], "decided");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["request_id"], 42);
  EXPECT_EQ(line["correlation_id"], "abc123");
  EXPECT_EQ(line["service"], "lastro");
}

TEST(Log, NeverWritesPii) {
  std::string out = Render(Level::kWarn, "bad cpf 123.456.789-09 from ana@example.com",
                           {{"cpf", "12345678909"},
                            {"name", "Ana Souza"},
                            {"detail", "phone +55 11 98765-4321"},
                            {"nested", {{"email", "x@y.z"}}}});
  for (const char* pii :
       {"123.456.789-09", "12345678909", "ana@example.com", "Ana Souza", "98765-4321", "x@y.z"}) {
    EXPECT_EQ(out.find(pii), std::string::npos) << pii << " leaked in " << out;
  }
}

TEST(Log, CorrelationIsScoped) {
  {
    ScopedCorrelation c("outer");
    { ScopedCorrelation d("inner"); }
    EXPECT_EQ(nlohmann::json::parse(Render(Level::kInfo, "x", {}))["correlation_id"], "outer");
  }
  EXPECT_FALSE(nlohmann::json::parse(Render(Level::kInfo, "x", {})).contains("correlation_id"));
}

}  // namespace
}  // namespace lastro::log

namespace lastro::log {
namespace {

TEST(Log, RequestCorrelationIsStable) {
  EXPECT_EQ(RequestCorrelationId(42), "req-42");
  ScopedCorrelation c(RequestCorrelationId(42));
  EXPECT_EQ(nlohmann::json::parse(Render(Level::kInfo, "x", {}))["correlation_id"], "req-42");
}

}  // namespace
}  // namespace lastro::log
