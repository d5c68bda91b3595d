// The incremental refresh: after a change in the lake, only the gold months and
// customers whose inputs changed are rebuilt, untouched months' Parquet files are
// carried over as hard links, and every table equals what a full build produces.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "mart/catalog_store.h"
#include "mart/model.h"
#include "mart/refresh.h"
#include "mart/refresh_fixture.h"

namespace lastro::mart {
namespace {

// One request a day from 2026-10-02 to 2026-12-30 (noon in São Paulo), customers 1-3.
std::string Requests(const std::string& channel_expr =
                         "CASE WHEN i % 2 = 0 THEN 'web' ELSE "
                         "'app_ios' END") {
  return absl::StrReplaceAll(kRequests,
                             {{"range(1, 41)", "range(1, 91)"},
                              {"INTERVAL 1 HOUR", "INTERVAL 1 DAY"},
                              {"TIMESTAMP '2026-11-01", "TIMESTAMP '2026-10-01"},
                              {"CASE WHEN i % 2 = 0 THEN 'web' ELSE 'app_ios' END", channel_expr}});
}

std::string Events(const std::string& rows) {
  return absl::StrCat(
      "SELECT *, 'anon' AS anonymous_id, 'ios' AS device_os, '1.0' AS app_version, NULL AS "
      "properties, CAST(occurred_at AS DATE) AS event_date FROM (VALUES ",
      rows, ") t(event_id, event_type, occurred_at, customer_id, session_id)");
}

class IncrementalTest : public RefreshTest {
 protected:
  void WriteHistory() {
    WriteLake("v1", "RJ");
    Write("v1", "silver", "credit_requests", Requests(), "request_date");
    Write("v1", "bronze", "app_events",
          Events("('e1', 'session_start', TIMESTAMP '2026-10-05 13:00:00', NULL::BIGINT, 's1'),"
                 "('e2', 'login_success', TIMESTAMP '2026-10-05 13:00:20', 2, 's1'),"
                 "('e3', 'loan_simulation', TIMESTAMP '2026-11-05 13:00:00', 2, 's2'),"
                 "('e4', 'session_start', TIMESTAMP '2026-12-05 13:00:00', NULL, 's3')"),
          "event_date");
    Write("v1", "bronze", "bank_transactions",
          "SELECT * FROM (VALUES ('t1', 'a1', 2::BIGINT, 'CREDITO', 'PIX', 300000::BIGINT, "
          "TIMESTAMP '2026-10-10 12:00:00', DATE '2026-10-10'), ('t2', 'a1', 2, 'DEBITO', "
          "'PIX', 1000, TIMESTAMP '2026-11-10 12:00:00', DATE '2026-11-10')) "
          "t(transaction_id, account_id, customer_id, credit_debit_type, type, amount_cents, "
          "booked_at, booking_date)",
          "booking_date");
  }

  RefreshResult Refresh(bool force = false) {
    auto r = RunRefresh(config_, {.force = force});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RefreshResult{};
  }

  // Rows in one version's table and not the other's (both directions, duplicates
  // counted), per model table: empty when the two versions hold the same tables.
  std::string Differences(const std::string& a, const std::string& b) {
    CatalogStore store(root_);
    EXPECT_TRUE(
        engine_
            ->Execute(absl::StrCat(
                "ATTACH ", lake::SqlString((store.VersionDir(a) / "catalog.duckdb").string()),
                " AS va (READ_ONLY); ATTACH ",
                lake::SqlString((store.VersionDir(b) / "catalog.duckdb").string()),
                " AS vb (READ_ONLY)"))
            .ok());
    std::string out;
    auto tables = ModelTables();
    EXPECT_TRUE(tables.ok()) << tables.status();
    for (const ModelTable& t : tables.ok() ? *tables : std::vector<ModelTable>{}) {
      auto n = engine_->QueryValue(absl::StrFormat(
          "SELECT count(*) FROM ((SELECT * FROM va.%s EXCEPT ALL SELECT * FROM vb.%s) UNION ALL "
          "(SELECT * FROM vb.%s EXCEPT ALL SELECT * FROM va.%s))",
          t.name, t.name, t.name, t.name));
      EXPECT_TRUE(n.ok()) << n.status();
      if (n.ok() && std::get<int64_t>(*n) != 0) {
        absl::StrAppend(&out, t.name, ": ", std::get<int64_t>(*n), " rows differ; ");
      }
    }
    EXPECT_TRUE(engine_->Execute("DETACH va; DETACH vb").ok());
    return out;
  }

