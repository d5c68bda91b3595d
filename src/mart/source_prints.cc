#include "mart/source_prints.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/iso_date.h"
#include "mart/sources.h"

namespace lastro::mart {

uint64_t FnvField(uint64_t h, const std::string& bytes) {
  return Fnv1a64(std::string_view(bytes.c_str(), bytes.size() + 1), h);  // with its NUL
}

namespace {

// Records the partition's key and day in `out` ("request_date=2026-11-20").
void AddPartition(const std::string& partition, ChangedDays& out) {
  size_t eq = partition.find('=');
  std::string day = eq == std::string::npos ? "" : partition.substr(eq + 1);
  if (eq == std::string::npos || !IsIsoDate(day)) {
    out.whole_table = true;
    return;
  }
  out.column = partition.substr(0, eq);
  out.days.insert(day);
}

}  // namespace

StatusOr<SourcePrints> FingerprintSources(const lake::TableStore& store) {
  SourcePrints out;
  for (const Source& s : ModelSources()) {
    auto& parts = out[s.zone + "/" + s.table];
    if (!store.Exists(s.zone, s.table)) continue;
    LASTRO_ASSIGN_OR_RETURN(std::vector<lake::DataFile> files, store.Files(s.zone, s.table));
    std::map<std::string, uint64_t> hashes;
    for (const lake::DataFile& f : files) {  // sorted by path
      size_t slash = f.path.rfind('/');
      std::string partition = slash == std::string::npos ? "" : f.path.substr(0, slash);
      struct stat st {};
      std::string full = (store.TablePath(s.zone, s.table) / f.path).string();
      if (::stat(full.c_str(), &st) != 0) {
        return absl::UnavailableError(absl::StrCat("cannot stat ", full));
      }
      auto [it, added] = hashes.try_emplace(partition, kLastroFnvSeed);
      it->second = FnvField(it->second, absl::StrCat(f.path, ":", f.bytes, ":", st.st_ino, ":",
                                                     st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec));
    }
    for (const auto& [partition, h] : hashes) parts[partition] = Hex64(h);
  }
  return out;
}

std::map<std::string, ChangedDays> DiffPrints(const SourcePrints& before,
                                              const SourcePrints& after) {
  static const std::map<std::string, std::string> kNone;
  std::map<std::string, ChangedDays> out;
  std::set<std::string> sources;
  for (const auto& [source, parts] : before) sources.insert(source);
  for (const auto& [source, parts] : after) sources.insert(source);
  for (const std::string& source : sources) {
    auto b = before.find(source), a = after.find(source);
    const auto& old_parts = b == before.end() ? kNone : b->second;
    const auto& new_parts = a == after.end() ? kNone : a->second;
    ChangedDays changed;
    for (const auto& [partition, print] : old_parts) {
      auto it = new_parts.find(partition);
      if (it == new_parts.end() || it->second != print) AddPartition(partition, changed);
    }
    for (const auto& [partition, print] : new_parts) {
      if (!old_parts.contains(partition)) AddPartition(partition, changed);
    }
    if (changed.whole_table || !changed.days.empty()) out[source] = std::move(changed);
  }
  return out;
}

}  // namespace lastro::mart
