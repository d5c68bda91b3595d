#include "governance/policies.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace lastro::governance {
namespace {

using ::testing::HasSubstr;

constexpr char kMinimal[] = R"toml(
version = "t1"
[purposes]
p = "a purpose"
[roles.analyst]
purpose = "p"
tables = ["facts"]
named = ["finance.*"]
classes = { public = "allow", internal = "allow", sensitive = "null", pii = "hash" }
[tables.facts]
kind = "fact"
columns = { id = "pii", amount = "internal", born = "sensitive", note = "public" }
)toml";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(PoliciesTest, TheShippedPoliciesParse) {
  auto p = LoadPolicies(std::string(LASTRO_SOURCE_DIR) + "/config/policies.toml");
  ASSERT_TRUE(p.ok()) << p.status();
  for (const char* role : {"finance", "marketing", "credit", "risk_admin", "auditor"}) {
    EXPECT_TRUE(p->Role(role).ok()) << role;
  }
  EXPECT_TRUE((*p->Role("auditor"))->audit_log);
  EXPECT_TRUE((*p->Role("finance"))->aggregates_only);
  EXPECT_EQ(p->digest.size(), 32u);
}

TEST(PoliciesTest, NamedQueriesByTeamPattern) {
  auto p = ParsePolicies(kMinimal, "t.toml");
  ASSERT_TRUE(p.ok()) << p.status();
  const RolePolicy& r = p->roles.at("analyst");
  EXPECT_TRUE(p->MayRunNamed(r, "finance.daily_volume"));
  EXPECT_FALSE(p->MayRunNamed(r, "credit.approval_by_score_band"));
  EXPECT_FALSE(p->MayRunNamed(r, "financex.y"));
  EXPECT_EQ(p->Role("nobody").status().code(), absl::StatusCode::kNotFound);
}

// Each mistake is refused with the line and a reason a reviewer can act on.
TEST(PoliciesTest, MistakesAreRefusedWithLineAndReason) {
  struct Case {
    std::string from, to, expected;
  };
  const Case cases[] = {
      {R"(pii = "hash")", R"(pii = "hashed")",
       "class 'pii': unknown mask 'hashed' (known: allow, hash"},
      {R"(tables = ["facts"])", R"(tables = ["fact"])", "table 'fact' is not under [tables]"},
      {R"(purpose = "p")", R"(purpose = "q")", "purpose 'q' is not under [purposes]"},
      {R"(, pii = "hash" })", " }", "class 'pii' has no mask"},
      {R"(id = "pii")", R"(id = "secret")", "unknown class 'secret'"},
      {R"(kind = "fact")", R"(kind = "facts")", "kind 'facts'"},
      {R"(named = )", R"(nmed = )", "unknown key 'nmed' (did you mean 'named'?)"},
      {R"(purpose = "p")", "purpose = \"p\"\naggregates_only = true",
       "aggregates_only but lists 'facts'"},
      {R"(purpose = "p")", "purpose = \"p\"\nrow_filters = [\"x\"]",
       "row filter 'x' is not under [row_filters]"},
      {R"(purpose = "p")", "purpose = \"p\"\ncolumns = { \"facts.nope\" = \"allow\" }",
       "column 'facts.nope' is not a classified column"},
      {"[roles.analyst]", "[roles.Analyst]", "not a plain lower-case name"},
  };
  for (const Case& c : cases) {
    auto p = ParsePolicies(Replace(kMinimal, c.from, c.to), "t.toml");
    ASSERT_FALSE(p.ok()) << c.to;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()), HasSubstr("t.toml:")) << c.to;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(c.expected)) << c.to;
  }
}

TEST(PoliciesTest, RoleTablesMaskEachClassAndFailClosed) {
  auto p = ParsePolicies(kMinimal, "t.toml");
  ASSERT_TRUE(p.ok()) << p.status();
  CatalogSchema schema = {{"facts",
                           {{"id", "BIGINT"},
                            {"amount", "BIGINT"},
                            {"born", "DATE"},
                            {"note", "VARCHAR"},
                            {"added_later", "VARCHAR"}}},
                          {"other", {{"x", "INTEGER"}}}};
  auto views = RoleTables(*p, p->roles.at("analyst"), schema, "k");
  ASSERT_EQ(views.size(), 1u);  // "other" is neither listed nor classified
  const TableView& v = views[0];
  ASSERT_EQ(v.columns.size(), 5u);
  EXPECT_EQ(v.columns[0].mask, Mask::kHash);
  EXPECT_THAT(v.columns[0].expr, HasSubstr("sha256"));
  EXPECT_EQ(v.columns[1].mask, Mask::kAllow);
  EXPECT_EQ(v.columns[2].mask, Mask::kNull);
  EXPECT_EQ(v.columns[2].expr, "CAST(NULL AS DATE)");
  EXPECT_EQ(v.columns[3].mask, Mask::kAllow);
  // A column the policies do not know is withheld, and reported.
  EXPECT_FALSE(v.columns[4].classified);
  EXPECT_EQ(v.columns[4].expr, "");
  EXPECT_THAT(v.problems, ::testing::ElementsAre(HasSubstr("added_later: unclassified")));

  auto problems = CheckPolicies(*p, schema);
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("column facts.added_later has no class")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("table other is not classified")));
}

TEST(PoliciesTest, AMaskThatDoesNotFitTheTypeIsWithheld) {
  auto p =
      ParsePolicies(Replace(kMinimal, R"(named = ["finance.*"])",
                            "named = []\ncolumns = { \"facts.amount\" = \"partial\", "
                            "\"facts.note\" = \"year_only\", \"facts.born\" = \"year_only\" }"),
                    "t.toml");
  ASSERT_TRUE(p.ok()) << p.status();
  CatalogSchema schema = {
      {"facts", {{"id", "BIGINT"}, {"amount", "BIGINT"}, {"born", "DATE"}, {"note", "VARCHAR"}}}};
  auto views = RoleTables(*p, p->roles.at("analyst"), schema, "k");
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].columns[1].mask, Mask::kDeny);  // partial of a number
  EXPECT_EQ(views[0].columns[2].expr, "CAST(year(\"born\") AS INTEGER)");
  EXPECT_EQ(views[0].columns[3].mask, Mask::kDeny);  // year of a text
  EXPECT_EQ(CheckPolicies(*p, schema).size(), 2u);
}

TEST(PoliciesTest, MaskKeysDifferByRoleAndSecret) {
  EXPECT_EQ(MaskKey("secret-0123456789", "credit"), MaskKey("secret-0123456789", "credit"));
  EXPECT_NE(MaskKey("secret-0123456789", "credit"), MaskKey("secret-0123456789", "marketing"));
  EXPECT_NE(MaskKey("secret-0123456789", "credit"), MaskKey("secret-9876543210", "credit"));
  EXPECT_EQ(MaskKey("s", "credit").size(), 32u);
}

}  // namespace
}  // namespace lastro::governance
