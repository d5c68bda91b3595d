#include "decide/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

namespace lastro::decide {
namespace {

const std::string kSourceDir = LASTRO_SOURCE_DIR;
const std::string kDefaultPolicy = kSourceDir + "/config/policy.toml";
const std::string kTestData = kSourceDir + "/src/decide/testdata";

// An owning request for tests; Input() views it as a PolicyInput.
struct Request {
  int32_t score = 720;
  double pd = 0.03;
  std::vector<std::string> reasons = {"NO_ADVERSE_FACTORS"};
  int64_t amount = 1'000'000;
  int32_t term = 24;
  std::optional<int64_t> income = 800'000;
  std::string channel = "app_ios";
  std::string purpose = "personal";
  bool first_time = false;
  std::optional<int32_t> bureau;  // unknown, as in the real-time stream

  PolicyInput Input() const {
    return PolicyInput{score,  pd,      reasons, amount,     term,
                       income, channel, purpose, first_time, bureau};
  }
};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

Policy MustParse(const std::string& text) {
  auto policy = Policy::Parse(text, "test.toml");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return std::move(policy).value();
}

// A policy whose only rule is `when = { <when> }`, over bands A >= 800, D >= 350, E >= 0.
Policy OneRule(const std::string& when) {
  return MustParse(
      "version = \"t\"\ndefault = \"APPROVED\"\n[bands]\nA = 800\nD = 350\nE = 0\n"
      "[[rule]]\nid = \"R\"\noutcome = \"REJECTED\"\nwhen = { " +
      when + " }\n");
}

bool Fires(const std::string& when, const Request& r) {
  return OneRule(when).Decide(r.Input()).outcome == Outcome::kRejected;
}

TEST(Policy, DefaultPolicyFileLoads) {
  auto policy = Policy::LoadFile(kDefaultPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->version(), "2026.11-1");
  EXPECT_EQ(policy->default_outcome(), Outcome::kApproved);
  EXPECT_GE(policy->rules().size(), 10u);
  EXPECT_EQ(policy->rules()[0].id, "SCORE_BELOW_MIN");
  EXPECT_EQ(policy->rules()[0].outcome, Outcome::kRejected);
  EXPECT_FALSE(policy->rules()[0].description.empty());
}

// Each line of testdata/default_policy_cases.txt: "<field=value ...> -> OUTCOME R1,R2".
TEST(Policy, DefaultPolicyDecidesTheDocumentedCases) {
  auto policy = Policy::LoadFile(kDefaultPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  std::ifstream in(kTestData + "/default_policy_cases.txt");
  ASSERT_TRUE(in) << "missing cases file";
  std::string line;
  int line_no = 0, cases = 0;
  while (std::getline(in, line)) {
    ++line_no;
    size_t arrow = line.find("->");
    if (line.empty() || line[0] == '#' || arrow == std::string::npos) continue;
    SCOPED_TRACE("default_policy_cases.txt:" + std::to_string(line_no) + ": " + line);
    Request r;
    std::istringstream fields(line.substr(0, arrow));
    std::string field;
    while (fields >> field) {
      size_t eq = field.find('=');
      ASSERT_NE(eq, std::string::npos) << "field without '='";
      std::string key = field.substr(0, eq), value = field.substr(eq + 1);
      std::string digits = value;
      digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
      if (key == "score")
        r.score = std::stoi(digits);
      else if (key == "pd")
        r.pd = std::stod(digits);
      else if (key == "amount")
        r.amount = std::stoll(digits);
      else if (key == "term")
        r.term = std::stoi(digits);
      else if (key == "income")
        r.income = value == "none" ? std::nullopt : std::optional<int64_t>(std::stoll(digits));
      else if (key == "channel")
        r.channel = value;
      else if (key == "purpose")
        r.purpose = value;
      else if (key == "first_time")
        r.first_time = value == "true";
      else if (key == "bureau")
        r.bureau = value == "none" ? std::nullopt : std::optional<int32_t>(std::stoi(digits));
      else if (key == "reasons") {
        r.reasons.clear();
        std::istringstream list(value);
        for (std::string item; std::getline(list, item, ',');) r.reasons.push_back(item);
      } else
        FAIL() << "unknown field " << key;
    }
    std::istringstream expected(line.substr(arrow + 2));
    std::string outcome, reasons;
    expected >> outcome >> reasons;
    PolicyDecision d = policy->Decide(r.Input());
    EXPECT_EQ(OutcomeName(d.outcome), outcome);
    EXPECT_EQ(Join(d.reason_codes), reasons);
    ++cases;
  }
  EXPECT_GE(cases, 20);
}

// Each testdata/policies/*.toml starts with "# expect: ok" or
// "# expect: error <text>", where <text> must follow the file name in the message.
TEST(Policy, PolicyFilesAreAcceptedOrRefusedAsTheirHeaderSays) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kTestData + "/policies")) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 20u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    std::string header;
    std::getline(in, header);
    auto policy = Policy::LoadFile(file.string());
    if (header == "# expect: ok") {
      EXPECT_TRUE(policy.ok()) << policy.status();
      continue;
    }
    const std::string kPrefix = "# expect: error ";
    ASSERT_EQ(header.rfind(kPrefix, 0), 0u) << "bad header: " << header;
    ASSERT_FALSE(policy.ok()) << "accepted a bad file";
    EXPECT_TRUE(absl::IsInvalidArgument(policy.status())) << policy.status();
    std::string want = file.string() + header.substr(kPrefix.size());
    EXPECT_EQ(std::string(policy.status().message()).rfind(want, 0), 0u)
        << "message: " << policy.status().message() << "\nwanted prefix: " << want;
  }
}

