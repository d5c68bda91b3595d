#include "ingest/openfinance_records.h"

#include <gtest/gtest.h>

namespace lastro::ingest {
namespace {

using nlohmann::json;

json GoodTransaction() {
  return json::parse(R"({
    "transactionId": "tx-0123abcd", "completedAuthorisedPaymentType": "TRANSACAO_EFETIVADA",
    "creditDebitType": "DEBITO", "transactionName": "PIX ENVIADO", "type": "PIX",
    "transactionAmount": {"amount": "1234.56", "currency": "BRL"},
    "transactionDateTime": "2026-11-20T14:03:12.000Z",
    "partieCnpjCpf": "52998224725", "partiePersonType": "PESSOA_NATURAL"})");
}

std::string Reason(const json& record) {
  auto t = ParseTransaction(record);
  return t.ok() ? "" : std::string(t.status().message());
}

TEST(OpenFinanceRecords, AmountsBecomeExactCents) {
  EXPECT_EQ(*ParseAmountCents("1234.56", false), 123456);
  EXPECT_EQ(*ParseAmountCents("0.05", false), 5);
  EXPECT_EQ(*ParseAmountCents("10.1000", false), 1010);
  EXPECT_EQ(*ParseAmountCents("-19.99", true), -1999);
  EXPECT_EQ(*ParseAmountCents("999999999999999.99", false), 99999999999999999);
}

TEST(OpenFinanceRecords, MalformedAmountsAreRefusedWithTheReason) {
  for (const char* bad : {"12,50", "12", "12.5", "12.12345", ".50", "1e3", "", "+1.00", "1 .00",
                          "1234567890123456.00", "--1.00"}) {
    auto r = ParseAmountCents(bad, true);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
  EXPECT_NE(ParseAmountCents("-1.00", false).status().message().find("negative"),
            std::string::npos);
  EXPECT_NE(ParseAmountCents("1.001", false).status().message().find("fractions of a cent"),
            std::string::npos);
}

TEST(OpenFinanceRecords, InstantsAreRfc3339InUtc) {
  EXPECT_EQ(*ParseInstantMicros("2026-11-20T14:03:12Z"), 1795183392000000);
  EXPECT_EQ(*ParseInstantMicros("2026-11-20T14:03:12.250Z"), 1795183392250000);
  EXPECT_EQ(*ParseInstantMicros("2026-11-20T11:03:12-03:00"), 1795183392000000);
  for (const char* bad : {"20/11/2026 14:03:12", "2026-11-20", "2026-11-20T14:03:12",
                          "1970-01-01T00:00:00Z", "2126-01-01T00:00:00Z", ""}) {
    EXPECT_FALSE(ParseInstantMicros(bad).ok()) << bad;
  }
}

TEST(OpenFinanceRecords, AGoodTransactionKeepsNoCounterpartyOrFreeText) {
  auto t = ParseTransaction(GoodTransaction());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->transaction_id, "tx-0123abcd");
  EXPECT_EQ(t->credit_debit_type, "DEBITO");
  EXPECT_EQ(t->type, "PIX");
  EXPECT_EQ(t->completed_type, "TRANSACAO_EFETIVADA");
  EXPECT_EQ(t->amount_cents, 123456);
  EXPECT_EQ(t->booked_micros, 1795183392000000);
}

TEST(OpenFinanceRecords, EachMalformedTransactionSaysWhy) {
  auto with = [](const char* pointer, json value) {
    json j = GoodTransaction();
    j[json::json_pointer(pointer)] = std::move(value);
    return j;
  };
  json no_id = GoodTransaction();
  no_id.erase("transactionId");
  EXPECT_EQ(Reason(no_id), "missing transactionId");
  EXPECT_NE(Reason(with("/transactionId", "bad id!")).find("malformed"), std::string::npos);
  EXPECT_NE(Reason(with("/transactionId", 42)).find("missing transactionId"), std::string::npos);
  EXPECT_NE(Reason(with("/creditDebitType", "CREDIT")).find("not CREDITO or DEBITO"),
            std::string::npos);
  EXPECT_NE(Reason(with("/transactionAmount/amount", "12,50")).find("2..4 places"),
            std::string::npos);
  EXPECT_NE(Reason(with("/transactionAmount/amount", 12.5)).find("a string"), std::string::npos);
  EXPECT_NE(Reason(with("/transactionAmount/amount", "-1.00")).find("negative"), std::string::npos);
  EXPECT_NE(Reason(with("/transactionAmount/amount", "0.00")).find("zero"), std::string::npos);
  EXPECT_NE(Reason(with("/transactionAmount/currency", "USD")).find("is not BRL"),
            std::string::npos);
  EXPECT_NE(Reason(with("/transactionDateTime", "20/11/2026 10:00:00")).find("RFC 3339"),
            std::string::npos);
  EXPECT_NE(Reason(with("/type", "pix")).find("type"), std::string::npos);
  EXPECT_NE(Reason(json::array()).find("not an object"), std::string::npos);
  // Reasons never quote personal data.
  EXPECT_EQ(Reason(with("/transactionAmount/currency", "52998224725")).find("52998224725"),
            std::string::npos);
}

TEST(OpenFinanceRecords, QuarantineKeepsTheRecordWithoutPersonalData) {
  json j = GoodTransaction();
  j["transactionAmount"]["amount"] = "12,50";
  j["note"] = "call 52998224725";
  const std::string raw = SanitizedRaw(j);
  EXPECT_EQ(raw.find("52998224725"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("partie"), std::string::npos);
  EXPECT_EQ(raw.find("PIX ENVIADO"), std::string::npos);
  EXPECT_NE(raw.find("12,50"), std::string::npos);
  EXPECT_EQ(RecordKey(raw), RecordKey(SanitizedRaw(j)));
  EXPECT_EQ(RecordKey(raw).size(), 16u);
  EXPECT_NE(RecordKey(raw), RecordKey(SanitizedRaw(GoodTransaction())));
}

TEST(OpenFinanceRecords, ListPagesNeedDataAndMeta) {
  auto page = ParseListPage(R"({"data":[{"a":1},{"b":2}],
      "links":{"self":"http://x/a?page=1","next":"http://x/a?page=2"},
      "meta":{"totalRecords":7,"totalPages":4,"requestDateTime":"2026-11-20T15:00:00Z"}})");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->data.size(), 2u);
  EXPECT_EQ(page->next, "http://x/a?page=2");
  EXPECT_EQ(page->total_records, 7);
  EXPECT_EQ(page->total_pages, 4);
  EXPECT_EQ(page->request_micros, 1795186800000000);
  auto last = ParseListPage(R"({"data":[],"links":{"next":null},
                                "meta":{"totalRecords":0,"totalPages":1}})");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->next, "");
  for (const char* bad :
       {"", "[]", "{}", R"({"data":{}})", R"({"data":[],"meta":{}})",
        R"({"data":[],"meta":{"totalRecords":-1,"totalPages":1}})",
        R"({"data":[],"meta":{"totalRecords":"3","totalPages":1}})",
        R"({"data":[],"links":{"next":3},"meta":{"totalRecords":0,"totalPages":1}})"}) {
    EXPECT_FALSE(ParseListPage(bad).ok()) << bad;
  }
}

