#include "sim/openfinance_model.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/time/time.h"
#include "common/pii.h"

namespace lastro::sim {
namespace {

constexpr const char* kCpf = "52998224725";

int64_t Ms(absl::CivilSecond s) {
  return absl::ToUnixMillis(absl::FromCivil(s, absl::UTCTimeZone()));
}

TEST(OpenFinanceModel, SameSeedAndCustomerGiveTheSameData) {
  OpenFinanceModel a(42), b(42);
  auto accounts_a = a.Accounts(kCpf);
  auto accounts_b = b.Accounts(kCpf);
  ASSERT_EQ(accounts_a.size(), accounts_b.size());
  const absl::CivilDay from(2026, 9, 1), to(2026, 11, 20);
  const int64_t until = Ms(absl::CivilSecond(2026, 11, 21));
  for (size_t i = 0; i < accounts_a.size(); ++i) {
    EXPECT_EQ(accounts_a[i].account_id, accounts_b[i].account_id);
    auto ta = a.Transactions(kCpf, accounts_a[i], from, to, until);
    auto tb = b.Transactions(kCpf, accounts_b[i], from, to, until);
    ASSERT_EQ(ta.size(), tb.size());
    for (size_t j = 0; j < ta.size(); ++j) {
      EXPECT_EQ(ta[j].transaction_id, tb[j].transaction_id);
      EXPECT_EQ(ta[j].amount_cents, tb[j].amount_cents);
      EXPECT_EQ(ta[j].at_ms, tb[j].at_ms);
    }
  }
}

TEST(OpenFinanceModel, AnotherSeedOrCustomerGivesOtherAccounts) {
  EXPECT_NE(OpenFinanceModel(42).Accounts(kCpf)[0].account_id,
            OpenFinanceModel(43).Accounts(kCpf)[0].account_id);
  EXPECT_NE(OpenFinanceModel(42).Accounts(kCpf)[0].account_id,
            OpenFinanceModel(42).Accounts("11144477735")[0].account_id);
}

TEST(OpenFinanceModel, EveryCustomerHasACheckingAccountFirst) {
  OpenFinanceModel m(7);
  std::map<size_t, int> sizes;
  for (int i = 0; i < 200; ++i) {
    char base[10];
    std::snprintf(base, sizeof base, "%09d", 100000000 + i * 7919);
    auto accounts = m.Accounts(pii::CpfWithCheckDigits(base));
    ASSERT_FALSE(accounts.empty());
    EXPECT_EQ(accounts[0].type, "CONTA_DEPOSITO_A_VISTA");
    ++sizes[accounts.size()];
    for (const OfAccount& a : accounts) {
      EXPECT_GE(a.opened, absl::CivilDay(2021, 1, 1));
      EXPECT_LE(a.opened, absl::CivilDay(2026, 12, 31));
    }
  }
  EXPECT_GT(sizes[1], 0);
  EXPECT_GT(sizes[2], 0);  // savings or prepaid accounts exist too
}

TEST(OpenFinanceModel, TransactionsOfADayAreOnThatDayInTimeOrderWithUniqueIds) {
  OpenFinanceModel m(42);
  const OfAccount checking = m.Accounts(kCpf)[0];
  std::set<std::string> ids;
  for (absl::CivilDay d(2026, 10, 1); d <= absl::CivilDay(2026, 10, 31); ++d) {
    auto txs = m.TransactionsOn(kCpf, checking, d);
    const int64_t start = Ms(absl::CivilSecond(d));
    for (size_t i = 0; i < txs.size(); ++i) {
      EXPECT_TRUE(ids.insert(txs[i].transaction_id).second) << txs[i].transaction_id;
      EXPECT_GE(txs[i].at_ms, start + 11 * 3600 * 1000);  // 08:00 in São Paulo
      EXPECT_LT(txs[i].at_ms, start + 24 * 3600 * 1000);
      EXPECT_GT(txs[i].amount_cents, 0);
      if (i > 0) {
        EXPECT_LE(txs[i - 1].at_ms, txs[i].at_ms);
      }
    }
  }
  EXPECT_GT(ids.size(), 20u);
}

TEST(OpenFinanceModel, AMonthHasIncomeAndSpendingOfTheProfilesSize) {
  OpenFinanceModel m(42);
  int salaried_seen = 0;
  for (int i = 0; i < 40; ++i) {
    char base[10];
    std::snprintf(base, sizeof base, "%09d", 200000000 + i * 104729);
    const std::string cpf = pii::CpfWithCheckDigits(base);
    const OfProfile p = m.Profile(cpf);
    const OfAccount checking = m.Accounts(cpf)[0];
    if (checking.opened >= absl::CivilDay(2026, 1, 1)) continue;
    int64_t credits = 0, debits = 0;
    int salaries = 0;
    for (const OfTransaction& t :
         m.Transactions(cpf, checking, absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 8, 31),
                        Ms(absl::CivilSecond(2026, 9, 1)))) {
      (t.credit ? credits : debits) += t.amount_cents;
      if (t.type == "FOLHA_PAGAMENTO") ++salaries;
    }
    // Six months: income within 40% of 6 x the profile's, spending 60..140% of it.
    EXPECT_NEAR(static_cast<double>(credits), 6.0 * p.monthly_income_cents,
                0.4 * 6.0 * p.monthly_income_cents);
    EXPECT_NEAR(static_cast<double>(debits), static_cast<double>(credits), 0.4 * credits);
    if (p.salaried) {
      EXPECT_EQ(salaries, 6) << "one salary a month";
      ++salaried_seen;
    }
  }
  EXPECT_GT(salaried_seen, 5);
}

TEST(OpenFinanceModel, BalanceIsTheSumOfEveryTransactionUpToTheInstant) {
  OpenFinanceModel m(42);
  for (const OfAccount& a : m.Accounts(kCpf)) {
    const int64_t at = Ms(absl::CivilSecond(2026, 11, 20, 15, 30, 0));
    int64_t sum = 0;
    for (const OfTransaction& t :
         m.Transactions(kCpf, a, a.opened, absl::CivilDay(2026, 11, 20), at)) {
      EXPECT_LE(t.at_ms, at);
      sum += t.credit ? t.amount_cents : -t.amount_cents;
    }
    EXPECT_EQ(m.BalanceCents(kCpf, a, at), sum);
  }
}

TEST(OpenFinanceModel, NothingBeforeTheAccountOpensAndNothingAfterTheInstant) {
  OpenFinanceModel m(42);
  const OfAccount a = m.Accounts(kCpf)[0];
  EXPECT_TRUE(m.TransactionsOn(kCpf, a, a.opened - 1).empty());
  auto opening = m.TransactionsOn(kCpf, a, a.opened);
  ASSERT_FALSE(opening.empty());
  EXPECT_EQ(opening.front().type, "DEPOSITO");
  const int64_t noon = Ms(absl::CivilSecond(2026, 11, 20, 12, 0, 0));
  for (const OfTransaction& t :
       m.Transactions(kCpf, a, absl::CivilDay(2026, 11, 20), absl::CivilDay(2026, 11, 25), noon)) {
    EXPECT_LE(t.at_ms, noon);
  }
  EXPECT_TRUE(
      m.Transactions(kCpf, a, absl::CivilDay(2026, 11, 2), absl::CivilDay(2026, 11, 1), noon)
          .empty());
}

TEST(OpenFinanceModel, PixTransfersNameTheCounterpartyDocumentOnly) {
  OpenFinanceModel m(42);
  const OfAccount a = m.Accounts(kCpf)[0];
  int with_cpf = 0;
  for (const OfTransaction& t :
       m.Transactions(kCpf, a, absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 6, 30),
                      Ms(absl::CivilSecond(2026, 7, 1)))) {
    if (t.partie_person_type == "PESSOA_NATURAL") {
      EXPECT_TRUE(pii::IsValidCpf(t.partie_document));
      ++with_cpf;
    }
    EXPECT_EQ(pii::Redact(t.name), t.name) << "transaction names carry no personal data";
  }
  EXPECT_GT(with_cpf, 0);
}

TEST(OpenFinanceModel, AmountsAreWrittenWithTwoDecimals) {
  EXPECT_EQ(OfAmount(0), "0.00");
  EXPECT_EQ(OfAmount(5), "0.05");
  EXPECT_EQ(OfAmount(123456), "1234.56");
  EXPECT_EQ(OfAmount(-1999), "-19.99");
}

}  // namespace
}  // namespace lastro::sim
