#include "sim/bureau_model.h"

#include <algorithm>
#include <string>

#include "common/fnv.h"
#include "common/pii.h"
#include "sim/risk_model.h"

namespace lastro::sim {
namespace {

uint64_t Hash(std::string_view tag, std::string_view cpf, std::string_view as_of = {}) {
  std::string key;
  key.reserve(tag.size() + cpf.size() + as_of.size() + 2);
  key.append(tag).append("|").append(cpf).append("|").append(as_of);
  return Fnv1a64(key);
}

}  // namespace

double HashUnit(std::string_view key) {
  // FNV-1a's low bits mix poorly for short keys; one splitmix64 round fixes that.
  uint64_t z = Fnv1a64(key) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

bool BureauKnows(std::string_view cpf, double unknown_rate) {
  if (!pii::IsValidCpf(cpf)) return false;
  return HashUnit(std::string("known|").append(cpf)) >= unknown_rate;
}

int32_t BureauScoreFor(std::string_view cpf, std::string_view as_of) {
  const int64_t history = static_cast<int64_t>(Fnv1a64(cpf) % 501);
  const int64_t drift = static_cast<int64_t>(Hash("drift", cpf, as_of.substr(0, 7)) % 81) - 40;
  const int64_t noise = static_cast<int64_t>(Hash("noise", cpf, as_of) % 11) - 5;
  return static_cast<int32_t>(std::clamp<int64_t>(150 + history * 8 / 5 + drift + noise, 0, 1000));
}

BureauInconsistency BureauInconsistencyFor(std::string_view cpf, std::string_view as_of,
                                           double inconsistent_rate) {
  std::string key = std::string("inconsistent|").append(cpf).append("|").append(as_of);
  if (HashUnit(key) >= inconsistent_rate) return BureauInconsistency::kNone;
  switch (Hash("kind", cpf, as_of) % 3) {
    case 0:
      return BureauInconsistency::kScoreOutOfRange;
    case 1:
      return BureauInconsistency::kListedTwice;
    default:
      return BureauInconsistency::kMissing;
  }
}

int32_t BureauOutOfRangeScore(std::string_view cpf, std::string_view as_of) {
  const uint64_t h = Hash("out", cpf, as_of);
  const auto offset = static_cast<int32_t>(1 + (h >> 1) % 500);
  return (h & 1) != 0 ? 1000 + offset : -offset;
}

int32_t BureauConflictingScore(std::string_view cpf, std::string_view as_of) {
  const auto delta = static_cast<int32_t>(1 + Hash("twice", cpf, as_of) % 1000);
  return (BureauScoreFor(cpf, as_of) + delta) % 1001;
}

}  // namespace lastro::sim
