// Value types shared by the stream's stages (capture -> score -> decide -> write).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lastro::decide {

// A credit request as captured from the WAL (or read by backfill / sweep).
struct CapturedRequest {
  int64_t id = 0;
  int64_t customer_id = 0;
  int64_t amount_cents = 0;
  int32_t term_months = 0;
  std::string purpose;
  std::string channel;
  std::optional<int64_t> declared_income_cents;
  std::string status;
  int64_t created_at_us = 0;   // Unix microseconds
  uint64_t commit_lsn = 0;     // end LSN of its transaction; 0 when not from the slot
  int64_t commit_time_us = 0;  // Unix microseconds; 0 when unknown
};

// What the operational DB says about a request right before scoring it.
struct RequestContext {
  std::string status;  // current status (anything but PENDING means: already decided)
  std::string cpf;
  bool first_time_customer = true;
};

// The final decision for one request, as written to credit_decisions.
struct Decision {
  int64_t request_id = 0;
  std::string status;  // APPROVED | REJECTED | MANUAL_REVIEW | FAILED
  std::optional<int32_t> score;
  std::string risk_band;
  std::optional<double> probability_of_default;
  std::vector<std::string> reason_codes;
  // The policy's inputs that are not columns of the request, stored so a backtest can
  // replay the decision exactly: the provider's reason codes (empty when the provider
  // failed) and the customer's first-time flag from the pre-call lookup (nullopt only
  // when unknown; the stream always knows it).
  std::vector<std::string> provider_reason_codes;
  std::optional<bool> first_time_customer;
  std::string provider_ref;
  std::string provider_model_version;
  std::string policy_version;
  int32_t attempts = 0;
  std::optional<double> provider_latency_ms;
  uint64_t source_lsn = 0;
  std::string note;  // goes to the status history's reason
  // For the dashboard and latency metrics (not stored):
  std::string channel;
  int64_t amount_cents = 0;
  int64_t created_at_us = 0;
  int64_t commit_time_us = 0;
  // The customer's CPF masked for display ("***.456.789-**", or "***.***.***-**" when
  // unknown). The raw CPF never leaves the decide layer.
  std::string cpf_masked;
  // Writer bookkeeping: when the first write of this decision was tried.
  std::chrono::steady_clock::time_point first_write{};
};

}  // namespace lastro::decide
