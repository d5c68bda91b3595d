#include "sim/openfinance_model.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/fnv.h"
#include "common/pii.h"

namespace lastro::sim {
namespace {

constexpr std::array<const char*, 8> kEmployers = {
    "ACME INDUSTRIA LTDA",   "SUPERMERCADOS BOA VISTA SA", "TRANSPORTES RAPIDO LTDA",
    "HOSPITAL SANTA LUZIA",  "PREFEITURA MUNICIPAL",       "CONSTRUTORA HORIZONTE SA",
    "TECNOLOGIA NUVEM LTDA", "ESCOLA NOVO SABER"};
constexpr std::array<const char*, 8> kMerchants = {
    "MERCADO BOM PRECO", "FARMACIA SAUDE", "POSTO CENTRAL",  "PADARIA PAO QUENTE",
    "RESTAURANTE SABOR", "APP TRANSPORTE", "LOJA MODA CASA", "STREAMING PLUS"};

std::string Hex(uint64_t value, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return std::string(buf + 16 - digits, static_cast<size_t>(digits));
}

std::string Digits(uint64_t value, int digits) {
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

int64_t RoundTo(int64_t cents, int64_t unit) { return std::max(unit, (cents / unit) * unit); }

int64_t DayStartMs(absl::CivilDay day) {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(day), absl::UTCTimeZone()));
}

absl::CivilDay DayOfMs(int64_t ms) {
  return absl::ToCivilDay(absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// The working day for an item due on day `nominal` of (year, month): weekends move
// to the Friday before (`back`, as salaries) or the Monday after (bills).
absl::CivilDay DueDay(absl::CivilYear year, int month, int nominal, bool back) {
  absl::CivilDay d(year.year(), month, nominal);
  absl::Weekday w = absl::GetWeekday(d);
  if (w == absl::Weekday::saturday) return back ? d - 1 : d + 2;
  if (w == absl::Weekday::sunday) return back ? d - 2 : d + 1;
  return d;
}

bool IsDue(absl::CivilDay day, int nominal, bool back) {
  return day == DueDay(absl::CivilYear(day.year()), day.month(), nominal, back);
}

bool IsWeekday(absl::CivilDay day) {
  absl::Weekday w = absl::GetWeekday(day);
  return w != absl::Weekday::saturday && w != absl::Weekday::sunday;
}

std::string Month(absl::CivilDay day) { return absl::StrCat(day.year(), "-", day.month()); }

// Everything about one customer that every day's generation needs.
struct Customer {
  std::string key;
  OfProfile profile;
  std::vector<OfAccount> accounts;
  int64_t savings_transfer_cents = 0;  // when saves
  int64_t utilities_cents = 0;         // expected per month
  int64_t fee_cents = 0;
  int64_t purchase_avg_cents = 0;
};

class DayBuilder {
 public:
  DayBuilder(const OpenFinanceModel& model, const OfAccount& account, absl::CivilDay day)
      : model_(model),
        account_(account),
        start_ms_(DayStartMs(day)),
        date_(absl::FormatCivilTime(day)) {}

  double Unit(const std::string& tag) const {
    return OfUnit(model_.seed(), absl::StrCat(account_.account_id, "|", date_, "|", tag));
  }

  // Adds one transaction; its id and time of day come from `tag`.
  void Add(const std::string& tag, bool credit, const char* type, std::string name, int64_t cents,
           int earliest_hour = 11, int hours = 13) {
    OfTransaction t;
    const std::string id_key = absl::StrCat(account_.account_id, "|", date_, "|", tag);
    t.transaction_id =
        "tx-" + Hex(OfHash(model_.seed(), id_key), 16) + Hex(OfHash(model_.seed() + 1, id_key), 8);
    t.credit = credit;
    t.type = type;
    t.name = std::move(name);
    t.amount_cents = std::max<int64_t>(1, cents);
    const uint64_t second = OfHash(model_.seed(), id_key + "|t") % (hours * 3600ULL);
    t.at_ms = start_ms_ + (int64_t{earliest_hour} * 3600 + static_cast<int64_t>(second)) * 1000;
    out_.push_back(std::move(t));
  }

  void WithCpfPartie(const std::string& tag) {
    uint64_t h = OfHash(model_.seed(), absl::StrCat(account_.account_id, date_, tag, "|cpf"));
    out_.back().partie_document = pii::CpfWithCheckDigits(Digits(100000000 + h % 899999999, 9));
    out_.back().partie_person_type = "PESSOA_NATURAL";
  }
  void WithCnpjPartie(const std::string& tag) {
    uint64_t h = OfHash(model_.seed(), absl::StrCat(account_.account_id, date_, tag, "|cnpj"));
    out_.back().partie_document = Digits(h % 100000000, 8) + "0001" + Digits(h >> 40, 2);
    out_.back().partie_person_type = "PESSOA_JURIDICA";
  }

  std::vector<OfTransaction> Take() {
    std::sort(out_.begin(), out_.end(), [](const OfTransaction& a, const OfTransaction& b) {
      return a.at_ms != b.at_ms ? a.at_ms < b.at_ms : a.transaction_id < b.transaction_id;
    });
    return std::move(out_);
  }

 private:
  const OpenFinanceModel& model_;
  const OfAccount& account_;
  int64_t start_ms_;
  std::string date_;
  std::vector<OfTransaction> out_;
};

Customer MakeCustomer(const OpenFinanceModel& model, std::string_view key) {
  Customer c;
  c.key = std::string(key);
  c.profile = model.Profile(key);
  c.accounts = model.Accounts(key);
  const OfProfile& p = c.profile;
  const int64_t income = p.monthly_income_cents;
  const uint64_t s = model.seed();
  if (p.saves) {
    c.savings_transfer_cents =
        RoundTo(income * (50 + static_cast<int64_t>(OfHash(s, c.key + "|save%") % 51)) / 1000, 100);
  }
  c.utilities_cents = income * 55 / 1000;
  c.fee_cents = OfHash(s, c.key + "|fee") % 4 == 0 ? 0 : 1500 + OfHash(s, c.key + "|fee$") % 3000;
  const int64_t fixed = p.rent_cents + income * p.card_bill_share_pm / 1000 + c.utilities_cents +
                        c.fee_cents + c.savings_transfer_cents;
  const int64_t discretionary = std::max(income * 97 / 100 - fixed, income * 8 / 100);
  c.purchase_avg_cents = discretionary / 45;  // ~1.48 purchases a day
  return c;
}

const OfAccount* FindKind(const Customer& c, OfAccountKind kind) {
  for (const OfAccount& a : c.accounts) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

void Checking(const OpenFinanceModel& model, const Customer& c, DayBuilder& b, absl::CivilDay day,
              bool opening) {
  const OfProfile& p = c.profile;
  const int64_t income = p.monthly_income_cents;
  const std::string month = Month(day);
  const uint64_t s = model.seed();
  if (opening) {
    b.Add("open", true, "DEPOSITO", "DEPOSITO INICIAL",
          RoundTo(income * (20 + static_cast<int64_t>(b.Unit("open$") * 180)) / 100, 100), 11, 1);
  }
  if (p.salaried && IsDue(day, 5, /*back=*/true)) {
    const double wiggle = 0.98 + 0.04 * OfUnit(s, c.key + "|salary|" + month);
    b.Add("salary", true, "FOLHA_PAGAMENTO", "SALARIO " + p.employer,
          static_cast<int64_t>(static_cast<double>(income) * wiggle), 11, 1);
  }
  if (!p.salaried && IsWeekday(day) && b.Unit("informal") < 0.33) {
    b.Add("informal", true, "PIX", "PIX RECEBIDO",
          static_cast<int64_t>(static_cast<double>(income) / 7.3 *
                               (0.3 + 1.4 * b.Unit("informal$"))));
    b.WithCpfPartie("informal");
  }
  if (c.fee_cents > 0 && IsDue(day, 1, false)) {
    b.Add("fee", false, "PACOTE_TARIFA_SERVICOS", "TARIFA PACOTE DE SERVICOS", c.fee_cents);
  }
  if (c.savings_transfer_cents > 0 && IsDue(day, 6, false)) {
    const OfAccount* savings = FindKind(c, OfAccountKind::kSavings);
    if (savings != nullptr && day > savings->opened) {
      b.Add("save", false, "TRANSFERENCIA_MESMA_INSTITUICAO", "APLICACAO POUPANCA",
            c.savings_transfer_cents, 12, 1);
    }
  }
  if (p.rent_cents > 0 && IsDue(day, 10, false)) {
    b.Add("rent", false, "BOLETO", "PAGAMENTO DE BOLETO ALUGUEL", p.rent_cents);
  }
  if (IsDue(day, 15, false)) {
    const double u = OfUnit(s, c.key + "|power|" + month);
    b.Add("power", false, "CONVENIO_ARRECADACAO", "CONTA DE ENERGIA",
          static_cast<int64_t>(static_cast<double>(c.utilities_cents) * (0.45 + 0.3 * u)));
    b.Add("net", false, "CONVENIO_ARRECADACAO", "INTERNET E TELEFONE",
          c.utilities_cents * 40 / 100);
  }
  if (IsDue(day, 20, false)) {
    const double u = OfUnit(s, c.key + "|card|" + month);
    b.Add("card", false, "BOLETO", "PAGAMENTO FATURA CARTAO",
          static_cast<int64_t>(static_cast<double>(income * p.card_bill_share_pm / 1000) *
                               (0.85 + 0.3 * u)));
  }
  // Daily purchases: 0..4 a day (mean ~1.48).
  const double n_draw = b.Unit("n");
  const int n = n_draw < 0.25 ? 0 : n_draw < 0.55 ? 1 : n_draw < 0.80 ? 2 : n_draw < 0.92 ? 3 : 4;
  for (int i = 0; i < n; ++i) {
    const std::string tag = absl::StrCat("buy", i);
    const double kind = b.Unit(tag + "k");
    const int64_t cents = static_cast<int64_t>(static_cast<double>(c.purchase_avg_cents) *
                                               (0.2 + 1.6 * b.Unit(tag + "$")));
    if (kind < 0.6) {
      b.Add(tag, false, "CARTAO",
            std::string("COMPRA CARTAO ") +
                kMerchants[OfHash(s, c.key + tag + month) % kMerchants.size()],
            cents);
    } else if (kind < 0.93) {
      b.Add(tag, false, "PIX", "PIX ENVIADO", cents);
      if (kind < 0.8) {
        b.WithCpfPartie(tag);
      } else {
        b.WithCnpjPartie(tag);
      }
    } else {
      b.Add(tag, false, "SAQUE", "SAQUE 24H", RoundTo(std::max<int64_t>(cents, 2000), 1000));
    }
  }
}

void Savings(const OpenFinanceModel& model, const Customer& c, const OfAccount& a, DayBuilder& b,
             absl::CivilDay day, bool opening) {
  const int64_t income = c.profile.monthly_income_cents;
  const int64_t initial = RoundTo(
      income * (10 + static_cast<int64_t>(OfHash(model.seed(), a.account_id + "|init") % 90)) / 100,
      100);
  if (opening) b.Add("open", true, "DEPOSITO", "DEPOSITO INICIAL", initial, 11, 1);
  if (c.savings_transfer_cents > 0 && day > a.opened && IsDue(day, 6, false)) {
    b.Add("save", true, "TRANSFERENCIA_MESMA_INSTITUICAO", "APLICACAO POUPANCA",
          c.savings_transfer_cents, 12, 1);
  }
  if (day > a.opened && IsDue(day, 1, false)) {
    const int64_t months = (day.year() - a.opened.year()) * 12 + (day.month() - a.opened.month());
    const int64_t principal = initial + months * c.savings_transfer_cents;
    b.Add("yield", true, "RENDIMENTO_APLIC_FINANCEIRA", "RENDIMENTO POUPANCA", principal * 6 / 1000,
          11, 1);
  }
}

void Prepaid(const OpenFinanceModel& model, const Customer& c, const OfAccount& a, DayBuilder& b,
             absl::CivilDay day, bool opening) {
  const int64_t recharge = 10000 + static_cast<int64_t>(OfHash(model.seed(), a.account_id) % 30000);
  if (opening) b.Add("open", true, "DEPOSITO", "RECARGA", recharge / 2, 11, 1);
  if (day > a.opened && IsDue(day, 12, false)) {
    b.Add("recharge", true, "PIX", "RECARGA CONTA PAGAMENTO",
          static_cast<int64_t>(static_cast<double>(recharge) *
                               (0.8 + 0.4 * OfUnit(model.seed(), c.key + Month(day)))));
    b.WithCnpjPartie("recharge");
  }
  if (b.Unit("online") < 0.1) {
    b.Add("online", false, "CARTAO", "COMPRA ONLINE",
          static_cast<int64_t>(static_cast<double>(recharge) / 3 * (0.2 + 1.6 * b.Unit("o$"))));
  }
}

std::vector<OfTransaction> Generate(const OpenFinanceModel& model, const Customer& c,
                                    const OfAccount& account, absl::CivilDay day) {
  if (day < account.opened) return {};
  DayBuilder b(model, account, day);
  const bool opening = day == account.opened;
  switch (account.kind) {
    case OfAccountKind::kChecking:
      Checking(model, c, b, day, opening);
      break;
    case OfAccountKind::kSavings:
      Savings(model, c, account, b, day, opening);
      break;
    case OfAccountKind::kPrepaid:
      Prepaid(model, c, account, b, day, opening);
      break;
  }
  return b.Take();
}

}  // namespace

uint64_t OfHash(uint64_t seed, std::string_view key) {
  uint64_t h = Fnv1a64(key, kLastroFnvSeed);
  h ^= seed * 0x9E3779B97F4A7C15ULL;
  h += 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  return h ^ (h >> 31);
}

double OfUnit(uint64_t seed, std::string_view key) {
  return static_cast<double>(OfHash(seed, key) >> 11) * 0x1.0p-53;
}

OfProfile OpenFinanceModel::Profile(std::string_view customer_key) const {
  const std::string k(customer_key);
  OfProfile p;
  const double u = OfUnit(seed_, k + "|income");
  p.monthly_income_cents = 180000 + static_cast<int64_t>(u * u * 2320000);
  p.salaried = OfUnit(seed_, k + "|salaried") < 0.7;
  if (p.salaried) p.employer = kEmployers[OfHash(seed_, k + "|employer") % kEmployers.size()];
  if (OfUnit(seed_, k + "|rents") < 0.6) {
    p.rent_cents =
        RoundTo(p.monthly_income_cents *
                    (200 + static_cast<int64_t>(OfHash(seed_, k + "|rent") % 150)) / 1000,
                100);
  }
  p.card_bill_share_pm = 150 + static_cast<int64_t>(OfHash(seed_, k + "|card") % 200);
  p.saves = OfUnit(seed_, k + "|saves") < 0.45;
  return p;
}

std::vector<OfAccount> OpenFinanceModel::Accounts(std::string_view customer_key) const {
  const std::string k(customer_key);
  auto make = [&](OfAccountKind kind, absl::CivilDay opened) {
    const std::string tag = absl::StrCat(k, "|account|", static_cast<int>(kind));
    OfAccount a;
    a.account_id = "acc-" + Hex(OfHash(seed_, tag), 16) + Hex(OfHash(seed_ + 7, tag), 4);
    a.kind = kind;
    a.type = kind == OfAccountKind::kChecking  ? "CONTA_DEPOSITO_A_VISTA"
             : kind == OfAccountKind::kSavings ? "CONTA_POUPANCA"
                                               : "CONTA_PAGAMENTO_PRE_PAGA";
    a.subtype = "INDIVIDUAL";
    const uint64_t h = OfHash(seed_, tag + "|number");
    a.branch_code = Digits(1 + h % 9998, 4);
    a.number = Digits((h >> 16) % 100000000, 8);
    a.check_digit = Digits(h >> 60, 1);
    a.opened = opened;
    return a;
  };
  const absl::CivilDay first(2021, 1, 1);
  const absl::CivilDay checking_opened = first + OfHash(seed_, k + "|opened") % 1641;
  std::vector<OfAccount> out = {make(OfAccountKind::kChecking, checking_opened)};
  if (Profile(customer_key).saves) {
    out.push_back(make(OfAccountKind::kSavings,
                       checking_opened + OfHash(seed_, k + "|savings-opened") % 365));
  }
  if (OfUnit(seed_, k + "|prepaid") < 0.2) {
    out.push_back(make(OfAccountKind::kPrepaid,
                       checking_opened + OfHash(seed_, k + "|prepaid-opened") % 500));
  }
  return out;
}

std::vector<OfTransaction> OpenFinanceModel::TransactionsOn(std::string_view customer_key,
                                                            const OfAccount& account,
                                                            absl::CivilDay day) const {
  return Generate(*this, MakeCustomer(*this, customer_key), account, day);
}

std::vector<OfTransaction> OpenFinanceModel::Transactions(std::string_view customer_key,
                                                          const OfAccount& account,
                                                          absl::CivilDay from, absl::CivilDay to,
                                                          int64_t until_ms) const {
  std::vector<OfTransaction> out;
  const Customer c = MakeCustomer(*this, customer_key);
  to = std::min(to, DayOfMs(until_ms));
  for (absl::CivilDay d = std::max(from, account.opened); d <= to; ++d) {
    for (OfTransaction& t : Generate(*this, c, account, d)) {
      if (t.at_ms <= until_ms) out.push_back(std::move(t));
    }
  }
  return out;
}

int64_t OpenFinanceModel::BalanceCents(std::string_view customer_key, const OfAccount& account,
                                       int64_t at_ms) const {
  int64_t balance = 0;
  for (const OfTransaction& t :
       Transactions(customer_key, account, account.opened, DayOfMs(at_ms), at_ms)) {
    balance += t.credit ? t.amount_cents : -t.amount_cents;
  }
  return balance;
}

std::string OfAmount(int64_t cents) {
  const uint64_t abs = cents < 0 ? static_cast<uint64_t>(-(cents + 1)) + 1 : cents;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", cents < 0 ? "-" : "",
                static_cast<unsigned long long>(abs / 100),
                static_cast<unsigned long long>(abs % 100));
  return buf;
}

}  // namespace lastro::sim
