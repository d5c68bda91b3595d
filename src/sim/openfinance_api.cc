#include "sim/openfinance_api.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/iso_date.h"
#include "common/pii.h"

namespace lastro::sim::of_internal {
namespace {

using nlohmann::json;

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kMaxConsentDays = 366;
constexpr int64_t kMaxPeriodDays = 366;

json Meta(int64_t total_records, int64_t total_pages, int64_t now_ms) {
  return {{"totalRecords", total_records},
          {"totalPages", total_pages},
          {"requestDateTime", Rfc3339Ms(now_ms)}};
}

json Money(int64_t cents) { return {{"amount", OfAmount(cents)}, {"currency", "BRL"}}; }

std::optional<int64_t> ParsePositive(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1) return std::nullopt;
  return v;
}

std::string PageUrl(const std::string& base_url, const std::string& fixed_query, int64_t page,
                    int64_t size) {
  return absl::StrCat(base_url, "?", fixed_query, fixed_query.empty() ? "" : "&", "page=", page,
                      "&page-size=", size);
}

}  // namespace

const std::vector<std::string>& KnownPermissions() {
  static const std::vector<std::string> kPermissions = {
      "ACCOUNTS_READ", "ACCOUNTS_BALANCES_READ", "ACCOUNTS_TRANSACTIONS_READ", "RESOURCES_READ"};
  return kPermissions;
}

Consent Effective(const Consent& consent, int64_t now_ms) {
  Consent c = consent;
  if (c.status == "AUTHORISED" && now_ms >= c.expires_ms) {
    c.status = "REJECTED";
    c.rejected_by = "ASPSP";
    c.rejection_code = "CONSENT_MAX_DATE_REACHED";
    c.status_updated_ms = c.expires_ms;
  }
  return c;
}

std::string Rfc3339Ms(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::optional<int64_t> ParseRfc3339Ms(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return std::nullopt;
  return absl::ToUnixMillis(t);
}

web::Response OfError(int status, std::string_view code, std::string_view title,
                      std::string_view detail, int64_t now_ms) {
  json body = {{"errors", json::array({{{"code", code}, {"title", title}, {"detail", detail}}})},
               {"meta", Meta(1, 1, now_ms)}};
  return web::Response::Json(status, body.dump());
}

StatusOr<ConsentRequest> ParseConsentRequest(std::string_view body, int64_t now_ms) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_object()) {
    return absl::InvalidArgumentError("body must be a JSON object with a 'data' object");
  }
  const json& data = j["data"];
  ConsentRequest out;
  const json* doc = nullptr;
  if (data.contains("loggedUser") && data["loggedUser"].is_object() &&
      data["loggedUser"].contains("document") && data["loggedUser"]["document"].is_object()) {
    doc = &data["loggedUser"]["document"];
  }
  if (doc == nullptr || !doc->contains("identification") || !(*doc)["identification"].is_string() ||
      !doc->contains("rel") || (*doc)["rel"] != "CPF") {
    return absl::InvalidArgumentError(
        "'data.loggedUser.document' must have 'identification' (a CPF) and 'rel' = \"CPF\"");
  }
  out.cpf = (*doc)["identification"].get<std::string>();
  if (out.cpf.size() != 11 || !pii::IsValidCpf(out.cpf)) {
    return absl::InvalidArgumentError(
        "'data.loggedUser.document.identification' must be a valid CPF of 11 digits");
  }
  if (!data.contains("permissions") || !data["permissions"].is_array() ||
      data["permissions"].empty()) {
    return absl::InvalidArgumentError("'data.permissions' must be a non-empty array");
  }
  for (const json& p : data["permissions"]) {
    const auto& known = KnownPermissions();
    if (!p.is_string() ||
        std::find(known.begin(), known.end(), p.get<std::string>()) == known.end()) {
      return absl::InvalidArgumentError(
          "'data.permissions' may hold only ACCOUNTS_READ, ACCOUNTS_BALANCES_READ, "
          "ACCOUNTS_TRANSACTIONS_READ and RESOURCES_READ");
    }
    out.permissions.push_back(p.get<std::string>());
  }
  if (!data.contains("expirationDateTime") || !data["expirationDateTime"].is_string()) {
    return absl::InvalidArgumentError("'data.expirationDateTime' is required (RFC 3339)");
  }
  std::optional<int64_t> expires = ParseRfc3339Ms(data["expirationDateTime"].get<std::string>());
  if (!expires) {
    return absl::InvalidArgumentError(
        "'data.expirationDateTime' must be an RFC 3339 date-time, e.g. 2027-01-31T23:59:59Z");
  }
  if (*expires <= now_ms || *expires > now_ms + kMaxConsentDays * kDayMs) {
    return absl::InvalidArgumentError(
        "'data.expirationDateTime' must be in the future and at most 12 months away");
  }
  out.expires_ms = *expires;
  return out;
}

