#include "stream_harness.h"

#include <curl/curl.h>
#include <signal.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "testing/wait_for.h"

namespace lastro::testing {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Http(const std::string& url, const std::string* body, long* status) {
  CURL* curl = curl_easy_init();
  std::string out;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  if (status) *status = rc == CURLE_OK ? code : 0;
  return out;
}

}  // namespace

std::string HttpGet(const std::string& url, long* status) { return Http(url, nullptr, status); }
std::string HttpPost(const std::string& url, const std::string& body, long* status) {
  return Http(url, &body, status);
}

StatusOr<std::unique_ptr<StreamHarness>> StreamHarness::Create(const HarnessOptions& options) {
  auto h = std::unique_ptr<StreamHarness>(new StreamHarness());
  h->options_ = options;
  h->dir_ = TestDir(options.name);
  if (options.pg_dsn.empty()) {
    LASTRO_ASSIGN_OR_RETURN(h->db_, TestDatabase::Create(options.name));
    h->dsn_ = h->db_->dsn();
    h->slot_ = h->db_->name();
  } else {
    h->dsn_ = options.pg_dsn;
    h->slot_ = "lastro_" + options.name;
  }
  LASTRO_ASSIGN_OR_RETURN(h->conn_, pg::Connection::Connect(h->dsn_, {"lastro-test"}));

  const char* src = std::getenv("LASTRO_SOURCE_DIR");
  std::string policy = absl::StrCat(src ? src : ".", "/config/policy.toml");
  h->config_ = h->dir_ + "/lastro.toml";
  std::ofstream(h->config_) << "[pg]\nslot = \"" << h->slot_ << "\"\n"
                            << "[stream]\npolicy_file = \"" << policy << "\"\n"
                            << "sweep_interval_s = " << options.sweep_interval_s << "\n"
                            << "sweep_threshold_s = " << options.sweep_threshold_s << "\n"
                            << "[metrics]\nstatsd_enabled = false\n"
                            << "[http]\naddr = \"127.0.0.1:0\"\n"
                            << options.extra_toml << "\n";

  LASTRO_ASSIGN_OR_RETURN(
      h->risk_, Subprocess::Start({LastroBin(), "sim", "risk-api", "--port", "0", "--latency-ms",
                                   std::to_string(options.risk_latency_ms), "--jitter-ms",
                                   std::to_string(options.risk_jitter_ms)},
                                  {{"LASTRO_RISK_TOKEN", options.risk_token}}, h->dir_ + "/risk"));
  if (!h->risk_->WaitForOutput("\"listening\"", std::chrono::seconds(10))) {
    return absl::UnavailableError("risk simulator did not start: " + h->risk_->Stderr());
  }
  std::smatch m;
  std::string out = h->risk_->Stdout();
  if (!std::regex_search(out, m, std::regex(R"re("listening":"([0-9.]+:[0-9]+)")re"))) {
    return absl::InternalError("cannot read the simulator's port: " + out);
  }
  h->risk_url_ = "http://" + m[1].str();
  return h;
}

StreamHarness::~StreamHarness() {
  if (stream_) StopStream(SIGKILL);
  if (risk_) risk_->Signal(SIGTERM);
}

Status StreamHarness::StartStream() {
  ++stream_starts_;
  LASTRO_ASSIGN_OR_RETURN(
      stream_, Subprocess::Start({LastroBin(), "stream", "--config", config_},
                                 {{"LASTRO_PG_DSN", dsn_}, {"LASTRO_RISK_URL", risk_url_}},
                                 absl::StrCat(dir_, "/stream", stream_starts_)));
  if (!stream_->WaitForOutput("replication stream attached", std::chrono::seconds(30))) {
    return absl::UnavailableError("stream did not attach: " + stream_->Stderr());
  }
  std::smatch m;
  std::string err = stream_->Stderr();
  if (!std::regex_search(err, m, std::regex(R"re("port":([0-9]+))re"))) {
    return absl::InternalError("cannot read the stream's port");
  }
  stream_url_ = "http://127.0.0.1:" + m[1].str();
  return absl::OkStatus();
}

void StreamHarness::StopStream(int sig) {
  if (!stream_) return;
  stream_->Signal(sig);
  stream_->Wait(std::chrono::seconds(30));
}

bool StreamHarness::stream_running() { return stream_ && stream_->running(); }

StatusOr<std::unique_ptr<Subprocess>> StreamHarness::StartGenerator(
    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {LastroBin(), "sim", "requests"};
  argv.insert(argv.end(), args.begin(), args.end());
  static int n = 0;
  return Subprocess::Start(argv, {{"LASTRO_PG_DSN", dsn_}}, absl::StrCat(dir_, "/gen", ++n));
}

StatusOr<int64_t> StreamHarness::Generate(const std::vector<std::string>& args) {
  LASTRO_ASSIGN_OR_RETURN(auto gen, StartGenerator(args));
  auto code = gen->Wait(std::chrono::seconds(120));
  if (!code || *code != 0) {
    return absl::InternalError("generator failed: " + gen->Stderr());
  }
  std::smatch m;
  std::string out = gen->Stdout();
  if (!std::regex_search(out, m, std::regex(R"re("inserted":([0-9]+))re"))) {
    return absl::InternalError("generator printed no report: " + out);
  }
  return std::stoll(m[1].str());
}

int64_t StreamHarness::Count(const std::string& sql) const {
  auto r = conn_->Exec(sql);
  if (!r.ok() || r->rows() == 0) {
    if (!conn_->healthy()) {
      auto again = pg::Connection::Connect(dsn_, {"lastro-test"});
      if (again.ok()) const_cast<StreamHarness*>(this)->conn_ = std::move(*again);
    }
    return -1;
  }
  return r->GetInt(0, 0);
}

bool StreamHarness::WaitNonePending(std::chrono::milliseconds timeout) const {
  return WaitFor(
      [&] { return Count("SELECT count(*) FROM credit_requests WHERE status = 'PENDING'") == 0; },
      timeout, std::chrono::milliseconds(100));
}

std::string StreamHarness::CheckDecidedExactlyOnce() const {
  std::string problems;
  auto check = [&](const char* what, const std::string& sql) {
    int64_t n = Count(sql);
    if (n != 0) problems += absl::StrCat(what, ": ", n, "; ");
  };
  check("pending", "SELECT count(*) FROM credit_requests WHERE status = 'PENDING'");
  check("requests without a decision or disagreeing with it",
        "SELECT count(*) FROM credit_requests r LEFT JOIN credit_decisions d "
        "ON d.request_id = r.id WHERE d.request_id IS NULL OR d.decision <> r.status");
  check("requests with more than one transition",
        "SELECT count(*) FROM (SELECT request_id FROM credit_request_status_history "
        "GROUP BY request_id HAVING count(*) > 1) x");
  check("decided requests without history",
        "SELECT count(*) FROM credit_requests r WHERE NOT EXISTS (SELECT 1 FROM "
        "credit_request_status_history h WHERE h.request_id = r.id)");
  check("requests not at version 2", "SELECT count(*) FROM credit_requests WHERE version <> 2");
  return problems;
}

double StreamHarness::Metric(const std::string& name) const {
  std::string text = HttpGet(stream_url_ + "/metrics");
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    found = true;
  }
  return found ? sum : -1;
}

}  // namespace lastro::testing