TEST(OpenFinanceRecords, ConsentsAreUsableOnlyWhenAuthorisedAndUnexpired) {
  auto c = ParseConsent(R"({"data":{"consentId":"urn:b:1","status":"AUTHORISED",
      "expirationDateTime":"2027-01-01T00:00:00Z"},"meta":{"requestDateTime":"2026-11-20T15:00:00Z"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  std::string why;
  EXPECT_TRUE(ConsentUsable(*c, &why));
  OfConsent expired = *c;
  expired.request_micros = expired.expires_micros;
  EXPECT_FALSE(ConsentUsable(expired, &why));
  EXPECT_EQ(why, "expired at 2027-01-01T00:00:00Z");
  auto revoked = ParseConsent(R"({"data":{"status":"REJECTED",
      "expirationDateTime":"2027-01-01T00:00:00Z","rejection":{"rejectedBy":"USER",
      "reason":{"code":"CUSTOMER_MANUALLY_REVOKED"}}},"meta":{"requestDateTime":"2026-11-20T15:00:00Z"}})");
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(ConsentUsable(*revoked, &why));
  EXPECT_EQ(why, "REJECTED (CUSTOMER_MANUALLY_REVOKED)");
  EXPECT_FALSE(ParseConsent(R"({"data":{"status":"AUTHORISED"}})").ok());
  EXPECT_FALSE(ParseConsent(R"({"data":{"status":"AUTHORISED",
      "expirationDateTime":"2027-01-01T00:00:00Z"}})")
                   .ok())
      << "without the bank's clock the period cannot be set";
}

TEST(OpenFinanceRecords, AccountsAndBalances) {
  auto a = ParseAccount(json::parse(R"({"accountId":"acc-1","type":"CONTA_POUPANCA",
      "brandName":"B","companyCnpj":"1","subtype":"INDIVIDUAL","compeCode":"999",
      "branchCode":"0001","number":"12345678","checkDigit":"1"})"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->account_id, "acc-1");
  EXPECT_EQ(a->type, "CONTA_POUPANCA");
  EXPECT_FALSE(ParseAccount(json::parse(R"({"type":"CONTA_POUPANCA"})")).ok());
  EXPECT_FALSE(ParseAccount(json::parse(R"({"accountId":"../x","type":"CONTA_POUPANCA"})")).ok());

  auto b = ParseBalance(R"({"data":{"availableAmount":{"amount":"-10.50","currency":"BRL"},
      "blockedAmount":{"amount":"0.00","currency":"BRL"},
      "automaticallyInvestedAmount":{"amount":"1.00","currency":"BRL"},
      "updateDateTime":"2026-11-20T15:00:00Z"}})");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->available_cents, -1050);
  EXPECT_EQ(b->invested_cents, 100);
  EXPECT_FALSE(
      ParseBalance(R"({"data":{"availableAmount":{"amount":"1,00","currency":"BRL"}}})").ok());
}

TEST(OpenFinanceRecords, ErrorCodesComeFromTheOfbErrorBody) {
  EXPECT_EQ(ErrorCode(R"({"errors":[{"code":"CONSENT_REJECTED","title":"t","detail":"d"}]})"),
            "CONSENT_REJECTED");
  EXPECT_EQ(ErrorCode(R"({"error":"x"})"), "");
  EXPECT_EQ(ErrorCode("not json"), "");
  EXPECT_EQ(ErrorCode(R"({"errors":[{"code":"<script>"}]})"), "");
}

}  // namespace
}  // namespace lastro::ingest
