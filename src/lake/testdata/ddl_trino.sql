-- lastro lake ddl --engine trino: 3 table(s) at s3://bucket/lake

CREATE SCHEMA IF NOT EXISTS hive.lastro_silver;
-- silver/credit_requests
CREATE TABLE IF NOT EXISTS hive.lastro_silver.credit_requests (
  "request_id" bigint,
  "term_months" integer,
  "probability_of_default" double,
  "first_time_customer" boolean,
  "customer_token" varchar,
  "created_at" timestamp,
  "bureau_as_of" date,
  "reason_codes" array(varchar),
  "amount" decimal(18,2),
  "request_date" date
)
WITH (
  external_location = 's3://bucket/lake/silver/credit_requests',
  format = 'PARQUET',
  partitioned_by = ARRAY['request_date']
);
CALL hive.system.sync_partition_metadata('lastro_silver', 'credit_requests', 'FULL');

CREATE SCHEMA IF NOT EXISTS hive.lastro_quarantine;
-- quarantine/credit_requests
CREATE TABLE IF NOT EXISTS hive.lastro_quarantine.credit_requests (
  "request_id" bigint,
  "rule_id" varchar,
  "run_id" varchar
)
WITH (
  external_location = 's3://bucket/lake/quarantine/credit_requests',
  format = 'PARQUET',
  partitioned_by = ARRAY['run_id']
);
CALL hive.system.sync_partition_metadata('lastro_quarantine', 'credit_requests', 'FULL');

CREATE SCHEMA IF NOT EXISTS hive.lastro_quality;
-- quality/rule_results
CREATE TABLE IF NOT EXISTS hive.lastro_quality.rule_results (
  "rule_id" varchar,
  "failed" bigint
)
WITH (
  external_location = 's3://bucket/lake/quality/rule_results',
  format = 'PARQUET'
);
