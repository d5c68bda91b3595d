#include "mart/model.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "mart/sql_files.h"

namespace lastro::mart {

namespace {

Status Bad(const std::string& file, absl::string_view line, absl::string_view why) {
  return absl::InternalError(absl::StrCat(file, ": ", why, ": '", line, "'"));
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

}  // namespace

StatusOr<ModelTable> ParseModelFile(const std::string& file, const std::string& sql) {
  ModelTable t;
  t.file = file;
  t.sql = std::string(absl::StripTrailingAsciiWhitespace(sql));
  while (!t.sql.empty() && t.sql.back() == ';') t.sql.pop_back();  // wrapped by the builder
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    if (!absl::ConsumePrefix(&line, "-- ")) break;  // the header ends at the first non-comment
    if (absl::ConsumePrefix(&line, "table:")) {
      t.name = std::string(absl::StripAsciiWhitespace(line));
    } else if (absl::ConsumePrefix(&line, "refresh:")) {
      std::vector<std::string> w = Words(line);
      if (w.size() == 1 && w[0] == "full") {
        t.kind = RefreshKind::kFull;
      } else if (w.size() == 2 && w[0] == "month") {
        t.kind = RefreshKind::kMonth;
        t.key_column = w[1];
      } else if (w.size() == 3 && w[0] == "customer") {
        t.kind = RefreshKind::kCustomer;
        t.key_column = w[1];
        t.date_column = w[2];
      } else {
        return Bad(file, line, "refresh must be 'full', 'month COL' or 'customer COL DATE_COL'");
      }
    } else if (absl::ConsumePrefix(&line, "inputs:")) {
      for (absl::string_view item : absl::StrSplit(line, ',', absl::SkipWhitespace())) {
        std::vector<std::string> w = Words(item);
        ModelInput in{w[0]};
        absl::string_view days = w.size() == 2 ? absl::string_view(w[1]) : "";
        bool ok = w.size() == 1 || (absl::ConsumePrefix(&days, "+-") &&
                                    absl::SimpleAtoi(days, &in.near_days) && in.near_days >= 0);
        if (!ok) return Bad(file, item, "an input is NAME or NAME +-DAYS");
        t.inputs.push_back(std::move(in));
      }
    } else if (absl::ConsumePrefix(&line, "customers:")) {
      t.customer_column = std::string(absl::StripAsciiWhitespace(line));
    }
  }
  if (t.name.empty()) return Bad(file, "", "no '-- table:' header line");
  if (t.kind != RefreshKind::kFull && t.inputs.empty()) {
    return Bad(file, "", "an incremental table needs an '-- inputs:' line");
  }
  if (t.kind != RefreshKind::kFull && t.sql.find("refreshing(") == std::string::npos) {
    return Bad(file, "", "an incremental table's SELECT must filter with refreshing(...)");
  }
  return t;
}

StatusOr<std::vector<ModelTable>> ModelTables() {
  std::vector<ModelTable> out;
  for (const SqlFile& f : EmbeddedSqlFiles()) {
    if (!f.name.starts_with("mart/")) continue;
    LASTRO_ASSIGN_OR_RETURN(ModelTable t, ParseModelFile(f.name, f.sql));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace lastro::mart
