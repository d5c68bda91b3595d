#include "batch/backtest.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

namespace lastro::batch {
namespace {

using decide::Outcome;

// ----------------------------------------------------------------------------------
// Replay and aggregation.

void Count(OutcomeCounts& counts, Outcome outcome) {
  switch (outcome) {
    case Outcome::kApproved:
      ++counts.approved;
      break;
    case Outcome::kManualReview:
      ++counts.manual_review;
      break;
    case Outcome::kRejected:
      ++counts.rejected;
      break;
  }
}

OutcomeRates Rates(const OutcomeCounts& c, int64_t requests) {
  if (requests == 0) return {};
  double n = static_cast<double>(requests);
  return {c.approved / n, c.manual_review / n, c.rejected / n};
}

// (rule id, change, direction) -> requests
using DriverCounts = std::map<std::tuple<std::string, std::string, std::string>, int64_t>;

struct GroupAccumulator {
  BacktestGroup group;
  DriverCounts drivers;
};

void Finish(GroupAccumulator& acc) {
  BacktestGroup& g = acc.group;
  g.actual_rates = Rates(g.actual, g.requests);
  g.candidate_rates = Rates(g.candidate, g.requests);
  // Deltas from the counts, so equal counts give exactly 0.
  auto pp = [&](int64_t candidate, int64_t actual) {
    return g.requests == 0 ? 0.0 : 100.0 * static_cast<double>(candidate - actual) / g.requests;
  };
  g.delta_pp = {pp(g.candidate.approved, g.actual.approved),
                pp(g.candidate.manual_review, g.actual.manual_review),
                pp(g.candidate.rejected, g.actual.rejected)};
  for (const auto& [key, requests] : acc.drivers) {
    g.drivers.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), requests});
  }
  std::stable_sort(
      g.drivers.begin(), g.drivers.end(),
      [](const RuleDriver& a, const RuleDriver& b) { return a.requests > b.requests; });
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::optional<std::string_view> WhyNotReplayable(const BacktestRow& row) {
  if (row.actual_decision.empty()) return kNoDecision;
  if (row.actual_decision == "FAILED") return kProviderFailure;
  for (const std::string& reason : row.actual_reason_codes) {
    if (reason.rfind("PROVIDER_", 0) == 0) return kProviderFailure;
  }
  if (!decide::ParseOutcome(row.actual_decision)) return kUnknownDecision;
  if (!row.risk_score || !row.probability_of_default) return kNoRiskScore;
  if (!row.first_time_customer) return kInputsNotRecorded;
  return std::nullopt;
}

decide::PolicyInput PolicyInputOf(const BacktestRow& row) {
  decide::PolicyInput in;
  in.score = *row.risk_score;
  in.probability_of_default = *row.probability_of_default;
  in.provider_reasons = row.provider_reason_codes;
  in.amount_cents = row.amount_cents;
  in.term_months = row.term_months;
  in.declared_income_cents = row.declared_income_cents;
  in.channel = row.channel;
  in.purpose = row.purpose;
  in.first_time_customer = *row.first_time_customer;
  in.bureau_score = row.bureau_score;
  return in;
}

