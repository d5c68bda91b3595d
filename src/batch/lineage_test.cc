#include "batch/lineage.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <regex>
#include <set>

#include "testing/wait_for.h"
#include "web/http_server.h"

namespace lastro::batch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lineage_test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// ---- Ids, checksums, endpoints ---------------------------------------------------

TEST(NewRunId, IsACanonicalUuidV7StampedWithNow) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string id = NewRunId();
  EXPECT_TRUE(IsCanonicalUuid(id)) << id;
  EXPECT_TRUE(std::regex_match(
      id, std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")))
      << id;
  const int64_t ms = std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LT(ms, before + 5000);
}

TEST(NewRunId, IncreasesStrictlyEvenWithinOneMillisecond) {
  std::string previous = NewRunId();
  std::set<std::string> seen{previous};
  for (int i = 0; i < 20000; ++i) {
    std::string id = NewRunId();
    ASSERT_LT(previous, id);
    ASSERT_TRUE(seen.insert(id).second);
    previous = std::move(id);
  }
}

TEST(IsCanonicalUuid, RejectsUppercaseAndBadShapes) {
  EXPECT_TRUE(IsCanonicalUuid("01936d3e-8c1a-7b2f-9a4e-3f1c2b5d6e7f"));
  EXPECT_FALSE(IsCanonicalUuid("01936D3E-8C1A-7B2F-9A4E-3F1C2B5D6E7F"));
  EXPECT_FALSE(IsCanonicalUuid("01936d3e8c1a7b2f9a4e3f1c2b5d6e7f"));
  EXPECT_FALSE(IsCanonicalUuid("01936d3e-8c1a-7b2f-ca4e-3f1c2b5d6e7f"));  // variant
}

TEST(Rfc3339Utc, FormatsSecondsAndMillisInUtc) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795834800123));
  EXPECT_EQ(Rfc3339Utc(t), "2026-11-28T03:00:00Z");
  EXPECT_EQ(Rfc3339Utc(t, true), "2026-11-28T03:00:00.123Z");
}

