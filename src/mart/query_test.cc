#include "mart/query.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace lastro::mart {
namespace {

TEST(NamedQueries, EveryFileHasANameAndItsParamsAreUsed) {
  auto all = NamedQueries();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_GE(all->size(), 4u);
  for (const NamedQuery& q : *all) {
    EXPECT_FALSE(q.description.empty()) << q.name;
    for (const QueryParam& p : q.params) {
      EXPECT_TRUE(absl::StrContains(q.sql, "{{" + p.name + "}}")) << q.name << " " << p.name;
    }
  }
}

TEST(NamedQueries, SubstitutesTypedLiterals) {
  auto sql =
      ExpandNamedQuery("finance.daily_volume", {{"from", "2026-11-01"}, {"to", "2026-11-07"}});
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_TRUE(absl::StrContains(*sql, "BETWEEN DATE '2026-11-01' AND DATE '2026-11-07'"));
}

TEST(NamedQueries, UnknownNameListsTheNames) {
  auto sql = ExpandNamedQuery("finance.nope", {});
  ASSERT_TRUE(absl::IsNotFound(sql.status()));
  EXPECT_TRUE(absl::StrContains(sql.status().message(), "finance.daily_volume"));
}

TEST(NamedQueries, UnknownMissingOrMalformedParamsAreRefusedWithTheDeclaredOnes) {
  auto unknown = ExpandNamedQuery("finance.daily_volume",
                                  {{"from", "2026-11-01"}, {"to", "2026-11-02"}, {"x", "1"}});
  ASSERT_TRUE(absl::IsInvalidArgument(unknown.status()));
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "from (DATE)"));
  auto missing = ExpandNamedQuery("finance.daily_volume", {{"from", "2026-11-01"}});
  ASSERT_TRUE(absl::IsInvalidArgument(missing.status()));
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "--param to="));
  auto bad = ExpandNamedQuery("finance.daily_volume",
                              {{"from", "2026-11-01'; DROP TABLE x; --"}, {"to", "2026-11-02"}});
  ASSERT_TRUE(absl::IsInvalidArgument(bad.status()));
}

TEST(SubqueryBody, DropsWhitespaceAndTrailingSemicolonsOnly) {
  EXPECT_EQ(SubqueryBody("  SELECT 1 ; ;\n "), "SELECT 1");
  EXPECT_EQ(SubqueryBody("SELECT ';' -- note;"), "SELECT ';' -- note");
  EXPECT_EQ(SubqueryBody(";"), "");
}

TEST(Format, CsvQuotesAndJsonKeepsTypes) {
  auto engine = lake::Engine::Open({});
  ASSERT_TRUE(engine.ok());
  auto r = (*engine)->Query("SELECT 1 AS n, 'a,b' AS s, NULL AS z, 2.5 AS d, true AS b");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(FormatCsv(*r), "n,s,z,d,b\n1,\"a,b\",,2.5,true\n");
  EXPECT_EQ(FormatJson(*r), "[{\"b\":true,\"d\":2.5,\"n\":1,\"s\":\"a,b\",\"z\":null}]\n");
  EXPECT_TRUE(absl::StrContains(FormatTable(*r), "(1 row)"));
}

}  // namespace
}  // namespace lastro::mart