BacktestReport RunBacktest(const decide::Policy& candidate, const std::vector<BacktestRow>& rows) {
  BacktestReport report;
  report.candidate_version = candidate.version();
  report.rows = static_cast<int64_t>(rows.size());
  const std::string default_reason =
      fmt::format("DEFAULT_{}", decide::OutcomeName(candidate.default_outcome()));
  GroupAccumulator totals;
  std::map<std::tuple<std::string, std::string, std::string>, GroupAccumulator> groups;
  std::vector<uint32_t> fired;  // reused: Evaluate() does not allocate once it is sized
  std::vector<std::string> candidate_reasons;
  for (const BacktestRow& row : rows) {
    if (std::optional<std::string_view> why = WhyNotReplayable(row)) {
      ++report.not_replayable;
      ++report.not_replayable_by_reason[std::string(*why)];
      continue;
    }
    const Outcome outcome = candidate.Evaluate(PolicyInputOf(row), &fired);
    const Outcome actual = *decide::ParseOutcome(row.actual_decision);
    const std::string& band = candidate.BandFor(*row.risk_score);

    GroupAccumulator& group = groups[{row.request_date, row.channel, band}];
    if (group.group.requests == 0) {
      group.group.request_date = row.request_date;
      group.group.channel = row.channel;
      group.group.band = band;
    }
    for (GroupAccumulator* acc : {&totals, &group}) {
      ++acc->group.requests;
      Count(acc->group.actual, actual);
      Count(acc->group.candidate, outcome);
    }
    if (report.first_date.empty() || row.request_date < report.first_date) {
      report.first_date = row.request_date;
    }
    report.last_date = std::max(report.last_date, row.request_date);
    if (outcome == actual) continue;

    candidate_reasons.clear();
    for (uint32_t i : fired) candidate_reasons.push_back(candidate.rules()[i].id);
    if (fired.empty()) candidate_reasons.push_back(default_reason);
    std::string direction =
        fmt::format("{}->{}", decide::OutcomeName(actual), decide::OutcomeName(outcome));
    for (GroupAccumulator* acc : {&totals, &group}) {
      ++acc->group.changed;
      for (const std::string& id : candidate_reasons) {
        if (!Contains(row.actual_reason_codes, id)) ++acc->drivers[{id, "added", direction}];
      }
      // A reason listed twice counts once.
      std::set<std::string> removed;
      for (const std::string& id : row.actual_reason_codes) {
        if (!Contains(candidate_reasons, id)) removed.insert(id);
      }
      for (const std::string& id : removed) ++acc->drivers[{id, "removed", direction}];
    }
    if (report.changed_sample.size() < kChangedSampleLimit) {
      report.changed_sample.push_back(
          {row.request_id, row.request_date, row.channel, band, row.actual_decision,
           row.actual_reason_codes, std::string(decide::OutcomeName(outcome)), candidate_reasons});
    }
  }
  report.replayed = totals.group.requests;
  Finish(totals);
  report.totals = std::move(totals.group);
  for (auto& [key, acc] : groups) {
    Finish(acc);
    report.groups.push_back(std::move(acc.group));
  }
  return report;
}

// ----------------------------------------------------------------------------------
// Output formats.

namespace {

std::string Percent(double share) { return fmt::format("{:.1f}%", 100.0 * share); }

std::string Points(double pp) {
  if (std::fabs(pp) < 0.05) return "0.0pp";
  return fmt::format("{:+.1f}pp", pp);
}

// Columns padded to their widest cell; `right` says which align right (numbers).
std::string Render(const std::vector<std::vector<std::string>>& lines,
                   const std::vector<bool>& right) {
  std::vector<size_t> width(right.size(), 0);
  for (const auto& line : lines) {
    for (size_t c = 0; c < line.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], line[c].size());
    }
  }
  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (size_t c = 0; c < line.size() && c < width.size(); ++c) {
      if (c > 0) text += "  ";
      text += right[c] ? fmt::format("{:>{}}", line[c], width[c])
                       : fmt::format("{:<{}}", line[c], width[c]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  return out;
}

std::vector<std::string> TableLine(const BacktestGroup& g, std::string date) {
  return {std::move(date),
          g.channel,
          g.band,
          std::to_string(g.requests),
          Percent(g.actual_rates.approved),
          Percent(g.candidate_rates.approved),
          Points(g.delta_pp.approved),
          Percent(g.actual_rates.manual_review),
          Percent(g.candidate_rates.manual_review),
          Points(g.delta_pp.manual_review),
          Percent(g.actual_rates.rejected),
          Percent(g.candidate_rates.rejected),
          Points(g.delta_pp.rejected),
          std::to_string(g.changed)};
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

nlohmann::ordered_json CountsJson(const OutcomeCounts& c, const OutcomeRates& r) {
  return {{"approved", c.approved},
          {"manual_review", c.manual_review},
          {"rejected", c.rejected},
          {"approval_rate", r.approved},
          {"manual_review_rate", r.manual_review},
          {"rejection_rate", r.rejected}};
}

nlohmann::ordered_json DriversJson(const std::vector<RuleDriver>& drivers) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const RuleDriver& d : drivers) {
    out.push_back({{"rule_id", d.rule_id},
                   {"change", d.change},
                   {"direction", d.direction},
                   {"requests", d.requests}});
  }
  return out;
}

