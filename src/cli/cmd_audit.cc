// `lastro audit verify` and `lastro token create|list|revoke` (docs/governance.md,
// "Audit log" and "API tokens").
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "governance/api_tokens.h"
#include "governance/audit_log.h"

namespace lastro::cli {

namespace {

// Records a token command in the audit log; `command` is the command as run.
Status AuditTokenCommand(const std::string& state_dir, const std::string& action,
                         const std::string& command, const std::string& token_id) {
  LASTRO_ASSIGN_OR_RETURN(auto log, governance::AuditLog::Open(state_dir));
  return log
      ->Append({.user = CliUser(),
                .action = action,
                .sql = command,
                .outcome = "allowed",
                .remote = "cli",
                .subject = token_id})
      .status();
}

void AddVerifyCommand(CLI::App& audit, GlobalFlags& flags, int& exit_code) {
  CLI::App* verify = audit.add_subcommand(
      "verify", "Recompute the audit log's hash chain: exit 0 intact, 1 tampered, 2 unreadable");
  static std::string expect_head;
  static bool json_output = false;
  verify->add_option("--expect-head", expect_head,
                     "A hash shipped to the logs earlier (kept off this machine): it must still "
                     "be in the chain");
  verify->add_flag("--json", json_output, "Print the result as one JSON object");
  verify->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  verify->callback([&] {
    StatusOr<Config> config = LoadConfigFor(flags);
    StatusOr<governance::AuditVerification> v =
        config.ok() ? governance::VerifyAuditLog(config->governance.state_dir, expect_head)
                    : StatusOr<governance::AuditVerification>(config.status());
    if (!v.ok()) {
      Finish(v.status());
      exit_code = 2;  // unreadable or usage: not a verdict on the log
      return;
    }
    const std::string file = governance::AuditLogFile(config->governance.state_dir).string();
    if (json_output) {
      nlohmann::json out = {{"file", file},
                            {"ok", v->ok},
                            {"entries", v->entries},
                            {"first_bad_seq", v->first_bad_seq},
                            {"problem", v->problem},
                            {"head_seq", v->head_seq},
                            {"head_hash", v->head_hash}};
      std::printf("%s\n", out.dump().c_str());
    } else if (v->ok) {
      std::printf("%s: OK, %lld entries, chain intact; head seq %lld hash %s%s\n", file.c_str(),
                  static_cast<long long>(v->entries), static_cast<long long>(v->head_seq),
                  v->head_hash.empty() ? "-" : v->head_hash.c_str(),
                  expect_head.empty() ? "" : "; the expected head is in it");
    } else {
      std::printf("%s: TAMPERED: %s (%lld entries intact before it)\n", file.c_str(),
                  v->problem.c_str(), static_cast<long long>(v->entries));
    }
    exit_code = v->ok ? 0 : 1;
  });
}

void AddTokenCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* token = app.add_subcommand("token", "API tokens of the governed query API");
  token->require_subcommand(1);

  CLI::App* create =
      token->add_subcommand("create", "Issue a token for a user and role; prints it once");
  static std::string user, role;
  create->add_option("--user", user, "User the token authenticates, [a-z0-9_.@-]{1,64}")
      ->required();
  create->add_option("--role", role, "Role its queries run as (defined by the policies)")
      ->required();
  create->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  create->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      const std::string& state_dir = config.governance.state_dir;
      std::string id;
      LASTRO_ASSIGN_OR_RETURN(std::string secret,
                              governance::IssueApiToken(state_dir, user, role, &id));
      // Fail closed: a token whose issue is not in the audit log is revoked unseen.
      Status audited = AuditTokenCommand(state_dir, "token.create",
                                         "token create --user " + user + " --role " + role, id);
      if (!audited.ok()) {
        IgnoreError(governance::RevokeApiToken(state_dir, id));
        return absl::UnavailableError("token not issued: its audit entry cannot be written: " +
                                      std::string(audited.message()));
      }
      std::printf("%s\n", secret.c_str());  // stdout holds the token and nothing else
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });

  CLI::App* list = token->add_subcommand("list", "List tokens (never their hashes)");
  static bool json_output = false;
  list->add_flag("--json", json_output, "Print a JSON array");
  list->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  list->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(std::vector<governance::ApiTokenInfo> tokens,
                              governance::ListApiTokens(config.governance.state_dir));
      if (json_output) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& t : tokens) {
          out.push_back({{"id", t.id},
                         {"user", t.user},
                         {"role", t.role},
                         {"created_at", t.created_at},
                         {"revoked_at", t.revoked_at.empty() ? nlohmann::json(nullptr)
                                                             : nlohmann::json(t.revoked_at)}});
        }
        std::printf("%s\n", out.dump().c_str());
        return absl::OkStatus();
      }
      std::printf("%-16s %-24s %-16s %-20s %s\n", "ID", "USER", "ROLE", "CREATED", "REVOKED");
      for (const auto& t : tokens) {
        std::printf("%-16s %-24s %-16s %-20s %s\n", t.id.c_str(), t.user.c_str(), t.role.c_str(),
                    t.created_at.c_str(), t.revoked_at.empty() ? "-" : t.revoked_at.c_str());
      }
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });

  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a token by its id");
  static std::string id;
  revoke->add_option("--id", id, "The token's id (tok_..., see `lastro token list`)")->required();
  revoke->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  revoke->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      const std::string& state_dir = config.governance.state_dir;
      LASTRO_RETURN_IF_ERROR(governance::RevokeApiToken(state_dir, id));
      Status audited = AuditTokenCommand(state_dir, "token.revoke", "token revoke --id " + id, id);
      if (!audited.ok()) {
        return absl::UnavailableError("token revoked, but its audit entry cannot be written: " +
                                      std::string(audited.message()));
      }
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });
}

}  // namespace

void RegisterAudit(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "The governed access audit log");
  audit->require_subcommand(1);
  AddVerifyCommand(*audit, flags, exit_code);
  AddTokenCommands(app, flags, exit_code);
}

}  // namespace lastro::cli
