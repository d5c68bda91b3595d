// The Open Finance simulator over loopback, as a client sees it.
#include "sim/openfinance_sim.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "sim/openfinance_api.h"

namespace lastro::sim {
namespace {

using nlohmann::json;

constexpr const char* kCpf = "52998224725";
constexpr const char* kNow = "2026-11-20T15:00:00Z";

struct Reply {
  long status = 0;
  std::string body;
  std::string retry_after;
  json Json() const { return json::parse(body, nullptr, false); }
};

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

size_t Header(char* d, size_t s, size_t n, void* out) {
  std::string line(d, s * n);
  if (line.rfind("Retry-After:", 0) == 0) *static_cast<std::string*>(out) = line.substr(13, 1);
  return s * n;
}

Reply Call(const std::string& method, const std::string& url, const std::string& body = "",
           const std::vector<std::string>& headers = {}) {
  Reply r;
  CURL* h = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& line : headers) list = curl_slist_append(list, line.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, Header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.retry_after);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  EXPECT_EQ(curl_easy_perform(h), CURLE_OK) << url;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return r;
}

std::string ConsentRequest(const std::string& cpf, const std::string& expires,
                           json permissions = of_internal::KnownPermissions()) {
  return json{{"data",
               {{"loggedUser", {{"document", {{"identification", cpf}, {"rel", "CPF"}}}}},
                {"permissions", permissions},
                {"expirationDateTime", expires}}}}
      .dump();
}

class OpenFinanceSimTest : public ::testing::Test {
 protected:
  void Start(OpenFinanceSimOptions options = {}) {
    options.addr = "127.0.0.1:0";
    if (options.now.empty()) options.now = kNow;
    auto sim = OpenFinanceSim::Create(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(sim_->port());
  }
  std::string NewConsent(const std::string& cpf = kCpf,
                         json permissions = of_internal::KnownPermissions()) {
    Reply r = Call("POST", base_ + "/open-banking/consents/v3/consents",
                   ConsentRequest(cpf, "2027-06-01T00:00:00Z", permissions));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json()["data"].value("consentId", "");
  }
  Reply Get(const std::string& path, const std::string& consent) {
    return Call("GET", base_ + path, "", {"x-consent-id: " + consent});
  }
  json Accounts(const std::string& consent) {
    Reply r = Get("/open-banking/accounts/v2/accounts", consent);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["data"];
  }
  // Every transaction of the period, following links.next.
  std::vector<json> AllTransactions(const std::string& consent, const std::string& account,
                                    const std::string& from, const std::string& to, int page_size,
                                    int* pages = nullptr) {
    std::vector<json> out;
    std::string url = base_ + "/open-banking/accounts/v2/accounts/" + account +
                      "/transactions?fromBookingDate=" + from + "&toBookingDate=" + to +
                      "&page-size=" + std::to_string(page_size);
    int n = 0;
    while (!url.empty()) {
      Reply r = Call("GET", url, "", {"x-consent-id: " + consent});
      EXPECT_EQ(r.status, 200) << r.body;
      json j = r.Json();
      for (const json& t : j["data"]) out.push_back(t);
      url = j["links"].value("next", "");
      EXPECT_LE(++n, 10000);
      if (n > 10000) break;
    }
    if (pages != nullptr) *pages = n;
    return out;
  }

  std::unique_ptr<OpenFinanceSim> sim_;
  std::string base_;
};

TEST_F(OpenFinanceSimTest, ACreatedConsentIsAuthorisedAndReadBack) {
  Start();
  const std::string id = NewConsent();
  EXPECT_EQ(id.rfind("urn:lastrobank:", 0), 0u) << id;
  Reply r = Call("GET", base_ + "/open-banking/consents/v3/consents/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["data"]["status"], "AUTHORISED");
  EXPECT_EQ(j["data"]["expirationDateTime"], "2027-06-01T00:00:00.000Z");
  EXPECT_EQ(j["data"]["creationDateTime"], "2026-11-20T15:00:00.000Z");
  EXPECT_EQ(j["meta"]["requestDateTime"], "2026-11-20T15:00:00.000Z");
  EXPECT_EQ(r.body.find(kCpf), std::string::npos) << "the CPF is never echoed";
  EXPECT_EQ(Call("GET", base_ + "/open-banking/consents/v3/consents/urn:x:nope").status, 404);
}

TEST_F(OpenFinanceSimTest, BadConsentRequestsGet400WithAMessage) {
  Start();
  const std::string url = base_ + "/open-banking/consents/v3/consents";
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"data":{}})"),
        ConsentRequest("52998224724", "2027-01-01T00:00:00Z"),  // bad check digit
        ConsentRequest(kCpf, "2026-11-19T00:00:00Z"),           // in the past
        ConsentRequest(kCpf, "2028-11-19T00:00:00Z"),           // beyond 12 months
        ConsentRequest(kCpf, "tomorrow"),
        ConsentRequest(kCpf, "2027-01-01T00:00:00Z", json::array()),
        ConsentRequest(kCpf, "2027-01-01T00:00:00Z", {"PAYMENTS_INITIATE"})}) {
    Reply r = Call("POST", url, body);
    EXPECT_EQ(r.status, 400) << body;
    json j = r.Json();
    ASSERT_TRUE(j.contains("errors")) << r.body;
    EXPECT_FALSE(j["errors"][0]["detail"].get<std::string>().empty());
    EXPECT_EQ(r.body.find("52998224724"), std::string::npos);
  }
}

