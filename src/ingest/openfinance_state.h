// The Open Finance ingest's own files under <lake>/_ingest/openfinance/ (ADR 0016):
//
//   state.json          per account: the last booking day pulled completely (the
//                       watermark), its customer and the run that pulled it
//   runs/<run_id>.json  what each run did: counts, skipped and failed consents
//
// Both are written atomically (temp file, fsync, rename). The state is written only
// after the bronze tables it describes are published, so it never claims data the
// lake does not have; losing it costs a re-pull of history, never a duplicate
// (bronze dedupes by transaction id). Call with the lake's LakeLock held.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace lastro::ingest {

struct OfAccountState {
  int64_t customer_id = 0;
  std::string transactions_to;  // YYYY-MM-DD: booking days up to this one are in bronze
  std::string run_id;           // the run that moved it last
};

struct OfIngestState {
  std::string last_run_id;
  std::map<std::string, OfAccountState> accounts;  // by account id
};

// <root>/_ingest/openfinance
std::filesystem::path OfIngestDir(const std::filesystem::path& lake_root);

// The state, or an empty one when the file does not exist yet.
// Errors: kFailedPrecondition when the file is unreadable or malformed (the message
// names it and says that deleting it re-pulls history without duplicating anything).
StatusOr<OfIngestState> ReadOfState(const std::filesystem::path& lake_root);

// Errors: kUnavailable (file system).
Status WriteOfState(const std::filesystem::path& lake_root, const OfIngestState& state);

// Writes runs/<run_id>.json and returns its path. Errors: kUnavailable.
StatusOr<std::filesystem::path> WriteOfRunReport(const std::filesystem::path& lake_root,
                                                 const std::string& run_id,
                                                 const nlohmann::json& report);

}  // namespace lastro::ingest
