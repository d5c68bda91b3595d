// mart_bench's governance phase (issue 6): the named queries through the governed path
// (`lastro serve`'s GovernedQueries: the role's sandboxed catalog, the SQL guard, the
// timeout watchdog and a durable audit entry per query) against the same SQL on one
// open read-only engine on the full catalog, alternating run by run on the same data.
// Target: governed p95 within 10% of the ungoverned p95.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "mart/query.h"

namespace lastro::bench {

// Measures and prints the table; false when a target is missed or an answer differs.
// `config` needs lake.dir, governance.policies and .state_dir, and batch.token_key.
bool MeasureGoverned(const Config& config, const std::filesystem::path& catalog,
                     const std::vector<mart::NamedQuery>& named,
                     const std::map<std::string, std::string>& period, int runs);

}  // namespace lastro::bench
