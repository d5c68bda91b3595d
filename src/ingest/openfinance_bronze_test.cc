// OfBronzeWriter and the state file against a real lake folder and DuckDB.
#include "ingest/openfinance_bronze.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "batch/lineage.h"
#include "ingest/openfinance_state.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kNov20 = 1795132800LL * 1000000;  // 2026-11-20T00:00:00Z

BankTransaction Tx(const std::string& id, int64_t at, int64_t cents, bool credit = false) {
  return {id, credit ? "CREDITO" : "DEBITO", "PIX", "TRANSACAO_EFETIVADA", cents, at};
}

ConsentPull Pull(std::vector<BankTransaction> txs, std::vector<QuarantinedRecord> bad = {},
                 const std::string& branch = "0001") {
  ConsentPull p;
  p.consent = {"urn:lastrobank:c1", 42};
  p.outcome = PullOutcome::kPulled;
  PulledAccount a;
  a.account = {"acc-1", "Banco", "99999999000191", "CONTA_DEPOSITO_A_VISTA", "INDIVIDUAL",
               "999",   branch};
  a.balance = BankBalance{-1050, 0, 0, kNov20 + 15 * 3600 * 1000000LL};
  a.transactions = std::move(txs);
  a.quarantined = std::move(bad);
  p.accounts.push_back(std::move(a));
  return p;
}

class OfBronzeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("of_bronze_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto store = lake::TableStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<lake::TableStore>(*std::move(store));
    auto engine = lake::Engine::Open({.memory_limit = "256MB", .threads = 1});
    ASSERT_TRUE(engine.ok());
    engine_ = std::move(*engine);
    ASSERT_TRUE(engine_->Execute("SET TimeZone = 'UTC'").ok());
  }
  void TearDown() override { fs::remove_all(root_); }

  // One run: stage the pulls and publish. Returns the counts.
  OfBronzeCounts RunOnce(const std::vector<ConsentPull>& pulls) {
    absl::TimeZone sp;
    EXPECT_TRUE(absl::LoadTimeZone("America/Sao_Paulo", &sp));
    auto writer = OfBronzeWriter::Create(*engine_, sp);
    EXPECT_TRUE(writer.ok()) << writer.status();
    for (const ConsentPull& p : pulls) EXPECT_TRUE((*writer)->Add(p).ok());
    const std::string run = batch::NewRunId();
    lake::TableTransaction tx(*store_, run);
    auto counts = (*writer)->Stage(*store_, tx, run, kNov20 + kDay, "2026-11-21", 100000);
    EXPECT_TRUE(counts.ok()) << counts.status();
    EXPECT_TRUE(tx.Publish(3).ok());
    return counts.ok() ? *counts : OfBronzeCounts{};
  }
  int64_t Rows(const std::string& table, const std::string& where = "true") {
    auto v =
        engine_->QueryValue("SELECT count(*) FROM read_parquet('" + (root_ / table).string() +
                            (table == "bronze/bank_accounts" ? "/*.parquet'" : "/*/*.parquet'") +
                            ", hive_partitioning = true) WHERE " + where);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::get<int64_t>(*v) : -1;
  }

  fs::path root_;
  std::unique_ptr<lake::TableStore> store_;
  std::unique_ptr<lake::Engine> engine_;
};

TEST_F(OfBronzeTest, WritesTypedPartitionedRows) {
  // 02:30 UTC on the 20th is still the 19th in São Paulo.
  auto c = RunOnce({Pull({Tx("t1", kNov20 + 14 * 3600 * 1000000LL, 1234),
                          Tx("t2", kNov20 + 2 * 3600 * 1000000LL + 1800 * 1000000LL, 99, true)})});
  EXPECT_EQ(c.transactions, 2);
  EXPECT_EQ(c.transactions_new, 2);
  EXPECT_EQ(c.accounts_changed, 1);
  EXPECT_EQ(c.balances_new, 1);
  EXPECT_TRUE(fs::exists(root_ / "bronze/bank_transactions/booking_date=2026-11-20"));
  EXPECT_TRUE(fs::exists(root_ / "bronze/bank_transactions/booking_date=2026-11-19"));
  auto r = engine_->Query(
      "SELECT transaction_id, customer_id, amount_cents, booked_at::VARCHAR, typeof(booked_at), "
      "typeof(amount_cents), credit_debit_type, currency, booking_date::VARCHAR FROM "
      "read_parquet('" +
      (root_ / "bronze/bank_transactions/*/*.parquet").string() +
      "', hive_partitioning = true) ORDER BY transaction_id");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 2u);
  EXPECT_EQ(*r->Text(0, 0), "t1");
  EXPECT_EQ(*r->Int(0, 1), 42);
  EXPECT_EQ(*r->Int(0, 2), 1234);
  EXPECT_EQ(*r->Text(0, 3), "2026-11-20 14:00:00");
  EXPECT_EQ(*r->Text(0, 4), "TIMESTAMP");
  EXPECT_EQ(*r->Text(0, 5), "BIGINT");
  EXPECT_EQ(*r->Text(1, 6), "CREDITO");
  EXPECT_EQ(*r->Text(1, 7), "BRL");
  EXPECT_EQ(*r->Text(1, 8), "2026-11-19");
  EXPECT_EQ(Rows("bronze/bank_balances", "available_cents = -1050"), 1);
  EXPECT_EQ(Rows("bronze/bank_accounts", "account_id = 'acc-1' AND branch_code = '0001'"), 1);
}

