#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command.h"
#include "sim/bureau_api_sim.h"
#include "sim/event_log_sim.h"
#include "sim/openfinance_consents.h"
#include "sim/openfinance_sim.h"
#include "sim/request_generator.h"
#include "sim/risk_api_sim.h"

namespace lastro::cli {
namespace {

// Starts a simulator, prints where it listens (one JSON line, for scripts) and serves
// until SIGINT/SIGTERM.
template <typename Server>
Status ServeUntilStopped(Server& server) {
  LASTRO_RETURN_IF_ERROR(server.Start());
  std::printf("{\"listening\":\"127.0.0.1:%u\"}\n", unsigned(server.port()));
  std::fflush(stdout);
  while (!StopFlag()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  return absl::OkStatus();
}

}  // namespace

void RegisterSim(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* sim = app.add_subcommand("sim", "Simulators of the outside world");
  sim->require_subcommand(1);

  static sim::RiskApiSimOptions risk;
  static int risk_port = 8091;
  CLI::App* r = sim->add_subcommand("risk-api", "The third-party risk-assessment API");
  r->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  r->add_option("--port", risk_port, "Port on 127.0.0.1 (0 = any free)")->capture_default_str();
  r->add_option("--latency-ms", risk.latency_ms, "Mean latency")->capture_default_str();
  r->add_option("--jitter-ms", risk.jitter_ms, "Latency standard deviation")->capture_default_str();
  r->add_option("--error-rate", risk.error_rate, "Share of 5xx answers")->capture_default_str();
  r->add_option("--rate-429", risk.rate_429, "Share of 429 answers")->capture_default_str();
  r->add_option("--timeout-rate", risk.timeout_rate, "Share of calls that hang")
      ->capture_default_str();
  r->add_option("--threads", risk.threads, "IO threads")->capture_default_str();
  r->add_option("--seed", risk.seed, "Random seed")->capture_default_str();
  r->callback([&] {
    auto run = [&]() -> Status {
      // The simulator requires the same token the client sends (risk.token).
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      risk.token = config.risk.token;
      risk.addr = "127.0.0.1:" + std::to_string(risk_port);
      LASTRO_ASSIGN_OR_RETURN(auto server, sim::RiskApiSim::Create(risk));
      return ServeUntilStopped(*server);
    };
    exit_code = Finish(run());
  });

  static sim::BureauApiSimOptions bureau;
  static int bureau_port = 8092;
  static std::string bureau_token;
  CLI::App* b = sim->add_subcommand("bureau", "The credit bureau's batch score API");
  b->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  b->add_option("--port", bureau_port, "Port on 127.0.0.1 (0 = any free)")->capture_default_str();
  b->add_option("--token", bureau_token, "Bearer token to require (default: bureau.token)");
  b->add_option("--late-rate", bureau.late_rate, "Share of calls answered late")
      ->capture_default_str();
  b->add_option("--late-ms", bureau.late_ms, "How late")->capture_default_str();
  b->add_option("--inconsistent-rate", bureau.inconsistent_rate,
                "Share of CPFs answered inconsistently")
      ->capture_default_str();
  b->add_option("--unknown-rate", bureau.unknown_rate, "Share of CPFs not found")
      ->capture_default_str();
  b->add_option("--error-rate", bureau.error_rate, "Share of 5xx answers")->capture_default_str();
  b->add_option("--rate-429", bureau.rate_429, "Share of 429 answers")->capture_default_str();
  b->add_option("--latency-ms", bureau.latency_ms, "Latency of answers that are not late")
      ->capture_default_str();
  b->add_option("--threads", bureau.threads, "IO threads")->capture_default_str();
  b->add_option("--seed", bureau.seed, "Random seed")->capture_default_str();
  b->callback([&, b] {
    auto run = [&]() -> Status {
      // The simulator requires the token the client sends (bureau.token) unless given.
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      bureau.token = b->count("--token") ? bureau_token : config.bureau.token;
      bureau.addr = "127.0.0.1:" + std::to_string(bureau_port);
      LASTRO_ASSIGN_OR_RETURN(auto server, sim::BureauApiSim::Create(bureau));
      return ServeUntilStopped(*server);
    };
    exit_code = Finish(run());
  });

  static sim::OpenFinanceSimOptions of;
  static int of_port = 8093;
  static std::string of_token;
  CLI::App* f = sim->add_subcommand(
      "openfinance", "An Open Finance Brasil bank: consents, accounts, balances, transactions");
  f->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  f->add_option("--port", of_port, "Port on 127.0.0.1 (0 = any free)")->capture_default_str();
  f->add_option("--token", of_token, "Bearer token to require (default: openfinance.token)");
  f->add_option("--seed", of.seed, "Seed of the bank's data and of the faults")
      ->capture_default_str();
  f->add_option("--now", of.now, "Fix the bank's clock at this RFC 3339 instant");
  f->add_option("--error-rate", of.error_rate, "Share of 5xx answers")->capture_default_str();
  f->add_option("--rate-429", of.rate_429, "Share of 429 answers")->capture_default_str();
  f->add_option("--latency-ms", of.latency_ms, "Latency of every answer")->capture_default_str();
  f->add_option("--malformed-rate", of.malformed_rate, "Share of transactions served malformed")
      ->capture_default_str();
  f->add_option("--reject-rate", of.reject_rate, "Share of consents the customer rejects")
      ->capture_default_str();
  f->add_option("--threads", of.threads, "IO threads")->capture_default_str();
  f->callback([&, f] {
    auto run = [&]() -> Status {
      // The simulator requires the token the client sends (openfinance.token) unless given.
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      of.token = f->count("--token") ? of_token : config.openfinance.token;
      of.addr = "127.0.0.1:" + std::to_string(of_port);
      LASTRO_ASSIGN_OR_RETURN(auto server, sim::OpenFinanceSim::Create(of));
      return ServeUntilStopped(*server);
    };
    exit_code = Finish(run());
  });

  static sim::ConsentSeederOptions seeder;
  CLI::App* c = sim->add_subcommand(
      "openfinance-consents",
      "The app: creates Open Finance consents for a share of the customers and stores them");
  c->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  c->add_option("--share", seeder.share, "Share of the customers given a consent")
      ->capture_default_str();
  c->add_option("--validity-days", seeder.validity_days, "Days until the consents expire")
      ->capture_default_str();
  c->add_option("--customers", seeder.customers, "Only these customer ids (comma-separated)")
      ->delimiter(',');
  c->add_option("--seed", seeder.seed, "Seed of the choice of customers")->capture_default_str();
  c->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      seeder.dsn = config.pg.dsn;
      seeder.url = config.openfinance.url;
      seeder.token = config.openfinance.token;
      LASTRO_ASSIGN_OR_RETURN(sim::ConsentSeederReport report,
                              sim::SeedOpenFinanceConsents(seeder));
      nlohmann::json out = {{"customers", report.customers},
                            {"created", report.created},
                            {"authorised", report.authorised},
                            {"rejected", report.rejected}};
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });

