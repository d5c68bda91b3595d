// `lastro ingest openfinance` end to end: a fresh database on the private PostgreSQL,
// `lastro sim openfinance` and `lastro sim openfinance-consents` as the real binary,
// the real ingest, and the lake read back with DuckDB. The bank's clock is fixed (so
// the data is exact) and moved by a day to make new transactions appear.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "batch_harness.h"

namespace lastro::testing {
namespace {

using nlohmann::json;

size_t Append(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

json Http(const std::string& method, const std::string& url, const std::string& body = "",
          const std::string& consent = "") {
  std::string out;
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!consent.empty()) headers = curl_slist_append(headers, ("x-consent-id: " + consent).c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  EXPECT_EQ(curl_easy_perform(h), CURLE_OK) << url;
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return json::parse(out, nullptr, false);
}

int64_t Cents(const std::string& amount) {
  const size_t dot = amount.find('.');
  return std::stoll(amount.substr(0, dot)) * 100 + std::stoll(amount.substr(dot + 1, 2));
}

// (account, transaction id) -> (cents, CREDITO/DEBITO, epoch ms)
using TxSet =
    std::map<std::pair<std::string, std::string>, std::tuple<int64_t, std::string, int64_t>>;

class OpenFinanceIngestTest : public ::testing::Test {
 protected:
  // `today` at 15:00 UTC: the bank's fixed clock.
  void Start(const std::string& name, const std::string& extra_openfinance = "",
             const std::vector<std::string>& sim_args = {}) {
    today_ = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    const std::string now = absl::StrCat(absl::FormatCivilTime(today_), "T15:00:00Z");
    const std::string dir = TestDir(name + "-sim");
    std::vector<std::string> argv = {LastroBin(), "sim", "openfinance", "--port", "0",
                                     "--now",     now};
    argv.insert(argv.end(), sim_args.begin(), sim_args.end());
    auto sim = Subprocess::Start(argv, {}, dir + "/openfinance");
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    ASSERT_TRUE(sim_->WaitForOutput("\"listening\"", std::chrono::seconds(10))) << sim_->Stderr();
    std::smatch m;
    const std::string out = sim_->Stdout();
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"re("listening":"([^"]+)")re")));
    bank_ = "http://" + m[1].str();
    auto h = BatchHarness::Create(
        {.name = name,
         .extra_toml = absl::StrCat("[openfinance]\nurl = \"", bank_,
                                    "\"\nhistory_days = 30\ntimeout_ms = 2000\n"
                                    "backoff_base_ms = 5\nbackoff_max_ms = 50\n"
                                    "retry_budget_min_per_s = 1000\nbreaker_min_calls = 1000\n"
                                    "breaker_window = 1000\n",
                                    extra_openfinance)});
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    ASSERT_TRUE(h_->Seed(40, 40, 1).ok());
  }

  json Lastro(const std::vector<std::string>& args, int expected_exit = 0,
              const std::map<std::string, std::string>& env = {}) {
    CommandResult r = h_->Lastro(args, env);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    last_err_ = r.err;
    const std::string line = r.out.substr(0, r.out.find('\n'));
    return json::parse(line, nullptr, false);
  }

  // consent id -> customer id, for the consents the database holds.
  std::map<std::string, int64_t> Consents(const std::string& where = "true") {
    std::map<std::string, int64_t> out;
    auto conn = pg::Connection::Connect(h_->dsn());
    EXPECT_TRUE(conn.ok());
    auto r = (*conn)->Exec("SELECT consent_id, customer_id FROM open_finance_consents WHERE " +
                           where + " ORDER BY customer_id");
    EXPECT_TRUE(r.ok()) << r.status();
    for (int i = 0; r.ok() && i < r->rows(); ++i) out[std::string(r->Get(i, 0))] = r->GetInt(i, 1);
    return out;
  }

  // What the bank serves for `consents` from `from` to the bank's today.
  TxSet Served(const std::set<std::string>& consents, absl::CivilDay from, absl::CivilDay to) {
    TxSet out;
    for (const std::string& consent : consents) {
      json accounts = Http("GET", bank_ + "/open-banking/accounts/v2/accounts", "", consent);
      for (const json& a : accounts["data"]) {
        const std::string account = a["accountId"];
        std::string url =
            absl::StrCat(bank_, "/open-banking/accounts/v2/accounts/", account,
                         "/transactions?fromBookingDate=", absl::FormatCivilTime(from),
                         "&toBookingDate=", absl::FormatCivilTime(to), "&page-size=1000");
        while (!url.empty()) {
          json page = Http("GET", url, "", consent);
          for (const json& t : page["data"]) {
            absl::Time at;
            std::string err;
            EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, t["transactionDateTime"], &at, &err));
            out[{account, t["transactionId"]}] = {Cents(t["transactionAmount"]["amount"]),
                                                  t["creditDebitType"], absl::ToUnixMillis(at)};
          }
          url = page["links"].value("next", "");
        }
      }
    }
    return out;
  }

  TxSet InBronze() {
    TxSet out;
    auto r = h_->Lake(absl::StrCat(
        "SELECT account_id, transaction_id, amount_cents, credit_debit_type, epoch_ms(booked_at) "
        "FROM read_parquet(",
        lake::SqlString(h_->lake_dir() + "/bronze/bank_transactions/*/*.parquet"),
        ", hive_partitioning = true)"));
    EXPECT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; r.ok() && i < r->rows(); ++i) {
      auto key = std::make_pair(*r->Text(i, 0), *r->Text(i, 1));
      EXPECT_EQ(out.count(key), 0u) << "duplicate " << key.second;
      out[key] = {*r->Int(i, 2), *r->Text(i, 3), *r->Int(i, 4)};
    }
    return out;
  }

