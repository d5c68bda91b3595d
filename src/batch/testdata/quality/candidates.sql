-- The daily batch's candidate tables with only good rows, for quality_test.
-- candidate_status_history holds each request's decision (history id = request id).
-- {good_rows} is replaced by the case's row count. Requests 1..N are all on the
-- batch day 2026-11-27 (created 03:00 UTC onwards, one a second,
-- wrapping before the day ends), customers 1..1000
-- all exist and have valid CPFs. Cases add bad rows by copying a good one:
--   INSERT INTO candidate_requests
--     SELECT * REPLACE (9001::BIGINT AS request_id, -500::BIGINT AS amount_cents)
--     FROM candidate_requests WHERE request_id = 1;
CREATE TABLE candidate_customers AS
SELECT i::BIGINT AS customer_id,
       md5('cpf-' || i) AS customer_token,
       ['SP', 'RJ', 'MG', 'PR'][1 + i % 4] AS state,
       ['organic', 'paid_search', 'social'][1 + i % 3] AS acquisition_channel,
       (1960 + i % 40)::INTEGER AS birth_year,
       TIMESTAMP '2026-01-01 00:00:00' + to_minutes(i) AS created_at,
       TIMESTAMP '2026-01-01 00:00:00' + to_minutes(i) AS updated_at
FROM range(1, 1001) AS t(i);

CREATE TABLE candidate_requests AS
SELECT i::BIGINT AS request_id,
       (1 + i % 1000)::BIGINT AS customer_id,
       md5('cpf-' || (1 + i % 1000)) AS customer_token,
       (100000 + 1000 * (i % 500))::BIGINT AS amount_cents,
       (6 + i % 60)::INTEGER AS term_months,
       ['personal', 'debt_consolidation', 'vehicle', 'home_improvement', 'education',
        'business', 'medical', 'other'][1 + i % 8] AS purpose,
       ['app_ios', 'app_android', 'web', 'partner', 'call_center'][1 + i % 5] AS channel,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 500000::BIGINT END AS declared_income_cents,
       ['APPROVED', 'REJECTED', 'MANUAL_REVIEW'][1 + i % 3] AS status,
       2::INTEGER AS version,
       TIMESTAMP '2026-11-27 03:00:00' + to_seconds(i % 86000) AS created_at,
       TIMESTAMP '2026-11-27 03:00:01' + to_seconds(i % 86000) AS updated_at,
       TIMESTAMP '2026-11-27 03:00:01' + to_seconds(i % 86000) AS decided_at,
       ['APPROVED', 'REJECTED', 'MANUAL_REVIEW'][1 + i % 3] AS decision,
       (i % 1001)::INTEGER AS risk_score,
       'C' AS risk_band,
       0.05::DOUBLE AS probability_of_default,
       ['DEFAULT_APPROVED'] AS reason_codes,
       ['NO_ADVERSE_FACTORS'] AS provider_reason_codes,
       (i % 7 = 0) AS first_time_customer,
       'ref-' || i AS provider_ref,
       'm-2026.10' AS provider_model_version,
       '2026.11-1' AS policy_version,
       1::INTEGER AS attempts,
       42.5::DOUBLE AS provider_latency_ms,
       'SP' AS customer_state,
       'organic' AS customer_acquisition_channel,
       1980::INTEGER AS customer_birth_year,
       CASE WHEN i % 4 = 0 THEN NULL ELSE (300 + i % 600)::INTEGER END AS bureau_score,
       CASE WHEN i % 4 = 0 THEN 'NOT_FOUND' ELSE 'FOUND' END AS bureau_status,
       DATE '2026-11-26' AS bureau_as_of,
       DATE '2026-11-27' AS request_date,
       TRUE AS cpf_valid
FROM range(1, {good_rows} + 1) AS t(i);

CREATE TABLE candidate_status_history AS
SELECT i::BIGINT AS id,
       i::BIGINT AS request_id,
       'PENDING' AS from_status,
       ['APPROVED', 'REJECTED', 'MANUAL_REVIEW'][1 + i % 3] AS to_status,
       TIMESTAMP '2026-11-27 03:00:01' + to_seconds(i % 86000) AS changed_at,
       'lastro-stream' AS changed_by,
       'policy 2026.11-1' AS reason,
       DATE '2026-11-27' AS request_date
FROM range(1, {good_rows} + 1) AS t(i);
