-- table: mart_finance_daily
-- refresh: full
-- mart_finance_daily (finance): per request day, channel and product: volume,
-- amounts and approval. Key: (request_date, channel, product).
SELECT request_date, channel, product, count(*) AS requests,
       sum(amount_cents) AS requested_cents, count(*) FILTER (WHERE is_decided) AS decided,
       count(*) FILTER (WHERE is_approved) AS approved,
       count(*) FILTER (WHERE is_rejected) AS rejected,
       sum(approved_amount_cents) AS approved_cents,
       round(count(*) FILTER (WHERE is_approved) / nullif(count(*) FILTER (WHERE is_decided), 0),
             4) AS approval_rate
FROM fact_credit_request GROUP BY ALL ORDER BY ALL;