TEST_F(OpenFinanceSimTest, AccountsBalancesAndTransactionsAgreeWithTheModel) {
  Start();
  const std::string consent = NewConsent();
  json accounts = Accounts(consent);
  const OpenFinanceModel model(42);
  const auto expected = model.Accounts(kCpf);
  ASSERT_EQ(accounts.size(), expected.size());
  const int64_t now = *of_internal::ParseRfc3339Ms(kNow);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(accounts[i]["accountId"], expected[i].account_id);
    EXPECT_EQ(accounts[i]["type"], expected[i].type);
    Reply b =
        Get("/open-banking/accounts/v2/accounts/" + expected[i].account_id + "/balances", consent);
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ(b.Json()["data"]["availableAmount"]["amount"],
              OfAmount(model.BalanceCents(kCpf, expected[i], now)));
    EXPECT_EQ(b.Json()["data"]["updateDateTime"], "2026-11-20T15:00:00.000Z");

    int pages = 0;
    auto txs =
        AllTransactions(consent, expected[i].account_id, "2026-08-01", "2026-11-30", 7, &pages);
    auto want = model.Transactions(kCpf, expected[i], absl::CivilDay(2026, 8, 1),
                                   absl::CivilDay(2026, 11, 30), now);
    ASSERT_EQ(txs.size(), want.size());
    EXPECT_EQ(pages, std::max<int>(1, (static_cast<int>(want.size()) + 6) / 7));
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(txs[k]["transactionId"], want[k].transaction_id);
      EXPECT_EQ(txs[k]["transactionAmount"]["amount"], OfAmount(want[k].amount_cents));
      EXPECT_EQ(txs[k]["creditDebitType"], want[k].credit ? "CREDITO" : "DEBITO");
      EXPECT_EQ(txs[k]["transactionDateTime"], of_internal::Rfc3339Ms(want[k].at_ms));
    }
  }
}

TEST_F(OpenFinanceSimTest, PagesCarryMetaAndLinks) {
  Start();
  const std::string consent = NewConsent();
  const std::string account = Accounts(consent)[0]["accountId"];
  Reply r = Get("/open-banking/accounts/v2/accounts/" + account +
                    "/transactions?fromBookingDate=2026-10-01&toBookingDate=2026-10-31&page=2"
                    "&page-size=5",
                consent);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  const int64_t total = j["meta"]["totalRecords"];
  ASSERT_GT(total, 10);
  EXPECT_EQ(j["meta"]["totalPages"], (total + 4) / 5);
  EXPECT_EQ(j["data"].size(), 5u);
  EXPECT_NE(j["links"]["self"].get<std::string>().find("page=2&page-size=5"), std::string::npos);
  EXPECT_NE(j["links"]["next"].get<std::string>().find("page=3"), std::string::npos);
  EXPECT_NE(j["links"]["prev"].get<std::string>().find("page=1"), std::string::npos);
  EXPECT_EQ(j["links"]["next"].get<std::string>().rfind(base_, 0), 0u);
}

