// Reading the Open Finance API's answers (docs/openfinance-api.md): the envelope of
// every body (data, links, meta), consents, accounts, balances and transactions,
// each checked before it is believed. Pure functions; thread-safe.
//
// A record that fails its checks is not an error of the pull: it comes back with a
// reason and goes to quarantine. An envelope that fails (not JSON, no `data`) is an
// error: the page cannot be trusted at all.
//
// Personal data: transactions may name a counterparty (partieCnpjCpf) and carry free
// text (transactionName). Neither is kept in the parsed records; SanitizedRaw() drops
// them from what quarantine stores.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::ingest {

// One page of a list endpoint.
struct OfPage {
  nlohmann::json data;  // always an array
  std::string next;     // links.next, "" on the last page
  int64_t total_records = 0;
  int64_t total_pages = 0;
  int64_t request_micros = 0;  // meta.requestDateTime (the bank's clock), 0 when absent
};

// Errors: kInvalidArgument ("page is not a JSON object", "'data' is not an array",
// "meta.totalRecords is not a non-negative integer", ...).
StatusOr<OfPage> ParseListPage(std::string_view body);

// GET /consents/{id}, as the bank reports it now.
struct OfConsent {
  std::string status;          // AUTHORISED, REJECTED, AWAITING_AUTHORISATION
  std::string rejection_code;  // e.g. CUSTOMER_MANUALLY_REVOKED, "" unless REJECTED
  int64_t expires_micros = 0;
  int64_t request_micros = 0;  // meta.requestDateTime: the bank's now
};
// Errors: kInvalidArgument when the body lacks data.status, a parseable
// data.expirationDateTime or meta.requestDateTime.
StatusOr<OfConsent> ParseConsent(std::string_view body);
// Whether the consent may be used at the bank's now; `reason` says why not
// ("REJECTED (CUSTOMER_MANUALLY_REVOKED)", "expired at 2026-11-20T00:00:00Z").
bool ConsentUsable(const OfConsent& consent, std::string* reason);

struct BankAccount {
  std::string account_id;
  std::string brand_name, company_cnpj, type, subtype, compe_code, branch_code;
};
// Errors: kInvalidArgument with the reason (missing or malformed accountId, no type).
// The account number and check digit are read past, not kept.
StatusOr<BankAccount> ParseAccount(const nlohmann::json& record);

struct BankBalance {
  int64_t available_cents = 0, blocked_cents = 0, invested_cents = 0;
  int64_t updated_micros = 0;
};
// The body of GET .../balances. Errors: kInvalidArgument with the reason.
StatusOr<BankBalance> ParseBalance(std::string_view body);

struct BankTransaction {
  std::string transaction_id;
  std::string credit_debit_type;  // CREDITO or DEBITO
  std::string type;               // PIX, TED, BOLETO, ... (OFB's list may grow: any A-Z_ word)
  std::string completed_type;     // completedAuthorisedPaymentType, "" when absent
  int64_t amount_cents = 0;       // > 0 as OFB sends it; the direction is credit_debit_type
  int64_t booked_micros = 0;      // transactionDateTime, UTC
};
// Errors: kInvalidArgument with the reason the record is quarantined, e.g.
// "transactionAmount.amount '12,50' is not a decimal with 2..4 places",
// "currency USD is not BRL", "missing transactionId".
StatusOr<BankTransaction> ParseTransaction(const nlohmann::json& record);

// "1234.56" (2..4 decimals; a leading '-' only when `allow_negative`) as cents.
// Errors: kInvalidArgument when malformed, when sub-cent digits are not zero, or out
// of range (|amount| < 10^15).
StatusOr<int64_t> ParseAmountCents(std::string_view text, bool allow_negative);
// RFC 3339 with 'Z' or an offset ("2026-11-20T14:03:12.000Z") as UTC micros.
StatusOr<int64_t> ParseInstantMicros(std::string_view text);

// The OFB error code of a 4xx body ({"errors":[{"code":...}]}), or "".
std::string ErrorCode(std::string_view body);

// The record as quarantine keeps it: counterparty fields and transactionName dropped,
// the rest re-serialised and scrubbed of CPF/e-mail/phone-shaped text.
std::string SanitizedRaw(const nlohmann::json& record);
// A stable key for a record (hex FNV-1a-64 of its sanitized serialisation), so the
// same bad record pulled twice is quarantined once.
std::string RecordKey(const std::string& sanitized_raw);

}  // namespace lastro::ingest
