-- lastro lake ddl --engine spark: 3 table(s) at s3://bucket/lake

CREATE DATABASE IF NOT EXISTS lastro_silver;
-- silver/credit_requests
CREATE TABLE IF NOT EXISTS lastro_silver.credit_requests (
  `request_id` BIGINT,
  `term_months` INT,
  `probability_of_default` DOUBLE,
  `first_time_customer` BOOLEAN,
  `customer_token` STRING,
  `created_at` TIMESTAMP,
  `bureau_as_of` DATE,
  `reason_codes` ARRAY<STRING>,
  `amount` DECIMAL(18,2),
  `request_date` DATE
)
USING parquet
PARTITIONED BY (`request_date`)
LOCATION 's3://bucket/lake/silver/credit_requests';
MSCK REPAIR TABLE lastro_silver.credit_requests;

CREATE DATABASE IF NOT EXISTS lastro_quarantine;
-- quarantine/credit_requests
CREATE TABLE IF NOT EXISTS lastro_quarantine.credit_requests (
  `request_id` BIGINT,
  `rule_id` STRING,
  `run_id` STRING
)
USING parquet
PARTITIONED BY (`run_id`)
LOCATION 's3://bucket/lake/quarantine/credit_requests';
MSCK REPAIR TABLE lastro_quarantine.credit_requests;

CREATE DATABASE IF NOT EXISTS lastro_quality;
-- quality/rule_results
CREATE TABLE IF NOT EXISTS lastro_quality.rule_results (
  `rule_id` STRING,
  `failed` BIGINT
)
USING parquet
LOCATION 's3://bucket/lake/quality/rule_results';