  int64_t LakeCount(const std::string& table, const std::string& where = "true") {
    auto r = h_->Lake(absl::StrCat("SELECT count(*) FROM read_parquet(",
                                   lake::SqlString(h_->lake_dir() + "/" + table + "/*/*.parquet"),
                                   ", hive_partitioning = true) WHERE ", where));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r->Int(0, 0) : -1;
  }

  std::set<int64_t> BronzeCustomers() {
    std::set<int64_t> out;
    auto r = h_->Lake(absl::StrCat(
        "SELECT DISTINCT customer_id FROM read_parquet(",
        lake::SqlString(h_->lake_dir() + "/bronze/bank_transactions/*/*.parquet"), ")"));
    EXPECT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; r.ok() && i < r->rows(); ++i) out.insert(*r->Int(i, 0));
    return out;
  }

  std::unique_ptr<Subprocess> sim_;
  std::unique_ptr<BatchHarness> h_;
  std::string bank_;
  std::string last_err_;
  absl::CivilDay today_;
};

std::set<std::string> Keys(const std::map<std::string, int64_t>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) out.insert(k);
  return out;
}

TEST_F(OpenFinanceIngestTest, PullsOnlyLiveConsentsIncrementallyWithoutDuplicates) {
  Start("of-ingest");
  json seeded = Lastro({"sim", "openfinance-consents", "--share", "0.5"});
  ASSERT_GE(seeded["created"].get<int>(), 10) << seeded;
  ASSERT_EQ(seeded["authorised"], seeded["created"]);
  auto all = Consents();
  ASSERT_EQ(static_cast<int>(all.size()), seeded["created"].get<int>());
  auto it = all.begin();
  const auto [expired_in_db, expired_customer] = *it++;
  const auto [revoked_in_db, revoked_customer] = *it++;
  const auto [revoked_at_bank, revoked_at_bank_customer] = *it++;
  ASSERT_TRUE(h_->PgExec("UPDATE open_finance_consents SET created_at = now() - interval '400 "
                         "days', expires_at = now() - interval '1 day' WHERE consent_id = '" +
                         expired_in_db + "'")
                  .ok());
  ASSERT_TRUE(h_->PgExec("UPDATE open_finance_consents SET status = 'REJECTED', revoked_at = "
                         "now(), rejection_reason = 'CUSTOMER_MANUALLY_REVOKED' WHERE "
                         "consent_id = '" +
                         revoked_in_db + "'")
                  .ok());
  Http("POST", bank_ + "/admin/consents/" + revoked_at_bank + "/revoke");

  // ---- first run ----
  json first = Lastro({"ingest", "openfinance"});
  EXPECT_EQ(first["consents"]["read"], all.size() - 2);
  EXPECT_EQ(first["consents"]["inactive_in_db"], 2);
  EXPECT_EQ(first["consents"]["pulled"], all.size() - 3);
  EXPECT_EQ(first["consents"]["skipped"], 1);
  EXPECT_EQ(first["consents"]["failed"], 0);
  ASSERT_EQ(first["skipped"].size(), 1u);
  EXPECT_EQ(first["skipped"][0]["consent_id"], revoked_at_bank);
  EXPECT_EQ(first["skipped"][0]["customer_id"], revoked_at_bank_customer);
  EXPECT_EQ(first["skipped"][0]["reason"], "REJECTED (CUSTOMER_MANUALLY_REVOKED)");
  EXPECT_GT(first["transactions"]["new"].get<int>(), 100);
  EXPECT_EQ(first["transactions"]["duplicate"], 0);
  ASSERT_TRUE(std::filesystem::exists(first.value("report", "")));

  std::set<std::string> live = Keys(all);
  live.erase(expired_in_db);
  live.erase(revoked_in_db);
  live.erase(revoked_at_bank);
  std::set<int64_t> live_customers;
  for (const std::string& c : live) live_customers.insert(all[c]);
  EXPECT_EQ(BronzeCustomers(), live_customers) << "only consented, unexpired customers";
  json calls = Http("GET", bank_ + "/admin/calls");
  for (const json& c : calls) {
    if (c["method"] != "GET") continue;  // the consents' creation
    EXPECT_NE(c["consent_id"], expired_in_db) << "never asked about a consent expired in the DB";
    EXPECT_NE(c["consent_id"], revoked_in_db);
    if (c["consent_id"] == revoked_at_bank) {
      EXPECT_EQ(c["path"].get<std::string>().find("/accounts"), std::string::npos);
    }
  }
  const TxSet served = Served(live, today_ - 29, today_);
  EXPECT_EQ(InBronze(), served) << "bronze holds exactly what the bank serves";
  EXPECT_EQ(first["transactions"]["new"], served.size());
  EXPECT_EQ(LakeCount("bronze/bank_balances"), first["accounts"]["seen"].get<int64_t>());

  // ---- a rerun at the same bank time adds nothing ----
  json again = Lastro({"ingest", "openfinance"});
  EXPECT_EQ(again["transactions"]["new"], 0);
  EXPECT_EQ(again["transactions"]["duplicate"], again["transactions"]["fetched"]);
  EXPECT_EQ(again["balances"]["new"], 0);
  EXPECT_EQ(again["accounts"]["new_or_changed"], 0);
  EXPECT_EQ(InBronze().size(), served.size());

  // ---- a day later: only the new transactions, pulled from the watermark ----
  Http("POST", bank_ + "/admin/clock", R"({"advance_s":86400})");
  json next = Lastro({"ingest", "openfinance"});
  const TxSet served_later = Served(live, today_ - 29, today_ + 1);
  EXPECT_EQ(next["transactions"]["new"], served_later.size() - served.size());
  EXPECT_GT(next["transactions"]["duplicate"].get<int>(), 0) << "the overlap re-reads";
  EXPECT_LT(next["transactions"]["fetched"].get<size_t>(), served_later.size())
      << "the watermark keeps the pull short";
  EXPECT_EQ(InBronze(), served_later);
  std::ifstream state(h_->lake_dir() + "/_ingest/openfinance/state.json");
  json s = json::parse(state, nullptr, false);
  ASSERT_TRUE(s.is_object());
  for (const auto& [account, a] : s["accounts"].items()) {
    EXPECT_EQ(a["transactions_to"], absl::FormatCivilTime(today_ + 1)) << account;
  }

  // ---- no personal data: no such column, no customer's CPF anywhere, nor in the logs ----
  auto columns = h_->Lake(absl::StrCat(
      "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM (DESCRIBE SELECT * FROM "
      "read_parquet(",
      lake::SqlString(h_->lake_dir() + "/bronze/bank_transactions/*/*.parquet"),
      ", hive_partitioning = true))"));
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_EQ(*columns->Text(0, 0),
            "account_id,amount_cents,booked_at,booking_date,completed_authorised_payment_type,"
            "consent_id,credit_debit_type,currency,customer_id,ingested_at,run_id,"
            "transaction_id,type");
  auto conn = pg::Connection::Connect(h_->dsn());
  ASSERT_TRUE(conn.ok());
  auto rows = (*conn)->Exec("SELECT cpf FROM customers");
  ASSERT_TRUE(rows.ok());
  std::string cpfs;
  for (int i = 0; i < rows->rows(); ++i) {
    const std::string cpf(rows->Get(i, 0));
    EXPECT_EQ(last_err_.find(cpf), std::string::npos);
    absl::StrAppend(&cpfs, i > 0 ? ", " : "", "('", cpf, "')");
  }
  // Rows of `table` whose text, every column joined, contains one of `needles`.
  auto hits = [&](const std::string& table, const std::string& needles) -> int64_t {
    auto r = h_->Lake(
        absl::StrCat("SELECT count(*) FROM read_parquet(",
                     lake::SqlString(h_->lake_dir() + "/" + table + "/*/*.parquet"),
                     ", hive_partitioning = true) t, (VALUES ", needles,
                     ") c(needle) WHERE contains(t::VARCHAR, c.needle)"));  // the whole row as text
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r->Int(0, 0) : -1;
  };
  const std::string some_account = served.begin()->first.first;
  EXPECT_GT(hits("bronze/bank_transactions", "('" + some_account + "')"), 0) << "the probe works";
  EXPECT_EQ(hits("bronze/bank_transactions", cpfs), 0);
  EXPECT_EQ(hits("bronze/bank_balances", cpfs), 0);
}