nlohmann::ordered_json GroupJson(const BacktestGroup& g, bool with_key) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (with_key) {
    out["request_date"] = g.request_date;
    out["channel"] = g.channel;
    out["band"] = g.band;
  }
  out["requests"] = g.requests;
  out["actual"] = CountsJson(g.actual, g.actual_rates);
  out["candidate"] = CountsJson(g.candidate, g.candidate_rates);
  out["delta_pp"] = {{"approved", g.delta_pp.approved},
                     {"manual_review", g.delta_pp.manual_review},
                     {"rejected", g.delta_pp.rejected}};
  out["changed"] = g.changed;
  if (with_key) out["drivers"] = DriversJson(g.drivers);
  return out;
}

}  // namespace

std::string FormatTable(const BacktestReport& r) {
  std::string out = fmt::format("Policy backtest: candidate {}", r.candidate_version);
  if (!r.first_date.empty()) out += fmt::format(", requests of {}..{}", r.first_date, r.last_date);
  out += fmt::format("\n{} requests read, {} replayed, {} not replayable", r.rows, r.replayed,
                     r.not_replayable);
  std::string reasons;
  for (const auto& [why, n] : r.not_replayable_by_reason) {
    reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", why, n);
  }
  if (!reasons.empty()) out += " (" + reasons + ")";
  out += fmt::format("\n{} changed outcome\n\n", r.totals.changed);
  if (r.replayed == 0) return out + "Nothing to compare.\n";

  std::vector<std::vector<std::string>> lines = {
      {"", "", "", "", "approved", "", "", "review", "", "", "rejected", "", "", ""},
      {"date", "channel", "band", "requests", "actual", "cand.", "delta", "actual", "cand.",
       "delta", "actual", "cand.", "delta", "changed"}};
  lines.push_back(TableLine(r.totals, "TOTAL"));
  for (const BacktestGroup& g : r.groups) lines.push_back(TableLine(g, g.request_date));
  std::vector<bool> right = {false, false, false, true, true, true, true,
                             true,  true,  true,  true, true, true, true};
  out += Render(lines, right);

  if (r.totals.drivers.empty()) return out;
  out += "\nRules behind the changes (added: fires now; removed: no longer fires)\n";
  std::vector<std::vector<std::string>> drivers = {{"rule", "change", "direction", "requests"}};
  for (const RuleDriver& d : r.totals.drivers) {
    drivers.push_back({d.rule_id, d.change, d.direction, std::to_string(d.requests)});
  }
  return out + Render(drivers, {false, false, false, true});
}

std::string FormatCsv(const BacktestReport& r) {
  std::string out =
      "request_date,channel,band,requests,"
      "actual_approved,actual_manual_review,actual_rejected,"
      "candidate_approved,candidate_manual_review,candidate_rejected,"
      "actual_approval_rate,candidate_approval_rate,approval_delta_pp,"
      "actual_manual_review_rate,candidate_manual_review_rate,manual_review_delta_pp,"
      "actual_rejection_rate,candidate_rejection_rate,rejection_delta_pp,changed\n";
  for (const BacktestGroup& g : r.groups) {
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{:.6f},{:.6f},{:.4f},{:.6f},{:.6f},{:.4f},{:.6f},{:.6f},"
        "{:.4f},{}\n",
        CsvField(g.request_date), CsvField(g.channel), CsvField(g.band), g.requests,
        g.actual.approved, g.actual.manual_review, g.actual.rejected, g.candidate.approved,
        g.candidate.manual_review, g.candidate.rejected, g.actual_rates.approved,
        g.candidate_rates.approved, g.delta_pp.approved, g.actual_rates.manual_review,
        g.candidate_rates.manual_review, g.delta_pp.manual_review, g.actual_rates.rejected,
        g.candidate_rates.rejected, g.delta_pp.rejected, g.changed);
  }
  return out;
}