  // Refreshes incrementally, then in full, and expects the same tables from both.
  RefreshResult RefreshAndCompareWithFull() {
    RefreshResult inc = Refresh();
    EXPECT_EQ(inc.mode, "incremental");
    RefreshResult full = Refresh(/*force=*/true);
    EXPECT_EQ(full.mode, "full");
    EXPECT_EQ(Differences(inc.version, full.version), "");
    return inc;
  }

  static ino_t Inode(const fs::path& dir) {
    struct stat st {};
    fs::path file = fs::directory_iterator(dir)->path();
    return ::stat(file.c_str(), &st) == 0 ? st.st_ino : 0;
  }
};

TEST_F(IncrementalTest, RebuildsOnlyTheChangedMonthsAndLinksTheRest) {
  WriteHistory();
  RefreshResult first = Refresh();
  EXPECT_EQ(first.mode, "full");
  EXPECT_EQ(first.rows["fact_credit_request"], 90);
  // One request rewritten on 11-15 and a new day of events on 12-10 (customer 3).
  Write("v2", "silver", "credit_requests",
        absl::StrCat("SELECT * REPLACE (amount_cents + 1 AS amount_cents) FROM (", Requests(),
                     ") WHERE request_date = DATE '2026-11-15'"),
        "request_date", lake::PublishMode::kReplacePartitions);
  Write("v2", "bronze", "app_events",
        Events("('e5', 'login_success', TIMESTAMP '2026-12-10 13:00:00', 3::BIGINT, 's5')"),
        "event_date", lake::PublishMode::kReplacePartitions);
  // ... and that request's recorded decision, in its request's day partition.
  Write("v2", "silver", "credit_request_status_history",
        "SELECT 7::BIGINT AS id, 45::BIGINT AS request_id, 'PENDING' AS from_status, 'REJECTED' "
        "AS to_status, TIMESTAMP '2026-11-15 15:00:02' AS changed_at, 'stream' AS changed_by, "
        "NULL AS reason, DATE '2026-11-15' AS request_date",
        "request_date", lake::PublishMode::kReplacePartitions);
  RefreshResult inc = Refresh();
  ASSERT_EQ(inc.state, "PUBLISHED");
  EXPECT_EQ(inc.mode, "incremental");
  using Months = std::vector<std::string>;
  EXPECT_EQ(inc.tables["fact_credit_request"].months, Months{"2026-11-01"});
  EXPECT_EQ(inc.tables["fact_credit_status_change"].months, Months{"2026-11-01"});
  EXPECT_EQ(inc.tables["fact_app_event"].months, Months{"2026-12-01"});
  EXPECT_EQ(inc.tables["fact_bank_transaction"].how, "unchanged");
  // Per customer: those with a row on a changed day (or a day either side of new events).
  EXPECT_EQ(inc.tables["customer_features_daily"].how, "customers");
  EXPECT_EQ(inc.tables["dim_customer"].how, "full");
  EXPECT_EQ(*Ask("SELECT amount_cents - 100000 - request_id AS delta FROM fact_credit_request "
                 "WHERE request_date = DATE '2026-11-15'"),
            "delta\n1\n");
  // Untouched months are the previous version's files, linked; rebuilt ones are new.
  CatalogStore store(root_);
  fs::path before = store.VersionDir(first.version), after = store.VersionDir(inc.version);
  for (const char* month : {"month=2026-10-01", "month=2026-12-01"}) {
    EXPECT_EQ(Inode(before / "fact_credit_request" / month),
              Inode(after / "fact_credit_request" / month))
        << month;
  }
  EXPECT_NE(Inode(before / "fact_credit_request" / "month=2026-11-01"),
            Inode(after / "fact_credit_request" / "month=2026-11-01"));
  EXPECT_EQ(*Ask("SELECT seq, to_status, source FROM fact_credit_status_change WHERE "
                 "request_id = 45 ORDER BY seq"),
            "seq,to_status,source\n1,PENDING,derived\n2,REJECTED,history\n");
  EXPECT_EQ(Differences(inc.version, Refresh(/*force=*/true).version), "");
}

TEST_F(IncrementalTest, EveryNthRefreshIsFullAndWritesTheCatalogAfresh) {
  config_.mart.full_refresh_every = 3;
  WriteHistory();
  std::vector<std::string> modes;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) {  // one request rewritten each time: there is always something to refresh
      Write(absl::StrCat("v", i + 1), "silver", "credit_requests",
            absl::StrFormat("SELECT * REPLACE (amount_cents + %d AS amount_cents) FROM (%s) "
                            "WHERE request_date = DATE '2026-11-15'",
                            i, Requests()),
            "request_date", lake::PublishMode::kReplacePartitions);
    }
    RefreshResult r = Refresh();
    ASSERT_EQ(r.state, "PUBLISHED") << i;
    modes.push_back(r.mode);
  }
  EXPECT_EQ(modes, (std::vector<std::string>{"full", "incremental", "incremental", "full",
                                             "incremental"}));
  EXPECT_EQ(*Ask("SELECT amount_cents - 100000 - request_id AS delta FROM fact_credit_request "
                 "WHERE request_date = DATE '2026-11-15'"),
            "delta\n4\n");
}

