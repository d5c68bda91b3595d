// OpenLineage RunEvents (spec 2-0-2) and their emitter: the lineage.h half that
// speaks OpenLineage and HTTP. Facet schema versions are pinned below; the test checks
// every emitted facet against src/batch/testdata/openlineage_required.json.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "batch/lineage.h"
#include "common/log.h"

namespace lastro::batch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kFacets = "https://openlineage.io/spec/facets/";
constexpr std::string_view kNominalTime =
    "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet";
constexpr std::string_view kProcessingEngine =
    "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet";
constexpr std::string_view kErrorMessage =
    "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
constexpr std::string_view kJobType = "2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
constexpr std::string_view kSchema = "1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
constexpr std::string_view kDataSource =
    "1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet";
constexpr std::string_view kQualityMetrics =
    "1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet";
constexpr std::string_view kQualityAssertions =
    "1-0-2/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet";
constexpr std::string_view kOutputStatistics =
    "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet";

json Facet(const std::string& producer, std::string_view schema) {
  return {{"_producer", producer},
          {"_schemaURL", absl::StrCat(std::string(kFacets), std::string(schema))}};
}

json Dataset(const LineageDataset& d, const std::string& producer, bool input) {
  json facets = json::object();
  if (!d.fields.empty()) {
    json fields = json::array();
    for (const auto& [name, type] : d.fields) fields.push_back({{"name", name}, {"type", type}});
    facets["schema"] = Facet(producer, kSchema);
    facets["schema"]["fields"] = std::move(fields);
  }
  if (!d.source_uri.empty()) {
    facets["dataSource"] = Facet(producer, kDataSource);
    facets["dataSource"]["name"] = d.source_name.empty() ? d.source_uri : d.source_name;
    facets["dataSource"]["uri"] = d.source_uri;
  }
  json io = json::object();
  if (input) {
    if (d.row_count || !d.null_counts.empty()) {
      json metrics = Facet(producer, kQualityMetrics);
      if (d.row_count) metrics["rowCount"] = *d.row_count;
      metrics["columnMetrics"] = json::object();  // required, even when empty
      for (const auto& [column, nulls] : d.null_counts) {
        metrics["columnMetrics"][column] = {{"nullCount", nulls}};
      }
      io["dataQualityMetrics"] = std::move(metrics);
    }
    if (!d.assertions.empty()) {
      json list = json::array();
      for (const auto& a : d.assertions) {
        json item = {{"assertion", a.assertion}, {"success", a.success}};
        if (!a.column.empty()) item["column"] = a.column;
        if (!a.severity.empty()) item["severity"] = a.severity;
        list.push_back(std::move(item));
      }
      io["dataQualityAssertions"] = Facet(producer, kQualityAssertions);
      io["dataQualityAssertions"]["assertions"] = std::move(list);
    }
  } else if (d.row_count) {
    io["outputStatistics"] = Facet(producer, kOutputStatistics);
    io["outputStatistics"]["rowCount"] = *d.row_count;
    if (d.bytes) io["outputStatistics"]["size"] = *d.bytes;
  }
  json out = {{"namespace", d.ns}, {"name", d.name}, {"facets", std::move(facets)}};
  out[input ? "inputFacets" : "outputFacets"] = std::move(io);
  return out;
}

// "http://user:pw@host/x" -> "http://host/x": endpoints are logged, credentials never.
std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + url.substr(at + 1);
}

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() < 512) body->append(data, std::min(size * n, 512 - body->size()));
  return size * n;
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kStart:
      return "START";
    case EventType::kComplete:
      return "COMPLETE";
    case EventType::kFail:
      return "FAIL";
  }
  return "OTHER";
}

std::string ProducerUri(std::string_view code_version) {
  return absl::StrCat("https://github.com/lastro/lastro/tree/",
                      code_version.empty() ? std::string("main") : std::string(code_version));
}

std::string LakeNamespace(const fs::path& lake_root) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(lake_root, ec), ec);
  if (ec) abs = fs::absolute(lake_root).lexically_normal();
  std::string s = abs.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return "file://" + s;
}

