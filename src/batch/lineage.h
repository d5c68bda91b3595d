// Run lineage for the daily batch: run ids, file checksums, the run manifest, and
// OpenLineage RunEvents (spec 2-0-2) written beside the run and optionally POSTed to
// a lineage server (Marquez, DataHub, ...).
//
// A run writes, under its run folder (<lake>/_runs/<run id>/):
//   manifest.json                  RunManifest::ToJson(), once, at the end;
//   openlineage/<seq>-<type>.json  one file per event (0001-START.json, 0002-COMPLETE.json).
//
// Nothing here ever carries a credential: DSNs are reduced to host/port/dbname
// (PgEndpoint) before they reach a manifest or an event.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace lastro::batch {

// ---- Ids, times, checksums -------------------------------------------------------

// A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, then a 12-bit counter
// seeded at random each millisecond and 62 random bits (libsodium randombytes).
// Lowercase canonical form, e.g. "01936d3e-8c1a-7b2f-9a4e-3f1c2b5d6e7f".
// Ids from one process strictly increase (as strings too): within one millisecond the
// counter is incremented, and a clock that steps back reuses the last millisecond.
// Thread-safe. Aborts when libsodium cannot initialise (no entropy source): an id
// that might repeat is worse than no run.
std::string NewRunId();

// Whether `id` is a canonical lowercase UUID (any version, RFC 9562 variant).
bool IsCanonicalUuid(std::string_view id);

// RFC 3339 in UTC: "2026-11-28T03:00:00Z", or with milliseconds
// "2026-11-28T03:00:00.123Z".
std::string Rfc3339Utc(std::chrono::system_clock::time_point t, bool millis = false);

// SHA-256 of a file's contents, lowercase hex, read in fixed-size chunks (any size).
// Errors: kNotFound (no such file), kUnavailable (cannot open or read).
StatusOr<std::string> Sha256File(const std::filesystem::path& path);

// Where a PostgreSQL DSN points, without user or password. Parses libpq key=value
// strings ("host=h port=5432 dbname=d password=...") and URIs
// ("postgresql://user:pw@h:5432/d?sslmode=require"). Missing host -> "localhost",
// missing port -> 5432; an unparsable DSN yields those defaults and an empty dbname.
struct PgEndpoint {
  std::string host = "localhost";
  int port = 5432;
  std::string dbname;

  static PgEndpoint FromDsn(std::string_view dsn);
  // "host=h port=5432 dbname=d": the manifest's source.dsn_host.
  std::string ToString() const;
  // "postgres://h:5432": the OpenLineage namespace of its tables.
  std::string Namespace() const;
};

// ---- The run manifest ------------------------------------------------------------

enum class RunMode { kIncremental, kBackfill };
enum class RunState { kSucceeded, kFailed };
std::string_view RunModeName(RunMode mode);     // "incremental" | "backfill"
std::string_view RunStateName(RunState state);  // "SUCCEEDED" | "FAILED"

struct ManifestSource {
  std::string dsn_host;  // PgEndpoint::ToString(); never a password
  bool is_replica = false;
  std::optional<double> replica_lag_s;  // null when not a replica or unknown
  std::string snapshot;                 // pg_current_snapshot()::text
  std::string snapshot_time;            // RFC 3339
  std::string watermark_from;           // RFC 3339; "" on the first run
  std::string watermark_to;
};

struct ManifestInput {
  std::string name;  // e.g. "public.credit_requests"
  int64_t rows = 0;
};

struct ManifestFile {
  std::string path;  // relative to the table root
  int64_t bytes = 0;
  int64_t rows = 0;
  std::string sha256;
};

struct ManifestOutput {
  std::string zone, table, version;
  std::vector<ManifestFile> files;
  int64_t rows = 0;
};

struct ManifestRule {
  std::string id, type, severity, table, column;
  int64_t checked = 0, failed = 0;
  double ratio = 0, threshold = 0;
  bool passed = true, breached = false;
  std::string message;
};

struct ManifestPhase {
  std::string name;
  double seconds = 0;
  int64_t rows = 0;
};

struct ManifestCounts {
  int64_t extracted = 0, published = 0, quarantined = 0;
};

// What one batch run did. JSON shape (every key always present; replica_lag_s may
// be null):
//   {run_id, job, code_version, batch_dates:{from,to}, mode, state, error,
//    started_at, finished_at, source:{...}, inputs:[...], outputs:[{..., files:[...]}],
//    rules:[...], phases:[...], counts:{extracted, published, quarantined}}
struct RunManifest {
  std::string run_id;
  std::string job = "batch.daily";
  std::string code_version;
  std::string batch_date_from, batch_date_to;  // "YYYY-MM-DD", inclusive
  RunMode mode = RunMode::kIncremental;
  RunState state = RunState::kSucceeded;
  std::string error;                    // "" when SUCCEEDED
  std::string started_at, finished_at;  // RFC 3339 UTC
  ManifestSource source;
  std::vector<ManifestInput> inputs;
  std::vector<ManifestOutput> outputs;
  std::vector<ManifestRule> rules;
  std::vector<ManifestPhase> phases;
  ManifestCounts counts;

