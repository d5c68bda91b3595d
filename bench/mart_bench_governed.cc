#include "mart_bench_governed.h"

#include <cstdio>

#include "bench_common.h"
#include "governance/governed_query.h"
#include "lake/engine.h"
#include "mart_bench_queries.h"

namespace lastro::bench {
namespace {

constexpr double kTargetOverhead = 0.10;  // governed p95 at most 10% above ungoverned

struct Row {
  std::string name, team, error;
  Percentiles plain, governed, team_governed;
  bool equal = false;
};

std::string Team(const std::string& name) { return name.substr(0, name.find('.')); }

}  // namespace

bool MeasureGoverned(const Config& config, const std::filesystem::path& catalog,
                     const std::vector<mart::NamedQuery>& named,
                     const std::map<std::string, std::string>& period, int runs) {
  auto queries = governance::GovernedQueries::Create(config);
  if (!queries.ok()) {
    std::printf("\ngoverned queries NOT MEASURED: %s\n",
                std::string(queries.status().message()).c_str());
    return false;
  }
  auto engine = lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                    .threads = config.lake.threads,
                                    .database = catalog,
                                    .read_only = true,
                                    .external_access = false});
  if (!engine.ok()) return false;
  std::vector<Row> rows;
  for (const mart::NamedQuery& q : named) {
    Row row{.name = q.name, .team = Team(q.name)};
    std::map<std::string, std::string> params;
    for (const mart::QueryParam& p : q.params) {
      if (period.count(p.name)) params[p.name] = period.at(p.name);
    }
    auto sql = mart::ExpandNamedQuery(q.name, params);
    if (!sql.ok()) {
      row.error = std::string(sql.status().message());
      rows.push_back(row);
      continue;
    }
    // risk_admin sees every column as it is: its answer must be the ungoverned one.
    const governance::Caller admin{.user = "bench", .role = "risk_admin", .remote = "bench"};
    const governance::Caller team{.user = "bench", .role = row.team, .remote = "bench"};
    const governance::GovernedRequest request{.named = q.name, .params = params, .format = "csv"};
    std::vector<double> plain_ms, governed_ms, team_ms;
    std::string plain_csv, governed_csv;
    // Run 0 warms up (and builds the role catalogs); then the two alternate, so a busy
    // moment of the machine lands on both.
    for (int i = 0; i <= runs && row.error.empty(); ++i) {
      // The ungoverned side formats its answer too: both are what a service would send.
      auto t = Clock::now();
      auto a = (*engine)->Query(*sql);
      if (a.ok()) plain_csv = mart::FormatCsv(*a);
      const double a_ms = Seconds(t) * 1e3;
      t = Clock::now();
      auto g = (*queries)->Run(admin, request);
      const double g_ms = Seconds(t) * 1e3;
      t = Clock::now();
      auto tg = (*queries)->Run(team, request);
      const double t_ms = Seconds(t) * 1e3;
      if (!a.ok() || !g.ok() || !tg.ok()) {
        row.error = std::string((!a.ok()   ? a.status()
                                 : !g.ok() ? g.status()
                                           : tg.status())
                                    .message());
        break;
      }
      if (i == 0) continue;
      plain_ms.push_back(a_ms);
      governed_ms.push_back(g_ms);
      team_ms.push_back(t_ms);
      governed_csv = g->body;
    }
    row.plain = Summarise(plain_ms);
    row.governed = Summarise(governed_ms);
    row.team_governed = Summarise(team_ms);
    row.equal = !plain_csv.empty() && plain_csv == governed_csv;
    rows.push_back(row);
  }

  std::printf("\n%-30s | %-17s | %-17s | %8s | %-9s | %-22s | %s\n", "governed named query",
              "ungoverned p50/p95", "governed p50/p95", "overhead", "<=10%", "as its team p50/p95",
              "answer");
  bool ok = true;
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      std::printf("%-30s NOT MEASURED: %s\n", r.name.c_str(), r.error.c_str());
      ok = false;
      continue;
    }
    const double overhead = r.plain.p95 > 0 ? r.governed.p95 / r.plain.p95 - 1 : 0;
    const bool met = overhead <= kTargetOverhead;
    ok = ok && met && r.equal;
    std::printf("%-30s | %7.2f %8.2f  | %7.2f %8.2f  | %+7.1f%% | %-9s | %-10s %5.2f %5.2f | %s\n",
                r.name.c_str(), r.plain.p50, r.plain.p95, r.governed.p50, r.governed.p95,
                overhead * 100, met ? "met" : "MISSED", r.team.c_str(), r.team_governed.p50,
                r.team_governed.p95, r.equal ? "equal" : "DIFFERS");
  }
  std::printf(
      "(ms, %d runs each after a warm-up, alternating; ungoverned = the same SQL on one open "
      "read-only engine on the full catalog, formatted as CSV; governed = GovernedQueries::Run as "
      "risk_admin: "
      "role catalog, sandbox, SQL guard, watchdog, audit entry (governance.audit_sync_ms); answer "
      "= governed "
      "CSV equal to the ungoverned one; as its team = the same query as the team's role, on "
      "its masked and filtered catalog)\n",
      runs);
  return ok;
}

}  // namespace lastro::bench
