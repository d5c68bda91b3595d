// The simulated bank's data behind `lastro sim openfinance` (docs/openfinance-api.md):
// pure, deterministic functions of (seed, customer key), so every run, every page and
// every re-pull sees the same accounts and transactions, and tests can compute them.
//
// The customer key is what the bank knows its customer by: the CPF given when the
// consent was created (its 11 digits). It only feeds hashes; nothing here returns it.
//
//   profile      monthly income (R$ 1,800..25,000, skewed low), salaried (70%: one
//                FOLHA_PAGAMENTO credit on the 5th, moved back to Friday on weekends)
//                or informal (PIX credits on ~1 weekday in 3), rent, card bill,
//                utilities, a monthly fee and a savings habit drawn per customer;
//   accounts     a checking account (always), a savings account (45%), a prepaid
//                account (20%), each opened on a fixed day in 2021..2025;
//   transactions per account and calendar day, generated from that day alone:
//                the opening deposit, monthly items on their days (rent on the 10th,
//                utilities on the 15th, card bill on the 20th, fee on the 1st, a
//                savings transfer on the 6th, yield on the 1st) and 0..4 daily
//                purchases (CARTAO, PIX with a counterparty CPF, SAQUE). Spending
//                averages ~97% of income, so balances drift slowly and may dip below
//                zero (overdraft) as real ones do;
//   instants     between 11:00 and 23:59:59 UTC (08:00..20:59 in São Paulo), so the
//                booking date is the same in UTC and in Brazil;
//   balance      the sum of every transaction of the account up to an instant.
//
// Thread-safe: the model is immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"

namespace lastro::sim {

inline constexpr const char* kOpenFinanceBrandName = "Lastro Banco Simulado";
inline constexpr const char* kOpenFinanceCompanyCnpj = "99999999000191";
inline constexpr const char* kOpenFinanceCompeCode = "999";

// A 64-bit hash of `key` under `seed` (FNV-1a, then a splitmix64 finaliser).
uint64_t OfHash(uint64_t seed, std::string_view key);
// The same hash mapped to [0, 1).
double OfUnit(uint64_t seed, std::string_view key);

struct OfProfile {
  int64_t monthly_income_cents = 0;
  bool salaried = true;
  std::string employer;            // salaried only, e.g. "ACME INDUSTRIA LTDA"
  int64_t rent_cents = 0;          // 0 = no rent
  int64_t card_bill_share_pm = 0;  // per mille of income paid as the card bill
  bool saves = false;              // a monthly transfer to the savings account
};

enum class OfAccountKind { kChecking = 0, kSavings = 1, kPrepaid = 2 };

struct OfAccount {
  std::string account_id;  // "acc-" + 20 hex digits, unique per (seed, customer, kind)
  OfAccountKind kind = OfAccountKind::kChecking;
  std::string type;         // CONTA_DEPOSITO_A_VISTA, CONTA_POUPANCA, CONTA_PAGAMENTO_PRE_PAGA
  std::string subtype;      // INDIVIDUAL
  std::string branch_code;  // 4 digits
  std::string number;       // 8 digits
  std::string check_digit;  // 1 digit
  absl::CivilDay opened;    // the day of its opening deposit (first transaction)
};

struct OfTransaction {
  std::string transaction_id;  // "tx-" + 24 hex digits
  bool credit = false;         // CREDITO / DEBITO
  std::string type;            // PIX, TED, BOLETO, FOLHA_PAGAMENTO, CARTAO, ...
  std::string name;            // transactionName (never a person's name)
  int64_t amount_cents = 0;    // > 0
  int64_t at_ms = 0;           // transactionDateTime, Unix milliseconds (UTC)
  // Counterparty of PIX/TED transfers: a CPF (PESSOA_NATURAL) or CNPJ
  // (PESSOA_JURIDICA); empty otherwise. Personal data, as in a real bank's answer.
  std::string partie_document;
  std::string partie_person_type;
};

class OpenFinanceModel {
 public:
  explicit OpenFinanceModel(uint64_t seed) : seed_(seed) {}

  uint64_t seed() const { return seed_; }

  OfProfile Profile(std::string_view customer_key) const;

  // The customer's accounts, checking first. Same answer on every call.
  std::vector<OfAccount> Accounts(std::string_view customer_key) const;

  // Every transaction of `account` booked on `day`, in time order (ties by id).
  // Empty before the account's opening day.
  std::vector<OfTransaction> TransactionsOn(std::string_view customer_key, const OfAccount& account,
                                            absl::CivilDay day) const;

  // Transactions booked from `from` to `to` (inclusive) at or before `until_ms`, in
  // time order. Empty when from > to.
  std::vector<OfTransaction> Transactions(std::string_view customer_key, const OfAccount& account,
                                          absl::CivilDay from, absl::CivilDay to,
                                          int64_t until_ms) const;

  // Credits minus debits of every transaction of the account at or before `at_ms`.
  int64_t BalanceCents(std::string_view customer_key, const OfAccount& account,
                       int64_t at_ms) const;

 private:
  uint64_t seed_;
};

// "1234.56", "-0.05": cents as an OFB amount string (two decimals).
std::string OfAmount(int64_t cents);

}  // namespace lastro::sim
