// toml++ throws; its exceptions stop here (Parse) and become kInvalidArgument.
#include "common/strict_toml.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace lastro::strict_toml {

StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("{} not found: {}", what, path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<toml::table> Parse(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& err) {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: {}", source, err.source().begin.line, err.description()));
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string JoinNames(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

std::string Hint(std::string_view name, std::span<const std::string_view> known) {
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view candidate : known) {
    size_t d = EditDistance(name, candidate);
    if (d < best_distance && 2 * d < std::min(name.size(), candidate.size())) {
      best_distance = d, best = candidate;
    }
  }
  if (!best.empty()) return fmt::format(" (did you mean '{}'?)", best);
  return fmt::format(" (known: {})", JoinNames(known));
}

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date/time";
  }
}

Status ParserBase::Err(int line, const std::string& reason) const {
  return absl::InvalidArgumentError(fmt::format("{}:{}: {}", source_, std::max(line, 1), reason));
}

Status ParserBase::Err(const toml::node& node, const std::string& reason) const {
  return Err(static_cast<int>(node.source().begin.line), reason);
}

Status ParserBase::Err(const toml::key& key, const std::string& reason) const {
  return Err(static_cast<int>(key.source().begin.line), reason);
}

Status ParserBase::CheckKeys(const toml::table& table, std::span<const std::string_view> known,
                             std::string_view unknown) const {
  for (const auto& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      return Err(key, fmt::format("{} '{}'{}", unknown, key.str(), Hint(key.str(), known)));
    }
  }
  return absl::OkStatus();
}

StatusOr<std::string> ParserBase::Version(const toml::table& root) const {
  const toml::node* version = root.get("version");
  if (version == nullptr) {
    return Err(1, "missing required key 'version' (e.g. version = \"2026.11-1\")");
  }
  if (!version->is_string() || version->as_string()->get().empty()) {
    return Err(*version, "'version' must be a non-empty string");
  }
  return version->as_string()->get();
}

StatusOr<const toml::array*> ParserBase::ArrayOfTables(const toml::table& table,
                                                       std::string_view key) const {
  const toml::node* node = table.get(key);
  if (node == nullptr) return nullptr;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return Err(*node, fmt::format("'{}' must be an array of tables: write each {} as [[{}]]", key,
                                  key, key));
  }
  return array;
}

Status ParserBase::IntIn(const toml::node& v, std::string_view what, int64_t min, int64_t max,
                         int64_t* out) const {
  if (!v.is_integer()) {
    return Err(v, fmt::format("{} must be an integer, got {}", what, TypeName(v)));
  }
  int64_t value = v.as_integer()->get();
  if (value < min || value > max) {
    return Err(v, fmt::format("{} must be in {}..{}, got {}", what, min, max, value));
  }
  *out = value;
  return absl::OkStatus();
}

Status ParserBase::NumberIn(const toml::node& v, std::string_view what, double min, double max,
                            double* out) const {
  std::optional<double> value = v.value<double>();
  if (!(v.is_floating_point() || v.is_integer()) || !value) {
    return Err(v, fmt::format("{} must be a number, got {}", what, TypeName(v)));
  }
  if (!std::isfinite(*value) || *value < min || *value > max) {
    return Err(v, fmt::format("{} must be in {}..{}, got {}", what, min, max, *value));
  }
  *out = *value;
  return absl::OkStatus();
}

}  // namespace lastro::strict_toml