TEST_F(OpenFinanceSimTest, BadParametersGet400) {
  Start();
  const std::string consent = NewConsent();
  const std::string tx = "/open-banking/accounts/v2/accounts/" +
                         Accounts(consent)[0]["accountId"].get<std::string>() + "/transactions?";
  for (const char* q :
       {"page=0", "page=x", "page-size=0", "page-size=1001", "fromBookingDate=2026-13-01",
        "fromBookingDate=2026-11-10&toBookingDate=2026-11-01",
        "fromBookingDate=2025-01-01&toBookingDate=2026-11-01",
        "fromBookingDate=2026-11-01&toBookingDate=2026-11-02&page=99"}) {
    Reply r = Get(tx + std::string(q), consent);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_EQ(r.Json()["errors"][0]["code"], "INVALID_PARAMETER") << q;
  }
  Reply no_header = Call("GET", base_ + "/open-banking/accounts/v2/accounts");
  EXPECT_EQ(no_header.status, 400);
  EXPECT_EQ(Get("/open-banking/accounts/v2/accounts/acc-nope/balances", consent).status, 404);
  EXPECT_EQ(Get("/open-banking/accounts/v2/accounts/x/y/z", consent).status, 404);
}

TEST_F(OpenFinanceSimTest, RevokedExpiredUnknownOrNarrowConsentsGet403) {
  Start();
  const std::string revoked = NewConsent(), expired = NewConsent();
  const std::string narrow = NewConsent(kCpf, {"ACCOUNTS_READ", "RESOURCES_READ"});
  ASSERT_EQ(Call("POST", base_ + "/admin/consents/" + revoked + "/revoke").status, 200);
  ASSERT_EQ(Call("POST", base_ + "/admin/consents/" + expired + "/expire").status, 200);
  auto code = [&](const std::string& consent, const std::string& path) {
    Reply r = Get(path, consent);
    EXPECT_EQ(r.status, 403) << r.body;
    return r.Json()["errors"][0].value("code", "");
  };
  const std::string list = "/open-banking/accounts/v2/accounts";
  EXPECT_EQ(code(revoked, list), "CONSENT_REJECTED");
  EXPECT_EQ(code(expired, list), "CONSENT_EXPIRED");
  EXPECT_EQ(code("urn:lastrobank:unknown", list), "CONSENT_UNKNOWN");
  const std::string account = Accounts(narrow)[0]["accountId"];
  EXPECT_EQ(code(narrow, list + "/" + account + "/balances"), "PERMISSION_MISSING");

  json r = Call("GET", base_ + "/open-banking/consents/v3/consents/" + revoked).Json();
  EXPECT_EQ(r["data"]["status"], "REJECTED");
  EXPECT_EQ(r["data"]["rejection"]["reason"]["code"], "CUSTOMER_MANUALLY_REVOKED");
  json e = Call("GET", base_ + "/open-banking/consents/v3/consents/" + expired).Json();
  EXPECT_EQ(e["data"]["rejection"]["reason"]["code"], "CONSENT_MAX_DATE_REACHED");
}

TEST_F(OpenFinanceSimTest, AdvancingTheClockMakesNewTransactionsAppear) {
  Start();
  const std::string consent = NewConsent();
  const std::string account = Accounts(consent)[0]["accountId"];
  auto before = AllTransactions(consent, account, "2026-11-01", "2026-11-30", 1000);
  json clock = Call("POST", base_ + "/admin/clock", R"({"advance_s":259200})").Json();
  EXPECT_EQ(clock["now"], "2026-11-23T15:00:00.000Z");
  auto after = AllTransactions(consent, account, "2026-11-01", "2026-11-30", 1000);
  ASSERT_GT(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i]["transactionId"], before[i]["transactionId"]) << "old pages are stable";
  }
}

