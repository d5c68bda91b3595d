// Normalise: turns what the extract wrote (extractor.h: the bronze requests file and
// raw_customers) into the candidate relations, and builds the silver partitions.
//
//   candidate_requests  one row per request: the silver columns (README.md) plus
//                       cpf_valid (NULL: customer row missing)
//   candidate_customers one row per customer: customer_id, customer_token, state,
//                       acquisition_channel, birth_year, marketing_consent,
//                       created_at, updated_at, and the sealed contact PII
//                       (full_name_enc, email_enc, phone_enc, birth_date_enc: BLOBs,
//                       NULL without a master key or for an erased customer)
//
// Timestamps are UTC TIMESTAMPs (no time zone arithmetic at query time) and
// request_date the business day in `timezone`. A malformed reason-codes array becomes
// NULL instead of failing the run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "lake/engine.h"

namespace lastro::batch {

// The silver credit_requests columns, in file order (request_date is the partition).
const std::vector<std::string>& SilverRequestColumns();

// Makes the views over the extracted requests file (the bronze file the extract
// wrote) joined with raw_customers and request_date in `timezone`: stage_joined, and
// stage_keys (customer_token, cpf_valid, request_date) for the bureau; and the table
// candidate_customers from raw_customers.
// Errors: kInvalidArgument for an unknown time zone; engine errors otherwise.
Status PrepareStage(lake::Engine& engine, const std::string& timezone,
                    const std::string& requests_parquet);

// Writes stage_joined with the bureau's answers (the table bureau_answers, enrich.h)
// once, into the scratch file `stage_parquet`, readable as the view
// candidate_requests. `bureau_skipped`: requests without an answer are SKIPPED
// rather than UNAVAILABLE.
Status WriteStage(lake::Engine& engine, const std::string& stage_parquet, bool bureau_skipped);

// Creates `good_requests`: candidate_requests minus every request with an
// error-severity quarantine row in `quarantine_relation` (column record_key).
Status SelectGood(lake::Engine& engine, const std::string& quarantine_relation);

// Writes the silver partitions touched by good_requests into `dir` (Hive layout,
// request_date=...), each merged with the rows already published in
// `published_glob` (empty when the table has none): per request_id the highest
// (version, updated_at) wins, this run's row on a tie. Files are named
// part-<run_id>-<n>.parquet, ZSTD, sorted by request_id.
// Returns the partitions written ("2026-11-20").
StatusOr<std::vector<std::string>> WriteSilverRequests(lake::Engine& engine,
                                                       const std::string& published_glob,
                                                       const std::string& dir,
                                                       const std::string& run_id,
                                                       int row_group_rows);

// The merge behind the silver tables partitioned by request_date: writes into `dir`
// (Hive layout, request_date=...) the partitions `days`, each the rows of
// `fresh_relation` (only those in `days` when `fresh_in_days`) merged with the rows
// already published in it (`published_glob`, "" when the table has none). `columns`
// are the file's columns, run_id last (stamped with `run_id` on this run's rows).
// Of the rows sharing `key`, the first by `order` (an ORDER BY list over the columns
// and `fresh`, 1 for this run's rows, 0 for published ones) is kept. Files are named
// part-<run_id>-<n>.parquet, ZSTD. Nothing is written when `days` is empty.
Status WriteMergedDays(lake::Engine& engine, const std::vector<std::string>& columns,
                       const std::string& fresh_relation, bool fresh_in_days,
                       const std::string& key, const std::string& order,
                       const std::string& published_glob, const std::string& dir,
                       const std::vector<std::string>& days, const std::string& run_id,
                       int row_group_rows);

// The silver customers columns and their types, in file order (then run_id).
const std::vector<std::pair<std::string, std::string>>& SilverCustomerColumns();

// Writes silver/customers (one file, unpartitioned): the published customers
// updated with candidate_customers (latest updated_at per customer_id wins). A
// published version that lacks a column (written before it existed) reads as NULL.
Status WriteSilverCustomers(lake::Engine& engine, const std::string& published_glob,
                            const std::string& dir, const std::string& run_id, int row_group_rows);

// COPY (<select>) TO <dir> as ZSTD Parquet files named <file_prefix>-<n>.parquet in
// Hive folders of `partition_by`; with partition_by empty, `dir` is the file's path.
Status WriteParquet(lake::Engine& engine, const std::string& select, const std::string& dir,
                    const std::string& partition_by, const std::string& file_prefix,
                    int row_group_rows);

// Writes <select> as one file <dir>/<key>=<value>/<file_prefix>-0.parquet, even when it
// has no rows: an empty file still replaces the partition (a rerun that quarantines
// nothing must clear the partition an earlier run filled) and keeps the table readable.
Status WriteOnePartition(lake::Engine& engine, const std::string& select, const std::string& dir,
                         const std::string& key, const std::string& value,
                         const std::string& file_prefix, int row_group_rows);

}  // namespace lastro::batch
