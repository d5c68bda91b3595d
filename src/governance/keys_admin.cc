#include "governance/keys_admin.h"

#include <fstream>
#include <sstream>

#include "governance/envelope.h"
#include "governance/keystore.h"

namespace lastro::governance {
namespace {

nlohmann::json Counts(const StoreSummary& s) {
  return {{"master_key_id", s.master_key_id},
          {"shard_files", s.shard_files},
          {"active_keys", s.active},
          {"erased_customers", s.erased}};
}

}  // namespace

StatusOr<nlohmann::json> KeyStoreStatus(const GovernanceConfig& config) {
  LASTRO_ASSIGN_OR_RETURN(MasterKey master, MasterKey::Parse(config.master_key));
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<KeyStore> store,
                          KeyStore::Open(KeysDir(config.state_dir), master));
  nlohmann::json out = Counts(store->Summary());
  out["state_dir"] = config.state_dir;
  out["this_master_key_id"] = master.id();
  return out;
}

StatusOr<nlohmann::json> RotateMaster(const GovernanceConfig& config,
                                      const std::string& new_key_file) {
  LASTRO_ASSIGN_OR_RETURN(MasterKey current, MasterKey::Parse(config.master_key));
  std::ifstream in(new_key_file);
  if (!in) return absl::NotFoundError("--new-key-file: cannot read " + new_key_file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  LASTRO_ASSIGN_OR_RETURN(MasterKey next, MasterKey::Parse(text));
  const auto dir = KeysDir(config.state_dir);
  LASTRO_ASSIGN_OR_RETURN(int rewritten, RotateMasterKey(dir, current, next));
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<KeyStore> store, KeyStore::Open(dir, next));
  StoreSummary summary = store->Summary();
  return nlohmann::json{{"old_master_key_id", current.id()},
                        {"new_master_key_id", next.id()},
                        {"shards_rewritten", rewritten},
                        {"active_keys", summary.active},
                        {"erased_customers", summary.erased}};
}

}  // namespace lastro::governance