  static sim::RequestGeneratorOptions gen;
  CLI::App* q = sim->add_subcommand("requests", "The app: customers and credit requests");
  q->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  q->add_option("--rate", gen.rate, "Requests per second (0 = as fast as possible)")
      ->capture_default_str();
  q->add_option("--duration", gen.duration_s, "Seconds to run (0 = until Ctrl-C or --count)");
  q->add_option("--count", gen.count, "Number of requests, then stop");
  q->add_option("--customers", gen.customers, "Customer pool size")->capture_default_str();
  q->add_option("--clients", gen.clients, "Concurrent connections")->capture_default_str();
  q->add_option("--days", gen.days, "Spread created_at over the last N days (history)");
  q->add_option("--seed", gen.seed, "Random seed")->capture_default_str();
  q->callback([&, q] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      gen.dsn = config.pg.dsn;
      if (gen.count > 0 && !q->count("--rate")) gen.rate = 0;
      LASTRO_ASSIGN_OR_RETURN(auto report, sim::RunRequestGenerator(gen, StopFlag()));
      nlohmann::json out = {{"inserted", report.inserted},
                            {"customers", report.customers},
                            {"errors", report.errors},
                            {"elapsed_s", report.elapsed_s}};
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });

  static sim::EventLogSimOptions events;
  CLI::App* ev = sim->add_subcommand(
      "events", "The event collector's daily JSON-lines files (docs/ingest-events.md)");
  ev->add_option("--out", events.out_dir, "Folder to write events-YYYY-MM-DD-NNN.jsonl into")
      ->required();
  ev->add_option("--date", events.date, "First day, YYYY-MM-DD")->required();
  ev->add_option("--days", events.days, "Consecutive days")->capture_default_str();
  ev->add_option("--customers", events.customers, "Customer ids 1..N")->capture_default_str();
  ev->add_option("--seed", events.seed, "Random seed")->capture_default_str();
  ev->add_option("--events-per-day", events.events_per_day, "About this many events a day")
      ->capture_default_str();
  ev->add_option("--files-per-day", events.files_per_day, "Files a day (rotation by lines)")
      ->capture_default_str();
  ev->add_option("--malformed-rate", events.malformed_rate, "Malformed lines per good line")
      ->capture_default_str();
  ev->add_option("--duplicate-rate", events.duplicate_rate, "Duplicate lines per good line")
      ->capture_default_str();
  ev->add_option("--late-rate", events.late_rate, "Share of sessions received 1-3 days late")
      ->capture_default_str();
  ev->add_option("--truth", events.truth_path,
                 "Also write the answer key (every malformed, duplicate and late line) here");
  ev->callback([&] {
    auto run = [&]() -> Status {
      LASTRO_ASSIGN_OR_RETURN(sim::EventLogSimReport report, sim::RunEventLogSim(events));
      nlohmann::json out = {{"files", report.files.size()},
                            {"lines", report.lines},
                            {"good", report.good},
                            {"duplicates", report.duplicates.size()},
                            {"malformed", report.malformed.size()},
                            {"late", report.late.size()},
                            {"good_by_date", report.good_by_date}};
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(run());
  });
}

}  // namespace lastro::cli
