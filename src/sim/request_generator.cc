#include "sim/request_generator.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/pii.h"
#include "pg/connection.h"

namespace lastro::sim {
namespace {

constexpr std::array<const char*, 20> kFirst = {
    "Ana",      "Bruno",   "Carla",   "Diego",  "Eduarda", "Felipe",  "Gabriela",
    "Henrique", "Isabela", "João",    "Karina", "Lucas",   "Mariana", "Nicolas",
    "Olívia",   "Pedro",   "Rafaela", "Samuel", "Tatiane", "Vinícius"};
constexpr std::array<const char*, 16> kLast = {
    "Silva", "Santos", "Oliveira", "Souza",   "Rodrigues", "Ferreira", "Alves",   "Pereira",
    "Lima",  "Gomes",  "Costa",    "Ribeiro", "Martins",   "Carvalho", "Almeida", "Lopes"};
constexpr std::array<const char*, 10> kStates = {"SP", "RJ", "MG", "RS", "PR",
                                                 "BA", "PE", "SC", "GO", "DF"};

template <size_t N>
const char* Pick(std::mt19937_64& rng, const std::array<const char*, N>& items,
                 const std::array<double, N>& weights) {
  std::discrete_distribution<size_t> d(weights.begin(), weights.end());
  return items[d(rng)];
}

struct Customer {
  std::string cpf, name, email, phone, birth, state, channel;
  int64_t income_cents;
  bool consent;
};

Customer MakeCustomer(uint64_t seed, uint64_t i) {
  std::mt19937_64 rng(seed * 1000003 + i);
  Customer c;
  c.cpf = SyntheticCpf(seed, i);
  std::string first = kFirst[rng() % kFirst.size()], last = kLast[rng() % kLast.size()];
  c.name = first + " " + last;
  c.email = fmt::format("cliente{}.{}@example.com", i, seed);
  c.phone = fmt::format("+55119{:08d}", rng() % 100000000);
  c.birth = fmt::format("{}-{:02d}-{:02d}", 1950 + rng() % 55, 1 + rng() % 12, 1 + rng() % 28);
  c.state = kStates[rng() % kStates.size()];
  std::lognormal_distribution<double> income(std::log(450000.0), 0.6);  // ~R$4.5k median
  c.income_cents = int64_t(income(rng)) / 100 * 100;
  c.channel = Pick<6>(rng, {"organic", "paid_search", "social", "referral", "partner", "tv"},
                      {35, 25, 20, 10, 7, 3});
  c.consent = rng() % 100 < 62;
  return c;
}

// Seconds-ago offset inside São Paulo business hours (UTC-3, 08:00-20:00, more
// traffic at lunch and evening) within the last `days` days.
int64_t BusinessHoursOffsetS(std::mt19937_64& rng, int days) {
  std::uniform_int_distribution<int> day(0, days - 1);
  std::discrete_distribution<int> hour({3, 5, 7, 8, 10, 9, 7, 7, 8, 9, 10, 8});  // 08..19h
  auto now = std::chrono::system_clock::now();
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  int64_t sp_now = now_s - 3 * 3600;
  int64_t sp_midnight = sp_now - (sp_now % 86400);
  int64_t t =
      sp_midnight - int64_t(day(rng) + 1) * 86400 + (8 + hour(rng)) * 3600 + int64_t(rng() % 3600);
  return sp_now - t;
}

}  // namespace

std::string SyntheticCpf(uint64_t seed, uint64_t i) {
  // 9 base digits spread over the space, avoiding all-equal digits.
  uint64_t base = (seed * 7919 + i * 104729 + 12345678) % 1000000000ULL;
  std::string b = fmt::format("{:09d}", base);
  if (b.find_first_not_of(b[0]) == std::string::npos) b[8] = char('0' + (b[8] - '0' + 1) % 10);
  return pii::CpfWithCheckDigits(b);
}

StatusOr<RequestGeneratorReport> RunRequestGenerator(const RequestGeneratorOptions& options,
                                                     const std::atomic<bool>& stop) {
  auto start = std::chrono::steady_clock::now();
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(options.dsn, {"lastro-sim-app"}));
  // Customers first, in a few multi-row statements; existing CPFs are kept.
  std::vector<Customer> pool;
  pool.reserve(size_t(options.customers));
  for (int i = 0; i < options.customers; ++i)
    pool.push_back(MakeCustomer(options.seed, uint64_t(i)));
  std::vector<int64_t> customer_ids;
  for (size_t at = 0; at < pool.size(); at += 1000) {
    std::vector<pg::Param> cpf, name, email, phone, birth, state, channel, income, consent;
    std::vector<std::optional<std::string>> c1, c2, c3, c4, c5, c6, c7, c8, c9;
    for (size_t i = at; i < std::min(pool.size(), at + 1000); ++i) {
      const Customer& c = pool[i];
      c1.push_back(c.cpf);
      c2.push_back(c.name);
      c3.push_back(c.email);
      c4.push_back(c.phone);
      c5.push_back(c.birth);
      c6.push_back(c.state);
      c7.push_back(c.channel);
      c8.push_back(std::to_string(c.income_cents));
      c9.push_back(c.consent ? "t" : "f");
    }
    LASTRO_RETURN_IF_ERROR(
        conn->Exec("INSERT INTO customers (cpf, full_name, email, phone, birth_date, state, "
                   "acquisition_channel, monthly_income_cents, marketing_consent) "
                   "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
                   "$5::date[], $6::text[], $7::text[], $8::bigint[], $9::boolean[]) "
                   "ON CONFLICT (cpf) DO NOTHING",
                   {pg::TextArrayLiteral(c1), pg::TextArrayLiteral(c2), pg::TextArrayLiteral(c3),
                    pg::TextArrayLiteral(c4), pg::TextArrayLiteral(c5), pg::TextArrayLiteral(c6),
                    pg::TextArrayLiteral(c7), pg::TextArrayLiteral(c8), pg::TextArrayLiteral(c9)})
            .status());
    LASTRO_ASSIGN_OR_RETURN(
        pg::Result ids,
        conn->Exec("SELECT id, monthly_income_cents FROM customers WHERE cpf = ANY($1::text[])",
                   {pg::TextArrayLiteral(c1)}));
    for (int r = 0; r < ids.rows(); ++r) customer_ids.push_back(ids.GetInt(r, 0));
  }
  if (customer_ids.empty()) return absl::FailedPreconditionError("no customers to use");

