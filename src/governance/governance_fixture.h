// A published catalog built by the real refresh from a small lake (mart's refresh
// fixture), with customers' marketing consent, app events and bank data, and the
// shipped policies loaded: what the governance tests query through.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "governance/policies.h"
#include "mart/refresh.h"
#include "mart/refresh_fixture.h"

namespace lastro::governance {

class GovernanceTest : public mart::RefreshTest {
 protected:
  void SetUp() override {
    mart::RefreshTest::SetUp();
    config_.batch.token_key = "governance-test-token-key";
    config_.governance.policies = std::string(LASTRO_SOURCE_DIR) + "/config/policies.toml";
    config_.governance.state_dir = (root_ / "_governance").string();
    auto p = LoadPolicies(config_.governance.policies);
    ASSERT_TRUE(p.ok()) << p.status();
    policies_ = std::move(*p);
  }

  // The lake of mart's fixture plus consent (customers 1 and 3 consent, 2 does not),
  // events of customers 2 and 3 and an anonymous one, bank data of customers 1 and 2;
  // then a refresh publishes the catalog.
  void Publish() {
    WriteLake("v1", "RJ");
    Write("v1", "silver", "customers",
          "SELECT i::BIGINT AS customer_id, 'tok' || i AS customer_token, 'SP' AS state, "
          "'organic' AS acquisition_channel, 1990 AS birth_year, i <> 2 AS marketing_consent, "
          "TIMESTAMP '2026-10-01 12:00:00' AS created_at, TIMESTAMP '2026-10-01 12:00:00' AS "
          "updated_at FROM range(1, 4) t(i)",
          "");
    Write("v1", "bronze", "app_events",
          "SELECT 'e' || i AS event_id, 'loan_simulation' AS event_type, TIMESTAMP '2026-11-02 "
          "12:00:00' + i * INTERVAL 1 MINUTE AS occurred_at, CASE WHEN i % 3 = 0 THEN NULL "
          "ELSE i % 3 + 1 END::BIGINT AS customer_id, 's' || i AS session_id, 'anon' || i AS "
          "anonymous_id, 'ios' AS device_os, '1.0' AS app_version, "
          "'{\"amount_cents\":500000,\"term_months\":12}' AS properties, DATE '2026-11-02' AS "
          "event_date FROM range(1, 13) t(i)",
          "event_date");
    Write("v1", "bronze", "bank_transactions",
          "SELECT 't' || i AS transaction_id, 'acct-000' || (i % 2 + 1) AS account_id, "
          "(i % 2 + 1)::BIGINT AS customer_id, 'CREDITO' AS credit_debit_type, 'PIX' AS type, "
          "(1000 * i)::BIGINT AS amount_cents, TIMESTAMP '2026-11-01 12:00:00' AS booked_at, "
          "DATE '2026-11-01' AS booking_date FROM range(1, 7) t(i)",
          "booking_date");
    auto r = mart::RunRefresh(config_, {});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  Policies policies_;
};

}  // namespace lastro::governance