TEST(Sha256File, MatchesKnownVectors) {
  TempDir dir;
  WriteFile(dir.path() / "empty", "");
  WriteFile(dir.path() / "abc", "abc");
  WriteFile(dir.path() / "million", std::string(1000000, 'a'));  // spans many chunks
  EXPECT_EQ(*Sha256File(dir.path() / "empty"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(*Sha256File(dir.path() / "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(*Sha256File(dir.path() / "million"),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256File, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_TRUE(absl::IsNotFound(Sha256File(dir.path() / "nope").status()));
}

TEST(PgEndpoint, KeepsHostPortDbnameAndDropsCredentials) {
  PgEndpoint kv = PgEndpoint::FromDsn(
      "host=db.internal port=6432 dbname=lastro user=etl password='s3cr et\\'x' sslmode=require");
  EXPECT_EQ(kv.ToString(), "host=db.internal port=6432 dbname=lastro");
  EXPECT_EQ(kv.Namespace(), "postgres://db.internal:6432");

  PgEndpoint uri =
      PgEndpoint::FromDsn("postgresql://etl:s3cret@replica-1:5433/lastro?sslmode=require");
  EXPECT_EQ(uri.ToString(), "host=replica-1 port=5433 dbname=lastro");

  PgEndpoint v6 = PgEndpoint::FromDsn("postgres://[::1]:5439/x");
  EXPECT_EQ(v6.Namespace(), "postgres://::1:5439");

  PgEndpoint defaults = PgEndpoint::FromDsn("dbname=lastro");
  EXPECT_EQ(defaults.ToString(), "host=localhost port=5432 dbname=lastro");
}

// ---- Manifest --------------------------------------------------------------------

RunManifest SampleManifest() {
  RunManifest m;
  m.run_id = "01936d3e-8c1a-7b2f-9a4e-3f1c2b5d6e7f";
  m.code_version = "0.1.0";
  m.batch_date_from = "2026-11-20";
  m.batch_date_to = "2026-11-21";
  m.mode = RunMode::kBackfill;
  m.state = RunState::kFailed;
  m.error = "quality rule not_null_customer_token breached";
  m.started_at = "2026-11-28T03:00:00Z";
  m.finished_at = "2026-11-28T03:04:10Z";
  m.source = {.dsn_host = "host=replica-1 port=5433 dbname=lastro",
              .is_replica = true,
              .replica_lag_s = 1.5,
              .snapshot = "812:815:812,813",
              .snapshot_time = "2026-11-28T03:00:01Z",
              .watermark_from = "2026-11-27T02:00:00Z",
              .watermark_to = "2026-11-28T03:00:01Z"};
  m.inputs = {{"public.credit_requests", 1200}, {"public.credit_decisions", 1100}};
  m.outputs = {
      {.zone = "silver",
       .table = "credit_requests",
       .version = m.run_id,
       .files = {{"request_date=2026-11-20/part-0.parquet", 4096, 600, std::string(64, 'a')},
                 {"request_date=2026-11-21/part-0.parquet", 4000, 590, std::string(64, 'b')}},
       .rows = 1190}};
  m.rules = {{.id = "not_null_customer_token",
              .type = "not_null",
              .severity = "error",
              .table = "silver/credit_requests",
              .column = "customer_token",
              .checked = 1200,
              .failed = 10,
              .ratio = 10.0 / 1200,
              .threshold = 0.001,
              .passed = false,
              .breached = true,
              .message = "10 rows without customer_token"}};
  m.phases = {{"extract", 12.5, 1200}, {"publish", 0.25, 1190}};
  m.counts = {.extracted = 1200, .published = 1190, .quarantined = 10};
  return m;
}

TEST(RunManifest, RoundTripsThroughJsonText) {
  const RunManifest m = SampleManifest();
  const json first = m.ToJson();
  auto back = RunManifest::FromJson(json::parse(first.dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), first);
  EXPECT_EQ(back->mode, RunMode::kBackfill);
  EXPECT_EQ(back->state, RunState::kFailed);
  EXPECT_EQ(back->source.replica_lag_s, 1.5);
  EXPECT_EQ(back->outputs[0].files[1].sha256, std::string(64, 'b'));
  EXPECT_EQ(first["batch_dates"]["from"], "2026-11-20");
  EXPECT_EQ(first["state"], "FAILED");
}

TEST(RunManifest, NullReplicaLagIsAbsent) {
  RunManifest m = SampleManifest();
  m.source.replica_lag_s.reset();
  json j = m.ToJson();
  EXPECT_TRUE(j["source"]["replica_lag_s"].is_null());
  auto back = RunManifest::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->source.replica_lag_s.has_value());
}

TEST(RunManifest, RejectsMissingOrMistypedFieldsNamingThePath) {
  const json good = SampleManifest().ToJson();
  struct Case {
    std::function<void(json&)> damage;
    std::string path;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j.erase("run_id"); }, "run_id: missing"},
      {[](json& j) { j["batch_dates"].erase("to"); }, "batch_dates.to: missing"},
      {[](json& j) { j["source"].erase("snapshot"); }, "source.snapshot: missing"},
      {[](json& j) { j["outputs"][0]["files"][1].erase("sha256"); },
       "outputs[0].files[1].sha256: missing"},
      {[](json& j) { j["rules"][0]["failed"] = "ten"; }, "rules[0].failed: not an integer"},
      {[](json& j) { j["counts"].erase("quarantined"); }, "counts.quarantined: missing"},
      {[](json& j) { j["mode"] = "weekly"; }, "mode: 'weekly'"},
      {[](json& j) { j["state"] = "RUNNING"; }, "state: 'RUNNING'"},
      {[](json& j) { j.erase("phases"); }, "phases: missing"},
  };
  for (const auto& c : cases) {
    json j = good;
    c.damage(j);
    auto m = RunManifest::FromJson(j);
    ASSERT_FALSE(m.ok()) << c.path;
    EXPECT_TRUE(absl::IsInvalidArgument(m.status())) << m.status();
    EXPECT_NE(m.status().message().find(c.path), std::string::npos) << m.status();
  }
}

TEST(WriteJsonFileAtomic, WritesAndReadsBackLeavingNoTemporaryFile) {
  TempDir dir;
  const fs::path path = dir.path() / "run" / "manifest.json";
  ASSERT_TRUE(WriteJsonFileAtomic(path, SampleManifest().ToJson()).ok());
  auto read = ReadJsonFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, SampleManifest().ToJson());
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(path.parent_path())) ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_TRUE(absl::IsNotFound(ReadJsonFile(dir.path() / "nope.json").status()));
}

