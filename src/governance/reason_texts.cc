#include "governance/reason_texts.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "common/strict_toml.h"

namespace lastro::governance {
namespace {

class TextsParser : public strict_toml::ParserBase {
 public:
  explicit TextsParser(std::string source) : ParserBase(std::move(source)) {}

  StatusOr<ReasonTexts> Parse(std::string_view text) {
    LASTRO_ASSIGN_OR_RETURN(toml::table root, strict_toml::Parse(text, source()));
    static constexpr std::array<std::string_view, 2> kTables = {"reason", "outcome"};
    LASTRO_RETURN_IF_ERROR(CheckKeys(root, kTables, "unknown table"));
    ReasonTexts out;
    LASTRO_RETURN_IF_ERROR(Strings(root, "reason", out.reason));
    LASTRO_RETURN_IF_ERROR(Strings(root, "outcome", out.outcome));
    return out;
  }

 private:
  Status Strings(const toml::table& root, const std::string& name,
                 std::map<std::string, std::string>& out) const {
    const toml::node* node = root.get(name);
    if (node == nullptr) return absl::OkStatus();
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      return Err(*node, absl::StrCat("'", name, "' must be a table, got ",
                                     std::string(strict_toml::TypeName(*node))));
    }
    for (const auto& [key, value] : *table) {
      const auto* text = value.as_string();
      if (text == nullptr || text->get().empty()) {
        return Err(key, absl::StrCat("[", name, "] '", std::string(key.str()),
                                     "' must be a non-empty string"));
      }
      out[std::string(key.str())] = text->get();
    }
    return absl::OkStatus();
  }
};

}  // namespace

StatusOr<ReasonTexts> ParseReasonTexts(std::string_view toml_text, const std::string& source) {
  return TextsParser(source).Parse(toml_text);
}

}  // namespace lastro::governance
