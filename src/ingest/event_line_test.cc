#include "ingest/event_line.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace lastro::ingest {
namespace {

// The production defaults: São Paulo, 30 days late, 1 h ahead.
LineRules SaoPaulo() {
  LineRules rules;
  EXPECT_TRUE(absl::LoadTimeZone("America/Sao_Paulo", &rules.zone));
  return rules;
}

struct Case {
  std::string comment, expect, line;
};

std::vector<Case> LoadCases() {
  std::ifstream in(std::string(LASTRO_INGEST_TESTDATA_DIR) + "/event_lines.tsv");
  std::vector<Case> cases;
  std::string text, comment;
  while (std::getline(in, text)) {
    if (text.starts_with("#")) {
      comment = text.substr(1);
      continue;
    }
    const size_t tab = text.find('\t');
    if (tab == std::string::npos) continue;
    cases.push_back({comment, text.substr(0, tab), text.substr(tab + 1)});
  }
  return cases;
}

// Every case of testdata/event_lines.tsv: the line is accepted ("OK") or refused with
// exactly the reason written there.
TEST(EventLine, DataFileCasesGetTheirReason) {
  const std::vector<Case> cases = LoadCases();
  ASSERT_GE(cases.size(), 40u);
  const LineRules rules = SaoPaulo();
  for (const Case& c : cases) {
    LineResult r = ParseEventLine(c.line, rules);
    if (c.expect == "OK") {
      EXPECT_TRUE(r.event.has_value()) << c.comment << ": refused with '" << r.reason << "'";
    } else {
      EXPECT_FALSE(r.event.has_value()) << c.comment;
      EXPECT_EQ(r.reason, c.expect) << c.comment;
    }
  }
}

TEST(EventLine, AcceptedLineIsTypedWithUtcInstantsAndTheSaoPauloDate) {
  // 23:30 in São Paulo on the 20th is 02:30 UTC on the 21st: event_date is the 20th.
  LineResult r = ParseEventLine(
      R"({"event_id":"e1","event_type":"loan_simulation","occurred_at":"2026-11-20T23:30:00.250-03:00",)"
      R"("received_at":"2026-11-21T02:30:01Z","anonymous_id":"a1","customer_id":7,"session_id":"s1",)"
      R"("device":{"os":"ios","model":"iPhone 13","app_version":"4.12.0"},)"
      R"("properties":{"term_months":12,"amount_cents":500000}})",
      SaoPaulo());
  ASSERT_TRUE(r.event.has_value()) << r.reason;
  const AppEvent& e = *r.event;
  EXPECT_EQ(e.event_id, "e1");
  EXPECT_EQ(e.event_type, "loan_simulation");
  EXPECT_EQ(e.event_date, "2026-11-20");
  EXPECT_EQ(e.occurred_at_us, absl::ToUnixMicros(absl::FromCivil(
                                  absl::CivilSecond(2026, 11, 21, 2, 30, 0), absl::UTCTimeZone())) +
                                  250000);
  EXPECT_EQ(e.received_at_us - e.occurred_at_us, 750000);
  EXPECT_EQ(e.customer_id, 7);
  EXPECT_EQ(e.device_model, "iPhone 13");
  EXPECT_EQ(e.properties, R"({"amount_cents":500000,"term_months":12})");
}

TEST(EventLine, EarlyMorningUtcIsThePreviousSaoPauloDay) {
  LineResult r = ParseEventLine(
      R"({"event_id":"e1","event_type":"session_start","occurred_at":"2026-11-21T01:00:00Z",)"
      R"("received_at":"2026-11-21T01:00:00Z","anonymous_id":"a","session_id":"s"})",
      SaoPaulo());
  ASSERT_TRUE(r.event.has_value()) << r.reason;
  EXPECT_EQ(r.event->event_date, "2026-11-20");
  EXPECT_FALSE(r.event->customer_id.has_value());
  EXPECT_FALSE(r.event->properties.has_value());
  EXPECT_FALSE(r.event->device_os.has_value());
}

TEST(EventLine, RefusedLineKeepsItsEventIdWhenReadable) {
  LineResult r = ParseEventLine(
      R"({"event_id":"e9","event_type":"bogus","occurred_at":"2026-11-21T01:00:00Z"})", SaoPaulo());
  EXPECT_EQ(r.reason, "unknown event_type 'bogus'");
  EXPECT_EQ(r.event_id, "e9");
}

TEST(EventLine, TruncatedJsonReportsTheByteWhereItEnds) {
  const std::string line = R"({"event_id":"e1","event_type":"screen_vi)";
  LineResult r = ParseEventLine(line, SaoPaulo());
  EXPECT_TRUE(r.reason.starts_with("invalid JSON at byte " + std::to_string(line.size() + 1)))
      << r.reason;
}

