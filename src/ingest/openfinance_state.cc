#include "ingest/openfinance_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/iso_date.h"

namespace lastro::ingest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kStateVersion = 1;

// Writes `text` to `path` atomically: a temp file beside it, fsync, rename, fsync of
// the folder.
Status WriteAtomically(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot create ", path.parent_path().string(), ": ", ec.message()));
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", tmp.string(), ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp.string(), ": ", why));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return absl::UnavailableError("cannot fsync " + tmp.string());
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: the rename is already visible
    ::close(dir);
  }
  return absl::OkStatus();
}

Status Malformed(const fs::path& path, const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat(
      path.string(), " is malformed (", why,
      "); delete it to pull each account's history again (nothing will be duplicated)"));
}

}  // namespace

fs::path OfIngestDir(const fs::path& lake_root) { return lake_root / "_ingest" / "openfinance"; }

StatusOr<OfIngestState> ReadOfState(const fs::path& lake_root) {
  const fs::path path = OfIngestDir(lake_root) / "state.json";
  OfIngestState state;
  std::error_code ec;
  if (!fs::exists(path, ec)) return state;
  std::ifstream in(path);
  if (!in) return absl::FailedPreconditionError("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Malformed(path, "not a JSON object");
  if (j.value("version", 0) != kStateVersion) return Malformed(path, "unknown version");
  state.last_run_id = j.value("last_run_id", "");
  if (!j.contains("accounts") || !j["accounts"].is_object()) {
    return Malformed(path, "no 'accounts' object");
  }
  for (const auto& [id, a] : j["accounts"].items()) {
    if (!a.is_object() || !a.contains("customer_id") || !a["customer_id"].is_number_integer() ||
        !a.contains("transactions_to") || !a["transactions_to"].is_string() ||
        !IsIsoDate(a["transactions_to"].get<std::string>())) {
      return Malformed(path, "account " + id.substr(0, 100) + " lacks customer_id or a date");
    }
    state.accounts[id] = {a["customer_id"].get<int64_t>(), a["transactions_to"].get<std::string>(),
                          a.value("run_id", "")};
  }
  return state;
}

Status WriteOfState(const fs::path& lake_root, const OfIngestState& state) {
  json accounts = json::object();
  for (const auto& [id, a] : state.accounts) {
    accounts[id] = {{"customer_id", a.customer_id},
                    {"transactions_to", a.transactions_to},
                    {"run_id", a.run_id}};
  }
  json j = {{"version", kStateVersion},
            {"last_run_id", state.last_run_id},
            {"accounts", std::move(accounts)}};
  return WriteAtomically(OfIngestDir(lake_root) / "state.json", j.dump(1) + "\n");
}

StatusOr<fs::path> WriteOfRunReport(const fs::path& lake_root, const std::string& run_id,
                                    const json& report) {
  const fs::path path = OfIngestDir(lake_root) / "runs" / (run_id + ".json");
  LASTRO_RETURN_IF_ERROR(WriteAtomically(path, report.dump(1) + "\n"));
  return path;
}

}  // namespace lastro::ingest
