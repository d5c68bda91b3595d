// The simulated credit bureau's data: pure, deterministic functions of (CPF, as_of),
// so reruns of the daily batch get the same answers and tests can compute them.
//
//   known        = CPF has valid check digits and HashUnit("known|" + cpf) >= unknown_rate
//   history      = FNV-1a-64(cpf) mod 501 (the risk model's "history": the two agree)
//   score        = clamp(150 + history x 8/5                     (150..950)
//                        + drift(cpf, YYYY-MM of as_of)          (-40..40, monthly)
//                        + noise(cpf, as_of),                    (-5..5, daily)
//                        0, 1000)
//   inconsistent = HashUnit("inconsistent|" + cpf + "|" + as_of) < inconsistent_rate;
//                  its kind (out-of-range score, listed twice, missing) from another hash.
// docs/bureau-api.md describes how each kind appears in an answer.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/iso_date.h"  // IsIsoDate, which checks as_of here and in the bureau client

namespace lastro::sim {

inline constexpr const char* kBureauModelVersion = "bureau-sim-1";

// How the simulator answers one CPF wrongly (or not).
enum class BureauInconsistency { kNone, kScoreOutOfRange, kListedTwice, kMissing };

// A hash of `key` mapped to [0, 1), uniform enough for rates. Thread-safe.
double HashUnit(std::string_view key);

// True when the bureau has a record for `cpf` (11 digits). A CPF with wrong check
// digits is never known. Deterministic per CPF: raising `unknown_rate` only adds
// unknown CPFs. Thread-safe.
bool BureauKnows(std::string_view cpf, double unknown_rate);

// The score (0..1000) of a known `cpf` on `as_of` ("YYYY-MM-DD"). Thread-safe.
int32_t BureauScoreFor(std::string_view cpf, std::string_view as_of);

// Whether, and how, the answer for (cpf, as_of) is made inconsistent at
// `inconsistent_rate`. Thread-safe.
BureauInconsistency BureauInconsistencyFor(std::string_view cpf, std::string_view as_of,
                                           double inconsistent_rate);

// The wrong score sent with kScoreOutOfRange (outside 0..1000) and the second,
// different score sent with kListedTwice (0..1000, != BureauScoreFor). Thread-safe.
int32_t BureauOutOfRangeScore(std::string_view cpf, std::string_view as_of);
int32_t BureauConflictingScore(std::string_view cpf, std::string_view as_of);

}  // namespace lastro::sim
