#include "sim/event_log_sim.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <queue>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/iso_date.h"

namespace lastro::sim {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// A small, portable generator (SplitMix64): the same seed gives the same files on any
// standard library, unlike std:: distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int64_t Uniform(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  template <size_t N>
  const char* Pick(const std::array<const char*, N>& items) {
    return items[Next() % N];
  }
  std::string Uuid() {  // version 4 layout
    const uint64_t a = Next(), b = Next();
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF,
                       a & 0xFFF, 0x8000 | ((b >> 48) & 0x3FFF), b & 0xFFFFFFFFFFFFULL);
  }

 private:
  uint64_t state_;
};

uint64_t Mix(uint64_t a, uint64_t b) { return Rng(a * 0x100000001B3ULL ^ b).Next(); }

constexpr std::array<const char*, 6> kScreens = {"home",    "offers", "simulator",
                                                 "profile", "help",   "documents"};
constexpr std::array<const char*, 4> kProducts = {"personal", "payroll", "vehicle_equity",
                                                  "home_equity"};
constexpr std::array<const char*, 5> kPurposes = {"debt_consolidation", "personal",
                                                  "home_improvement", "education", "business"};
constexpr std::array<const char*, 4> kDocuments = {"rg", "cnh", "proof_of_income",
                                                   "proof_of_address"};
constexpr std::array<int64_t, 5> kTerms = {6, 12, 18, 24, 36};
// Session starts per hour of the day, 06:00..22:00 (lunch and evening peaks).
constexpr std::array<double, 17> kHourWeights = {1, 2, 4, 5, 6, 6, 8, 7, 6, 6, 6, 7, 8, 9, 8, 6, 3};

struct Device {
  std::string os, model, app_version, anonymous_id;
};

Device DeviceOf(uint64_t seed, int64_t who) {
  Rng rng(Mix(seed, static_cast<uint64_t>(who)));
  const bool ios = rng.Chance(0.3);
  static constexpr std::array<const char*, 4> kAndroid = {"Galaxy A54", "Moto G84", "Redmi Note 13",
                                                          "Galaxy S23"};
  static constexpr std::array<const char*, 3> kIphone = {"iPhone 13", "iPhone 15", "iPhone SE"};
  static constexpr std::array<const char*, 4> kVersions = {"4.10.2", "4.11.0", "4.12.0", "4.12.1"};
  return {ios ? "ios" : "android", ios ? rng.Pick(kIphone) : rng.Pick(kAndroid),
          rng.Pick(kVersions), rng.Uuid()};
}

// One event before serialisation.
struct Event {
  absl::Time occurred, received;
  std::string id, type, anonymous_id, session_id;
  int64_t customer_id = 0;  // 0 = not logged in
  const Device* device = nullptr;
  Json properties = Json::object();
  bool late = false;
};

std::string Rfc3339Local(absl::Time t, const absl::TimeZone& zone) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", t, zone);
}