std::string ConsentBody(const Consent& c, const std::string& self_url, int64_t now_ms) {
  json data = {
      {"consentId", c.consent_id},    {"creationDateTime", Rfc3339Ms(c.created_ms)},
      {"status", c.status},           {"statusUpdateDateTime", Rfc3339Ms(c.status_updated_ms)},
      {"permissions", c.permissions}, {"expirationDateTime", Rfc3339Ms(c.expires_ms)}};
  if (c.status == "REJECTED") {
    data["rejection"] = {{"rejectedBy", c.rejected_by}, {"reason", {{"code", c.rejection_code}}}};
  }
  json body = {
      {"data", std::move(data)}, {"links", {{"self", self_url}}}, {"meta", Meta(1, 1, now_ms)}};
  return body.dump();
}

StatusOr<PageRequest> ParsePageRequest(const std::map<std::string, std::string>& query,
                                       int max_page_size) {
  PageRequest out;
  if (auto it = query.find("page"); it != query.end()) {
    std::optional<int64_t> v = ParsePositive(it->second);
    if (!v || *v > 1000000) {
      return absl::InvalidArgumentError("query parameter 'page' must be an integer >= 1");
    }
    out.page = *v;
  }
  if (auto it = query.find("page-size"); it != query.end()) {
    std::optional<int64_t> v = ParsePositive(it->second);
    if (!v || *v > max_page_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter 'page-size' must be an integer in 1..", max_page_size));
    }
    out.page_size = *v;
  }
  return out;
}