TEST(Policy, MissingFileIsNotFound) {
  auto policy = Policy::LoadFile(kTestData + "/no_such_policy.toml");
  EXPECT_TRUE(absl::IsNotFound(policy.status())) << policy.status();
}

TEST(Policy, ParseNamesTheSourceInErrors) {
  auto policy = Policy::Parse("version = \"v\"\ndefault = \"NOPE\"\n", "inline-policy");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message(),
            "inline-policy:2: 'default' must be APPROVED, MANUAL_REVIEW or REJECTED, got 'NOPE'");
}

struct Boundary {
  std::string when;
  Request fires;
  Request quiet;
};

Request With(std::function<void(Request&)> edit) {
  Request r;
  edit(r);
  return r;
}

TEST(Policy, EachConditionFiresOnlyPastItsBoundary) {
  const std::vector<Boundary> cases = {
      {"score_lt = 350", With([](Request& r) { r.score = 349; }),
       With([](Request& r) { r.score = 350; })},
      {"score_gte = 800", With([](Request& r) { r.score = 800; }),
       With([](Request& r) { r.score = 799; })},
      {"band_in = [\"D\"]", With([](Request& r) { r.score = 350; }),
       With([](Request& r) { r.score = 349; })},
      {"band_in = [\"A\", \"E\"]", With([](Request& r) { r.score = 349; }),
       With([](Request& r) { r.score = 799; })},
      {"probability_of_default_gt = 0.2", With([](Request& r) { r.pd = 0.2001; }),
       With([](Request& r) { r.pd = 0.2; })},
      {"amount_gt_cents = 2_000_000", With([](Request& r) { r.amount = 2'000'001; }),
       With([](Request& r) { r.amount = 2'000'000; })},
      {"amount_lte_cents = 50_000", With([](Request& r) { r.amount = 50'000; }),
       With([](Request& r) { r.amount = 50'001; })},
      {"term_gt_months = 96", With([](Request& r) { r.term = 97; }),
       With([](Request& r) { r.term = 96; })},
      {"term_lt_months = 6", With([](Request& r) { r.term = 5; }),
       With([](Request& r) { r.term = 6; })},
      // 300,000 / 10 = 30,000 = 30% of 100,000: exactly at the threshold is quiet.
      {"installment_to_income_gt = 0.30", With([](Request& r) {
         r.amount = 300'010;
         r.term = 10;
         r.income = 100'000;
       }),
       With([](Request& r) {
         r.amount = 300'000;
         r.term = 10;
         r.income = 100'000;
       })},
      {"installment_to_income_gt = 0.30", With([](Request& r) { r.income = std::nullopt; }),
       With([](Request& r) { r.income = 800'000; })},
      {"installment_to_income_gt = 0.30", With([](Request& r) { r.income = 0; }),
       With([](Request& r) {
         r.income = 1;
         r.amount = 0;
       })},
      {"income_missing = true", With([](Request& r) { r.income = std::nullopt; }),
       With([](Request& r) { r.income = 1; })},
      {"income_missing = true", With([](Request& r) { r.income = 0; }),
       With([](Request& r) { r.income = 800'000; })},
      {"income_missing = false", With([](Request& r) { r.income = 1; }),
       With([](Request& r) { r.income = std::nullopt; })},
      {"channel_in = [\"call_center\", \"partner\"]",
       With([](Request& r) { r.channel = "partner"; }),
       With([](Request& r) { r.channel = "web"; })},
      {"channel_in = [\"web\"]", With([](Request& r) { r.channel = "web"; }),
       With([](Request& r) { r.channel = "Web"; })},
      {"purpose_in = [\"business\"]", With([](Request& r) { r.purpose = "business"; }),
       With([](Request& r) { r.purpose = "other"; })},
      {"first_time_customer = true", With([](Request& r) { r.first_time = true; }),
       With([](Request& r) { r.first_time = false; })},
      {"first_time_customer = false", With([](Request& r) { r.first_time = false; }),
       With([](Request& r) { r.first_time = true; })},
      {"provider_reason_in = [\"FRAUD\", \"LONG_TERM\"]", With([](Request& r) {
         r.reasons = {"GOOD_CREDIT_HISTORY", "LONG_TERM"};
       }),
       With([](Request& r) { r.reasons = {"GOOD_CREDIT_HISTORY"}; })},
      {"provider_reason_in = [\"LONG_TERM\"]", With([](Request& r) { r.reasons = {"LONG_TERM"}; }),
       With([](Request& r) { r.reasons = {}; })},
      {"bureau_score_lt = 300", With([](Request& r) { r.bureau = 299; }),
       With([](Request& r) { r.bureau = 300; })},
      {"bureau_score_lt = 300", With([](Request& r) { r.bureau = 0; }),
       With([](Request& r) { r.bureau = std::nullopt; })},
      {"bureau_score_gte = 700", With([](Request& r) { r.bureau = 700; }),
       With([](Request& r) { r.bureau = 699; })},
      {"bureau_score_gte = 0", With([](Request& r) { r.bureau = 0; }),
       With([](Request& r) { r.bureau = std::nullopt; })},
      // A score of 0 is a known score, not a missing one.
      {"bureau_missing = true", With([](Request& r) { r.bureau = std::nullopt; }),
       With([](Request& r) { r.bureau = 0; })},
      {"bureau_missing = false", With([](Request& r) { r.bureau = 1000; }),
       With([](Request& r) { r.bureau = std::nullopt; })},
      // Conditions are AND-ed.
      {"score_lt = 500, amount_gt_cents = 100", With([](Request& r) {
         r.score = 499;
         r.amount = 101;
       }),
       With([](Request& r) {
         r.score = 499;
         r.amount = 100;
       })},
  };
  for (const Boundary& c : cases) {
    SCOPED_TRACE(c.when);
    EXPECT_TRUE(Fires(c.when, c.fires));
    EXPECT_FALSE(Fires(c.when, c.quiet));
  }
}

// The real-time stream has no bureau score: a bureau threshold must not fire there in
// either direction, so an unknown score neither passes a floor nor a ceiling.
TEST(Policy, UnknownBureauScoreFiresNoThresholdOnlyBureauMissing) {
  Request r;  // bureau unknown
  EXPECT_FALSE(Fires("bureau_score_lt = 1000", r));
  EXPECT_FALSE(Fires("bureau_score_gte = 0", r));
  EXPECT_TRUE(Fires("bureau_missing = true", r));
  EXPECT_FALSE(Fires("bureau_missing = false", r));
  // The provider score does not stand in for the bureau's.
  r.score = 100;
  EXPECT_FALSE(Fires("bureau_score_lt = 300", r));
}

TEST(Policy, BureauConditionsCombineWithOthers) {
  Policy p = MustParse(
      "version = \"b\"\ndefault = \"APPROVED\"\n[bands]\nA = 0\n"
      "[[rule]]\nid = \"THIN_FILE_BIG\"\noutcome = \"MANUAL_REVIEW\"\n"
      "when = { bureau_missing = true, amount_gt_cents = 1_000_000 }\n"
      "[[rule]]\nid = \"BUREAU_LOW\"\noutcome = \"REJECTED\"\n"
      "when = { bureau_score_lt = 300 }\n");
  Request r;
  r.amount = 1'000'001;
  EXPECT_EQ(p.Decide(r.Input()).reason_codes, std::vector<std::string>{"THIN_FILE_BIG"});
  r.bureau = 299;
  PolicyDecision d = p.Decide(r.Input());
  EXPECT_EQ(d.outcome, Outcome::kRejected);
  EXPECT_EQ(d.reason_codes, std::vector<std::string>{"BUREAU_LOW"});
  r.bureau = 300;
  EXPECT_EQ(p.Decide(r.Input()).reason_codes, std::vector<std::string>{"DEFAULT_APPROVED"});
}

TEST(Policy, InstallmentTreatsTermBelowOneAsOneMonth) {
  Request r;
  r.amount = 31'000;
  r.income = 100'000;
  r.term = 0;
  EXPECT_TRUE(Fires("installment_to_income_gt = 0.30", r));
  r.amount = 30'000;
  EXPECT_FALSE(Fires("installment_to_income_gt = 0.30", r));
}

const char* kThreeRules = R"(
version = "p-1"
default = "APPROVED"
[bands]
A = 0
[[rule]]
id = "REVIEW_FIRST"
outcome = "MANUAL_REVIEW"
when = { amount_gt_cents = 100 }
[[rule]]
id = "OK_APP"
outcome = "APPROVED"
when = { channel_in = ["app_ios"] }
[[rule]]
id = "REJECT_LOW"
outcome = "REJECTED"
when = { score_lt = 300 }
)";

TEST(Policy, RejectedBeatsManualReviewBeatsApproved) {
  Policy p = MustParse(kThreeRules);
  Request r;  // amount > 100, app_ios, score 720
  EXPECT_EQ(p.Decide(r.Input()).outcome, Outcome::kManualReview);
  r.score = 100;
  EXPECT_EQ(p.Decide(r.Input()).outcome, Outcome::kRejected);
  r.amount = 50;
  EXPECT_EQ(p.Decide(r.Input()).outcome, Outcome::kRejected);
  r.score = 720;
  EXPECT_EQ(p.Decide(r.Input()).outcome, Outcome::kApproved);
}

TEST(Policy, ReasonCodesFollowFileOrderNotSeverity) {
  Policy p = MustParse(kThreeRules);
  Request r;
  r.score = 100;
  PolicyDecision d = p.Decide(r.Input());
  EXPECT_EQ(d.outcome, Outcome::kRejected);
  EXPECT_EQ(d.reason_codes, (std::vector<std::string>{"REVIEW_FIRST", "OK_APP", "REJECT_LOW"}));
  EXPECT_EQ(d.band, "A");
}

TEST(Policy, NoRuleFiredGivesDefaultOutcomeAndReason) {
  Policy p = MustParse(kThreeRules);
  Request r;
  r.amount = 50;
  r.channel = "web";
  PolicyDecision d = p.Decide(r.Input());
  EXPECT_EQ(d.outcome, Outcome::kApproved);
  EXPECT_EQ(d.reason_codes, std::vector<std::string>{"DEFAULT_APPROVED"});

  Policy strict = MustParse(
      "version = \"s\"\ndefault = \"MANUAL_REVIEW\"\n[bands]\nA = 0\n[[rule]]\nid = \"OK\"\n"
      "outcome = \"APPROVED\"\nwhen = { score_gte = 900 }\n");
  EXPECT_EQ(strict.Decide(r.Input()).reason_codes,
            std::vector<std::string>{"DEFAULT_MANUAL_REVIEW"});
  // A fired APPROVED rule overrides a stricter default: allow-list policies work.
  r.score = 950;
  d = strict.Decide(r.Input());
  EXPECT_EQ(d.outcome, Outcome::kApproved);
  EXPECT_EQ(d.reason_codes, std::vector<std::string>{"OK"});
}

TEST(Policy, EvaluateReportsFiredRuleIndicesAndReusesTheVector) {
  Policy p = MustParse(kThreeRules);
  std::vector<uint32_t> fired = {99, 98, 97, 96};
  Request r;
  r.score = 100;
  EXPECT_EQ(p.Evaluate(r.Input(), &fired), Outcome::kRejected);
  EXPECT_EQ(fired, (std::vector<uint32_t>{0, 1, 2}));
  r.score = 720;
  r.channel = "web";
  EXPECT_EQ(p.Evaluate(r.Input(), &fired), Outcome::kManualReview);
  EXPECT_EQ(fired, std::vector<uint32_t>{0});
  EXPECT_EQ(p.rules()[fired[0]].id, "REVIEW_FIRST");
  EXPECT_EQ(p.rules()[2].line, 14);
  r.amount = 1;
  EXPECT_EQ(p.Evaluate(r.Input(), nullptr), Outcome::kApproved);
}

TEST(Policy, BandForUsesHighestMinimumNotAboveScore) {
  auto policy = Policy::LoadFile(kDefaultPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->BandFor(1000), "A");
  EXPECT_EQ(policy->BandFor(800), "A");
  EXPECT_EQ(policy->BandFor(799), "B");
  EXPECT_EQ(policy->BandFor(650), "B");
  EXPECT_EQ(policy->BandFor(500), "C");
  EXPECT_EQ(policy->BandFor(350), "D");
  EXPECT_EQ(policy->BandFor(349), "E");
  EXPECT_EQ(policy->BandFor(0), "E");
  EXPECT_EQ(policy->BandFor(-5), "E");
}

TEST(Policy, OutcomeNamesRoundTrip) {
  for (Outcome o : {Outcome::kApproved, Outcome::kManualReview, Outcome::kRejected}) {
    EXPECT_EQ(ParseOutcome(OutcomeName(o)), o);
  }
  EXPECT_EQ(OutcomeName(Outcome::kManualReview), "MANUAL_REVIEW");
  EXPECT_EQ(ParseOutcome("approved"), std::nullopt);
}

TEST(Policy, CopiesDecideLikeTheOriginal) {
  Policy p = MustParse(kThreeRules);
  Policy copy = p;
  Request r;
  r.score = 100;
  EXPECT_EQ(copy.Decide(r.Input()).reason_codes, p.Decide(r.Input()).reason_codes);
  EXPECT_EQ(copy.version(), "p-1");
}

TEST(Policy, ConcurrentDecisionsAgree) {
  auto policy = Policy::LoadFile(kDefaultPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto run = [&](std::string* out) {
    Request r;
    for (int i = 0; i < 2000; ++i) {
      r.score = i % 1001;
      r.amount = 100'000 + i * 1'000;
      r.first_time = (i % 3) == 0;
      *out += std::string(OutcomeName(policy->Decide(r.Input()).outcome)).substr(0, 1);
    }
  };
  std::string a, b;
  std::thread t1(run, &a), t2(run, &b);
  t1.join();
  t2.join();
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 2000u);
}

}  // namespace
}  // namespace lastro::decide