Json ToJson(const Event& e, const absl::TimeZone& zone) {
  Json j;
  j["event_id"] = e.id;
  j["event_type"] = e.type;
  j["occurred_at"] = Rfc3339Local(e.occurred, zone);
  j["received_at"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", e.received, absl::UTCTimeZone());
  j["anonymous_id"] = e.anonymous_id;
  j["customer_id"] = e.customer_id > 0 ? Json(e.customer_id) : Json(nullptr);
  j["session_id"] = e.session_id;
  j["device"] = {
      {"os", e.device->os}, {"model", e.device->model}, {"app_version", e.device->app_version}};
  j["properties"] = e.properties;
  return j;
}

// One session's events, in occurrence order. `who` > 0 is a customer id, < 0 a visitor.
std::vector<Event> MakeSession(Rng& rng, absl::Time start, int64_t who, const Device& device,
                               int late_days) {
  std::vector<Event> out;
  const std::string session = rng.Uuid();
  absl::Time t = start;
  int64_t customer = 0;
  auto add = [&](const char* type, Json props) {
    Event e{.occurred = t - absl::Hours(24 * late_days),
            .received = t + absl::Milliseconds(rng.Uniform(80, 3000)),
            .id = rng.Uuid(),
            .type = type,
            .anonymous_id = device.anonymous_id,
            .session_id = session,
            .customer_id = customer,
            .device = &device,
            .properties = std::move(props),
            .late = late_days > 0};
    out.push_back(std::move(e));
    t += absl::Milliseconds(rng.Uniform(2000, 90000));
  };
  add("session_start",
      {{"referrer", rng.Pick(std::array<const char*, 3>{"organic", "push", "deeplink"})},
       {"network", rng.Chance(0.6) ? "wifi" : "4g"}});
  int screens = 1;
  add("screen_view", {{"screen", "home"}});
  if (who > 0) {
    const char* method = rng.Chance(0.55) ? "biometric" : "password";
    if (rng.Chance(0.09)) {
      for (int i = 0, n = static_cast<int>(rng.Uniform(1, 2)); i < n; ++i) {
        add("login_failure", {{"method", method},
                              {"reason", rng.Pick(std::array<const char*, 3>{
                                             "wrong_password", "expired_otp", "locked"})}});
      }
    }
    if (rng.Chance(0.93)) {
      customer = who;
      add("login_success", {{"method", method}});
    }
  }
  for (int i = 0, n = static_cast<int>(rng.Uniform(0, 4)); i < n; ++i, ++screens) {
    add("screen_view", {{"screen", rng.Pick(kScreens)}});
  }
  int64_t amount = 0, term = 0;
  if (rng.Chance(0.4)) {
    for (int i = 0, n = static_cast<int>(rng.Uniform(1, 3)); i < n; ++i) {
      amount = rng.Uniform(10, 500) * 10000;  // R$ 1.000 .. 50.000
      term = kTerms[rng.Next() % kTerms.size()];
      add("loan_simulation",
          {{"amount_cents", amount}, {"term_months", term}, {"product", rng.Pick(kProducts)}});
    }
  }
  if (amount > 0 && customer > 0 && rng.Chance(0.3)) {
    add("request_submitted",
        {{"amount_cents", amount}, {"term_months", term}, {"purpose", rng.Pick(kPurposes)}});
    if (rng.Chance(0.7)) {
      for (int i = 0, n = static_cast<int>(rng.Uniform(1, 2)); i < n; ++i) {
        add("document_upload", {{"document_type", rng.Pick(kDocuments)},
                                {"size_bytes", rng.Uniform(80, 4000) * 1024}});
      }
    }
  }
  if (customer > 0 && rng.Chance(0.1)) add("logout", Json::object());
  const int64_t seconds = absl::ToInt64Seconds(t - start);
  add("session_end", {{"duration_s", seconds}, {"screens", screens}});
  return out;
}

// Writes the day's files, rotating every `per_file` lines, and records every line.
class Writer {
 public:
  Writer(const EventLogSimOptions& o, EventLogSimReport& r, const absl::TimeZone& zone)
      : options_(o), report_(r), zone_(zone), rng_(Mix(o.seed, 0xD0D0)) {}
  ~Writer() { IgnoreError(Close()); }  // only after a failure: Finish() closed it otherwise

  Status StartDay(const std::string& day, int64_t per_file) {
    day_ = day;
    per_file_ = std::max<int64_t>(1, per_file);
    index_ = 0;
    return Rotate();
  }

  // Writes a valid event, then maybe a duplicate of it (later) and a malformed line.
  Status Good(const Event& e) {
    if (lines_in_file_ >= per_file_) LASTRO_RETURN_IF_ERROR(Rotate());
    const std::string line = ToJson(e, zone_).dump();
    LASTRO_RETURN_IF_ERROR(Put(line));
    const std::string date = absl::FormatCivilTime(absl::ToCivilDay(e.occurred, zone_));
    ++report_.good;
    ++report_.good_by_date[date];
    if (e.late) report_.late.push_back({e.id, date, file_});
    if (rng_.Chance(options_.duplicate_rate)) {
      if (duplicates_++ % 2 == 0) {
        same_file_.push_back({lines_in_file_ + rng_.Uniform(1, 20), e.id, line});
      } else {
        Event again = e;  // re-delivered after a collector restart: received later
        again.received += absl::Minutes(rng_.Uniform(1, 30));
        next_file_.push_back({0, e.id, ToJson(again, zone_).dump()});
      }
    }
    if (rng_.Chance(options_.malformed_rate)) LASTRO_RETURN_IF_ERROR(Malformed(e));
    while (!same_file_.empty() && same_file_.front().at <= lines_in_file_) {
      LASTRO_RETURN_IF_ERROR(Duplicate(same_file_.front(), "same_file"));
      same_file_.erase(same_file_.begin());
    }
    return absl::OkStatus();
  }

  // Ends the last file: what is still owed is written there.
  Status Finish() {
    for (const Pending& p : same_file_) LASTRO_RETURN_IF_ERROR(Duplicate(p, "same_file"));
    for (const Pending& p : next_file_) LASTRO_RETURN_IF_ERROR(Duplicate(p, "same_file"));
    same_file_.clear();
    next_file_.clear();
    return Close();
  }

 private:
  struct Pending {
    int64_t at;  // write once the file has this many lines (same_file)
    std::string event_id, line;
  };

  Status Put(const std::string& line) {
    if (std::fputs(line.c_str(), file_ptr_) < 0 || std::fputc('\n', file_ptr_) == EOF) {
      return absl::UnavailableError(
          fmt::format("cannot write {}: {}", file_, std::strerror(errno)));
    }
    ++lines_in_file_;
    ++report_.lines;
    return absl::OkStatus();
  }

  Status Duplicate(const Pending& p, const char* scope) {
    LASTRO_RETURN_IF_ERROR(Put(p.line));
    report_.duplicates.push_back({file_, p.event_id, scope, lines_in_file_});
    return absl::OkStatus();
  }

  Status Malformed(const Event& like) {
    static constexpr std::array<const char*, 5> kKinds = {
        "truncated_json", "wrong_type", "missing_event_id", "unknown_event_type", "bad_timestamp"};
    const int n = malformed_++;
    const std::string kind = kKinds[n % kKinds.size()];
    Event e = like;
    e.id = rng_.Uuid();  // never one of the good events
    Json j = ToJson(e, zone_);
    std::string field, line;
    if (kind == "truncated_json") {
      line = j.dump();
      line.resize(static_cast<size_t>(rng_.Uniform(10, static_cast<int64_t>(line.size()) - 2)));
    } else if (kind == "wrong_type") {
      if ((n / kKinds.size()) % 2 == 0) {
        field = "customer_id";
        j["customer_id"] = fmt::format("C{}", rng_.Uniform(1, options_.customers));
      } else {
        field = "properties.amount_cents";
        j["event_type"] = "loan_simulation";
        j["properties"] = {{"amount_cents", "R$ 1.500,00"}, {"term_months", 12}};
      }
    } else if (kind == "missing_event_id") {
      j.erase("event_id");
    } else if (kind == "unknown_event_type") {
      field = rng_.Pick(std::array<const char*, 3>{"push_openned", "screenview", "app_crash"});
      j["event_type"] = field;
    } else {
      field = (n / kKinds.size()) % 2 == 0 ? "occurred_at" : "received_at";
      j[field] = absl::FormatTime(rng_.Chance(0.5) ? "%Y-%m-%d %H:%M:%S" : "%d/%m/%Y %H:%M:%S",
                                  field == "occurred_at" ? e.occurred : e.received, zone_);
    }
    if (line.empty()) line = j.dump();
    LASTRO_RETURN_IF_ERROR(Put(line));
    report_.malformed.push_back({file_, kind, field, lines_in_file_});
    return absl::OkStatus();
  }

  Status Rotate() {
    // What is owed to this file goes at its end; re-deliveries open the next one.
    for (const Pending& p : same_file_) LASTRO_RETURN_IF_ERROR(Duplicate(p, "same_file"));
    same_file_.clear();
    LASTRO_RETURN_IF_ERROR(Close());
    file_ = fmt::format("events-{}-{:03d}.jsonl", day_, index_++);
    const fs::path path = fs::path(options_.out_dir) / file_;
    file_ptr_ = std::fopen(path.c_str(), "wb");
    if (file_ptr_ == nullptr) {
      return absl::UnavailableError(
          fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
    }
    report_.files.push_back(file_);
    lines_in_file_ = 0;
    std::vector<Pending> owed = std::move(next_file_);
    next_file_.clear();
    for (const Pending& p : owed) LASTRO_RETURN_IF_ERROR(Duplicate(p, "next_file"));
    return absl::OkStatus();
  }

  Status Close() {
    if (file_ptr_ == nullptr) return absl::OkStatus();
    const bool failed = std::fclose(file_ptr_) != 0;
    file_ptr_ = nullptr;
    if (failed) return absl::UnavailableError("cannot close " + file_);
    return absl::OkStatus();
  }

  const EventLogSimOptions& options_;
  EventLogSimReport& report_;
  const absl::TimeZone& zone_;
  Rng rng_;
  std::string day_, file_;
  std::FILE* file_ptr_ = nullptr;
  int64_t per_file_ = 1, lines_in_file_ = 0;
  int index_ = 0, duplicates_ = 0, malformed_ = 0;
  std::vector<Pending> same_file_, next_file_;
};

Status Validate(const EventLogSimOptions& o) {
  if (!IsIsoDate(o.date)) return absl::InvalidArgumentError("--date must be YYYY-MM-DD");
  if (o.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  if (o.days < 1 || o.customers < 1 || o.events_per_day < 1 || o.files_per_day < 1) {
    return absl::InvalidArgumentError(
        "--days, --customers, --events-per-day and --files-per-day must be >= 1");
  }
  for (double rate : {o.malformed_rate, o.duplicate_rate, o.late_rate}) {
    if (!(rate >= 0 && rate <= 1)) {
      return absl::InvalidArgumentError("rates must be within [0, 1]");
    }
  }
  return absl::OkStatus();
}

// Events per session on average (measured on this model), to size a day.
constexpr double kMeanEventsPerSession = 6.8;

}  // namespace

StatusOr<EventLogSimReport> RunEventLogSim(const EventLogSimOptions& o) {
  LASTRO_RETURN_IF_ERROR(Validate(o));
  absl::TimeZone zone;
  if (!absl::LoadTimeZone("America/Sao_Paulo", &zone)) {
    return absl::FailedPreconditionError("time zone America/Sao_Paulo unknown (install tzdata)");
  }
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) return absl::UnavailableError("cannot create " + o.out_dir + ": " + ec.message());
  absl::CivilDay first;
  absl::ParseCivilTime(o.date, &first);

  const int64_t visitors = std::max<int64_t>(1, o.customers / 2);
  std::map<int64_t, Device> devices;  // by who, built on first use
  EventLogSimReport report;
  Writer writer(o, report, zone);
  for (int d = 0; d < o.days; ++d) {
    const absl::CivilDay day = first + d;
    const absl::Time midnight = absl::FromCivil(day, zone);
    Rng day_rng(Mix(o.seed, static_cast<uint64_t>(d) + 1));
    const int64_t sessions =
        std::max<int64_t>(1, std::llround(o.events_per_day / kMeanEventsPerSession));
    std::vector<int64_t> starts;  // seconds after midnight, sorted
    starts.reserve(sessions);
    const double total = [] {
      double t = 0;
      for (double w : kHourWeights) t += w;
      return t;
    }();
    for (int64_t i = 0; i < sessions; ++i) {
      double pick = day_rng.Unit() * total;
      size_t h = 0;
      while (h + 1 < kHourWeights.size() && pick >= kHourWeights[h]) pick -= kHourWeights[h++];
      starts.push_back((6 + static_cast<int64_t>(h)) * 3600 + day_rng.Uniform(0, 3599));
    }
    std::sort(starts.begin(), starts.end());
    LASTRO_RETURN_IF_ERROR(writer.StartDay(
        absl::FormatCivilTime(day), (o.events_per_day + o.files_per_day - 1) / o.files_per_day));

    // Events leave in received order: everything received before the next session
    // starts is written before that session is generated.
    auto later = [](const Event& a, const Event& b) { return a.received > b.received; };
    std::priority_queue<Event, std::vector<Event>, decltype(later)> pending(later);
    for (int64_t i = 0; i < sessions; ++i) {
      const absl::Time start = midnight + absl::Seconds(starts[i]);
      while (!pending.empty() && pending.top().received < start) {
        LASTRO_RETURN_IF_ERROR(writer.Good(pending.top()));
        pending.pop();
      }
      Rng rng(Mix(o.seed, (static_cast<uint64_t>(d) << 32) | static_cast<uint64_t>(i)));
      // Regular customers come back more often: a skewed pick of the customer ids.
      const int64_t who = rng.Chance(0.7)
                              ? 1 + static_cast<int64_t>(std::pow(rng.Unit(), 1.6) * o.customers)
                              : -rng.Uniform(1, visitors);
      auto [it, fresh] = devices.try_emplace(who);
      if (fresh) it->second = DeviceOf(o.seed, who);
      const int late_days = rng.Chance(o.late_rate) ? static_cast<int>(rng.Uniform(1, 3)) : 0;
      for (Event& e : MakeSession(rng, start, who, it->second, late_days)) {
        pending.push(std::move(e));
      }
    }
    while (!pending.empty()) {
      LASTRO_RETURN_IF_ERROR(writer.Good(pending.top()));
      pending.pop();
    }
  }
  LASTRO_RETURN_IF_ERROR(writer.Finish());
  if (!o.truth_path.empty()) {
    std::FILE* f = std::fopen(o.truth_path.c_str(), "wb");
    const std::string text = EventLogTruthJson(report);
    if (f == nullptr || std::fputs(text.c_str(), f) < 0 || std::fclose(f) != 0) {
      return absl::UnavailableError("cannot write " + o.truth_path);
    }
  }
  return report;
}

std::string EventLogTruthJson(const EventLogSimReport& r) {
  Json malformed = Json::array(), duplicates = Json::array(), late = Json::array();
  for (const MalformedLine& m : r.malformed) {
    malformed.push_back({{"file", m.file}, {"line", m.line}, {"kind", m.kind}, {"field", m.field}});
  }
  for (const DuplicateLine& d : r.duplicates) {
    duplicates.push_back(
        {{"file", d.file}, {"line", d.line}, {"event_id", d.event_id}, {"scope", d.scope}});
  }
  for (const LateEvent& l : r.late) {
    late.push_back({{"event_id", l.event_id}, {"event_date", l.event_date}, {"file", l.file}});
  }
  Json j = {{"files", r.files},
            {"lines", r.lines},
            {"good", r.good},
            {"good_by_date", r.good_by_date},
            {"malformed", malformed},
            {"duplicates", duplicates},
            {"late", late}};
  return j.dump(1) + "\n";
}

}  // namespace lastro::sim
