-- dim_date: one row per calendar day from the earliest to the latest day any fact
-- refers to (request, decision, event, bank booking or balance day). Key: date_key
-- (yyyymmdd). Days are business days in batch.timezone, like the lake's partitions.
CREATE TABLE dim_date AS
WITH days AS (
  SELECT request_date AS d FROM src_silver_requests
  UNION ALL SELECT local_date(decided_at) FROM src_silver_requests WHERE decided_at IS NOT NULL
  UNION ALL SELECT local_date(changed_at) FROM src_silver_status_history
  UNION ALL SELECT event_date FROM src_app_events
  UNION ALL SELECT booking_date FROM src_bank_transactions
  UNION ALL SELECT balance_date FROM src_bank_balances
),
bounds AS (SELECT min(d) AS lo, max(d) AS hi FROM days),
series AS (
  SELECT CAST(unnest(generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP),
                                     INTERVAL 1 DAY)) AS DATE) AS d
  FROM bounds WHERE lo IS NOT NULL
)
SELECT date_key(d) AS date_key, d AS date, CAST(year(d) AS INTEGER) AS year,
       CAST(quarter(d) AS INTEGER) AS quarter, CAST(month(d) AS INTEGER) AS month,
       CAST(day(d) AS INTEGER) AS day, CAST(isodow(d) AS INTEGER) AS iso_day_of_week,
       CAST(week(d) AS INTEGER) AS iso_week, isodow(d) >= 6 AS is_weekend,
       CAST(date_trunc('month', d) AS DATE) AS month_start
FROM series ORDER BY d;
