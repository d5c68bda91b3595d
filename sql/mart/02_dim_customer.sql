-- table: dim_customer
-- refresh: full
-- dim_customer: SCD type 2. One row per version of a customer's tracked attributes
-- (customer_token, state, acquisition_channel, birth_year, marketing_consent: consent
-- given or withdrawn starts a version, and governance's marketing filter reads the
-- current one; unknown consent reads as false). The history comes from
-- bronze/customers, a log of every extract (each row is the customer as one run saw
-- it), plus silver/customers (the latest version). A new version starts when an
-- extract with a later updated_at shows different attributes; extracts that change
-- nothing tracked are folded into the version they repeat.
-- Key: customer_sk (hash of customer_id and the version's start: stable across
-- refreshes). Natural key: (customer_id, valid_from). No raw PII: no CPF, name, e-mail
-- or birth date, only the CPF's keyed token and the birth year.
WITH extracts AS (
  SELECT id AS customer_id, customer_token, state, acquisition_channel,
         coalesce(birth_year, CAST(year(birth_date) AS INTEGER)) AS birth_year,
         marketing_consent, created_at, updated_at, run_id
  FROM src_bronze_customers WHERE id IS NOT NULL AND updated_at IS NOT NULL
  UNION ALL
  SELECT customer_id, customer_token, state, acquisition_channel, birth_year,
         marketing_consent, created_at, updated_at, 'silver'
  FROM src_silver_customers WHERE customer_id IS NOT NULL AND updated_at IS NOT NULL
),
versions AS (
  SELECT *, md5(concat_ws('|', coalesce(customer_token, '-'), coalesce(state, '-'),
                          coalesce(acquisition_channel, '-'),
                          coalesce(CAST(birth_year AS VARCHAR), '-'),
                          coalesce(CAST(marketing_consent AS VARCHAR), '-'))) AS attr_hash
  FROM extracts
  QUALIFY row_number() OVER (PARTITION BY customer_id, updated_at ORDER BY run_id DESC) = 1
),
changes AS (
  SELECT *, lag(attr_hash) OVER (PARTITION BY customer_id ORDER BY updated_at) AS prev_hash,
         min(created_at) OVER (PARTITION BY customer_id) AS first_created_at
  FROM versions
),
kept AS (SELECT * FROM changes WHERE prev_hash IS DISTINCT FROM attr_hash)
SELECT CAST(hash(customer_id, updated_at) >> 1 AS BIGINT) AS customer_sk, customer_id,
       customer_token, state, acquisition_channel, birth_year,
       coalesce(marketing_consent, false) AS marketing_consent,
       CASE WHEN row_number() OVER w = 1 THEN least(first_created_at, updated_at)
            ELSE updated_at END AS valid_from,
       lead(updated_at) OVER w AS valid_to,
       lead(updated_at) OVER w IS NULL AS is_current,
       CAST(row_number() OVER w AS INTEGER) AS version,
       first_created_at AS customer_created_at
FROM kept
WINDOW w AS (PARTITION BY customer_id ORDER BY updated_at)
ORDER BY customer_id, valid_from;
