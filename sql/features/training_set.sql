-- training_set: one row per credit request in fact_credit_request (request_date between
-- {{from}} and {{to}}, either NULL = unbounded), with the customer's features as they were
-- known before the request, for training the credit model (`lastro features export
-- --training`, docs/model.md).
--
-- Point in time: customer_features_daily has one row per customer and business day, and a
-- day's row is complete only at that day's end (São Paulo). A request created at 10:00 on
-- day D could not have seen D's row, which also counts activity later that day (more
-- requests, their bureau scores, the evening's transactions). So the join takes the latest
-- row with feature_date < request_date, strictly: `<=` would leak D's later activity, and
-- the request's own bureau score, into its features.
--
-- Names keep the sides apart: f_* are features (inputs), label_* are the request's outcome
-- (targets, never inputs); the rest describe the request as it was submitted. No PII: the
-- customer is customer_id (operational id) and customer_sk. The money sums are HUGEINT in
-- the catalog, which Parquet would store as DOUBLE: cast back to integer cents.
SELECT r.request_id, r.customer_id, r.customer_sk, r.created_at, r.request_date,
       r.amount_cents, r.term_months, r.product, r.channel, r.declared_income_cents,
       date_diff('day', f.feature_date, r.request_date) AS feature_age_days,
       f.feature_date AS f_feature_date,
       f.sessions AS f_sessions, f.simulations AS f_simulations,
       f.login_failures AS f_login_failures, f.app_events AS f_app_events,
       CAST(f.credits_cents AS BIGINT) AS f_credits_cents,
       CAST(f.debits_cents AS BIGINT) AS f_debits_cents,
       f.bank_transactions AS f_bank_transactions,
       CAST(f.income_30d_cents AS BIGINT) AS f_income_30d_cents,
       CAST(f.balance_cents AS BIGINT) AS f_balance_cents, f.credit_requests AS f_credit_requests,
       f.bureau_score AS f_bureau_score,
       r.status AS label_status, r.is_approved AS label_approved, r.decision AS label_decision,
       r.risk_score AS label_risk_score, r.bureau_score AS label_bureau_score
FROM fact_credit_request r
ASOF LEFT JOIN customer_features_daily f
  ON f.customer_id = r.customer_id AND f.feature_date < r.request_date
WHERE ({{from}} IS NULL OR r.request_date >= {{from}})
  AND ({{to}} IS NULL OR r.request_date <= {{to}})
ORDER BY r.request_id
