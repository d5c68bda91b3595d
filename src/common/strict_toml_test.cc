#include "common/strict_toml.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

namespace lastro::strict_toml {
namespace {

constexpr std::array<std::string_view, 3> kKnown = {"column", "columns", "values"};

TEST(StrictToml, EditDistanceCountsEdits) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("colum", "column"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(StrictToml, HintSuggestsANearMiss) {
  EXPECT_EQ(Hint("colum", kKnown), " (did you mean 'column'?)");
  EXPECT_EQ(Hint("valeus", kKnown), " (did you mean 'values'?)");
}

TEST(StrictToml, HintListsTheKnownNamesWhenNothingIsClose) {
  EXPECT_EQ(Hint("severity", kKnown), " (known: column, columns, values)");
  // One edit, but not fewer than half the shorter name: no guess.
  constexpr std::array<std::string_view, 2> kShort = {"A", "B"};
  EXPECT_EQ(Hint("F", kShort), " (known: A, B)");
}

TEST(StrictToml, JoinNamesSeparatesWithCommas) {
  EXPECT_EQ(JoinNames(kKnown), "column, columns, values");
  EXPECT_EQ(JoinNames({}), "");
}

TEST(StrictToml, TypeNameSaysWhatAValueIs) {
  toml::table t = toml::parse("s = 'x'\ni = 1\nf = 1.5\nb = true\nt = {}\na = []\nd = 2026-01-01");
  EXPECT_EQ(TypeName(*t.get("s")), "a string");
  EXPECT_EQ(TypeName(*t.get("i")), "an integer");
  EXPECT_EQ(TypeName(*t.get("f")), "a floating-point number");
  EXPECT_EQ(TypeName(*t.get("b")), "a boolean");
  EXPECT_EQ(TypeName(*t.get("t")), "a table");
  EXPECT_EQ(TypeName(*t.get("a")), "an array");
  EXPECT_EQ(TypeName(*t.get("d")), "a date/time");
}

TEST(StrictToml, ParseTurnsSyntaxErrorsIntoInvalidArgumentWithALine) {
  StatusOr<toml::table> ok = Parse("a = 1\n", "x.toml");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->get("a")->value<int64_t>(), 1);
  StatusOr<toml::table> bad = Parse("a = 1\nb = \n", "x.toml");
  ASSERT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_EQ(bad.status().message().substr(0, 9), "x.toml:2:");
}

TEST(StrictToml, ReadFileSaysWhatWasNotFound) {
  StatusOr<std::string> text = ReadFile("/nonexistent/rules.toml", "rules file");
  ASSERT_TRUE(absl::IsNotFound(text.status()));
  EXPECT_EQ(text.status().message(), "rules file not found: /nonexistent/rules.toml");
}

// ParserBase's checks, through the smallest parser there is.
class TestParser : public ParserBase {
 public:
  TestParser() : ParserBase("t.toml") {}
  using ParserBase::ArrayOfTables;
  using ParserBase::CheckKeys;
  using ParserBase::Err;
  using ParserBase::IntIn;
  using ParserBase::NumberIn;
  using ParserBase::Version;
};

TEST(StrictTomlParser, ErrorsPointAtALineOfTheSource) {
  TestParser parser;
  toml::table t = toml::parse("a = 1\nb = 2\n");
  EXPECT_EQ(parser.Err(*t.get("b"), "bad b").message(), "t.toml:2: bad b");
  EXPECT_EQ(parser.Err(0, "bad file").message(), "t.toml:1: bad file");
  EXPECT_TRUE(absl::IsInvalidArgument(parser.Err(3, "x")));
}

TEST(StrictTomlParser, CheckKeysNamesTheFirstUnknownKeyWithAHint) {
  TestParser parser;
  toml::table t = toml::parse("column = 'a'\n\nvalues = []\ncolum = 'b'\n");
  EXPECT_EQ(parser.CheckKeys(t, kKnown, "rule 'r': unknown key").message(),
            "t.toml:4: rule 'r': unknown key 'colum' (did you mean 'column'?)");
  toml::table good = toml::parse("column = 'a'\nvalues = []\n");
  EXPECT_TRUE(parser.CheckKeys(good, kKnown, "unknown key").ok());
}

TEST(StrictTomlParser, VersionIsARequiredNonEmptyString) {
  TestParser parser;
  EXPECT_EQ(*parser.Version(toml::parse("version = '1'")), "1");
  EXPECT_EQ(parser.Version(toml::parse("a = 1")).status().message(),
            "t.toml:1: missing required key 'version' (e.g. version = \"2026.11-1\")");
  EXPECT_EQ(parser.Version(toml::parse("\nversion = ''")).status().message(),
            "t.toml:2: 'version' must be a non-empty string");
}

TEST(StrictTomlParser, ArrayOfTablesIsOptionalButMustBeTables) {
  TestParser parser;
  EXPECT_EQ(*parser.ArrayOfTables(toml::parse("a = 1"), "rule"), nullptr);
  toml::table two_rules = toml::parse("[[rule]]\n[[rule]]");  // outlives the pointer
  StatusOr<const toml::array*> rules = parser.ArrayOfTables(two_rules, "rule");
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ((*rules)->size(), 2u);
  EXPECT_EQ(parser.ArrayOfTables(toml::parse("rule = 1"), "rule").status().message(),
            "t.toml:1: 'rule' must be an array of tables: write each rule as [[rule]]");
}

TEST(StrictTomlParser, IntInChecksTypeAndRange) {
  TestParser parser;
  toml::table t = toml::parse("i = 5\nf = 5.0\nbig = 50");
  int64_t out = 0;
  EXPECT_TRUE(parser.IntIn(*t.get("i"), "'i'", 0, 10, &out).ok());
  EXPECT_EQ(out, 5);
  EXPECT_EQ(parser.IntIn(*t.get("f"), "'f'", 0, 10, &out).message(),
            "t.toml:2: 'f' must be an integer, got a floating-point number");
  EXPECT_EQ(parser.IntIn(*t.get("big"), "'big'", 0, 10, &out).message(),
            "t.toml:3: 'big' must be in 0..10, got 50");
}

TEST(StrictTomlParser, NumberInAcceptsIntegersAndChecksTheRange) {
  TestParser parser;
  toml::table t = toml::parse("i = 1\nf = 0.25\ns = 'x'\nhigh = 1.5\nnan = nan");
  double out = 0;
  EXPECT_TRUE(parser.NumberIn(*t.get("i"), "'i'", 0, 1, &out).ok());
  EXPECT_EQ(out, 1.0);
  EXPECT_TRUE(parser.NumberIn(*t.get("f"), "'f'", 0, 1, &out).ok());
  EXPECT_EQ(out, 0.25);
  EXPECT_EQ(parser.NumberIn(*t.get("s"), "'s'", 0, 1, &out).message(),
            "t.toml:3: 's' must be a number, got a string");
  EXPECT_EQ(parser.NumberIn(*t.get("high"), "'high'", 0, 1, &out).message(),
            "t.toml:4: 'high' must be in 0..1, got 1.5");
  EXPECT_FALSE(parser.NumberIn(*t.get("nan"), "'nan'", 0, 1, &out).ok());
}

}  // namespace
}  // namespace lastro::strict_toml
