-- table: customer_features_daily
-- refresh: customer customer_id feature_date
-- inputs: silver/credit_requests, bronze/app_events +-1, bronze/bank_transactions, bronze/bank_balances
-- customer_features_daily: one row per customer and day with any activity (an app
-- event of a session the customer logged in to, a bank transaction or balance, a
-- credit request). Each value uses only data dated that day or earlier: the rolling
-- and carried-forward columns look back, never ahead. Key: (customer_id, feature_date).
-- Refreshed per customer: a changed day changes every later day of that customer.
WITH events AS (
  SELECT session_customer_id AS customer_id, event_date AS d,
         count(DISTINCT session_id) FILTER (WHERE event_type = 'session_start') AS sessions,
         count(*) FILTER (WHERE event_type = 'loan_simulation') AS simulations,
         count(*) FILTER (WHERE event_type = 'login_failure') AS login_failures,
         count(*) AS app_events
  FROM fact_app_event WHERE session_customer_id IS NOT NULL AND refreshing(session_customer_id) GROUP BY ALL
),
bank AS (
  SELECT customer_id, booking_date AS d,
         sum(amount_cents) FILTER (WHERE credit_debit_type = 'CREDITO') AS credits_cents,
         sum(amount_cents) FILTER (WHERE credit_debit_type = 'DEBITO') AS debits_cents,
         count(*) AS bank_transactions
  FROM src_bank_transactions WHERE customer_id IS NOT NULL AND refreshing(customer_id) GROUP BY ALL
),
balances AS (  -- the day's last snapshot of each account, summed per customer
  SELECT customer_id, d, sum(available_cents) AS balance_cents FROM (
    SELECT customer_id, balance_date AS d, available_cents FROM src_bank_balances
    WHERE customer_id IS NOT NULL AND refreshing(customer_id)
    QUALIFY row_number() OVER (PARTITION BY account_id, balance_date ORDER BY updated_at DESC) = 1)
  GROUP BY ALL
),
requests AS (
  SELECT customer_id, request_date AS d, count(*) AS credit_requests,
         arg_max(bureau_score, created_at) AS bureau_score
  FROM src_silver_requests WHERE customer_id IS NOT NULL AND refreshing(customer_id) GROUP BY ALL
),
keys AS (
  SELECT customer_id, d FROM events UNION SELECT customer_id, d FROM bank
  UNION SELECT customer_id, d FROM balances UNION SELECT customer_id, d FROM requests
)
SELECT k.customer_id, k.d AS feature_date, date_key(k.d) AS date_key,
       coalesce(e.sessions, 0) AS sessions, coalesce(e.simulations, 0) AS simulations,
       coalesce(e.login_failures, 0) AS login_failures, coalesce(e.app_events, 0) AS app_events,
       coalesce(b.credits_cents, 0) AS credits_cents, coalesce(b.debits_cents, 0) AS debits_cents,
       coalesce(b.bank_transactions, 0) AS bank_transactions,
       -- income estimate: bank credits over the 30 days ending that day
       sum(coalesce(b.credits_cents, 0)) OVER (PARTITION BY k.customer_id ORDER BY k.d
         RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW) AS income_30d_cents,
       last_value(bl.balance_cents IGNORE NULLS) OVER (PARTITION BY k.customer_id ORDER BY k.d
         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance_cents,
       coalesce(r.credit_requests, 0) AS credit_requests,
       last_value(r.bureau_score IGNORE NULLS) OVER (PARTITION BY k.customer_id ORDER BY k.d
         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS bureau_score
FROM keys k
LEFT JOIN events e USING (customer_id, d)
LEFT JOIN bank b USING (customer_id, d)
LEFT JOIN balances bl USING (customer_id, d)
LEFT JOIN requests r USING (customer_id, d)
ORDER BY k.customer_id, feature_date;