TEST_F(OpenFinanceIngestTest, InjectedFaultsAreRetriedAndTheDataIsComplete) {
  Start("of-faults", "max_attempts = 12\nmax_in_flight = 3\npage_size = 40\n");
  json seeded = Lastro({"sim", "openfinance-consents", "--share", "0.4"});
  ASSERT_GE(seeded["created"].get<int>(), 5) << seeded;
  Http("POST", bank_ + "/admin/config",
       R"({"error_rate":0.25,"rate_429":0.15,"retry_after_s":0,"malformed_rate":0.03})");
  json run = Lastro({"ingest", "openfinance"});
  EXPECT_EQ(run["consents"]["failed"], 0) << run;
  EXPECT_EQ(run["consents"]["pulled"], seeded["created"]);
  EXPECT_GT(run["retries"].get<int>(), 0);
  EXPECT_GT(run["transactions"]["quarantined"].get<int>(), 0);

  Http("POST", bank_ + "/admin/config", R"({"error_rate":0,"rate_429":0,"malformed_rate":0})");
  const TxSet served = Served(Keys(Consents()), today_ - 29, today_);
  const TxSet bronze = InBronze();
  const int64_t quarantined = LakeCount("quarantine/bank_transactions");
  EXPECT_EQ(static_cast<int64_t>(bronze.size()) + quarantined, static_cast<int64_t>(served.size()))
      << "every record is in bronze or in quarantine";
  for (const auto& [key, value] : bronze) {
    auto it = served.find(key);
    ASSERT_NE(it, served.end()) << key.second;
    EXPECT_EQ(it->second, value) << key.second;
  }
  EXPECT_EQ(LakeCount("quarantine/bank_transactions", "reason = '' OR raw = ''"), 0);
  EXPECT_EQ(LakeCount("quarantine/bank_transactions", "raw LIKE '%partieCnpjCpf%'"), 0);
  // Malformed records stay malformed on a re-pull: quarantined once.
  json again = Lastro({"ingest", "openfinance"});
  EXPECT_EQ(again["transactions"]["quarantined_new"], 0);
  EXPECT_EQ(LakeCount("quarantine/bank_transactions"), quarantined);
}