TEST(EventLine, InvalidUtf8IsInvalidJson) {
  LineResult r = ParseEventLine("{\"event_id\":\"e\xff\"}", SaoPaulo());
  EXPECT_TRUE(r.reason.starts_with("invalid JSON at byte ")) << r.reason;
}

TEST(EventLine, TrailingCarriageReturnIsIgnored) {
  LineResult r = ParseEventLine(
      "{\"event_id\":\"e1\",\"event_type\":\"logout\",\"occurred_at\":\"2026-11-21T01:00:00Z\","
      "\"received_at\":\"2026-11-21T01:00:00Z\",\"anonymous_id\":\"a\",\"session_id\":\"s\"}\r",
      SaoPaulo());
  EXPECT_TRUE(r.event.has_value()) << r.reason;
}

TEST(EventLine, UnknownTypeQuotedBackIsBounded) {
  LineResult r = ParseEventLine(R"({"event_id":"e","event_type":")" + std::string(500, 'x') + "\"}",
                                SaoPaulo());
  EXPECT_EQ(r.reason, "unknown event_type '" + std::string(40, 'x') + "'");
}

TEST(Rfc3339, AcceptsOffsetsAndFractions) {
  EXPECT_TRUE(ParseRfc3339("2026-11-20T14:03:05Z"));
  EXPECT_TRUE(ParseRfc3339("2026-11-20T14:03:05.1Z"));
  EXPECT_TRUE(ParseRfc3339("2026-11-20T14:03:05.123456789+05:30"));
  EXPECT_EQ(*ParseRfc3339("2026-11-20T14:03:05-03:00"), *ParseRfc3339("2026-11-20T17:03:05Z"));
}

TEST(Rfc3339, RejectsEverythingElse) {
  for (const char* bad :
       {"", "2026-11-20", "2026-11-20T14:03:05", "2026-11-20 14:03:05Z", "2026-11-20t14:03:05Z",
        "2026-11-20T14:03:05.Z", "2026-11-20T14:03:05+0300", "2026-11-20T14:03:05 Z",
        "2026-13-20T14:03:05Z", "2026-11-31T14:03:05Z", "2026-11-20T14:60:05Z",
        "0000-11-20T14:03:05Z", "20261-11-20T14:03:05Z", "2026-11-20T14:03:05Zjunk",
        "2026-11-20T14:03:05.1234567890123Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

TEST(SafeText, CutsAtACharacterBoundary) {
  EXPECT_EQ(SafeText("abcdef", 4), "abcd");
  EXPECT_EQ(SafeText("São", 2), "S");  // "ã" is two bytes and would not fit
  EXPECT_EQ(SafeText("São", 3), "Sã");
}

TEST(SafeText, ReplacesInvalidBytesAndNuls) {
  EXPECT_EQ(SafeText(std::string("a\xff"
                                 "b",
                                 3),
                     100),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SafeText(std::string("a\0b", 3), 100),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SafeText("\xC3", 100), "\xEF\xBF\xBD");                                  // cut sequence
  EXPECT_EQ(SafeText("\xED\xA0\x80", 100), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(EventLine, KnownTypesAreSortedForLookup) {
  const auto& types = KnownEventTypes();
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
  EXPECT_NE(std::find(types.begin(), types.end(), "login_failure"), types.end());
}

}  // namespace
}  // namespace lastro::ingest