  RequestGeneratorReport report;
  report.customers = int64_t(customer_ids.size());
  std::atomic<int64_t> issued{0}, inserted{0}, errors{0};
  const int clients = std::max(1, options.clients);
  const bool paced = options.rate > 0 && options.count == 0 ? true : options.rate > 0;
  std::vector<std::thread> threads;
  std::mutex first_error_mu;
  Status first_error;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      auto c = pg::Connection::Connect(options.dsn, {"lastro-sim-app"});
      if (!c.ok()) {
        std::lock_guard lock(first_error_mu);
        first_error = c.status();
        return;
      }
      std::mt19937_64 rng(options.seed * 31 + uint64_t(t) + 1);
      std::lognormal_distribution<double> amount(std::log(500000.0), 0.9);  // ~R$5k median
      std::array<int, 8> terms = {6, 12, 18, 24, 36, 48, 60, 72};
      double per_client = paced ? options.rate / clients : 0;
      auto next = std::chrono::steady_clock::now();
      for (;;) {
        if (stop) return;
        if (options.duration_s > 0 && std::chrono::steady_clock::now() - start >
                                          std::chrono::duration<double>(options.duration_s)) {
          return;
        }
        int64_t n = issued.fetch_add(1);
        if (options.count > 0 && n >= options.count) return;
        if (per_client > 0) {
          next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(1.0 / per_client));
          std::this_thread::sleep_until(next);
        }
        int64_t customer = customer_ids[rng() % customer_ids.size()];
        int64_t cents = std::clamp<int64_t>(int64_t(amount(rng)) / 1000 * 1000, 50000, 20000000);
        int term = terms[rng() % terms.size()];
        const char* purpose =
            Pick<8>(rng,
                    {"personal", "debt_consolidation", "vehicle", "home_improvement", "education",
                     "business", "medical", "other"},
                    {30, 25, 12, 10, 8, 7, 5, 3});
        const char* channel = Pick<5>(
            rng, {"app_android", "app_ios", "web", "partner", "call_center"}, {45, 30, 15, 7, 3});
        // ~5% do not declare income: a MANUAL_REVIEW path in the default policy.
        std::optional<std::string> income;
        if (rng() % 100 >= 5)
          income = std::to_string(
              int64_t(std::lognormal_distribution<double>(std::log(450000.0), 0.6)(rng)) / 100 *
              100);
        std::optional<std::string> created;
        if (options.days > 0) created = std::to_string(BusinessHoursOffsetS(rng, options.days));
        auto r = (*c)->Exec(
            "INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, "
            "channel, declared_income_cents, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
            "$6, coalesce(now() - make_interval(secs => $7::double precision), now()), "
            "coalesce(now() - make_interval(secs => $7::double precision), now()))",
            {std::to_string(customer), std::to_string(cents), std::to_string(term), purpose,
             channel, income, created});
        if (r.ok()) {
          inserted.fetch_add(1);
        } else {
          errors.fetch_add(1);
          log::Warn("insert failed", {{"error", std::string(r.status().message())}});
          if (!(*c)->healthy()) {
            auto again = pg::Connection::Connect(options.dsn, {"lastro-sim-app"});
            if (again.ok())
              *c = std::move(*again);
            else
              std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  if (!first_error.ok() && inserted == 0) return first_error;
  report.inserted = inserted;
  report.errors = errors;
  report.elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace lastro::sim
