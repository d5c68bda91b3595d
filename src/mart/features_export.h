// `lastro features export --training`: the credit model's point-in-time training set,
// read from the published gold catalog (sql/features/training_set.sql, docs/model.md).
//
// One row per credit request in fact_credit_request (optionally only request days from
// `from` to `to`), its label_* outcome columns, and the customer's f_* features from the
// latest customer_features_daily row of a business day strictly before the request's
// day: a day's features are complete only at its end, so the request's own day would
// leak activity that happened after it. Requests with no earlier features keep their
// row, with NULL features.
//
// Read-only like `lastro query`: the catalog file is opened READ_ONLY and the one file
// the process may write is a temporary file beside `out` (DuckDB's allowed_paths, with
// external access off), renamed over `out` once complete. A failed export leaves `out`
// as it was.
//
// Thread safety: each call opens its own engine; calls may run concurrently with each
// other and with refreshes (the version opened is read to the end).
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace lastro::mart {

struct TrainingExportOptions {
  std::string from, to;            // first/last request_date, YYYY-MM-DD, inclusive; "" = unbounded
  std::string out;                 // the file to write (replaced when it exists)
  std::string format = "parquet";  // parquet | csv (with a header line)
};

struct TrainingExportResult {
  int64_t rows = 0;                       // = requests in the range
  int64_t requests_without_features = 0;  // rows with NULL f_* (no earlier feature day)
  std::string catalog_version;            // the catalog version read
  std::string out;                        // absolute path written
};

// The training set's SQL with the date range filled in (DATE literals, NULL when
// unbounded). Errors: kInvalidArgument for a date that is not a real YYYY-MM-DD day;
// kInternal when the SQL is not embedded (a build defect).
StatusOr<std::string> TrainingSetSql(const std::string& from, const std::string& to);

// Writes the training set of the published catalog to `options.out`. The options are
// checked before any file is touched.
// Errors: kInvalidArgument naming the bad flag (a date that is not a real YYYY-MM-DD
// day, from after to, an unknown format, no output file), kNotFound (no published
// catalog: run lastro refresh first), kUnavailable (the output cannot be written, e.g.
// its folder does not exist or is not writable), and the engine's errors.
StatusOr<TrainingExportResult> ExportTrainingSet(const Config& config,
                                                 const TrainingExportOptions& options);

}  // namespace lastro::mart
