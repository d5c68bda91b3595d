-- table: dim_date
-- refresh: full
-- dim_date: one row per calendar day from the earliest to the latest day any fact
-- refers to (request, status change, event, bank booking or feature day), read from
-- the facts just built. Key: date_key
-- (yyyymmdd). Days are business days in batch.timezone, like the lake's partitions.
WITH bounds_per_fact AS (
  SELECT min(request_date) AS lo, max(request_date) AS hi FROM fact_credit_request
  UNION ALL SELECT min(local_date(changed_at)), max(local_date(changed_at))
            FROM fact_credit_status_change
  UNION ALL SELECT min(event_date), max(event_date) FROM fact_app_event
  UNION ALL SELECT min(booking_date), max(booking_date) FROM fact_bank_transaction
  UNION ALL SELECT min(feature_date), max(feature_date) FROM customer_features_daily
),
bounds AS (SELECT min(lo) AS lo, max(hi) AS hi FROM bounds_per_fact),
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