// ---- OpenLineage events, checked against the spec's required fields ----------------

json Spec() {
  auto spec = ReadJsonFile(fs::path(LASTRO_BATCH_TESTDATA_DIR) / "openlineage_required.json");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : json::object();
}

bool IsRfc3339(const json& v) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}

bool IsUri(const json& v) {
  static const std::regex re(R"(^[a-z][a-z0-9+.-]*://\S+$)");
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}

void ExpectRequired(const json& object, const json& required, const std::string& where) {
  ASSERT_TRUE(object.is_object()) << where << " is not an object";
  for (const auto& key : required) {
    EXPECT_TRUE(object.contains(key.get<std::string>())) << where << " lacks " << key;
  }
}

// Checks each facet of one facets object against its kind in the spec file.
void ExpectFacets(const json& facets, const json& spec, const std::string& kind,
                  const std::string& where) {
  ASSERT_TRUE(facets.is_object()) << where;
  for (const auto& [name, facet] : facets.items()) {
    const std::string at = where + "." + name;
    ASSERT_TRUE(spec["facets"][kind].contains(name)) << at << ": facet not in the spec file";
    const json& rule = spec["facets"][kind][name];
    ExpectRequired(facet, spec["BaseFacet"]["required"], at);
    ExpectRequired(facet, rule["required"], at);
    EXPECT_EQ(facet["_schemaURL"], rule["schemaURL"]) << at;
    EXPECT_TRUE(IsUri(facet["_producer"])) << at;
    const json items = rule.value("items", json::object());
    for (const auto& [array, item_required] : items.items()) {
      if (!facet.contains(array)) continue;
      for (size_t i = 0; i < facet[array].size(); ++i) {
        ExpectRequired(facet[array][i], item_required,
                       at + "." + array + "[" + std::to_string(i) + "]");
      }
    }
    const json date_times = rule.value("date_time", json::array());
    for (const auto& field : date_times) {
      if (facet.contains(field)) {
        EXPECT_TRUE(IsRfc3339(facet[field.get<std::string>()])) << at << "." << field;
      }
    }
  }
}

void ExpectValidRunEvent(const json& event) {
  const json spec = Spec();
  ExpectRequired(event, spec["RunEvent"]["required"], "event");
  EXPECT_EQ(event["schemaURL"], spec["RunEvent"]["schemaURL"]);
  const auto& types = spec["RunEvent"]["eventType"];
  EXPECT_NE(std::find(types.begin(), types.end(), event["eventType"]), types.end());
  EXPECT_TRUE(IsRfc3339(event["eventTime"])) << event["eventTime"];
  EXPECT_TRUE(IsUri(event["producer"])) << event["producer"];
  ExpectRequired(event["run"], spec["Run"]["required"], "run");
  EXPECT_TRUE(IsCanonicalUuid(event["run"]["runId"].get<std::string>()));
  ExpectFacets(event["run"].value("facets", json::object()), spec, "run", "run.facets");
  ExpectRequired(event["job"], spec["Job"]["required"], "job");
  ExpectFacets(event["job"].value("facets", json::object()), spec, "job", "job.facets");
  for (const char* side : {"inputs", "outputs"}) {
    const bool input = std::string(side) == "inputs";
    for (size_t i = 0; i < event.value(side, json::array()).size(); ++i) {
      const json& d = event[side][i];
      const std::string at = std::string(side) + "[" + std::to_string(i) + "]";
      ExpectRequired(d, spec["Dataset"]["required"], at);
      ExpectFacets(d.value("facets", json::object()), spec, "dataset", at + ".facets");
      const char* io = input ? "inputFacets" : "outputFacets";
      EXPECT_FALSE(d.contains(input ? "outputFacets" : "inputFacets")) << at;
      ExpectFacets(d.value(io, json::object()), spec, input ? "input" : "output", at + "." + io);
    }
  }
}

