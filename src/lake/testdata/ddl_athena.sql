-- lastro lake ddl --engine athena: 3 table(s) at s3://bucket/lake

CREATE DATABASE IF NOT EXISTS lastro_silver;
-- silver/credit_requests
CREATE EXTERNAL TABLE IF NOT EXISTS lastro_silver.credit_requests (
  `request_id` bigint,
  `term_months` int,
  `probability_of_default` double,
  `first_time_customer` boolean,
  `customer_token` string,
  `created_at` timestamp,
  `bureau_as_of` date,
  `reason_codes` array<string>,
  `amount` decimal(18,2)
)
PARTITIONED BY (`request_date` date)
STORED AS PARQUET
LOCATION 's3://bucket/lake/silver/credit_requests/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'projection.enabled'='true',
  'projection.request_date.type'='date',
  'projection.request_date.format'='yyyy-MM-dd',
  'projection.request_date.range'='2026-11-20,NOW',
  'projection.request_date.interval'='1',
  'projection.request_date.interval.unit'='DAYS',
  'storage.location.template'='s3://bucket/lake/silver/credit_requests/request_date=${request_date}/'
);

CREATE DATABASE IF NOT EXISTS lastro_quarantine;
-- quarantine/credit_requests
CREATE EXTERNAL TABLE IF NOT EXISTS lastro_quarantine.credit_requests (
  `request_id` bigint,
  `rule_id` string
)
PARTITIONED BY (`run_id` string)
STORED AS PARQUET
LOCATION 's3://bucket/lake/quarantine/credit_requests/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD'
);
MSCK REPAIR TABLE lastro_quarantine.credit_requests;

CREATE DATABASE IF NOT EXISTS lastro_quality;
-- quality/rule_results
CREATE EXTERNAL TABLE IF NOT EXISTS lastro_quality.rule_results (
  `rule_id` string,
  `failed` bigint
)
STORED AS PARQUET
LOCATION 's3://bucket/lake/quality/rule_results/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD'
);
