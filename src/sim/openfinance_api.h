// Internal to the Open Finance simulator (openfinance_sim.cc): the OFB-shaped
// bodies — consents, accounts, balances, transactions — and the validation of what
// clients send. Pure functions of their arguments (the simulator holds the state
// and the lock), so each is easy to test. Contract: docs/openfinance-api.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sim/openfinance_model.h"
#include "web/http_server.h"

namespace lastro::sim::of_internal {

// The permissions a data-sharing consent may ask for here (a subset of OFB's).
const std::vector<std::string>& KnownPermissions();

// A consent as the bank stores it. `customer_key` is the CPF's 11 digits: it keys
// the customer's data in the model and never leaves the simulator.
struct Consent {
  std::string consent_id;
  std::string customer_key;
  int64_t created_ms = 0;
  int64_t status_updated_ms = 0;
  int64_t expires_ms = 0;
  std::string status;          // AUTHORISED or REJECTED
  std::string rejected_by;     // USER or ASPSP, when REJECTED
  std::string rejection_code;  // CUSTOMER_MANUALLY_REJECTED, CUSTOMER_MANUALLY_REVOKED,
                               // CONSENT_MAX_DATE_REACHED, when REJECTED
  std::vector<std::string> permissions;
};

// The consent as seen at `now_ms`: an AUTHORISED consent past its expiry reads
// REJECTED / ASPSP / CONSENT_MAX_DATE_REACHED from its expiry on.
Consent Effective(const Consent& consent, int64_t now_ms);

// "2026-11-20T14:03:12.000Z".
std::string Rfc3339Ms(int64_t unix_ms);
// RFC 3339 with 'Z' or a numeric offset, optional fraction; nullopt otherwise.
std::optional<int64_t> ParseRfc3339Ms(std::string_view text);

// {"errors":[{"code","title","detail"}],"meta":{"totalRecords":1,"totalPages":1,
// "requestDateTime"}} with `status`.
web::Response OfError(int status, std::string_view code, std::string_view title,
                      std::string_view detail, int64_t now_ms);

// What POST /consents asked for, validated.
struct ConsentRequest {
  std::string cpf;  // 11 digits with valid check digits
  std::vector<std::string> permissions;
  int64_t expires_ms = 0;
};
// Errors: kInvalidArgument with a message that never echoes the CPF.
StatusOr<ConsentRequest> ParseConsentRequest(std::string_view body, int64_t now_ms);

// The consent resource body (data, links.self, meta).
std::string ConsentBody(const Consent& effective, const std::string& self_url, int64_t now_ms);

struct PageRequest {
  int64_t page = 1;
  int64_t page_size = 25;
};
// `page` (>= 1) and `page-size` (1..max_page_size) from the query.
// Errors: kInvalidArgument naming the parameter.
StatusOr<PageRequest> ParsePageRequest(const std::map<std::string, std::string>& query,
                                       int max_page_size);

struct BookingPeriod {
  absl::CivilDay from, to;
};
// fromBookingDate/toBookingDate (YYYY-MM-DD; default: the 7 days to `today`);
// from <= to, at most 366 days. Errors: kInvalidArgument.
StatusOr<BookingPeriod> ParseBookingPeriod(const std::map<std::string, std::string>& query,
                                           absl::CivilDay today);

// A list body: data = items[page], links {self, first, prev, next, last}, meta.
// `base_url` is scheme://host:port + path; `fixed_query` the query parameters other
// than page/page-size, already encoded ("a=1&b=2" or "").
std::string ListBody(const std::vector<std::string>& items_json, const PageRequest& page,
                     const std::string& base_url, const std::string& fixed_query, int64_t now_ms);
// 400 when the page is beyond the last one; nullopt when it is in range.
std::optional<web::Response> PageOutOfRange(int64_t total, const PageRequest& page, int64_t now_ms);

std::string AccountJson(const OfAccount& account);
std::string BalanceBody(int64_t available_cents, const std::string& self_url, int64_t now_ms);
// One transaction; when HashUnit(seed, id) < malformed_rate it is served broken in
// one of six ways (docs/openfinance-api.md, "Malformed records").
std::string TransactionJson(const OfTransaction& t, uint64_t seed, double malformed_rate);

}  // namespace lastro::sim::of_internal
