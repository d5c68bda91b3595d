-- table: mart_marketing_funnel
-- refresh: full
-- mart_marketing_funnel (marketing): per acquisition channel and cohort (the month the
-- customer was created), customers at each funnel step: active in the app, simulated
-- a loan, requested credit, approved. Key: (acquisition_channel, cohort_month).
WITH c AS (
  SELECT customer_id, acquisition_channel,
         CAST(date_trunc('month', customer_created_at) AS DATE) AS cohort_month
  FROM dim_customer WHERE is_current
),
ev AS (
  SELECT session_customer_id AS customer_id, bool_or(event_type = 'loan_simulation') AS simulated
  FROM fact_app_event WHERE session_customer_id IS NOT NULL GROUP BY ALL
),
req AS (
  SELECT customer_id, bool_or(is_approved) AS approved FROM fact_credit_request GROUP BY ALL
)
SELECT c.acquisition_channel, c.cohort_month, count(*) AS customers,
       count(ev.customer_id) AS app_active, count(*) FILTER (WHERE ev.simulated) AS simulated,
       count(req.customer_id) AS requested, count(*) FILTER (WHERE req.approved) AS approved,
       round(count(*) FILTER (WHERE req.approved) / nullif(count(req.customer_id), 0), 4)
         AS approval_rate
FROM c LEFT JOIN ev USING (customer_id) LEFT JOIN req USING (customer_id)
GROUP BY ALL ORDER BY ALL;
