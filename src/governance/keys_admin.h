// Operator commands over the key store: `lastro keys status` and
// `lastro keys rotate-master` (docs/governance.md, "Encryption and keys").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace lastro::governance {

// {"state_dir","master_key_id","shard_files","active_keys","erased_customers"}: every
// shard read and authenticated with governance.master_key. Errors: as KeyStore::Open,
// kFailedPrecondition when no master key is set.
StatusOr<nlohmann::json> KeyStoreStatus(const GovernanceConfig& config);

// Re-wraps every data key from governance.master_key (the current key) to the key in
// `new_key_file` (trailing whitespace trimmed; the same formats as the master key).
// Prints nothing; returns {"old_master_key_id","new_master_key_id","shards_rewritten",
// "active_keys","erased_customers"} read back under the new key. Afterwards set
// LASTRO_MASTER_KEY(_FILE) to the new key and destroy the old one. Resumable (see
// RotateMasterKey). Errors: kNotFound (no such file), RotateMasterKey's.
StatusOr<nlohmann::json> RotateMaster(const GovernanceConfig& config,
                                      const std::string& new_key_file);

}  // namespace lastro::governance