std::string FormatJson(const BacktestReport& r) {
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const BacktestGroup& g : r.groups) groups.push_back(GroupJson(g, true));
  nlohmann::ordered_json sample = nlohmann::ordered_json::array();
  for (const ChangedRequest& c : r.changed_sample) {
    sample.push_back(
        {{"request_id", c.request_id},
         {"request_date", c.request_date},
         {"channel", c.channel},
         {"band", c.band},
         {"actual", {{"decision", c.actual_decision}, {"reason_codes", c.actual_reason_codes}}},
         {"candidate",
          {{"decision", c.candidate_decision}, {"reason_codes", c.candidate_reason_codes}}}});
  }
  nlohmann::ordered_json by_reason = nlohmann::ordered_json::object();
  for (const auto& [why, n] : r.not_replayable_by_reason) by_reason[why] = n;
  nlohmann::ordered_json out = {
      {"candidate_version", r.candidate_version},
      {"first_date",
       r.first_date.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.first_date)},
      {"last_date",
       r.last_date.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.last_date)},
      {"rows", r.rows},
      {"replayed", r.replayed},
      {"not_replayable", {{"total", r.not_replayable}, {"by_reason", by_reason}}},
      {"totals", GroupJson(r.totals, false)},
      {"groups", groups},
      {"drivers", DriversJson(r.totals.drivers)},
      {"changed",
       {{"total", r.totals.changed}, {"sample_limit", kChangedSampleLimit}, {"sample", sample}}}};
  return out.dump(2) + "\n";
}

StatusOr<ReportFormat> ParseReportFormat(std::string_view name) {
  if (name == "table") return ReportFormat::kTable;
  if (name == "csv") return ReportFormat::kCsv;
  if (name == "json") return ReportFormat::kJson;
  return absl::InvalidArgumentError(
      fmt::format("unknown report format '{}' (table, csv or json)", name));
}

// ----------------------------------------------------------------------------------
// Reading the lake.

namespace {

namespace fs = std::filesystem;

constexpr char kPartitionPrefix[] = "request_date=";
constexpr char kSeparator = '\x1f';  // joins list elements (reason codes never hold it)

bool ValidDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  std::chrono::year_month_day day{std::chrono::year(std::stoi(text.substr(0, 4))),
                                  std::chrono::month(std::stoi(text.substr(5, 2))),
                                  std::chrono::day(std::stoi(text.substr(8, 2)))};
  return day.ok();
}