StatusOr<BookingPeriod> ParseBookingPeriod(const std::map<std::string, std::string>& query,
                                           absl::CivilDay today) {
  BookingPeriod p{today - 6, today};
  for (const auto& [name, field] :
       {std::pair<const char*, absl::CivilDay*>{"fromBookingDate", &p.from},
        {"toBookingDate", &p.to}}) {
    auto it = query.find(name);
    if (it == query.end()) continue;
    if (!IsIsoDate(it->second) || !absl::ParseCivilTime(it->second, field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", name, "' must be a date YYYY-MM-DD"));
    }
  }
  if (query.count("fromBookingDate") && !query.count("toBookingDate"))
    p.to = std::max(p.from, today);
  if (!query.count("fromBookingDate") && query.count("toBookingDate")) p.from = p.to - 6;
  if (p.from > p.to) {
    return absl::InvalidArgumentError("'fromBookingDate' must not be after 'toBookingDate'");
  }
  if (p.to - p.from >= kMaxPeriodDays) {
    return absl::InvalidArgumentError("the booking period may span at most 366 days");
  }
  return p;
}

std::string ListBody(const std::vector<std::string>& items_json, const PageRequest& page,
                     const std::string& base_url, const std::string& fixed_query, int64_t now_ms) {
  const int64_t total = static_cast<int64_t>(items_json.size());
  const int64_t pages = std::max<int64_t>(1, (total + page.page_size - 1) / page.page_size);
  const int64_t first = (page.page - 1) * page.page_size;
  const int64_t last = std::min(total, first + page.page_size);
  std::string data = "[";
  for (int64_t i = first; i < last; ++i) {
    if (i > first) data += ',';
    data += items_json[static_cast<size_t>(i)];
  }
  data += ']';
  json links = {{"self", PageUrl(base_url, fixed_query, page.page, page.page_size)},
                {"first", PageUrl(base_url, fixed_query, 1, page.page_size)},
                {"last", PageUrl(base_url, fixed_query, pages, page.page_size)}};
  if (page.page > 1) links["prev"] = PageUrl(base_url, fixed_query, page.page - 1, page.page_size);
  if (page.page < pages) {
    links["next"] = PageUrl(base_url, fixed_query, page.page + 1, page.page_size);
  }
  // `data` is spliced in as text: the items are already JSON.
  return absl::StrCat("{\"data\":", data, ",\"links\":", links.dump(),
                      ",\"meta\":", Meta(total, pages, now_ms).dump(), "}");
}

std::optional<web::Response> PageOutOfRange(int64_t total, const PageRequest& page,
                                            int64_t now_ms) {
  const int64_t pages = std::max<int64_t>(1, (total + page.page_size - 1) / page.page_size);
  if (page.page <= pages) return std::nullopt;
  return OfError(400, "INVALID_PARAMETER", "Page out of range",
                 absl::StrCat("page ", page.page, " is beyond the last page (", pages, ")"),
                 now_ms);
}

std::string AccountJson(const OfAccount& a) {
  return json{{"brandName", kOpenFinanceBrandName},
              {"companyCnpj", kOpenFinanceCompanyCnpj},
              {"type", a.type},
              {"subtype", a.subtype},
              {"compeCode", kOpenFinanceCompeCode},
              {"branchCode", a.branch_code},
              {"number", a.number},
              {"checkDigit", a.check_digit},
              {"accountId", a.account_id}}
      .dump();
}

std::string BalanceBody(int64_t available_cents, const std::string& self_url, int64_t now_ms) {
  json data = {{"availableAmount", Money(available_cents)},
               {"blockedAmount", Money(0)},
               {"automaticallyInvestedAmount", Money(0)},
               {"updateDateTime", Rfc3339Ms(now_ms)}};
  return json{
      {"data", std::move(data)}, {"links", {{"self", self_url}}}, {"meta", Meta(1, 1, now_ms)}}
      .dump();
}

std::string TransactionJson(const OfTransaction& t, uint64_t seed, double malformed_rate) {
  json j = {{"transactionId", t.transaction_id},
            {"completedAuthorisedPaymentType", "TRANSACAO_EFETIVADA"},
            {"creditDebitType", t.credit ? "CREDITO" : "DEBITO"},
            {"transactionName", t.name},
            {"type", t.type},
            {"transactionAmount", Money(t.amount_cents)},
            {"transactionDateTime", Rfc3339Ms(t.at_ms)}};
  if (!t.partie_document.empty()) {
    j["partieCnpjCpf"] = t.partie_document;
    j["partiePersonType"] = t.partie_person_type;
  }
  if (malformed_rate > 0 && OfUnit(seed, "malformed|" + t.transaction_id) < malformed_rate) {
    switch (OfHash(seed, "malformed-kind|" + t.transaction_id) % 6) {
      case 0:  // a decimal comma
        j["transactionAmount"]["amount"] =
            absl::StrCat(t.amount_cents / 100, ",", t.amount_cents % 100 / 10, t.amount_cents % 10);
        break;
      case 1:
        j.erase("transactionId");
        break;
      case 2:
        j["creditDebitType"] = t.credit ? "CREDIT" : "DEBIT";
        break;
      case 3:
        j["transactionDateTime"] = absl::FormatTime(
            "%d/%m/%Y %H:%M:%S", absl::FromUnixMillis(t.at_ms), absl::UTCTimeZone());
        break;
      case 4:
        j["transactionAmount"]["currency"] = "USD";
        break;
      default:
        j["transactionAmount"]["amount"] = "-" + OfAmount(t.amount_cents);
        break;
    }
  }
  return j.dump();
}

}  // namespace lastro::sim::of_internal
