#include "ingest/event_bronze.h"

#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;
using lake::SqlString;

// The run's rows. Instants stay epoch microseconds until written (make_timestamp);
// event_date is the civil day computed per row in C++ (event_line.h).
constexpr char kStagingDdl[] = R"sql(
CREATE TABLE ev_staged (file_index BIGINT, line_number BIGINT, event_id VARCHAR,
  event_type VARCHAR, occurred_us BIGINT, received_us BIGINT, event_date VARCHAR,
  anonymous_id VARCHAR, customer_id BIGINT, session_id VARCHAR, device_os VARCHAR,
  device_model VARCHAR, app_version VARCHAR, properties VARCHAR);
CREATE TABLE ev_refused (file_index BIGINT, line_number BIGINT, reason VARCHAR,
  event_id VARCHAR, raw_line VARCHAR, raw_bytes BIGINT);
CREATE TABLE ev_files (file_index BIGINT, source_file VARCHAR, source_sha256 VARCHAR,
  bytes BIGINT, lines_read BIGINT);
)sql";

// read_parquet([...]) over `files` (absolute paths).
std::string ReadFiles(const std::vector<std::string>& files) {
  std::vector<std::string> quoted;
  quoted.reserve(files.size());
  for (const std::string& f : files) quoted.push_back(SqlString(f));
  return absl::StrCat("read_parquet([", absl::StrJoin(quoted, ", "), "])");
}

// The published files of a table, absolute, optionally only those of some partitions
// ("event_date=2026-11-20").
StatusOr<std::vector<std::string>> PublishedFiles(const lake::TableStore& store,
                                                  const std::string& zone, const std::string& table,
                                                  const std::vector<std::string>* partitions) {
  std::vector<std::string> out;
  if (!store.Exists(zone, table)) return out;
  LASTRO_ASSIGN_OR_RETURN(std::vector<lake::DataFile> files, store.Files(zone, table));
  for (const lake::DataFile& f : files) {
    bool wanted = partitions == nullptr;
    for (size_t i = 0; !wanted && i < partitions->size(); ++i) {
      wanted = f.path.starts_with((*partitions)[i] + "/");
    }
    if (wanted) out.push_back((store.TablePath(zone, table) / f.path).string());
  }
  return out;
}

std::string CopyOptions(int row_group_rows) {
  return absl::StrCat("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ", row_group_rows);
}

}  // namespace

StatusOr<std::unique_ptr<EventBronze>> EventBronze::Create(lake::Engine& engine, std::string run_id,
                                                           size_t raw_line_bytes) {
  LASTRO_RETURN_IF_ERROR(engine.Execute(kStagingDdl));
  auto b = std::unique_ptr<EventBronze>(new EventBronze(engine, std::move(run_id), raw_line_bytes));
  LASTRO_ASSIGN_OR_RETURN(b->events_, engine.NewAppender("ev_staged"));
  LASTRO_ASSIGN_OR_RETURN(b->refused_, engine.NewAppender("ev_refused"));
  LASTRO_ASSIGN_OR_RETURN(b->files_, engine.NewAppender("ev_files"));
  return b;
}

EventBronze::~EventBronze() { IgnoreError(CloseAppenders()); }

Status EventBronze::CloseAppenders() {
  Status status;
  for (auto* a : {&events_, &refused_, &files_}) {
    if (*a) status.Update((*a)->Close());
    a->reset();
  }
  return status;
}

StatusOr<std::map<std::string, std::string>> EventBronze::ReadLedger(
    lake::Engine& engine, const lake::TableStore& store) {
  std::map<std::string, std::string> out;
  LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> files,
                          PublishedFiles(store, kLedgerZone, kLedgerTable, nullptr));
  if (files.empty()) return out;
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult rows,
                          engine.Query(absl::StrCat("SELECT sha256, min(ingest_run_id) FROM ",
                                                    ReadFiles(files), " GROUP BY sha256")));
  for (size_t i = 0; i < rows.rows(); ++i) out[*rows.Text(i, 0)] = rows.Text(i, 1).value_or("");
  return out;
}

Status EventBronze::AddEvent(int file_index, int64_t line_number, const AppEvent& e) {
  lake::Appender& a = *events_;
  auto text_or_null = [&a](const std::optional<std::string>& v) {
    if (v) {
      a.AppendText(*v);
    } else {
      a.AppendNull();
    }
  };
  a.AppendInt(file_index);
  a.AppendInt(line_number);
  a.AppendText(e.event_id);
  a.AppendText(e.event_type);
  a.AppendInt(e.occurred_at_us);
  a.AppendInt(e.received_at_us);
  a.AppendText(e.event_date);
  a.AppendText(e.anonymous_id);
  if (e.customer_id) {
    a.AppendInt(*e.customer_id);
  } else {
    a.AppendNull();
  }
  a.AppendText(e.session_id);
  text_or_null(e.device_os);
  text_or_null(e.device_model);
  text_or_null(e.app_version);
  text_or_null(e.properties);
  return a.EndRow();
}