TEST_F(IncrementalTest, ACustomerChangeRebuildsTheMonthsHoldingThatCustomersRows) {
  WriteHistory();
  Refresh();
  // Customer 2 moves to MG on 12-15: their requests and bank rows, not customer 1's events.
  std::string customers =
      "SELECT i::BIGINT AS customer_id, 'tok' || i AS customer_token, CASE WHEN i = 2 THEN 'MG' "
      "WHEN i = 1 THEN 'RJ' ELSE 'SP' END AS state, 'organic' AS acquisition_channel, 1990 AS "
      "birth_year, TIMESTAMP '2026-10-01 12:00:00' AS created_at, CASE WHEN i = 2 THEN "
      "TIMESTAMP '2026-12-15 10:00:00' WHEN i = 1 THEN TIMESTAMP '2026-11-01 18:30:00' ELSE "
      "TIMESTAMP '2026-10-01 12:00:00' END AS updated_at FROM range(1, 4) t(i)";
  Write("v2", "silver", "customers", customers, "");
  RefreshResult inc = RefreshAndCompareWithFull();
  EXPECT_EQ(inc.tables["fact_credit_request"].months.size(), 3u);  // Oct, Nov, Dec
  EXPECT_EQ(inc.tables["fact_bank_transaction"].months,
            (std::vector<std::string>{"2026-10-01", "2026-11-01"}));
  EXPECT_EQ(*Ask("SELECT d.state, count(*) AS n FROM fact_credit_request f JOIN dim_customer d "
                 "USING (customer_sk) WHERE f.customer_id = 2 AND f.request_date >= DATE "
                 "'2026-12-15' GROUP BY ALL"),
            "state,n\nMG,5\n");
}

TEST_F(IncrementalTest, ANewChannelRebuildsEveryFactInFull) {
  WriteHistory();
  Refresh();
  Write("v2", "silver", "credit_requests",
        absl::StrCat("SELECT * FROM (", Requests("'partner'"),
                     ") WHERE request_date = DATE '2026-12-20'"),
        "request_date", lake::PublishMode::kReplacePartitions);
  RefreshResult inc = RefreshAndCompareWithFull();
  EXPECT_EQ(inc.tables["fact_app_event"].how, "full");
  EXPECT_EQ(inc.tables["fact_app_event"].reason, "dim_channel changed");
  EXPECT_EQ(*Ask("SELECT count(*) AS n FROM dim_channel"), "n\n3\n");
}

TEST_F(IncrementalTest, EventsAroundMidnightKeepTheirSessionsCustomer) {
  WriteHistory();
  // A session starts anonymously on 11-30 before midnight; its login after midnight
  // lands later, in December's partition only, yet November's event learns its customer.
  Write("v1b", "bronze", "app_events",
        Events("('m1', 'session_start', TIMESTAMP '2026-11-30 23:59:00', NULL::BIGINT, 'sm')"),
        "event_date", lake::PublishMode::kReplacePartitions);
  Refresh();
  Write("v2", "bronze", "app_events",
        Events("('m2', 'login_success', TIMESTAMP '2026-12-01 00:01:00', 3::BIGINT, 'sm')"),
        "event_date", lake::PublishMode::kReplacePartitions);
  RefreshAndCompareWithFull();
  EXPECT_EQ(*Ask("SELECT event_id, session_customer_id FROM fact_app_event WHERE session_id = "
                 "'sm' ORDER BY 1"),
            "event_id,session_customer_id\nm1,3\nm2,3\n");
}

}  // namespace
}  // namespace lastro::mart
