-- table: fact_bank_transaction
-- refresh: month booking_date
-- inputs: bronze/bank_transactions
-- customers: customer_id
-- fact_bank_transaction: one row per Open Finance transaction (bronze, unique per
-- (account_id, transaction_id)). signed_amount_cents is positive for credits.
-- customer_sk: the customer's version at booked_at, else the current one.
SELECT t.account_id, t.transaction_id, date_key(t.booking_date) AS date_key, t.booked_at,
       t.customer_id,
       coalesce(v.customer_sk, cur.customer_sk) AS customer_sk, t.credit_debit_type AS direction, t.type,
       t.amount_cents,
       CASE WHEN t.credit_debit_type = 'CREDITO' THEN t.amount_cents ELSE -t.amount_cents END
         AS signed_amount_cents,
       t.booking_date
FROM src_bank_transactions t
-- valid_to NULL read as 'infinity', not an OR: an OR in a LEFT JOIN's condition makes
-- DuckDB join by nested loops (quadratic: hours at 10M rows); this is a hash join.
LEFT JOIN dim_customer v ON v.customer_id = t.customer_id AND t.booked_at >= v.valid_from
  AND t.booked_at < coalesce(v.valid_to, 'infinity'::TIMESTAMP)
LEFT JOIN dim_customer cur ON cur.customer_id = t.customer_id AND cur.is_current
WHERE refreshing(t.booking_date)
ORDER BY t.booked_at, t.account_id, t.transaction_id;
