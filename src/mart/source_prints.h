// What changed in the lake since the published catalog was built: each model source's
// partitions fingerprinted (file paths, sizes, inodes and modification times), so a
// refresh can rebuild only the gold months and customers whose input partitions
// changed. The lake carries unchanged partitions into a new table version as hard
// links (table_store.h), so an untouched partition keeps its fingerprint across
// versions; any rewrite, added or removed file changes it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "common/fnv.h"
#include "common/status.h"
#include "lake/table_store.h"

namespace lastro::mart {

// FNV-1a 64 of `bytes` and a terminating NUL (so fields cannot run together),
// continuing from `h` (start from kLastroFnvSeed): the fingerprints here and the
// model's digest (refresh.cc).
uint64_t FnvField(uint64_t h, const std::string& bytes);

// "zone/table" -> partition folder ("request_date=2026-11-20", "" when unpartitioned)
// -> fingerprint. A source without a published version maps to an empty map.
using SourcePrints = std::map<std::string, std::map<std::string, std::string>>;

// The fingerprints of every model source's published version. Errors: kUnavailable.
StatusOr<SourcePrints> FingerprintSources(const lake::TableStore& store);

struct ChangedDays {
  std::string column;          // the partition column, "request_date"
  std::set<std::string> days;  // ISO days whose partition was added, removed or rewritten
  bool whole_table = false;    // unpartitioned, or a partition not named COL=YYYY-MM-DD
};

// Per source, what differs between two fingerprint sets (sources that did not change
// are absent).
std::map<std::string, ChangedDays> DiffPrints(const SourcePrints& before,
                                              const SourcePrints& after);

}  // namespace lastro::mart
