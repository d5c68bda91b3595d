// LGPD data-subject requests over Lastro's data (docs/governance.md, "LGPD: erasure
// and export"):
//
//   Erase()   crypto-shredding (Art. 18 VI): the customer's data key is destroyed, so
//             every encrypted field of theirs, in every file and every version of the
//             lake (old versions, bronze logs, copies and backups of the lake
//             included), no longer opens; a tombstone keeps later batches from
//             storing their PII again. Pseudonymous rows (customer_id, customer_token,
//             amounts, statuses) stay, so aggregates do not change.
//   Export()  everything the lake and the published catalog hold on the person, as one
//             JSON document (Art. 18 II), with their PII decrypted in this process's
//             memory only (never in DuckDB, a spill file or a log).
//
// Both record the request and its outcome, append-only, in
// `<state_dir>/privacy/requests.jsonl` (one JSON object per line, fsynced):
//   {"event":"requested","request_id":…,"type":"erase"|"export","customer_id":…,
//    "reason":…,"requested_at":…}
//   {"event":"completed"|"failed","request_id":…,"type":…,"customer_id":…,
//    "completed_at":…,"done":[…] | "error":…}
// The reason is free text typed by an operator: CPF-, phone- and e-mail-shaped values
// in it are redacted (pii::Redact) before it is written.
//
// Thread safety: the functions are safe to call from several processes at once (the
// key store and the log serialise their writers); within a process, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace lastro::governance {

// One privacy request as the audit log records it. Never carries PII.
struct PrivacyEvent {
  std::string action;  // "privacy.erase" | "privacy.export"
  std::string request_id;
  int64_t customer_id = 0;
  bool ok = false;
  std::string detail;  // "key destroyed", "already erased", the error message, …
};
// audit: called once when a request ends, successfully or not, after the requests log
// has its outcome. The audit log (lastro_audit) plugs in here.
using PrivacyAuditHook = std::function<void(const PrivacyEvent&)>;

struct EraseRequest {
  int64_t customer_id = 0;
  std::string reason;  // why (ticket, legal basis); redacted before it is stored
  PrivacyAuditHook audit;
};

struct EraseResult {
  std::string request_id;  // UUIDv7
  int64_t customer_id = 0;
  bool already_erased = false;  // an earlier request did it; nothing changed now
  bool had_key = false;         // a data key existed and was destroyed now
  std::string erased_at;        // RFC 3339 UTC: when the key was destroyed
  std::string requested_at, completed_at;
  // {"request_id","customer_id","status":"erased"|"already_erased","key_destroyed",
  //  "had_key","erased_at","requested_at","completed_at","done":[…],"kept":[…]}
  nlohmann::json ToJson() const;
};

// Erases the customer's PII by destroying their data key (keystore.h EraseKey).
// Needs governance.master_key (the shard is rewritten with its MAC) and state_dir.
// Errors: kInvalidArgument (customer id < 1), kFailedPrecondition (no or wrong
// master key), kUnavailable (I/O, the key store locked for too long: retry), kDataLoss
// (a corrupt key store). A failure after the request was recorded is recorded too.
StatusOr<EraseResult> Erase(const GovernanceConfig& config, const EraseRequest& request);

struct ExportRequest {
  int64_t customer_id = 0;
  // Where to write the document (mode 0600, replaced atomically); empty: not written.
  std::string output;
  PrivacyAuditHook audit;
};

struct ExportResult {
  std::string request_id;
  nlohmann::json document;  // see docs/governance.md for its fields
  std::string output;       // the file written, or ""
  int64_t rows = 0;         // rows of every table in the document
};

// Everything held on the customer: contact PII decrypted (or "erased": true and
// none), attribute versions (silver, bronze, gold dim_customer), credit requests
// with their decisions and status history, bureau scores, app events, bank data,
// daily features, consents and quarantined records. Reads the lake's published
// tables and, when there is one, the published catalog (read-only).
// Errors: kInvalidArgument (customer id < 1), kNotFound (nothing at all is held on
// the customer), kFailedPrecondition (the customer has encrypted PII and no master
// key is set, or the wrong one), kUnavailable (I/O), engine errors. A field that does
// not open under the customer's key is left out and counted in the document's
// "unreadable_fields" (and logged without its value), rather than failing the export.
StatusOr<ExportResult> Export(const Config& config, const ExportRequest& request);

}  // namespace lastro::governance
