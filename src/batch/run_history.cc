#include "batch/run_history.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "fmt/format.h"

namespace lastro::batch {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTimeFormat = "%Y-%m-%dT%H:%M:%E*SZ";

std::optional<absl::Time> ParseInstant(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(kTimeFormat, text, absl::UTCTimeZone(), &t, &err)) return std::nullopt;
  return t;
}

bool ProcessAlive(int64_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

StatusOr<LakeState> ReadLakeState(const fs::path& lake_root) {
  LakeState state;
  fs::path path = lake_root / "_runs" / "state.json";
  if (!fs::exists(path)) return state;
  LASTRO_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(path));
  try {
    if (j.contains("watermark") && j["watermark"].is_string()) {
      state.watermark = ParseInstant(j["watermark"].get<std::string>());
      if (!state.watermark) return absl::InvalidArgumentError(path.string() + ": bad watermark");
    }
    state.last_run_id = j.value("last_run_id", "");
    state.last_batch_date = j.value("last_batch_date", "");
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", e.what()));
  }
  return state;
}

Status WriteLakeState(const fs::path& lake_root, const LakeState& state) {
  nlohmann::json j = {{"last_run_id", state.last_run_id},
                      {"last_batch_date", state.last_batch_date}};
  j["watermark"] = state.watermark
                       ? nlohmann::json(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", *state.watermark,
                                                         absl::UTCTimeZone()))
                       : nlohmann::json(nullptr);
  return WriteJsonFileAtomic(lake_root / "_runs" / "state.json", j);
}

Status MarkRunning(const fs::path& run_dir, const RunManifest& m) {
  nlohmann::json j = {{"run_id", m.run_id},
                      {"pid", static_cast<int64_t>(::getpid())},
                      {"mode", std::string(RunModeName(m.mode))},
                      {"batch_dates", {{"from", m.batch_date_from}, {"to", m.batch_date_to}}},
                      {"started_at", m.started_at}};
  return WriteJsonFileAtomic(run_dir / "run.json", j);
}

StatusOr<std::vector<RunSummary>> ListRuns(const fs::path& lake_root, size_t limit) {
  std::vector<std::string> ids;
  std::error_code ec;
  fs::path runs = lake_root / "_runs";
  for (auto it = fs::directory_iterator(runs, ec); !ec && it != fs::end(it); it.increment(ec)) {
    if (it->is_directory() && IsCanonicalUuid(it->path().filename().string())) {
      ids.push_back(it->path().filename().string());
    }
  }
  std::sort(ids.rbegin(), ids.rend());  // UUIDv7: newest first
  if (ids.size() > limit) ids.resize(limit);
  std::vector<RunSummary> out;
  for (const std::string& id : ids) {
    RunSummary r;
    r.run_id = id;
    fs::path manifest = runs / id / "manifest.json";
    if (fs::exists(manifest)) {
      auto j = ReadJsonFile(manifest);
      auto m = j.ok() ? RunManifest::FromJson(*j) : StatusOr<RunManifest>(j.status());
      if (!m.ok()) {
        log::Warn("unreadable run manifest",
                  {{"run_id", id}, {"error", std::string(m.status().message())}});
        continue;
      }
      r.state = std::string(RunStateName(m->state));
      r.mode = std::string(RunModeName(m->mode));
      r.batch_from = m->batch_date_from;
      r.batch_to = m->batch_date_to;
      r.started_at = m->started_at;
      r.finished_at = m->finished_at;
      auto a = ParseInstant(m->started_at), b = ParseInstant(m->finished_at);
      if (a && b) r.duration_s = absl::ToDoubleSeconds(*b - *a);
      r.extracted = m->counts.extracted;
      r.published = m->counts.published;
      r.quarantined = m->counts.quarantined;
      r.error = m->error;
    } else {
      auto j = ReadJsonFile(runs / id / "run.json");
      if (!j.ok()) continue;
      r.mode = j->value("mode", "");
      r.started_at = j->value("started_at", "");
      if (j->contains("batch_dates")) {
        r.batch_from = (*j)["batch_dates"].value("from", "");
        r.batch_to = (*j)["batch_dates"].value("to", "");
      }
      r.state = ProcessAlive(j->value("pid", int64_t{0})) ? "RUNNING" : "ABANDONED";
      if (auto a = ParseInstant(r.started_at))
        r.duration_s = absl::ToDoubleSeconds(absl::Now() - *a);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string FormatRuns(const LakeState& state, const std::vector<RunSummary>& runs) {
  std::string out = fmt::format(
      "watermark: {}   last good run: {} ({})\n\n",
      state.watermark
          ? absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", *state.watermark, absl::UTCTimeZone())
          : "none (the next incremental run extracts everything)",
      state.last_run_id.empty() ? "none" : state.last_run_id,
      state.last_batch_date.empty() ? "-" : state.last_batch_date);
  out += fmt::format("{:<36}  {:<9}  {:<11}  {:<21}  {:>9}  {:>10}  {:>10}  {:>11}\n", "run id",
                     "state", "mode", "dates", "seconds", "extracted", "published", "quarantined");
  for (const RunSummary& r : runs) {
    std::string dates =
        r.batch_from == r.batch_to ? r.batch_from : r.batch_from + ".." + r.batch_to;
    out +=
        fmt::format("{:<36}  {:<9}  {:<11}  {:<21}  {:>9.1f}  {:>10}  {:>10}  {:>11}\n", r.run_id,
                    r.state, r.mode, dates, r.duration_s, r.extracted, r.published, r.quarantined);
    if (!r.error.empty()) out += fmt::format("    error: {}\n", r.error.substr(0, 300));
  }
  if (runs.empty()) out += "(no runs yet)\n";
  return out;
}

}  // namespace lastro::batch