json MakeRunEvent(const RunEventInput& in) {
  const std::string producer = ProducerUri(in.code_version);
  json run_facets = json::object();
  run_facets["nominalTime"] = Facet(producer, kNominalTime);
  run_facets["nominalTime"]["nominalStartTime"] = Rfc3339Utc(in.nominal_start, true);
  if (in.nominal_end) {
    run_facets["nominalTime"]["nominalEndTime"] = Rfc3339Utc(*in.nominal_end, true);
  }
  run_facets["processing_engine"] = Facet(producer, kProcessingEngine);
  run_facets["processing_engine"]["name"] = "lastro";
  run_facets["processing_engine"]["version"] = in.code_version;
  if (in.type == EventType::kFail) {
    run_facets["errorMessage"] = Facet(producer, kErrorMessage);
    run_facets["errorMessage"]["message"] =
        in.error_message.empty() ? "unknown error" : in.error_message;
    run_facets["errorMessage"]["programmingLanguage"] = "C++";
  }
  json job_facets = json::object();
  job_facets["jobType"] = Facet(producer, kJobType);
  job_facets["jobType"]["processingType"] = "BATCH";
  job_facets["jobType"]["integration"] = "LASTRO";
  job_facets["jobType"]["jobType"] = "JOB";

  json inputs = json::array();
  for (const auto& d : in.inputs) inputs.push_back(Dataset(d, producer, true));
  json outputs = json::array();
  for (const auto& d : in.outputs) outputs.push_back(Dataset(d, producer, false));
  return {
      {"eventType", EventTypeName(in.type)},
      {"eventTime", Rfc3339Utc(in.event_time, true)},
      {"producer", producer},
      {"schemaURL", kOpenLineageSchemaUrl},
      {"run", {{"runId", in.run_id}, {"facets", std::move(run_facets)}}},
      {"job",
       {{"namespace", in.job_namespace}, {"name", in.job_name}, {"facets", std::move(job_facets)}}},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)}};
}

// ---- LineageEmitter ----------------------------------------------------------------

StatusOr<std::unique_ptr<LineageEmitter>> LineageEmitter::Create(const LineageConfig& config,
                                                                 const fs::path& run_dir) {
  if (!config.endpoint.empty() && config.endpoint.rfind("http://", 0) != 0 &&
      config.endpoint.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lineage.endpoint must be an http:// or https:// URL, got '",
                     RedactUrl(config.endpoint), "'"));
  }
  if (!config.endpoint.empty()) {
    // Once per process, before any easy handle (curl_easy_init would do it lazily,
    // but not thread-safely).
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK) return absl::InternalError("curl_global_init failed");
  }
  const fs::path dir = run_dir / "openlineage";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("mkdir ", dir.string(), ": ", ec.message()));
  int last = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) continue;
    last = std::max(last, std::atoi(name.c_str()));  // "0003-COMPLETE.json" -> 3
  }
  if (ec) return absl::UnavailableError(absl::StrCat("list ", dir.string(), ": ", ec.message()));
  return std::unique_ptr<LineageEmitter>(new LineageEmitter(config, dir, last + 1));
}

LineageEmitter::LineageEmitter(LineageConfig config, fs::path dir, int next_seq)
    : config_(std::move(config)), dir_(std::move(dir)), next_seq_(next_seq) {}

LineageEmitter::~LineageEmitter() = default;

Status LineageEmitter::Emit(const json& event, EmitResult* result) {
  EmitResult local;
  EmitResult& res = result != nullptr ? *result : local;
  res = EmitResult{};
  auto type = event.find("eventType");
  if (!event.is_object() || type == event.end() || !type->is_string()) {
    return absl::InvalidArgumentError("lineage event without a string eventType");
  }
  const std::string type_name = type->get<std::string>();
  if (type_name.empty()) return absl::InvalidArgumentError("empty eventType");
  for (char c : type_name) {
    if (!std::isupper(static_cast<unsigned char>(c)) && c != '_') {
      return absl::InvalidArgumentError(absl::StrCat("bad eventType '", type_name, "'"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  char seq[16];
  std::snprintf(seq, sizeof seq, "%04d", next_seq_);
  res.file = dir_ / absl::StrCat(seq, "-", type_name, ".json");
  LASTRO_RETURN_IF_ERROR(WriteJsonFileAtomic(res.file, event));
  ++next_seq_;
  if (config_.endpoint.empty()) return absl::OkStatus();
  res.post_attempted = true;
  res.post = Post(event.dump());
  if (!res.post.ok()) {
    log::Warn("openlineage event not sent; it stays in the run folder",
              {{"endpoint", RedactUrl(config_.endpoint)},
               {"event_type", type_name},
               {"file", res.file.string()},
               {"error", std::string(res.post.message())}});
  }
  return absl::OkStatus();
}

Status LineageEmitter::Post(const std::string& body) const {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::UnavailableError("curl_easy_init failed");
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::string response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = std::max(1, config_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_URL, config_.endpoint.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "lastro-lineage/1");
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(absl::StrCat("POST timed out: ", why));
    }
    return absl::UnavailableError(absl::StrCat("POST failed: ", why));
  }
  if (status >= 200 && status < 300) return absl::OkStatus();
  std::string message = absl::StrCat("POST answered HTTP ", status, ": ", response);
  if (status >= 500 || status == 429 || status == 408) return absl::UnavailableError(message);
  return absl::InvalidArgumentError(message);
}

}  // namespace lastro::batch
