// `lastro privacy erase|export` (LGPD requests) and `lastro keys status|rotate-master`
// (docs/governance.md, "LGPD: erasure and export" and "Encryption and keys").
#include <absl/strings/str_cat.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "governance/audit_log.h"
#include "governance/keys_admin.h"
#include "governance/privacy.h"

namespace lastro::cli {
namespace {

// The audit hook of a privacy request: one entry in the audit log when the request
// ends. `*status` says whether it was written; the command prints nothing (export) or
// fails (erase, which has happened) when it was not.
governance::PrivacyAuditHook AuditTo(const Config& config, Status* status) {
  return [&config, status](const governance::PrivacyEvent& e) {
    auto log = governance::AuditLog::Open(config.governance.state_dir);
    if (!log.ok()) {
      *status = log.status();
      return;
    }
    governance::AuditEntry entry{
        .user = CliUser(),
        .action = e.action,
        .outcome = e.ok ? "allowed" : "error",
        .reason = e.detail,
        .remote = "cli",
        .subject = absl::StrCat("customer ", e.customer_id, " request ", e.request_id)};
    *status = (*log)->Append(entry).status();
  };
}

}  // namespace

void RegisterPrivacy(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* privacy = app.add_subcommand(
      "privacy", "LGPD requests: erase a customer's PII (crypto-shredding), export their data");
  privacy->require_subcommand(1);

  static governance::EraseRequest erase;
  CLI::App* e = privacy->add_subcommand(
      "erase", "Destroy the customer's data key: their PII becomes unreadable everywhere");
  e->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  e->add_option("--customer", erase.customer_id, "customers.id of the person")->required();
  e->add_option("--reason", erase.reason, "Why (ticket, legal basis); recorded, PII redacted");
  e->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      Status audited = absl::UnknownError("the erasure did not reach its audit entry");
      erase.audit = AuditTo(config, &audited);
      LASTRO_ASSIGN_OR_RETURN(governance::EraseResult result,
                              governance::Erase(config.governance, erase));
      if (!audited.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "the customer's key is destroyed, but the audit entry could not be written: ",
            audited.message()));
      }
      std::printf("%s\n", result.ToJson().dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });

  static governance::ExportRequest request;
  CLI::App* x = privacy->add_subcommand(
      "export", "Everything held on the customer, as one JSON document (PII decrypted)");
  x->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  x->add_option("--customer", request.customer_id, "customers.id of the person")->required();
  x->add_option("--output", request.output,
                "Write the document to this file (mode 0600) instead of stdout");
  x->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      Status audited = absl::UnknownError("the export did not reach its audit entry");
      request.audit = AuditTo(config, &audited);
      LASTRO_ASSIGN_OR_RETURN(governance::ExportResult result, governance::Export(config, request));
      if (!audited.ok()) {
        if (!result.output.empty()) std::remove(result.output.c_str());
        return absl::UnavailableError(
            absl::StrCat("the export is withheld: its audit entry could not be written (",
                         audited.message(), ")"));
      }
      if (result.output.empty()) {
        std::printf("%s\n", result.document.dump(2).c_str());
      } else {
        nlohmann::json summary = {{"request_id", result.request_id},
                                  {"customer_id", request.customer_id},
                                  {"erased", result.document["erased"]},
                                  {"rows", result.rows},
                                  {"output", result.output}};
        std::printf("%s\n", summary.dump().c_str());
      }
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

void RegisterKeys(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* keys = app.add_subcommand(
      "keys", "The per-customer key store under governance.state_dir (envelope encryption)");
  keys->require_subcommand(1);

  CLI::App* s = keys->add_subcommand("status", "Counts of data keys and erased customers");
  s->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  s->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(nlohmann::json out, governance::KeyStoreStatus(config.governance));
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });

  static std::string new_key_file;
  CLI::App* r = keys->add_subcommand(
      "rotate-master",
      "Re-wrap every data key under a new master key (LASTRO_MASTER_KEY is the current one)");
  r->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  r->add_option("--new-key-file", new_key_file, "File holding the new master key")->required();
  r->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(auto log, governance::AuditLog::Open(config.governance.state_dir));
      StatusOr<nlohmann::json> rotated = governance::RotateMaster(config.governance, new_key_file);
      governance::AuditEntry entry{
          .user = CliUser(),
          .action = "keys.rotate_master",
          .outcome = rotated.ok() ? "allowed" : "error",
          .reason = rotated.ok() ? "" : std::string(rotated.status().message()),
          .remote = "cli"};
      LASTRO_RETURN_IF_ERROR(log->Append(entry).status());
      LASTRO_ASSIGN_OR_RETURN(nlohmann::json out, std::move(rotated));
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