Status EventBronze::AddRefused(int file_index, int64_t line_number, std::string_view reason,
                               std::string_view event_id, std::string_view raw, int64_t raw_bytes) {
  lake::Appender& a = *refused_;
  a.AppendInt(file_index);
  a.AppendInt(line_number);
  a.AppendText(reason);
  if (event_id.empty()) {
    a.AppendNull();
  } else {
    a.AppendText(event_id);
  }
  a.AppendText(SafeText(raw, raw_line_bytes_));
  a.AppendInt(raw_bytes);
  return a.EndRow();
}

Status EventBronze::AddFile(int file_index, const std::string& name, const std::string& sha256,
                            int64_t bytes, int64_t lines_read) {
  lake::Appender& a = *files_;
  a.AppendInt(file_index);
  a.AppendText(SafeText(name, 1024));
  a.AppendText(sha256);
  a.AppendInt(bytes);
  a.AppendInt(lines_read);
  return a.EndRow();
}

StatusOr<ClassifyResult> EventBronze::Classify(const lake::TableStore& store) {
  LASTRO_RETURN_IF_ERROR(CloseAppenders());
  ClassifyResult result;

  // Event ids already published on the days this run's events fall on. Partitions are
  // chosen by file name, so DuckDB opens only those.
  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult dates,
                          engine_.Query("SELECT DISTINCT event_date FROM ev_staged ORDER BY 1"));
  std::vector<std::string> partitions;
  for (size_t i = 0; i < dates.rows(); ++i) partitions.push_back("event_date=" + *dates.Text(i, 0));
  LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> published,
                          PublishedFiles(store, kEventsZone, kEventsTable, &partitions));
  LASTRO_RETURN_IF_ERROR(engine_.Execute("CREATE TABLE ev_lake_ids (event_id VARCHAR)"));
  if (!published.empty()) {
    LASTRO_RETURN_IF_ERROR(engine_.Execute(absl::StrCat(
        "INSERT INTO ev_lake_ids SELECT DISTINCT event_id FROM ", ReadFiles(published))));
  }
  // Only the duplicates are materialised (a few rows, three narrow columns): the new
  // rows are ev_staged minus them, read once more when written.
  LASTRO_RETURN_IF_ERROR(engine_.Execute(
      "CREATE TABLE ev_dups AS SELECT file_index, line_number, dup_in_run FROM ("
      "SELECT file_index, line_number, event_id, row_number() OVER (PARTITION BY event_id "
      "ORDER BY file_index, line_number) > 1 AS dup_in_run FROM ev_staged) s "
      "WHERE dup_in_run OR event_id IN (SELECT event_id FROM ev_lake_ids);"
      "CREATE VIEW ev_new AS SELECT s.* FROM ev_staged s ANTI JOIN ev_dups d "
      "ON s.file_index = d.file_index AND s.line_number = d.line_number;"
      "CREATE TABLE ev_counts AS SELECT f.file_index, "
      "coalesce(s.n, 0) - coalesce(d.n, 0) AS loaded, coalesce(d.in_run, 0) AS dup_in_run, "
      "coalesce(d.n, 0) - coalesce(d.in_run, 0) AS dup_in_lake, "
      "coalesce(r.n, 0) AS quarantined FROM ev_files f "
      "LEFT JOIN (SELECT file_index, count(*) AS n FROM ev_staged GROUP BY 1) s "
      "USING (file_index) "
      "LEFT JOIN (SELECT file_index, count(*) AS n, count(*) FILTER (WHERE dup_in_run) AS in_run "
      "FROM ev_dups GROUP BY 1) d USING (file_index) "
      "LEFT JOIN (SELECT file_index, count(*) AS n FROM ev_refused GROUP BY 1) r "
      "USING (file_index)"));

  LASTRO_ASSIGN_OR_RETURN(lake::QueryResult per_file,
                          engine_.Query("SELECT file_index, loaded, dup_in_run, dup_in_lake, "
                                        "quarantined FROM ev_counts"));
  for (size_t i = 0; i < per_file.rows(); ++i) {
    FileCounts& c = result.files[static_cast<int>(*per_file.Int(i, 0))];
    c.loaded = *per_file.Int(i, 1);
    c.duplicates_in_run = *per_file.Int(i, 2);
    c.duplicates_in_lake = *per_file.Int(i, 3);
    c.quarantined = *per_file.Int(i, 4);
  }
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult by_date,
      engine_.Query("SELECT event_date, count(*) FROM ev_new GROUP BY 1 ORDER BY 1"));
  for (size_t i = 0; i < by_date.rows(); ++i) {
    result.loaded_by_date[*by_date.Text(i, 0)] = *by_date.Int(i, 1);
  }
  // Reasons grouped without their byte offsets, so the summary stays short.
  LASTRO_ASSIGN_OR_RETURN(
      lake::QueryResult reasons,
      engine_.Query("SELECT regexp_replace(reason, 'at byte [0-9]+', 'at byte N'), count(*) "
                    "FROM ev_refused GROUP BY 1 ORDER BY 2 DESC, 1"));
  for (size_t i = 0; i < reasons.rows(); ++i) {
    result.quarantine_reasons[*reasons.Text(i, 0)] = *reasons.Int(i, 1);
  }

  // Refused lines that a killed run already quarantined (same file content, same line).
  LASTRO_RETURN_IF_ERROR(
      engine_.Execute("CREATE TABLE ev_refused_new AS SELECT r.*, f.source_file, f.source_sha256 "
                      "FROM ev_refused r JOIN ev_files f USING (file_index)"));
  LASTRO_ASSIGN_OR_RETURN(std::vector<std::string> quarantined,
                          PublishedFiles(store, kQuarantineZone, kQuarantineTable, nullptr));
  if (!quarantined.empty()) {
    LASTRO_RETURN_IF_ERROR(engine_.Execute(absl::StrCat(
        "DELETE FROM ev_refused_new WHERE EXISTS (SELECT 1 FROM ", ReadFiles(quarantined),
        " q WHERE q.source_sha256 = ev_refused_new.source_sha256 "
        "AND q.line_number = ev_refused_new.line_number)")));
    LASTRO_ASSIGN_OR_RETURN(lake::Value kept,
                            engine_.QueryValue("SELECT (SELECT count(*) FROM ev_refused) - "
                                               "(SELECT count(*) FROM ev_refused_new)"));
    result.quarantine_already_published = std::get<int64_t>(kept);
  }
  return result;
}

