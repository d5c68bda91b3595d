-- name: finance.volume_by_channel
-- description: requests, amounts and approval per channel and product over a period
-- param: from DATE first request day (inclusive)
-- param: to DATE last request day (inclusive)
SELECT channel, product, sum(requests) AS requests, sum(requested_cents) AS requested_cents,
       sum(approved) AS approved, sum(approved_cents) AS approved_cents,
       round(sum(approved) / nullif(sum(decided), 0), 4) AS approval_rate
FROM mart_finance_daily
WHERE request_date BETWEEN {{from}} AND {{to}}
GROUP BY ALL ORDER BY channel, product
