// Enrich: adds the credit bureau's score to every staged request, as of the
// request's business day, paying for each (customer, day) at most once.
//
// Scores already fetched live in the lake's bronze/bureau_scores table (keyed by
// customer_token and score_date; definitive answers only: FOUND and NOT_FOUND), so
// a rerun or a backfill calls the bureau only for what it has never answered. New
// answers are left in the engine table `bureau_new` for the caller to publish.
// Reads the (customer, day) pairs from the view stage_keys (transform.h) and leaves
// every answer that applies in `bureau_answers` (customer_token, score_date, score,
// status), which WriteStage() joins. INCONSISTENT and UNAVAILABLE answers are not
// cached (the next run that has the request in scope asks again). With `skip`
// nothing is asked: cached answers still apply.
#pragma once

#include <string>
#include <unordered_map>

#include "batch/bureau_client.h"
#include "common/status.h"
#include "lake/engine.h"

namespace lastro::batch {

struct EnrichStats {
  int64_t pairs = 0;    // distinct (customer, day) needing a score
  int64_t cached = 0;   // answered from bronze/bureau_scores
  int64_t fetched = 0;  // asked to the bureau in this run
  int64_t found = 0, not_found = 0, inconsistent = 0, unavailable = 0;
  int64_t calls = 0, retries = 0;
};

// `cache_glob` is the published bronze/bureau_scores files ("" when none);
// `client` may be null only with `skip`.
StatusOr<EnrichStats> Enrich(lake::Engine& engine, BureauClient* client,
                             const std::unordered_map<std::string, std::string>& cpf_by_token,
                             const std::string& cache_glob, const std::string& run_id, bool skip);

}  // namespace lastro::batch