RunEventInput SampleEvent(EventType type) {
  RunEventInput in;
  in.type = type;
  in.event_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795834800123));
  in.run_id = NewRunId();
  in.code_version = "0.1.0";
  in.nominal_start = std::chrono::system_clock::time_point(std::chrono::seconds(1795143600));
  in.nominal_end = in.nominal_start + std::chrono::hours(24);
  if (type == EventType::kFail) in.error_message = "extract: statement timeout";
  const PgEndpoint pg = PgEndpoint::FromDsn("host=db port=5432 dbname=lastro password=secret");
  LineageDataset input{.ns = pg.Namespace(),
                       .name = pg.dbname + ".public.credit_requests",
                       .fields = {{"request_id", "bigint"}, {"status", "text"}},
                       .source_name = pg.Namespace(),
                       .source_uri = pg.Namespace()};
  LineageDataset output{.ns = "file:///var/lake",
                        .name = "silver/credit_requests",
                        .fields = {{"request_id", "BIGINT"}, {"reason_codes", "VARCHAR[]"}},
                        .source_name = "lastro-lake",
                        .source_uri = "file:///var/lake"};
  if (type != EventType::kStart) {
    input.row_count = 1200;
    input.null_counts = {{"customer_token", 10}};
    input.assertions = {{"not_null_customer_token", false, "customer_token", "error"},
                        {"row_count_positive", true, "", ""}};
    output.row_count = 1190;
    output.bytes = 8096;
  }
  in.inputs = {input};
  in.outputs = {output};
  return in;
}

TEST(MakeRunEvent, StartCompleteAndFailCarryEveryRequiredField) {
  for (EventType type : {EventType::kStart, EventType::kComplete, EventType::kFail}) {
    SCOPED_TRACE(std::string(EventTypeName(type)));
    const json event = MakeRunEvent(SampleEvent(type));
    ExpectValidRunEvent(event);
    EXPECT_EQ(event["eventType"], EventTypeName(type));
    EXPECT_EQ(event["eventTime"], "2026-11-28T03:00:00.123Z");
    EXPECT_EQ(event["producer"], "https://github.com/lastro/lastro/tree/0.1.0");
    const json& run = event["run"]["facets"];
    EXPECT_EQ(run["nominalTime"]["nominalStartTime"], "2026-11-20T03:00:00.000Z");
    EXPECT_EQ(run["processing_engine"]["name"], "lastro");
    EXPECT_EQ(run.contains("errorMessage"), type == EventType::kFail);
    EXPECT_EQ(event["job"]["facets"]["jobType"]["processingType"], "BATCH");
    EXPECT_EQ(event["job"]["facets"]["jobType"]["integration"], "LASTRO");
    EXPECT_EQ(event["inputs"][0]["namespace"], "postgres://db:5432");
    EXPECT_EQ(event["inputs"][0]["name"], "lastro.public.credit_requests");
    EXPECT_EQ(event["outputs"][0]["name"], "silver/credit_requests");
    EXPECT_EQ(event.dump().find("secret"), std::string::npos);
  }
}

