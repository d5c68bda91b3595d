#include "web/http_util.h"

#include <gtest/gtest.h>

namespace lastro::web::internal {
namespace {

TEST(PercentDecode, DecodesEscapesAndOptionallyPlus) {
  EXPECT_EQ(PercentDecode("a%20b+c%2F", false), "a b+c/");
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("", true), "");
}

TEST(PercentDecode, RejectsTruncatedOrNonHexEscapes) {
  EXPECT_FALSE(PercentDecode("%", false));
  EXPECT_FALSE(PercentDecode("abc%4", false));
  EXPECT_FALSE(PercentDecode("%zz", false));
}

TEST(ParseQuery, SplitsDecodesAndKeepsLastRepeat) {
  std::map<std::string, std::string> q;
  ASSERT_TRUE(ParseQuery("a=1&b=x%20y&flag&&a=2&c=", &q));
  EXPECT_EQ(
      q, (std::map<std::string, std::string>{{"a", "2"}, {"b", "x y"}, {"flag", ""}, {"c", ""}}));
  EXPECT_FALSE(ParseQuery("a=%G1", &q));
}

TEST(IsUnsafePath, FlagsDotSegmentsAndNul) {
  EXPECT_TRUE(IsUnsafePath("/a/../b"));
  EXPECT_TRUE(IsUnsafePath("/a/."));
  EXPECT_TRUE(IsUnsafePath(std::string_view("/a\0b", 4)));
  EXPECT_FALSE(IsUnsafePath("/a/..b/.c/"));
}

TEST(Base64Decode, DecodesWithOrWithoutPadding) {
  EXPECT_EQ(Base64Decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(Base64Decode("YQ=="), "a");
  EXPECT_EQ(Base64Decode("YQ"), "a");
  EXPECT_FALSE(Base64Decode("Y"));
  EXPECT_FALSE(Base64Decode("a*b="));
}

TEST(AuthorizationMatches, AcceptsBearerOrBasicPasswordOnly) {
  EXPECT_TRUE(AuthorizationMatches("Bearer tok", "tok"));
  EXPECT_TRUE(AuthorizationMatches("bearer  tok ", "tok"));
  EXPECT_TRUE(AuthorizationMatches("Basic dXNlcjp0b2s=", "tok"));   // user:tok
  EXPECT_FALSE(AuthorizationMatches("Basic dG9rOnVzZXI=", "tok"));  // tok:user
  EXPECT_FALSE(AuthorizationMatches("Bearer tok2", "tok"));
  EXPECT_FALSE(AuthorizationMatches("Bearer to", "tok"));
  EXPECT_FALSE(AuthorizationMatches("Digest tok", "tok"));
  EXPECT_FALSE(AuthorizationMatches("Bearer ", ""));
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(ParseHostPort, AcceptsHostPortAndBracketedV6) {
  auto v4 = ParseHostPort("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = ParseHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(ParseHostPort(":9")->host, "");
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHostPort("x:65536").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHostPort("x:1a").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHostPort("[::1]").status()));
}

TEST(JsonEscape, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(Router, PrefersExactThenLongestPrefixAndListsAllowedMethods) {
  Router router;
  int hit = 0;
  router.Add("GET", "/api/*", [&](const Request&, const Responder&) { hit = 1; });
  router.Add("GET", "/api/v1/*", [&](const Request&, const Responder&) { hit = 2; });
  router.Add("POST", "/api/v1/x", [&](const Request&, const Responder&) { hit = 3; });
  Responder none(nullptr);
  auto m = router.Find("GET", "/api/v1/x");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(Request(), none);
  EXPECT_EQ(hit, 2);
  m = router.Find("GET", "/api/other");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(Request(), none);
  EXPECT_EQ(hit, 1);
  m = router.Find("DELETE", "/api/v1/x");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, POST");
  m = router.Find("GET", "/elsewhere");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "");
}

}  // namespace
}  // namespace lastro::web::internal