TEST_F(OpenFinanceIngestTest, AnUnavailableBankFailsTheRunAndTheNextRunCompletesIt) {
  Start("of-outage", "max_attempts = 2\n");
  json seeded = Lastro({"sim", "openfinance-consents", "--share", "0.3"});
  ASSERT_GE(seeded["created"].get<int>(), 3) << seeded;
  Http("POST", bank_ + "/admin/outage?seconds=3600");
  json failed = Lastro({"ingest", "openfinance"}, 1);
  EXPECT_EQ(failed["consents"]["failed"], seeded["created"]);
  EXPECT_NE(last_err_.find("could not be pulled completely"), std::string::npos) << last_err_;
  EXPECT_FALSE(std::filesystem::exists(h_->lake_dir() + "/bronze/bank_transactions"));

  Http("POST", bank_ + "/admin/outage?seconds=0");
  json ok = Lastro({"ingest", "openfinance"});
  EXPECT_EQ(ok["consents"]["pulled"], seeded["created"]);
  EXPECT_EQ(InBronze(), Served(Keys(Consents()), today_ - 29, today_));
}

TEST_F(OpenFinanceIngestTest, AWrongTokenStopsTheRunWithAClearError) {
  Start("of-token", "token = \"the-banks\"\n", {"--token", "the-banks"});
  json seeded = Lastro({"sim", "openfinance-consents", "--share", "0.3"});
  ASSERT_GE(seeded["created"].get<int>(), 1) << seeded;
  // LASTRO_OPENFINANCE_TOKEN overrides the file.
  Lastro({"ingest", "openfinance"}, 1, {{"LASTRO_OPENFINANCE_TOKEN", "not-the-banks"}});
  EXPECT_NE(last_err_.find("openfinance.token"), std::string::npos) << last_err_;
  EXPECT_FALSE(std::filesystem::exists(h_->lake_dir() + "/bronze/bank_transactions"));
  json ok = Lastro({"ingest", "openfinance"});
  EXPECT_EQ(ok["consents"]["pulled"], seeded["created"]);
}

}  // namespace
}  // namespace lastro::testing
