// Erase(): crypto-shredding of one customer (privacy.h).
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/pii.h"
#include "governance/envelope.h"
#include "governance/keystore.h"
#include "governance/privacy.h"
#include "governance/requests_log.h"

namespace lastro::governance {

namespace {

// What an erasure leaves in place, on purpose (docs/governance.md).
const nlohmann::json& Kept() {
  static const nlohmann::json kKept = {
      "pseudonymous rows (customer_id, customer_token, amounts, statuses, dates, scores, "
      "events, bank figures): aggregates are unchanged",
      "the encrypted fields' ciphertexts in every lake file and version: unreadable without "
      "the destroyed key",
      "the operational database (PostgreSQL): erasing the customer there is the app's job"};
  return kKept;
}

}  // namespace

nlohmann::json EraseResult::ToJson() const {
  nlohmann::json done = nlohmann::json::array();
  if (already_erased) {
    done.push_back("nothing: the customer was already erased");
  } else {
    done.push_back(had_key ? "data key destroyed (crypto-shredding)"
                           : "no data key existed: none will ever be created");
    done.push_back("tombstone recorded: later batches store NULL PII for the customer");
  }
  return {{"request_id", request_id},
          {"customer_id", customer_id},
          {"status", already_erased ? "already_erased" : "erased"},
          {"key_destroyed", had_key && !already_erased},
          {"had_key", had_key},
          {"erased_at", erased_at},
          {"requested_at", requested_at},
          {"completed_at", completed_at},
          {"done", done},
          {"kept", Kept()}};
}

StatusOr<EraseResult> Erase(const GovernanceConfig& config, const EraseRequest& request) {
  if (request.customer_id < 1) {
    return absl::InvalidArgumentError("--customer must be a customer id (a positive integer)");
  }
  LASTRO_ASSIGN_OR_RETURN(MasterKey master, MasterKey::Parse(config.master_key));
  EraseResult out;
  out.request_id = internal::NewRequestId();
  out.customer_id = request.customer_id;
  out.requested_at = internal::NowRfc3339();
  const std::filesystem::path state_dir = config.state_dir;
  LASTRO_RETURN_IF_ERROR(
      internal::AppendRequestLine(state_dir, {{"event", "requested"},
                                              {"request_id", out.request_id},
                                              {"type", "erase"},
                                              {"customer_id", out.customer_id},
                                              {"reason", pii::Redact(request.reason)},
                                              {"requested_at", out.requested_at}}));
  auto finish = [&](const Status& status, const std::string& detail) -> Status {
    nlohmann::json line = {{"event", status.ok() ? "completed" : "failed"},
                           {"request_id", out.request_id},
                           {"type", "erase"},
                           {"customer_id", out.customer_id},
                           {"completed_at", internal::NowRfc3339()}};
    if (status.ok()) {
      line["done"] = out.ToJson()["done"];
      line["already_erased"] = out.already_erased;
      line["had_key"] = out.had_key;
    } else {
      line["error"] = std::string(status.message());
    }
    out.completed_at = line["completed_at"];
    Status logged = internal::AppendRequestLine(state_dir, line);
    if (request.audit) {
      request.audit({.action = "privacy.erase",
                     .request_id = out.request_id,
                     .customer_id = out.customer_id,
                     .ok = status.ok() && logged.ok(),
                     .detail = status.ok() ? detail : std::string(status.message())});
    }
    return status.ok() ? logged : status;
  };

  StatusOr<EraseOutcome> erased = EraseKey(KeysDir(state_dir), master, request.customer_id);
  if (!erased.ok()) return finish(erased.status(), "");
  out.already_erased = erased->already_erased;
  out.had_key = erased->had_key;
  out.erased_at = internal::MicrosRfc3339(erased->erased_at_micros);
  std::string detail = out.already_erased ? "already erased"
                       : out.had_key      ? "data key destroyed"
                                          : "tombstone recorded (no key existed)";
  LASTRO_RETURN_IF_ERROR(finish(absl::OkStatus(), detail));
  log::Info(
      "privacy erase",
      {{"request_id", out.request_id}, {"customer_id", out.customer_id}, {"outcome", detail}});
  return out;
}

}  // namespace lastro::governance
