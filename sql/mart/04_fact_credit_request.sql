-- fact_credit_request: accumulating snapshot, one row per credit request (silver's
-- latest version), with the created and decided milestones. customer_sk is the
-- customer's version valid at created_at (the current one when none was, e.g. a
-- version extracted after the request).
CREATE TABLE fact_credit_request AS
SELECT r.request_id, coalesce(v.customer_sk, cur.customer_sk) AS customer_sk, r.customer_id,
       date_key(r.request_date) AS created_date_key,
       date_key(local_date(r.decided_at)) AS decided_date_key, ch.channel_key, r.channel,
       r.purpose AS product, r.amount_cents, r.term_months, r.declared_income_cents, r.status,
       r.decision, r.risk_score, r.risk_band, r.probability_of_default, r.bureau_score,
       r.bureau_status, r.policy_version, r.created_at, r.decided_at,
       CAST(date_diff('second', r.created_at, r.decided_at) AS BIGINT) AS seconds_to_decision,
       r.status <> 'PENDING' AS is_decided, r.status = 'APPROVED' AS is_approved,
       r.status = 'REJECTED' AS is_rejected,
       CASE WHEN r.status = 'APPROVED' THEN r.amount_cents ELSE 0 END AS approved_amount_cents,
       r.request_date
FROM src_silver_requests r
LEFT JOIN dim_channel ch ON ch.channel = r.channel
-- An open version (valid_to NULL) reads as valid until 'infinity': an OR in a LEFT
-- JOIN's condition makes DuckDB join by nested loops (quadratic; hours at 10M rows).
LEFT JOIN dim_customer v ON v.customer_id = r.customer_id AND r.created_at >= v.valid_from
  AND r.created_at < coalesce(v.valid_to, 'infinity'::TIMESTAMP)
LEFT JOIN dim_customer cur ON cur.customer_id = r.customer_id AND cur.is_current
ORDER BY r.request_id;
