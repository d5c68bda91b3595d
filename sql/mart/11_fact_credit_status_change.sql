-- table: fact_credit_status_change
-- refresh: month request_date
-- inputs: fact_credit_request
-- fact_credit_status_change: one row per status transition of a request, as far as
-- the lake knows it. The lake holds each request's latest version only (silver), not
-- PostgreSQL's credit_request_status_history, so a request has at most two rows:
-- seq 1 (NULL -> PENDING at created_at) and, once decided, seq 2 (PENDING -> its
-- final status at decided_at). Intermediate steps (e.g. MANUAL_REVIEW later decided
-- again) are not visible. Key: (request_id, seq). request_date is the request's day
-- (the month it is refreshed by, with its request).
SELECT request_id, 1 AS seq, customer_sk, channel_key, created_date_key AS date_key,
       CAST(NULL AS VARCHAR) AS from_status, 'PENDING' AS to_status, created_at AS changed_at,
       request_date
FROM fact_credit_request WHERE refreshing(request_date)
UNION ALL
SELECT request_id, 2, customer_sk, channel_key, decided_date_key, 'PENDING', status, decided_at,
       request_date
FROM fact_credit_request
WHERE status <> 'PENDING' AND decided_at IS NOT NULL AND refreshing(request_date)
ORDER BY request_id, seq;
