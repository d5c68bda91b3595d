#include "batch_harness.h"

#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"

namespace lastro::testing {
namespace {

// Valid CPFs from a number: nine digits plus the two check digits.
constexpr const char* kCpfFunction = R"sql(
CREATE OR REPLACE FUNCTION pg_temp.test_cpf(n bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE b text := lpad((n % 1000000000)::text, 9, '0'); s int := 0; d1 int; d2 int; i int;
BEGIN
  FOR i IN 1..9 LOOP s := s + substr(b, i, 1)::int * (11 - i); END LOOP;
  d1 := (s * 10) % 11; IF d1 = 10 THEN d1 := 0; END IF;
  s := 0;
  FOR i IN 1..9 LOOP s := s + substr(b, i, 1)::int * (12 - i); END LOOP;
  s := s + d1 * 2;
  d2 := (s * 10) % 11; IF d2 = 10 THEN d2 := 0; END IF;
  RETURN b || d1 || d2;
END $$;
)sql";

std::string SourceDir() {
  const char* src = std::getenv("LASTRO_SOURCE_DIR");
  return src ? src : ".";
}

}  // namespace

std::map<std::string, std::string> BatchEnv() {
  return {{"LASTRO_TOKEN_KEY", "integration-test-token-key-0123456789"},
          {"LASTRO_MASTER_KEY", kTestMasterKey}};
}

StatusOr<std::unique_ptr<BatchHarness>> BatchHarness::Create(const BatchHarnessOptions& options) {
  auto h = std::unique_ptr<BatchHarness>(new BatchHarness());
  h->dir_ = TestDir(options.name);
  h->lake_dir_ = h->dir_ + "/lake";
  if (options.pg_dsn.empty()) {
    LASTRO_ASSIGN_OR_RETURN(h->db_, TestDatabase::Create(options.name));
    h->dsn_ = h->db_->dsn();
  } else {
    h->dsn_ = options.pg_dsn;
  }
  LASTRO_ASSIGN_OR_RETURN(h->conn_, pg::Connection::Connect(h->dsn_, {"lastro-test"}));
  LASTRO_ASSIGN_OR_RETURN(h->engine_, lake::Engine::Open({.memory_limit = "512MB", .threads = 2}));

  // A bureau that answers late now and then (retried) and sometimes unknown.
  LASTRO_ASSIGN_OR_RETURN(
      h->bureau_, Subprocess::Start({LastroBin(), "sim", "bureau", "--port", "0", "--late-rate",
                                     "0.05", "--late-ms", "400", "--latency-ms", "2"},
                                    {}, h->dir_ + "/bureau"));
  if (!h->bureau_->WaitForOutput("\"listening\"", std::chrono::seconds(10))) {
    return absl::UnavailableError("bureau simulator did not start: " + h->bureau_->Stderr());
  }
  std::smatch m;
  std::string out = h->bureau_->Stdout();
  if (!std::regex_search(out, m, std::regex(R"re("listening":"([^"]+)")re"))) {
    return absl::InternalError("bureau simulator printed no address: " + out);
  }
  std::string rules =
      options.quality_rules.empty() ? SourceDir() + "/config/quality.toml" : options.quality_rules;
  h->rules_ = rules;
  h->bureau_addr_ = m[1].str();
  h->extra_toml_ = options.extra_toml;
  h->statsd_ = options.statsd;
  h->config_ = h->WriteConfig("lastro.toml", options.batch_settings);
  return h;
}

BatchHarness::~BatchHarness() = default;

std::string BatchHarness::WriteConfig(const std::string& file, const std::string& batch_settings) {
  std::string path = dir_ + "/" + file;
  std::ofstream(path) << "[pg]\ndsn = \"" << dsn_ << "\"\n"
                      << "[lake]\ndir = \"" << lake_dir_ << "\"\nmemory_limit = \"512MB\"\n"
                      << "[batch]\nquality_rules = \"" << rules_ << "\"\n"
                      << batch_settings << "\n"
                      << "[bureau]\nurl = \"http://" << bureau_addr_ << "\"\n"
                      << "timeout_ms = 200\n"
                      << "[metrics]\nstatsd_enabled = " << (statsd_ ? "true" : "false") << "\n"
                      << extra_toml_ << "\n";
  return path;
}

Status BatchHarness::Seed(int64_t requests, int64_t customers, int days) {
  LASTRO_RETURN_IF_ERROR(conn_->Exec(kCpfFunction).status());
  LASTRO_RETURN_IF_ERROR(
      conn_
          ->Exec(absl::StrCat(
              "INSERT INTO customers (cpf, full_name, email, phone, birth_date, "
              "monthly_income_cents, state, acquisition_channel, created_at, updated_at) "
              "SELECT pg_temp.test_cpf(100000000 + i * 7919), 'Cliente ' || i, "
              "'c' || i || '@example.com', '+5511' || lpad(i::text, 9, '9'), "
              "date '1960-01-01' + (i % 15000)::int, "
              "300000 + (i % 50) * 10000, (ARRAY['SP','RJ','MG','RS','PR'])[1 + i % 5], "
              "(ARRAY['organic','paid_search','social','referral','partner','tv'])[1 + i % 6], "
              "timestamptz '2026-10-01 12:00:00-03', timestamptz '2026-10-01 12:00:00-03' "
              "FROM generate_series(1, ",
              customers, ") i"))
          .status());
  LASTRO_RETURN_IF_ERROR(
      conn_
          ->Exec(absl::StrCat(
              "INSERT INTO credit_requests (customer_id, amount_cents, term_months, purpose, "
              "channel, declared_income_cents, status, version, created_at, updated_at, "
              "decided_at) "
              "SELECT (SELECT min(id) FROM customers) + i % ",
              customers,
              ", 100000 + (i * 37) % 5000000, 6 + i % 48, "
              "(ARRAY['personal','debt_consolidation','vehicle','home_improvement','education',"
              "'business','medical','other'])[1 + i % 8], "
              "(ARRAY['app_ios','app_android','web','partner','call_center'])[1 + i % 5], "
              "CASE WHEN i % 10 = 0 THEN NULL ELSE 500000 + (i % 100) * 1000 END, s.status, "
              "CASE WHEN s.status = 'PENDING' THEN 1 ELSE 2 END, t.ts, "
              "t.ts + CASE WHEN s.status = 'PENDING' THEN interval '0' ELSE interval '2 s' END, "
              "CASE WHEN s.status <> 'PENDING' THEN t.ts + interval '2 s' END "
              "FROM generate_series(0, ",
              requests - 1,
              ") i "
              "CROSS JOIN LATERAL (SELECT timestamptz '2026-11-01 00:00:00-03' + "
              "(i::float8 / ",
              requests, ") * interval '", days,
              " days' AS ts) t "
              "CROSS JOIN LATERAL (SELECT (ARRAY['APPROVED','APPROVED','REJECTED',"
              "'MANUAL_REVIEW','APPROVED','PENDING','APPROVED','REJECTED','APPROVED','FAILED'])"
              "[1 + i % 10] AS status) s"))
          .status());
  return conn_
      ->Exec(
          "INSERT INTO credit_decisions (request_id, decision, score, risk_band, "
          "probability_of_default, reason_codes, provider_reason_codes, first_time_customer, "
          "provider_ref, provider_model_version, policy_version, attempts, "
          "provider_latency_ms, decided_at) "
          "SELECT id, status, (id * 7) % 1001, 'B', 0.05, ARRAY['DEFAULT_APPROVED'], "
          "ARRAY['STABLE_INCOME'], false, 'ref-' || id, 'sim-1', 'seed', 1, 12.5, decided_at "
          "FROM credit_requests WHERE status <> 'PENDING'; "
          // The decision's transition, as the stream records it (stream_store.cc), for
          // three decided requests in four; the fourth stands for data older than the
          // history table, which the gold model derives from the request instead.
          "INSERT INTO credit_request_status_history (request_id, from_status, to_status, "
          "changed_by, reason, changed_at) "
          "SELECT id, 'PENDING', status, 'lastro-stream', 'policy seed', decided_at "
          "FROM credit_requests WHERE status <> 'PENDING' AND id % 4 <> 0; ANALYZE")
      .status();
}

Status BatchHarness::SeedBatchRefresh(int64_t requests, int64_t customers) {
  LASTRO_RETURN_IF_ERROR(Seed(requests, customers));
  CommandResult batch = Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"});
  if (batch.exit_code != 0) return absl::InternalError("batch run failed: " + batch.err);
  CommandResult refresh = Lastro({"refresh"});
  if (refresh.exit_code != 0 || refresh.out.find("\"state\":\"PUBLISHED\"") == std::string::npos) {
    return absl::InternalError(
        absl::StrCat("refresh published nothing: ", refresh.out, refresh.err));
  }
  return absl::OkStatus();
}

std::string BatchHarness::CurrentCatalog() const {
  std::error_code ec;
  return std::filesystem::read_symlink(std::filesystem::path(lake_dir_) / "catalog", ec)
      .filename()
      .string();
}

CommandResult BatchHarness::Lastro(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env) {
  CommandResult r;
  std::vector<std::string> argv = {LastroBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--config");
  argv.push_back(config_);
  std::map<std::string, std::string> all = Env();
  for (const auto& [k, v] : env) all[k] = v;
  static int n = 0;
  auto p = Subprocess::Start(argv, all, absl::StrCat(dir_, "/cmd-", ++n));
  if (!p.ok()) {
    r.err = std::string(p.status().message());
    return r;
  }
  auto code = (*p)->Wait(std::chrono::minutes(5));
  r.exit_code = code.value_or(-1);
  r.out = (*p)->Stdout();
  r.err = (*p)->Stderr();
  return r;
}

StatusOr<std::unique_ptr<Subprocess>> BatchHarness::StartLastro(
    const std::vector<std::string>& args, const std::string& log_name) {
  std::vector<std::string> argv = {LastroBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--config");
  argv.push_back(config_);
  return Subprocess::Start(argv, Env(), dir_ + "/" + log_name);
}

std::map<std::string, std::string> BatchHarness::Env() const {
  std::map<std::string, std::string> env = BatchEnv();
  env["LASTRO_GOVERNANCE_DIR"] = governance_dir();
  return env;
}

StatusOr<lake::QueryResult> BatchHarness::Lake(const std::string& sql) {
  std::string views;
  for (const auto& [view, path, glob] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"silver_requests", "silver/credit_requests", "*/*.parquet"},
           {"silver_customers", "silver/customers", "*.parquet"},
           {"quarantine", "quarantine/credit_requests", "*/*.parquet"},
           {"quality", "quality/rule_results", "*/*.parquet"},
           {"bronze_requests", "bronze/credit_requests", "*/*.parquet"},
           {"silver_history", "silver/credit_request_status_history", "*/*.parquet"},
           {"bronze_history", "bronze/credit_request_status_history", "*/*.parquet"},
           {"bureau_scores", "bronze/bureau_scores", "*/*.parquet"}}) {
    bool has_files = false;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(lake_dir_ + "/" + path, ec);
         !ec && it != std::filesystem::end(it); it.increment(ec)) {
      if (it->path().extension() == ".parquet") has_files = true;
    }
    if (has_files) {
      absl::StrAppend(&views, "CREATE OR REPLACE VIEW ", view, " AS SELECT * FROM read_parquet(",
                      lake::SqlString(lake_dir_ + "/" + path + "/" + glob),
                      ", hive_partitioning = true);");
    }
  }
  if (!views.empty()) LASTRO_RETURN_IF_ERROR(engine_->Execute(views));
  return engine_->Query(sql);
}

std::map<std::string, int64_t> BatchHarness::SilverCountsByDay() {
  std::map<std::string, int64_t> out;
  auto r = Lake("SELECT request_date::VARCHAR, count(*) FROM silver_requests GROUP BY 1");
  if (!r.ok()) return out;
  for (size_t i = 0; i < r->rows(); ++i) out[*r->Text(i, 0)] = *r->Int(i, 1);
  return out;
}

std::map<std::string, int64_t> BatchHarness::PgCountsByDay(const std::string& where) {
  std::map<std::string, int64_t> out;
  auto r = conn_->Exec(
      absl::StrCat("SELECT (created_at AT TIME ZONE 'America/Sao_Paulo')::date::text, count(*) "
                   "FROM credit_requests WHERE ",
                   where, " GROUP BY 1"));
  if (!r.ok()) return out;
  for (int i = 0; i < r->rows(); ++i) out[std::string(r->Get(i, 0))] = r->GetInt(i, 1);
  return out;
}

std::string BatchHarness::SilverDigest() {
  auto r = Lake(
      "SELECT count(*)::VARCHAR || ':' || sum(hash(request_id, customer_token, amount_cents, "
      "status, version, created_at, updated_at, decision, risk_score, reason_codes::VARCHAR, "
      "bureau_score, bureau_status, request_date))::VARCHAR FROM silver_requests");
  if (!r.ok()) return std::string(r.status().message());
  return r->Text(0, 0).value_or("");
}

std::string BatchHarness::SilverHistoryDigest() {
  auto r = Lake(
      "SELECT count(*)::VARCHAR || ':' || sum(hash(id, request_id, from_status, to_status, "
      "changed_at, changed_by, reason, request_date))::VARCHAR FROM silver_history");
  if (!r.ok()) return std::string(r.status().message());
  return r->Text(0, 0).value_or("");
}

int64_t BatchHarness::PgCount(const std::string& sql) {
  auto r = conn_->Exec(sql);
  if (!r.ok() || r->rows() == 0) return -1;
  return r->GetInt(0, 0);
}

std::string BatchHarness::PgText(const std::string& sql) {
  auto r = conn_->Exec(sql);
  if (!r.ok() || r->rows() == 0) return "";
  return std::string(r->Get(0, 0));
}

Status BatchHarness::PgExec(const std::string& sql) { return conn_->Exec(sql).status(); }

}  // namespace lastro::testing