TEST(MakeRunEvent, CompleteCarriesQualityAndOutputStatistics) {
  const json event = MakeRunEvent(SampleEvent(EventType::kComplete));
  const json& in = event["inputs"][0]["inputFacets"];
  EXPECT_EQ(in["dataQualityMetrics"]["rowCount"], 1200);
  EXPECT_EQ(in["dataQualityMetrics"]["columnMetrics"]["customer_token"]["nullCount"], 10);
  EXPECT_EQ(in["dataQualityAssertions"]["assertions"][0]["success"], false);
  EXPECT_EQ(in["dataQualityAssertions"]["assertions"][0]["column"], "customer_token");
  EXPECT_FALSE(in["dataQualityAssertions"]["assertions"][1].contains("column"));
  const json& out = event["outputs"][0]["outputFacets"]["outputStatistics"];
  EXPECT_EQ(out["rowCount"], 1190);
  EXPECT_EQ(out["size"], 8096);
}

TEST(MakeRunEvent, CheckerCatchesAMissingRequiredField) {
  // The generic check is not vacuous: a facet without a required key fails it.
  json event = MakeRunEvent(SampleEvent(EventType::kFail));
  event["run"]["facets"]["errorMessage"].erase("programmingLanguage");
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    ExpectValidRunEvent(event);
  }
  ASSERT_EQ(failures.size(), 1);
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("programmingLanguage"),
            std::string::npos);
}

TEST(LakeNamespace, IsAnAbsoluteFileUri) {
  TempDir dir;
  EXPECT_EQ(LakeNamespace(dir.path() / "lake" / ".." / "lake/"),
            "file://" + fs::canonical(dir.path()).string() + "/lake");
}

// ---- Emitter -----------------------------------------------------------------------

struct Received {
  std::mutex mu;
  std::vector<std::pair<std::string, json>> events;  // content type, body
};

std::unique_ptr<web::HttpServer> LineageServer(Received& received, int status = 201) {
  auto server = web::HttpServer::Create({.addr = "127.0.0.1:0"});
  EXPECT_TRUE(server.ok()) << server.status();
  (*server)->Route("POST", "/api/v1/lineage",
                   [&received, status](const web::Request& req, const web::Responder& r) {
                     {
                       std::lock_guard<std::mutex> lock(received.mu);
                       received.events.emplace_back(req.Header("content-type"),
                                                    json::parse(req.body, nullptr, false));
                     }
                     r.Send(web::Response::Json(status, "{}"));
                   });
  EXPECT_TRUE((*server)->Start().ok());
  return std::move(*server);
}

std::string Endpoint(const web::HttpServer& server) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/lineage";
}

TEST(LineageEmitter, WritesNumberedFilesAndPostsThem) {
  TempDir dir;
  Received received;
  auto server = LineageServer(received);
  auto emitter = LineageEmitter::Create({.endpoint = Endpoint(*server), .timeout_ms = 5000},
                                        dir.path() / "run");
  ASSERT_TRUE(emitter.ok()) << emitter.status();
  const json start = MakeRunEvent(SampleEvent(EventType::kStart));
  const json complete = MakeRunEvent(SampleEvent(EventType::kComplete));
  EmitResult result;
  ASSERT_TRUE((*emitter)->Emit(start, &result).ok());
  EXPECT_TRUE(result.post_attempted);
  EXPECT_TRUE(result.post.ok()) << result.post;
  ASSERT_TRUE((*emitter)->Emit(complete, &result).ok());
  EXPECT_TRUE(result.post.ok()) << result.post;

  const fs::path events = dir.path() / "run" / "openlineage";
  EXPECT_EQ(result.file, events / "0002-COMPLETE.json");
  EXPECT_EQ(*ReadJsonFile(events / "0001-START.json"), start);
  EXPECT_EQ(*ReadJsonFile(events / "0002-COMPLETE.json"), complete);
  std::lock_guard<std::mutex> lock(received.mu);
  ASSERT_EQ(received.events.size(), 2u);
  EXPECT_EQ(received.events[0].first, "application/json");
  EXPECT_EQ(received.events[0].second, start);
  EXPECT_EQ(received.events[1].second, complete);
}

