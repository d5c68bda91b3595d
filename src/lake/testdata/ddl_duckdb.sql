-- lastro lake ddl --engine duckdb: 3 table(s) at s3://bucket/lake

-- silver/credit_requests
CREATE OR REPLACE VIEW silver_credit_requests AS SELECT * FROM read_parquet('s3://bucket/lake/silver/credit_requests/*/*.parquet', hive_partitioning = true, union_by_name = true);

-- quarantine/credit_requests
CREATE OR REPLACE VIEW quarantine_credit_requests AS SELECT * FROM read_parquet('s3://bucket/lake/quarantine/credit_requests/*/*.parquet', hive_partitioning = true, union_by_name = true);

-- quality/rule_results
CREATE OR REPLACE VIEW quality_rule_results AS SELECT * FROM read_parquet('s3://bucket/lake/quality/rule_results/**/*.parquet', hive_partitioning = true, union_by_name = true);
