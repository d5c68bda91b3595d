-- name: finance.daily_volume
-- description: requests, requested amount, approvals and approval rate per request day
-- param: from DATE first request day (inclusive)
-- param: to DATE last request day (inclusive)
SELECT request_date, sum(requests) AS requests, sum(requested_cents) AS requested_cents,
       sum(decided) AS decided, sum(approved) AS approved, sum(approved_cents) AS approved_cents,
       round(sum(approved) / nullif(sum(decided), 0), 4) AS approval_rate
FROM mart_finance_daily
WHERE request_date BETWEEN {{from}} AND {{to}}
GROUP BY request_date ORDER BY request_date