TEST(LineageEmitter, WithoutEndpointWritesFilesOnly) {
  TempDir dir;
  auto emitter = LineageEmitter::Create({}, dir.path());
  ASSERT_TRUE(emitter.ok()) << emitter.status();
  EmitResult result;
  ASSERT_TRUE((*emitter)->Emit(MakeRunEvent(SampleEvent(EventType::kStart)), &result).ok());
  EXPECT_FALSE(result.post_attempted);
  EXPECT_TRUE(result.post.ok());
  EXPECT_TRUE(fs::exists(dir.path() / "openlineage" / "0001-START.json"));
}

TEST(LineageEmitter, SurvivesADeadEndpointAndKeepsTheFile) {
  TempDir dir;
  std::string dead;
  {
    Received unused;
    auto server = LineageServer(unused);
    dead = Endpoint(*server);
  }  // stopped: the port now refuses connections
  auto emitter = LineageEmitter::Create({.endpoint = dead, .timeout_ms = 2000}, dir.path());
  ASSERT_TRUE(emitter.ok()) << emitter.status();
  EmitResult result;
  EXPECT_TRUE((*emitter)->Emit(MakeRunEvent(SampleEvent(EventType::kFail)), &result).ok());
  EXPECT_TRUE(result.post_attempted);
  EXPECT_TRUE(absl::IsUnavailable(result.post)) << result.post;
  EXPECT_TRUE(fs::exists(dir.path() / "openlineage" / "0001-FAIL.json"));
}

TEST(LineageEmitter, ServerErrorsAndTimeoutsAreNonFatal) {
  TempDir dir;
  Received received;
  auto failing = LineageServer(received, 503);
  auto emitter = LineageEmitter::Create({.endpoint = Endpoint(*failing)}, dir.path());
  ASSERT_TRUE(emitter.ok());
  EmitResult result;
  EXPECT_TRUE((*emitter)->Emit(MakeRunEvent(SampleEvent(EventType::kStart)), &result).ok());
  EXPECT_TRUE(absl::IsUnavailable(result.post)) << result.post;

  // A server that never answers: the POST gives up after timeout_ms.
  auto silent = web::HttpServer::Create({.addr = "127.0.0.1:0"});
  ASSERT_TRUE(silent.ok());
  std::mutex mu;
  std::vector<web::Responder> held;  // keeps the requests unanswered
  (*silent)->Route("POST", "/api/v1/lineage", [&](const web::Request&, const web::Responder& r) {
    std::lock_guard<std::mutex> lock(mu);
    held.push_back(r);
  });
  ASSERT_TRUE((*silent)->Start().ok());
  auto slow = LineageEmitter::Create({.endpoint = Endpoint(**silent), .timeout_ms = 200},
                                     dir.path() / "slow");
  ASSERT_TRUE(slow.ok());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE((*slow)->Emit(MakeRunEvent(SampleEvent(EventType::kStart)), &result).ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.post)) << result.post;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  (*silent)->Stop();
  std::lock_guard<std::mutex> lock(mu);
  held.clear();
}

TEST(LineageEmitter, ContinuesNumberingInAnExistingRunFolder) {
  TempDir dir;
  {
    auto first = LineageEmitter::Create({}, dir.path());
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE((*first)->Emit(MakeRunEvent(SampleEvent(EventType::kStart))).ok());
  }
  auto second = LineageEmitter::Create({}, dir.path());
  ASSERT_TRUE(second.ok());
  EmitResult result;
  ASSERT_TRUE((*second)->Emit(MakeRunEvent(SampleEvent(EventType::kFail)), &result).ok());
  EXPECT_EQ(result.file.filename(), "0002-FAIL.json");
}

TEST(LineageEmitter, RejectsBadEndpointsAndEventsWithoutType) {
  TempDir dir;
  EXPECT_TRUE(absl::IsInvalidArgument(
      LineageEmitter::Create({.endpoint = "ftp://x/y"}, dir.path()).status()));
  auto emitter = LineageEmitter::Create({}, dir.path());
  ASSERT_TRUE(emitter.ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*emitter)->Emit(json{{"run", {}}})));
  EXPECT_TRUE(absl::IsInvalidArgument((*emitter)->Emit(json{{"eventType", "../x"}})));
}

}  // namespace
}  // namespace lastro::batch
