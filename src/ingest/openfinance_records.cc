#include "ingest/openfinance_records.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/fnv.h"
#include "common/pii.h"

namespace lastro::ingest {
namespace {

using nlohmann::json;

constexpr int64_t kMinYearMicros = 946684800LL * 1000000;   // 2000-01-01
constexpr int64_t kMaxYearMicros = 4102444800LL * 1000000;  // 2100-01-01

// OFB's id pattern: ^[a-zA-Z0-9][a-zA-Z0-9-]{0,99}$
bool IsOfId(std::string_view s) {
  if (s.empty() || s.size() > 100 || s[0] == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

// An enumeration word: ^[A-Z][A-Z_]{0,63}$
bool IsEnumWord(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'A' || s[0] > 'Z') return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || c == '_')) return false;
  }
  return true;
}

const json* Field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<std::string> Text(const json& object, const char* key) {
  const json* f = Field(object, key);
  if (f == nullptr || !f->is_string()) return std::nullopt;
  return f->get<std::string>();
}

// Quotes a value for a reason, cut short: reasons must stay readable and small.
std::string Shown(std::string_view s) {
  std::string out(s.substr(0, 40));
  if (s.size() > 40) out += "...";
  return "'" + pii::Redact(out) + "'";
}

StatusOr<int64_t> Money(const json& object, const char* key, bool allow_negative) {
  const json* m = Field(object, key);
  if (m == nullptr || !m->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("missing ", key));
  }
  std::optional<std::string> currency = Text(*m, "currency");
  if (!currency) return absl::InvalidArgumentError(absl::StrCat("missing ", key, ".currency"));
  if (*currency != "BRL") {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ".currency ", Shown(*currency), " is not BRL"));
  }
  std::optional<std::string> amount = Text(*m, "amount");
  if (!amount) {
    return absl::InvalidArgumentError(absl::StrCat("missing ", key, ".amount (a string)"));
  }
  auto cents = ParseAmountCents(*amount, allow_negative);
  if (!cents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ".amount ", cents.status().message()));
  }
  return *cents;
}

StatusOr<int64_t> Instant(const json& object, const char* key) {
  std::optional<std::string> text = Text(object, key);
  if (!text) return absl::InvalidArgumentError(absl::StrCat("missing ", key));
  auto micros = ParseInstantMicros(*text);
  if (!micros.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(key, " ", micros.status().message()));
  }
  return *micros;
}

StatusOr<json> Envelope(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  if (!j.contains("data")) return absl::InvalidArgumentError("the body has no 'data'");
  return j;
}

int64_t RequestMicros(const json& j) {
  const json* meta = Field(j, "meta");
  if (meta == nullptr) return 0;
  std::optional<std::string> t = Text(*meta, "requestDateTime");
  if (!t) return 0;
  auto micros = ParseInstantMicros(*t);
  return micros.ok() ? *micros : 0;
}

}  // namespace

StatusOr<int64_t> ParseAmountCents(std::string_view text, bool allow_negative) {
  const std::string shown = Shown(text);
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    for (char c : d) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (dot == std::string_view::npos || whole.empty() || whole.size() > 15 || frac.size() < 2 ||
      frac.size() > 4 || !digits(whole) || !digits(frac)) {
    return absl::InvalidArgumentError(
        absl::StrCat(shown, " is not a decimal with 2..4 places (e.g. 1234.56)"));
  }
  if (negative && !allow_negative) {
    return absl::InvalidArgumentError(absl::StrCat(shown, " is negative"));
  }
  for (char c : frac.substr(2)) {
    if (c != '0') {
      return absl::InvalidArgumentError(absl::StrCat(shown, " has fractions of a cent"));
    }
  }
  int64_t cents = 0;
  for (char c : whole) cents = cents * 10 + (c - '0');
  cents = cents * 100 + (frac[0] - '0') * 10 + (frac[1] - '0');
  return negative ? -cents : cents;
}

StatusOr<int64_t> ParseInstantMicros(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Shown(text), " is not an RFC 3339 date-time (e.g. 2026-11-20T14:03:12Z)"));
  }
  const int64_t micros = absl::ToUnixMicros(t);
  if (micros < kMinYearMicros || micros >= kMaxYearMicros) {
    return absl::InvalidArgumentError(absl::StrCat(Shown(text), " is outside 2000..2099"));
  }
  return micros;
}

StatusOr<OfPage> ParseListPage(std::string_view body) {
  LASTRO_ASSIGN_OR_RETURN(json j, Envelope(body));
  OfPage page;
  if (!j["data"].is_array()) return absl::InvalidArgumentError("'data' is not an array");
  page.data = std::move(j["data"]);
  if (const json* links = Field(j, "links")) {
    if (const json* next = Field(*links, "next"); next != nullptr && !next->is_null()) {
      if (!next->is_string()) return absl::InvalidArgumentError("links.next is not a string");
      page.next = next->get<std::string>();
    }
  }
  const json* meta = Field(j, "meta");
  for (auto [key, out] : {std::pair<const char*, int64_t*>{"totalRecords", &page.total_records},
                          {"totalPages", &page.total_pages}}) {
    const json* v = meta == nullptr ? nullptr : Field(*meta, key);
    if (v == nullptr || !v->is_number_integer() || v->get<int64_t>() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("meta.", key, " is not a non-negative integer"));
    }
    *out = v->get<int64_t>();
  }
  page.request_micros = RequestMicros(j);
  return page;
}