TEST_F(OpenFinanceSimTest, InjectedFaultsAnswer5xxAnd429WithRetryAfter) {
  Start({.error_rate = 1});
  Reply r = Call("GET", base_ + "/open-banking/accounts/v2/accounts", "", {"x-consent-id: x"});
  EXPECT_TRUE(r.status == 500 || r.status == 503) << r.status;
  ASSERT_EQ(Call("POST", base_ + "/admin/config", R"({"error_rate":0,"rate_429":1})").status, 200);
  r = Call("GET", base_ + "/open-banking/accounts/v2/accounts", "", {"x-consent-id: x"});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, "1");
  ASSERT_EQ(Call("POST", base_ + "/admin/config", R"({"rate_429":0})").status, 200);
  ASSERT_EQ(Call("POST", base_ + "/admin/outage?seconds=60").status, 200);
  EXPECT_EQ(Call("GET", base_ + "/open-banking/consents/v3/consents/x").status, 503);
  EXPECT_EQ(Call("POST", base_ + "/admin/config", R"({"error_rate":2})").status, 400);
  EXPECT_EQ(Call("POST", base_ + "/admin/config", R"({"nope":1})").status, 400);
  EXPECT_EQ(Call("POST", base_ + "/admin/config", R"({"rate_429":"x"})").status, 400);
  EXPECT_EQ(Call("POST", base_ + "/admin/config", "[]").status, 400);
  for (const char* bad :
       {"", "?seconds=", "?seconds=abc", "?seconds=-1", "?seconds=86401", "?seconds=nan"}) {
    EXPECT_EQ(Call("POST", base_ + "/admin/outage" + std::string(bad)).status, 400) << bad;
  }
  json calls = Call("GET", base_ + "/admin/calls").Json();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1]["status"], 429);
}

TEST_F(OpenFinanceSimTest, MalformedRateBreaksEveryTransactionDeterministically) {
  Start({.malformed_rate = 1});
  const std::string consent = NewConsent();
  const std::string account = Accounts(consent)[0]["accountId"];
  auto first = AllTransactions(consent, account, "2026-10-01", "2026-10-31", 1000);
  auto second = AllTransactions(consent, account, "2026-10-01", "2026-10-31", 1000);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
  std::set<std::string> kinds;
  for (const json& t : first) {
    if (!t.contains("transactionId"))
      kinds.insert("no id");
    else if (t["creditDebitType"] != "CREDITO" && t["creditDebitType"] != "DEBITO")
      kinds.insert("sign");
    else if (t["transactionAmount"]["currency"] != "BRL")
      kinds.insert("currency");
    else if (t["transactionDateTime"].get<std::string>().find('/') != std::string::npos)
      kinds.insert("date");
    else
      kinds.insert(t["transactionAmount"]["amount"].get<std::string>().find(',') !=
                           std::string::npos
                       ? "comma"
                       : "negative");
  }
  EXPECT_GE(kinds.size(), 4u);
}

TEST_F(OpenFinanceSimTest, ATokenIsRequiredWhenConfiguredExceptForAdmin) {
  Start({.token = "s3cret"});
  EXPECT_EQ(Call("GET", base_ + "/open-banking/consents/v3/consents/x").status, 401);
  EXPECT_EQ(Call("GET", base_ + "/open-banking/consents/v3/consents/x", "",
                 {"Authorization: Bearer s3cret"})
                .status,
            404);
  EXPECT_EQ(Call("GET", base_ + "/admin/stats").status, 200);
}

TEST_F(OpenFinanceSimTest, CreateRejectsBadOptions) {
  EXPECT_FALSE(OpenFinanceSim::Create({.addr = "127.0.0.1:0", .error_rate = 2}).ok());
  EXPECT_FALSE(OpenFinanceSim::Create({.addr = "127.0.0.1:0", .now = "yesterday"}).ok());
  EXPECT_FALSE(OpenFinanceSim::Create({.addr = "127.0.0.1:0", .threads = 0}).ok());
}

}  // namespace
}  // namespace lastro::sim
