-- table: fact_credit_status_change
-- refresh: month request_date
-- inputs: silver/credit_request_status_history, fact_credit_request
-- fact_credit_status_change: one row per status transition of a credit request.
-- Key: (request_id, seq), seq = 1, 2, ... in order of changed_at, then the history id
-- (a derived creation first on a tie).
-- Sources:
--   'history'  a row of PostgreSQL's credit_request_status_history
--              (silver/credit_request_status_history): from_status, to_status,
--              changed_at, changed_by as recorded.
--   'derived'  built from the request (fact_credit_request), for what the history does
--              not hold: the creation (NULL -> PENDING at created_at), which the app
--              does not record (the stream records the decision, PENDING -> X), unless
--              the history has a creation row of its own (from_status NULL); and, for a
--              request with no history row at all (data older than the history table),
--              its decision (PENDING -> status at decided_at). changed_by is NULL.
-- Columns: request_id, seq, customer_sk, channel_key (the request's), date_key (the
-- business day of changed_at), from_status, to_status, changed_at, changed_by,
-- seconds_since_previous (NULL for seq 1), source, request_date (the request's day,
-- the partition its history lives in). Only requests in fact_credit_request appear;
-- the refresh's gates check that every history row of the lake does.
-- Refreshed with its requests: the history lives in its request's day partition.
WITH with_history AS (
  SELECT request_id, bool_or(from_status IS NULL) AS has_creation
  FROM src_silver_status_history WHERE refreshing(request_date) GROUP BY request_id
),
transitions AS (
  -- ord breaks ties on changed_at: a derived creation comes first.
  SELECT request_id, 1 AS ord, id, from_status, to_status, changed_at, changed_by,
         'history' AS source
  FROM src_silver_status_history WHERE refreshing(request_date)
  UNION ALL
  SELECT r.request_id, 0, NULL, NULL, 'PENDING', r.created_at, NULL, 'derived'
  FROM fact_credit_request r LEFT JOIN with_history w ON w.request_id = r.request_id
  WHERE NOT coalesce(w.has_creation, false) AND refreshing(r.request_date)
  UNION ALL
  SELECT r.request_id, 1, NULL, 'PENDING', r.status, r.decided_at, NULL, 'derived'
  FROM fact_credit_request r ANTI JOIN with_history w ON w.request_id = r.request_id
  WHERE r.status <> 'PENDING' AND r.decided_at IS NOT NULL AND refreshing(r.request_date)
)
SELECT t.request_id, CAST(row_number() OVER w AS INTEGER) AS seq, r.customer_sk, r.channel_key,
       date_key(local_date(t.changed_at)) AS date_key, t.from_status, t.to_status, t.changed_at,
       t.changed_by,
       CAST(date_diff('second', lag(t.changed_at) OVER w, t.changed_at) AS BIGINT)
         AS seconds_since_previous,
       t.source, r.request_date
FROM transitions t JOIN fact_credit_request r ON r.request_id = t.request_id
WHERE refreshing(r.request_date)
WINDOW w AS (PARTITION BY t.request_id ORDER BY t.changed_at, t.ord, t.id)
ORDER BY t.request_id, seq;
