// `lastro decision explain` (docs/governance.md, "Explaining a credit decision").
#include <absl/strings/str_cat.h>
#include <unistd.h>

#include <cstdio>

#include "cli/command.h"
#include "governance/audit_log.h"
#include "governance/explain.h"

namespace lastro::cli {
namespace {

// Every explain shows one customer's data, so it is audited, found or not, before
// anything is printed; a command whose entry cannot be written prints nothing.
Status RecordAudit(const Config& config, const governance::ExplainAuditEntry& e) {
  LASTRO_ASSIGN_OR_RETURN(auto log, governance::AuditLog::Open(config.governance.state_dir));
  governance::AuditEntry entry{
      .user = CliUser(),
      .action = e.action,
      .rows = e.customer_id ? 1 : 0,
      .outcome = e.outcome == "ok" ? "allowed" : "error",
      .reason = e.outcome == "ok" ? (e.customer_id ? absl::StrCat("customer ", *e.customer_id) : "")
                                  : e.outcome,
      .remote = "cli",
      .subject = e.subject};
  return log->Append(entry).status();
}

}  // namespace

void RegisterDecision(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* decision =
      app.add_subcommand("decision", "Credit decisions: explaining one (LGPD Art. 20)");
  decision->require_subcommand(1);

  static int64_t request_id = 0;
  static std::string format;
  CLI::App* e = decision->add_subcommand(
      "explain",
      "The exact inputs, reason codes, policy version and a replay of one credit decision, "
      "from the lake");
  e->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  e->add_option("--request", request_id, "Credit request id")->required();
  e->add_option("--format", format, "json or text (default: text on a terminal, otherwise json)")
      ->check(CLI::IsMember({"json", "text"}));
  e->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      StatusOr<governance::DecisionExplanation> explained =
          governance::ExplainDecision(config, request_id);
      LASTRO_RETURN_IF_ERROR(RecordAudit(config, governance::AuditEntryFor(request_id, explained)));
      if (!explained.ok()) return explained.status();
      if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "text" : "json";
      const std::string text = format == "text" ? governance::FormatExplanationText(*explained)
                                                : governance::FormatExplanationJson(*explained);
      if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
          std::fflush(stdout) != 0) {
        return absl::UnavailableError("cannot write the explanation to stdout");
      }
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
