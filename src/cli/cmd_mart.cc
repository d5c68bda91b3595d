// `lastro refresh` and `lastro query` (docs/model.md; --role: docs/governance.md).
#include <absl/strings/str_cat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "governance/governed_query.h"
#include "mart/query.h"
#include "mart/refresh.h"

namespace lastro::cli {
namespace {

// `lastro query --role R`: the same governed path as `lastro serve`, audited.
Status RunGoverned(const Config& config, const std::string& role, const mart::QueryOptions& query) {
  LASTRO_ASSIGN_OR_RETURN(auto queries, governance::GovernedQueries::Create(config));
  governance::Caller caller{.user = CliUser(), .role = role, .remote = "cli"};
  if (query.format == "parquet" && query.output.empty()) {
    return absl::InvalidArgumentError("--format parquet needs --output FILE");
  }
  LASTRO_ASSIGN_OR_RETURN(governance::GovernedResult r,
                          queries->Run(caller, {.sql = query.sql,
                                                .named = query.named,
                                                .params = query.params,
                                                .format = query.format}));
  if (!query.output.empty()) {
    std::ofstream out(query.output, std::ios::binary | std::ios::trunc);
    out << r.body;
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", query.output));
  } else {
    std::fputs(r.body.c_str(), stdout);
  }
  if (r.truncated) {
    std::fprintf(stderr, "lastro: only the first %lld rows (governance.max_rows)\n",
                 static_cast<long long>(r.rows));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterMart(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  static bool rollback = false, force = false;
  CLI::App* r = app.add_subcommand(
      "refresh", "Build the gold model into a new catalog version, check it, publish it");
  r->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  r->add_flag("--rollback", rollback, "Point the catalog back to the previous version");
  r->add_flag("--force", force, "Rebuild every table in full, even when no input changed")
      ->excludes("--rollback");
  r->callback([&] {
    auto body = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      StatusOr<mart::RefreshResult> result =
          rollback ? mart::RollbackCatalog(config)
                   : mart::RunRefresh(config, {.force = force, .code_version = LASTRO_VERSION});
      LASTRO_RETURN_IF_ERROR(result.status());
      nlohmann::json out = {{"state", result->state},
                            {"version", result->version},
                            {"previous_version", result->previous_version}};
      if (!rollback) out["inputs"] = result->inputs;
      if (!result->rows.empty()) out["rows"] = result->rows;
      if (result->state == "PUBLISHED") {
        out["mode"] = result->mode;
        out["tables"] = mart::TablesJson(result->tables);
        out["gates_passed"] = result->gates.size();
        out["seconds"] = result->seconds;
      }
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });

  static mart::QueryOptions query;
  static std::vector<std::string> params;
  static bool list = false;
  CLI::App* q = app.add_subcommand("query", "Read-only SQL against the published catalog");
  q->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  q->add_option("sql", query.sql, "SQL (one SELECT)");
  q->add_option("--named", query.named, "A named query (see --list)")->excludes("sql");
  q->add_option("--param", params, "name=value for a named query (repeatable)");
  q->add_option("--format", query.format, "table | csv | json | parquet")->capture_default_str();
  q->add_option("--output", query.output, "Write to this file instead of stdout");
  q->add_flag("--list", list, "List the named queries and their parameters");
  static std::string role;
  q->add_option("--role", role,
                "Run governed, as this role of the access policies (its masked, filtered "
                "catalog; audited as cli:<user>)");
  q->callback([&] {
    auto body = [&]() -> Status {
      if (list) {
        LASTRO_ASSIGN_OR_RETURN(auto all, mart::NamedQueries());
        std::fputs(mart::DescribeNamedQueries(all).c_str(), stdout);
        return absl::OkStatus();
      }
      for (const std::string& p : params) {
        size_t eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
          return absl::InvalidArgumentError("--param '" + p + "' is not name=value");
        }
        query.params[p.substr(0, eq)] = p.substr(eq + 1);
      }
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      if (!role.empty()) return RunGoverned(config, role, query);
      LASTRO_ASSIGN_OR_RETURN(std::string text, mart::RunQuery(config, query));
      std::fputs(text.c_str(), stdout);
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
