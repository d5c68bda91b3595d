#include "decide/request_row.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "capture/pg_datetime.h"

namespace lastro::decide {
namespace {

StatusOr<int64_t> ParseInt(std::string_view column, std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", std::string(column), ": not an integer"));
  }
  return v;
}

}  // namespace

bool IsCreditRequests(const capture::Relation& relation) {
  return relation.namespace_name == "public" && relation.name == "credit_requests";
}

StatusOr<CapturedRequest> ParseRequestRow(const capture::Relation& relation,
                                          const capture::TupleData& tuple) {
  LASTRO_ASSIGN_OR_RETURN(auto columns, capture::NameColumns(tuple, relation));
  CapturedRequest r;
  bool seen[9] = {};
  for (const capture::NamedColumn& c : columns) {
    std::string_view name = c.name();
    using Kind = capture::TupleColumn::Kind;
    bool is_null = c.value->kind == Kind::kNull;
    if (c.value->kind == Kind::kUnchangedToast || c.value->kind == Kind::kBinary) {
      // Our columns are never TOASTed; binary is never requested.
      if (name == "id" || name == "status") {
        return absl::InvalidArgumentError(
            absl::StrCat("column ", std::string(name), ": value not sent in text form"));
      }
      continue;
    }
    const std::string& v = c.value->data;
    auto need = [&](int slot) -> Status {
      if (is_null) {
        return absl::InvalidArgumentError(absl::StrCat("column ", std::string(name), " is NULL"));
      }
      seen[slot] = true;
      return absl::OkStatus();
    };
    if (name == "id") {
      LASTRO_RETURN_IF_ERROR(need(0));
      LASTRO_ASSIGN_OR_RETURN(r.id, ParseInt(name, v));
    } else if (name == "customer_id") {
      LASTRO_RETURN_IF_ERROR(need(1));
      LASTRO_ASSIGN_OR_RETURN(r.customer_id, ParseInt(name, v));
    } else if (name == "amount_cents") {
      LASTRO_RETURN_IF_ERROR(need(2));
      LASTRO_ASSIGN_OR_RETURN(r.amount_cents, ParseInt(name, v));
    } else if (name == "term_months") {
      LASTRO_RETURN_IF_ERROR(need(3));
      LASTRO_ASSIGN_OR_RETURN(int64_t t, ParseInt(name, v));
      r.term_months = int32_t(t);
    } else if (name == "purpose") {
      LASTRO_RETURN_IF_ERROR(need(4));
      r.purpose = v;
    } else if (name == "channel") {
      LASTRO_RETURN_IF_ERROR(need(5));
      r.channel = v;
    } else if (name == "status") {
      LASTRO_RETURN_IF_ERROR(need(6));
      r.status = v;
    } else if (name == "created_at") {
      LASTRO_RETURN_IF_ERROR(need(7));
      LASTRO_ASSIGN_OR_RETURN(r.created_at_us, capture::ParsePgTimestamptz(v));
    } else if (name == "declared_income_cents") {
      seen[8] = true;
      if (!is_null) {
        LASTRO_ASSIGN_OR_RETURN(int64_t income, ParseInt(name, v));
        r.declared_income_cents = income;
      }
    }
  }
  static constexpr const char* kNames[] = {"id",          "customer_id", "amount_cents",
                                           "term_months", "purpose",     "channel",
                                           "status",      "created_at",  "declared_income_cents"};
  for (int i = 0; i < 8; ++i) {
    if (!seen[i]) {
      return absl::InvalidArgumentError(absl::StrCat("column ", kNames[i], " is missing"));
    }
  }
  return r;
}

}  // namespace lastro::decide