std::vector<std::string> SplitList(const std::optional<std::string>& joined) {
  std::vector<std::string> out;
  if (!joined || joined->empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t end = joined->find(kSeparator, start);
    out.push_back(joined->substr(start, end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

// The Parquet files of each request_date partition in [from, to], by date.
StatusOr<std::map<std::string, std::vector<std::string>>> PartitionFiles(const fs::path& table,
                                                                         const std::string& from,
                                                                         const std::string& to) {
  std::map<std::string, std::vector<std::string>> out;
  std::error_code ec;
  for (fs::directory_iterator it(table, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(kPartitionPrefix, 0) != 0) continue;
    std::string date = name.substr(sizeof(kPartitionPrefix) - 1);
    if (date < from || date > to) continue;
    for (fs::directory_iterator f(it->path(), ec), fend; !ec && f != fend; f.increment(ec)) {
      if (f->path().extension() == ".parquet") out[date].push_back(f->path().string());
    }
    std::sort(out[date].begin(), out[date].end());
  }
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot list the silver table {}: {}", table.string(), ec.message()));
  }
  return out;
}

StatusOr<std::vector<BacktestRow>> ReadDay(lake::Engine& engine,
                                           const std::vector<std::string>& files) {
  std::string list;
  for (const std::string& f : files) list += (list.empty() ? "" : ", ") + lake::SqlString(f);
  // union_by_name: a day's files (appended by several runs) match by column name.
  std::string sql = fmt::format(
      "SELECT request_id, CAST(CAST(request_date AS DATE) AS VARCHAR), channel, purpose, "
      "amount_cents, term_months, declared_income_cents, risk_score, probability_of_default, "
      "array_to_string(provider_reason_codes, chr(31)), first_time_customer, bureau_score, "
      "decision, array_to_string(reason_codes, chr(31)) "
      "FROM read_parquet([{}], hive_partitioning = true, union_by_name = true) "
      "ORDER BY request_id",
      list);
  StatusOr<lake::QueryResult> result = engine.Query(sql);
  if (!result.ok()) {
    return Status(result.status().code(), fmt::format("reading the silver table: {}",
                                                      std::string(result.status().message())));
  }
  const lake::QueryResult& q = *result;
  std::vector<BacktestRow> rows;
  rows.reserve(q.rows());
  for (size_t i = 0; i < q.rows(); ++i) {
    BacktestRow row;
    row.request_id = q.Int(i, 0).value_or(0);
    row.request_date = q.Text(i, 1).value_or("");
    row.channel = q.Text(i, 2).value_or("");
    row.purpose = q.Text(i, 3).value_or("");
    row.amount_cents = q.Int(i, 4).value_or(0);
    row.term_months = static_cast<int32_t>(q.Int(i, 5).value_or(0));
    row.declared_income_cents = q.Int(i, 6);
    if (std::optional<int64_t> score = q.Int(i, 7)) row.risk_score = static_cast<int32_t>(*score);
    row.probability_of_default = q.Double(i, 8);
    row.provider_reason_codes = SplitList(q.Text(i, 9));
    if (const bool* first_time = std::get_if<bool>(&q.at(i, 10))) {
      row.first_time_customer = *first_time;
    }
    if (std::optional<int64_t> bureau = q.Int(i, 11)) {
      row.bureau_score = static_cast<int32_t>(*bureau);
    }
    row.actual_decision = q.Text(i, 12).value_or("");
    row.actual_reason_codes = SplitList(q.Text(i, 13));
    rows.push_back(std::move(row));
  }
  return rows;
}

Status WriteOutput(const std::string& path, const std::string& text) {
  if (path.empty()) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
      return absl::UnavailableError("cannot write the report to stdout");
    }
    return absl::OkStatus();
  }
  // Written aside and renamed, so a reader never sees half a report.
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      return absl::UnavailableError(fmt::format("cannot write the report to {}", path));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return absl::UnavailableError(fmt::format("cannot write the report to {}", path));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<BacktestRow>> LoadBacktestRows(const std::string& lake_dir,
                                                    const std::string& from, const std::string& to,
                                                    const lake::EngineOptions& engine_options) {
  for (const std::string* date : {&from, &to}) {
    if (!ValidDate(*date)) {
      return absl::InvalidArgumentError(
          fmt::format("'{}' is not a date: expected YYYY-MM-DD, e.g. 2026-11-28", *date));
    }
  }
  if (from > to) {
    return absl::InvalidArgumentError(
        fmt::format("the range {}..{} is empty: its first day is after its last", from, to));
  }
  const fs::path table = fs::path(lake_dir) / "silver" / "credit_requests";
  std::error_code ec;
  if (!fs::is_directory(table, ec)) {
    return absl::FailedPreconditionError(
        fmt::format("the lake at {} has no silver table silver/credit_requests yet: run the "
                    "daily batch first, or point lake.dir (LASTRO_LAKE_DIR) at the lake",
                    lake_dir));
  }
  LASTRO_ASSIGN_OR_RETURN(auto days, PartitionFiles(table, from, to));
  std::vector<BacktestRow> rows;
  if (days.empty()) return rows;
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<lake::Engine> engine, lake::Engine::Open(engine_options));
  // One query per day keeps each materialised result to one partition.
  for (const auto& [date, files] : days) {
    if (files.empty()) continue;
    LASTRO_ASSIGN_OR_RETURN(std::vector<BacktestRow> day, ReadDay(*engine, files));
    rows.insert(rows.end(), std::make_move_iterator(day.begin()),
                std::make_move_iterator(day.end()));
  }
  return rows;
}

Status RunBacktestJob(const BacktestJobOptions& options) {
  LASTRO_ASSIGN_OR_RETURN(decide::Policy candidate, decide::Policy::LoadFile(options.rules_file));
  LASTRO_ASSIGN_OR_RETURN(
      std::vector<BacktestRow> rows,
      LoadBacktestRows(options.lake_dir, options.from, options.to, options.engine));
  BacktestReport report = RunBacktest(candidate, rows);
  switch (options.format) {
    case ReportFormat::kTable:
      return WriteOutput(options.output, FormatTable(report));
    case ReportFormat::kCsv:
      return WriteOutput(options.output, FormatCsv(report));
    case ReportFormat::kJson:
      return WriteOutput(options.output, FormatJson(report));
  }
  return absl::InternalError("unknown report format");
}

}  // namespace lastro::batch