StatusOr<OfConsent> ParseConsent(std::string_view body) {
  LASTRO_ASSIGN_OR_RETURN(json j, Envelope(body));
  const json& data = j["data"];
  OfConsent c;
  std::optional<std::string> status = Text(data, "status");
  if (!status || !IsEnumWord(*status)) {
    return absl::InvalidArgumentError("the consent has no data.status");
  }
  c.status = *status;
  LASTRO_ASSIGN_OR_RETURN(c.expires_micros, Instant(data, "expirationDateTime"));
  if (const json* rejection = Field(data, "rejection")) {
    if (const json* reason = Field(*rejection, "reason")) {
      c.rejection_code = Text(*reason, "code").value_or("");
      if (!IsEnumWord(c.rejection_code)) c.rejection_code = "UNKNOWN";
    }
  }
  c.request_micros = RequestMicros(j);
  if (c.request_micros == 0) {
    return absl::InvalidArgumentError("the consent answer has no meta.requestDateTime");
  }
  return c;
}

bool ConsentUsable(const OfConsent& c, std::string* reason) {
  if (c.status != "AUTHORISED") {
    *reason = c.status + (c.rejection_code.empty() ? "" : " (" + c.rejection_code + ")");
    return false;
  }
  if (c.expires_micros <= c.request_micros) {
    *reason = "expired at " + absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                               absl::FromUnixMicros(c.expires_micros),
                                               absl::UTCTimeZone());
    return false;
  }
  return true;
}

StatusOr<BankAccount> ParseAccount(const json& record) {
  if (!record.is_object()) return absl::InvalidArgumentError("the account is not an object");
  BankAccount a;
  std::optional<std::string> id = Text(record, "accountId");
  if (!id) return absl::InvalidArgumentError("missing accountId");
  if (!IsOfId(*id)) return absl::InvalidArgumentError("accountId " + Shown(*id) + " is malformed");
  a.account_id = *id;
  std::optional<std::string> type = Text(record, "type");
  if (!type || !IsEnumWord(*type)) return absl::InvalidArgumentError("missing or malformed type");
  a.type = *type;
  a.subtype = Text(record, "subtype").value_or("");
  a.brand_name = Text(record, "brandName").value_or("");
  a.company_cnpj = Text(record, "companyCnpj").value_or("");
  a.compe_code = Text(record, "compeCode").value_or("");
  a.branch_code = Text(record, "branchCode").value_or("");
  return a;
}

StatusOr<BankBalance> ParseBalance(std::string_view body) {
  LASTRO_ASSIGN_OR_RETURN(json j, Envelope(body));
  const json& data = j["data"];
  if (!data.is_object()) return absl::InvalidArgumentError("the balance 'data' is not an object");
  BankBalance b;
  LASTRO_ASSIGN_OR_RETURN(b.available_cents, Money(data, "availableAmount", true));
  LASTRO_ASSIGN_OR_RETURN(b.blocked_cents, Money(data, "blockedAmount", true));
  LASTRO_ASSIGN_OR_RETURN(b.invested_cents, Money(data, "automaticallyInvestedAmount", true));
  LASTRO_ASSIGN_OR_RETURN(b.updated_micros, Instant(data, "updateDateTime"));
  return b;
}

StatusOr<BankTransaction> ParseTransaction(const json& record) {
  if (!record.is_object()) return absl::InvalidArgumentError("the transaction is not an object");
  BankTransaction t;
  std::optional<std::string> id = Text(record, "transactionId");
  if (!id) return absl::InvalidArgumentError("missing transactionId");
  if (!IsOfId(*id)) {
    return absl::InvalidArgumentError("transactionId " + Shown(*id) + " is malformed");
  }
  t.transaction_id = *id;
  std::optional<std::string> sign = Text(record, "creditDebitType");
  if (!sign || (*sign != "CREDITO" && *sign != "DEBITO")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "creditDebitType ", sign ? Shown(*sign) : "(missing)", " is not CREDITO or DEBITO"));
  }
  t.credit_debit_type = *sign;
  std::optional<std::string> type = Text(record, "type");
  if (!type || !IsEnumWord(*type)) return absl::InvalidArgumentError("missing or malformed type");
  t.type = *type;
  t.completed_type = Text(record, "completedAuthorisedPaymentType").value_or("");
  if (!t.completed_type.empty() && !IsEnumWord(t.completed_type)) t.completed_type = "";
  LASTRO_ASSIGN_OR_RETURN(t.amount_cents, Money(record, "transactionAmount", false));
  if (t.amount_cents == 0) return absl::InvalidArgumentError("transactionAmount.amount is zero");
  LASTRO_ASSIGN_OR_RETURN(t.booked_micros, Instant(record, "transactionDateTime"));
  return t;
}

std::string ErrorCode(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  const json* errors = j.is_discarded() ? nullptr : Field(j, "errors");
  if (errors == nullptr || !errors->is_array() || errors->empty()) return "";
  std::string code = Text((*errors)[0], "code").value_or("");
  return IsEnumWord(code) ? code : "";
}

std::string SanitizedRaw(const json& record) {
  json copy = record;
  if (copy.is_object()) {
    for (const char* key :
         {"partieCnpjCpf", "partiePersonType", "partieCompeCode", "partieBranchCode",
          "partieNumber", "partieCheckDigit", "transactionName"}) {
      copy.erase(key);
    }
  }
  return pii::Redact(copy.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string RecordKey(const std::string& sanitized_raw) {
  return Hex64(Fnv1a64(sanitized_raw, kLastroFnvSeed));
}

}  // namespace lastro::ingest
