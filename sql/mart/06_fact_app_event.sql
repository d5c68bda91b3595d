-- fact_app_event: one row per app usage event (bronze/app_events, unique event_id).
-- customer_sk: the session customer's version at occurred_at, else the current one;
-- NULL for anonymous sessions and customers the lake does not know (no request
-- extracted yet).
-- session_customer_id: the customer who logged in during the event's session, so
-- events before the login (session_start, login_failure) count for that customer.
CREATE TABLE fact_app_event AS
-- The session's customer by GROUP BY and join, not a window over every event: DuckDB's
-- window keeps its partitions in memory (1 GB ran out at 5M events), the aggregate and
-- the join spill.
WITH sessions AS (
  SELECT session_id, max(customer_id) AS customer_id FROM src_app_events
  WHERE session_id IS NOT NULL GROUP BY session_id
),
e AS (
  SELECT a.*, coalesce(a.customer_id, s.customer_id) AS session_customer_id
  FROM src_app_events a LEFT JOIN sessions s ON s.session_id = a.session_id
)
SELECT e.event_id, e.event_type, date_key(e.event_date) AS date_key, e.occurred_at,
       e.customer_id, e.session_customer_id,
       coalesce(v.customer_sk, cur.customer_sk) AS customer_sk,
       e.anonymous_id, e.session_id, e.device_os, e.app_version,
       TRY_CAST(json_extract_string(e.properties, '$.amount_cents') AS BIGINT) AS amount_cents,
       TRY_CAST(json_extract_string(e.properties, '$.term_months') AS INTEGER) AS term_months,
       e.event_date
FROM e
-- valid_to NULL as 'infinity', not an OR: a hash join (see 04_fact_credit_request.sql).
LEFT JOIN dim_customer v ON v.customer_id = e.session_customer_id AND e.occurred_at >= v.valid_from
  AND e.occurred_at < coalesce(v.valid_to, 'infinity'::TIMESTAMP)
LEFT JOIN dim_customer cur ON cur.customer_id = e.session_customer_id AND cur.is_current
ORDER BY e.occurred_at, e.event_id;