  nlohmann::json ToJson() const;
  // Strict: kInvalidArgument naming the path of the first missing or mistyped field
  // ("outputs[0].files[2].sha256: missing") or an unknown mode/state. Extra keys are
  // ignored (newer writers may add some).
  static StatusOr<RunManifest> FromJson(const nlohmann::json& json);
};

// Writes `json` to `path` atomically (a sibling temporary file, fsync, rename), so a
// reader sees the old file or the whole new one. Creates missing parent folders.
// Errors: kUnavailable.
Status WriteJsonFileAtomic(const std::filesystem::path& path, const nlohmann::json& json);

// Reads and parses a JSON file. Errors: kNotFound, kUnavailable, kInvalidArgument
// (not JSON).
StatusOr<nlohmann::json> ReadJsonFile(const std::filesystem::path& path);

// ---- OpenLineage ------------------------------------------------------------------

inline constexpr std::string_view kOpenLineageSchemaUrl =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

enum class EventType { kStart, kComplete, kFail };
std::string_view EventTypeName(EventType type);  // "START" | "COMPLETE" | "FAIL"

struct LineageAssertion {
  std::string assertion;  // the rule id, e.g. "not_null_customer_token"
  bool success = true;
  std::string column;    // "" = the whole dataset
  std::string severity;  // "error" | "warn" | "" (omitted)
};

// One dataset of an event. Facets are emitted only for what is set: `fields` ->
// schema; `source_uri` -> dataSource; on inputs, `row_count`/`null_counts` ->
// dataQualityMetrics and `assertions` -> dataQualityAssertions; on outputs,
// `row_count`/`bytes` -> outputStatistics.
struct LineageDataset {
  std::string ns;    // "postgres://host:5432" | "file:///abs/lake"
  std::string name;  // "lastro.public.credit_requests" | "silver/credit_requests"
  std::vector<std::pair<std::string, std::string>> fields;  // name, type
  std::string source_name, source_uri;                      // no credentials
  std::optional<int64_t> row_count;
  std::optional<int64_t> bytes;                              // outputs only
  std::vector<std::pair<std::string, int64_t>> null_counts;  // column -> nulls (inputs)
  std::vector<LineageAssertion> assertions;                  // inputs
};

struct RunEventInput {
  EventType type = EventType::kStart;
  std::chrono::system_clock::time_point event_time;
  std::string run_id;  // NewRunId()
  std::string job_namespace = "lastro";
  std::string job_name = "batch.daily";
  std::string code_version;  // LASTRO_VERSION; also names the producer URI
  // The scheduled window: the first batch date's start (00:00 America/Sao_Paulo as an
  // instant) and, when known, the end (exclusive).
  std::chrono::system_clock::time_point nominal_start;
  std::optional<std::chrono::system_clock::time_point> nominal_end;
  std::string error_message;  // FAIL only (errorMessage facet)
  std::vector<LineageDataset> inputs, outputs;
};

// "https://github.com/lastro/lastro/tree/<code_version>".
std::string ProducerUri(std::string_view code_version);

// The dataset namespace of lake tables: "file://" + the absolute, normalised lake root.
std::string LakeNamespace(const std::filesystem::path& lake_root);

// Builds one RunEvent. Pure: no I/O, no clock.
nlohmann::json MakeRunEvent(const RunEventInput& input);

// What happened to one event besides the (fatal) file write.
struct EmitResult {
  std::filesystem::path file;   // the event's file
  bool post_attempted = false;  // an endpoint is configured
  // OK when posted (2xx) or not attempted. Otherwise why the POST failed: never fatal,
  // already logged as a warning. kUnavailable (connection, 5xx, 429),
  // kDeadlineExceeded (timeout), kInvalidArgument (other 4xx).
  Status post;
};

// Writes events into a run folder and, when `LineageConfig::endpoint` is set, POSTs
// them (Content-Type: application/json, `timeout_ms` per event, no retry: a lineage
// server being down must cost the batch at most one timeout per event, and the files
// stay behind for a later replay). Thread-safe (one mutex; events keep their order).
class LineageEmitter {
 public:
  // Creates <run_dir>/openlineage/. Sequence numbers continue after any event files
  // already there (a resumed run). Errors: kUnavailable (cannot create the folder),
  // kInvalidArgument (endpoint not http:// or https://).
  static StatusOr<std::unique_ptr<LineageEmitter>> Create(const LineageConfig& config,
                                                          const std::filesystem::path& run_dir);
  ~LineageEmitter();
  LineageEmitter(const LineageEmitter&) = delete;
  LineageEmitter& operator=(const LineageEmitter&) = delete;

  // Writes <run_dir>/openlineage/<seq>-<eventType>.json atomically, then POSTs it.
  // Returns only the file write's status: kInvalidArgument (no string eventType),
  // kUnavailable (file system). The POST's outcome goes to `result->post`.
  Status Emit(const nlohmann::json& event, EmitResult* result = nullptr);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  LineageEmitter(LineageConfig config, std::filesystem::path dir, int next_seq);
  Status Post(const std::string& body) const;

  const LineageConfig config_;
  const std::filesystem::path dir_;
  std::mutex mu_;
  int next_seq_;  // guarded by mu_
};

}  // namespace lastro::batch