TEST_F(OfBronzeTest, ARePullChangesNothing) {
  const ConsentPull pull = Pull({Tx("t1", kNov20 + 14 * 3600 * 1000000LL, 1234)},
                                {{"k1", "missing transactionId", "{}"}});
  RunOnce({pull});
  const std::string version = store_->CurrentVersion("bronze", "bank_transactions");
  auto again = RunOnce({pull, pull});  // twice in the run, and already in the lake
  EXPECT_EQ(again.transactions, 2);
  EXPECT_EQ(again.transactions_new, 0);
  EXPECT_EQ(again.transactions_duplicate, 2);
  EXPECT_EQ(again.balances_new, 0);
  EXPECT_EQ(again.accounts_changed, 0);
  EXPECT_EQ(again.quarantined, 2);
  EXPECT_EQ(again.quarantined_new, 0);
  EXPECT_EQ(store_->CurrentVersion("bronze", "bank_transactions"), version) << "nothing published";
  EXPECT_EQ(Rows("bronze/bank_transactions"), 1);
  EXPECT_EQ(Rows("quarantine/bank_transactions"), 1);
}

TEST_F(OfBronzeTest, OnlyNewTransactionsAreAppended) {
  RunOnce({Pull({Tx("t1", kNov20 + 14 * 3600 * 1000000LL, 1)})});
  auto c = RunOnce({Pull({Tx("t1", kNov20 + 14 * 3600 * 1000000LL, 1),
                          Tx("t3", kNov20 + kDay + 14 * 3600 * 1000000LL, 3)})});
  EXPECT_EQ(c.transactions_new, 1);
  EXPECT_EQ(c.transactions_duplicate, 1);
  EXPECT_EQ(Rows("bronze/bank_transactions"), 2);
  EXPECT_EQ(Rows("bronze/bank_transactions", "transaction_id = 't1'"), 1);
}

TEST_F(OfBronzeTest, AChangedAccountIsRewrittenKeepingWhenItWasFirstSeen) {
  RunOnce({Pull({})});
  auto c = RunOnce({Pull({}, {}, "0002")});
  EXPECT_EQ(c.accounts, 1);
  EXPECT_EQ(c.accounts_changed, 1);
  EXPECT_EQ(Rows("bronze/bank_accounts"), 1);
  EXPECT_EQ(Rows("bronze/bank_accounts", "branch_code = '0002' AND first_run_id <> run_id"), 1);
}

TEST(OfState, RoundTripsAndSaysWhatToDoWhenMalformed) {
  const fs::path root = fs::temp_directory_path() / ("of_state_" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto empty = ReadOfState(root);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->accounts.empty());
  OfIngestState s;
  s.last_run_id = "r1";
  s.accounts["acc-1"] = {42, "2026-11-20", "r1"};
  ASSERT_TRUE(WriteOfState(root, s).ok());
  auto back = ReadOfState(root);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->last_run_id, "r1");
  EXPECT_EQ(back->accounts.at("acc-1").customer_id, 42);
  EXPECT_EQ(back->accounts.at("acc-1").transactions_to, "2026-11-20");
  for (const char* bad :
       {"not json", R"({"version":2,"accounts":{}})",
        R"({"version":1,"accounts":{"a":{"customer_id":1,"transactions_to":"x"}}})"}) {
    std::ofstream(OfIngestDir(root) / "state.json") << bad;
    auto r = ReadOfState(root);
    EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << bad;
    EXPECT_NE(r.status().message().find("delete it"), std::string::npos);
  }
  auto report = WriteOfRunReport(root, "r1", {{"ok", true}});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(fs::exists(*report));
  fs::remove_all(root);
}

}  // namespace
}  // namespace lastro::ingest