Status EventBronze::WriteEvents(const std::string& dir, int row_group_rows) {
  LASTRO_ASSIGN_OR_RETURN(lake::Value n,
                          engine_.QueryValue("SELECT coalesce(sum(loaded), 0) FROM ev_counts"));
  if (std::get<int64_t>(n) == 0) return absl::OkStatus();
  return engine_.Execute(absl::StrCat(
      "COPY (SELECT event_id, event_type, make_timestamp(occurred_us) AS occurred_at, "
      "make_timestamp(received_us) AS received_at, anonymous_id, customer_id, session_id, "
      "device_os, device_model, app_version, properties, f.source_file, f.source_sha256, "
      "c.line_number, ",
      SqlString(run_id_),
      " AS ingest_run_id, c.event_date::DATE AS event_date "
      "FROM ev_new c JOIN ev_files f USING (file_index) ORDER BY event_date, occurred_at) TO ",
      SqlString(dir), " (", CopyOptions(row_group_rows),
      ", PARTITION_BY (event_date), FILENAME_PATTERN ", SqlString("part-" + run_id_ + "-{i}"),
      ", OVERWRITE_OR_IGNORE)"));
}

Status EventBronze::WriteQuarantine(const std::string& dir, const std::string& ingest_date,
                                    const std::string& now_utc, int row_group_rows) {
  fs::path folder = fs::path(dir) / ("ingest_date=" + ingest_date);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return absl::UnavailableError("cannot create " + folder.string() + ": " + ec.message());
  return engine_.Execute(absl::StrCat(
      "COPY (SELECT ", SqlString(run_id_),
      " AS ingest_run_id, source_file, source_sha256, line_number, event_id, reason, raw_line, "
      "raw_bytes, TIMESTAMP ",
      SqlString(now_utc),
      " AS quarantined_at FROM ev_refused_new ORDER BY file_index, "
      "line_number) TO ",
      SqlString((folder / ("part-" + run_id_ + "-0.parquet")).string()), " (",
      CopyOptions(row_group_rows), ")"));
}

Status EventBronze::WriteLedger(const std::string& dir, const std::string& now_utc) {
  return engine_.Execute(
      absl::StrCat("COPY (SELECT f.source_sha256 AS sha256, f.source_file, f.bytes, f.lines_read, "
                   "c.loaded, c.dup_in_run + c.dup_in_lake AS duplicates, c.quarantined, ",
                   SqlString(run_id_), " AS ingest_run_id, TIMESTAMP ", SqlString(now_utc),
                   " AS ingested_at FROM ev_files f JOIN ev_counts c USING (file_index) "
                   "ORDER BY f.source_file) TO ",
                   SqlString((fs::path(dir) / ("part-" + run_id_ + ".parquet")).string()),
                   " (FORMAT parquet, COMPRESSION zstd)"));
}

}  // namespace lastro::ingest
