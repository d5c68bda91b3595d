#include "ingest/openfinance_pull.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace lastro::ingest {
namespace {

constexpr const char* kConsents = "/open-banking/consents/v3/consents/";
constexpr const char* kAccounts = "/open-banking/accounts/v2/accounts";
constexpr int64_t kMaxPages = 100000;  // per list: a bank that never ends a list is broken

// What a failed call means for the consent: skip it, fail it, or stop the run.
enum class Verdict { kSkip, kFail, kStop };

Verdict Classify(const Status& s) {
  if (absl::IsFailedPrecondition(s) || absl::IsCancelled(s)) return Verdict::kStop;
  if (absl::IsPermissionDenied(s)) return Verdict::kSkip;
  return Verdict::kFail;
}

// Every record of a paginated list, page by page. `on_record` sees each record.
Status ReadList(OpenFinanceClient& client, const std::string& first_path,
                const std::string& consent, ConsentPull& pull,
                const std::function<void(const nlohmann::json&)>& on_record) {
  std::string path = first_path;
  int64_t seen = 0;
  for (int64_t n = 1;; ++n) {
    LASTRO_ASSIGN_OR_RETURN(std::string body, client.Get(path, consent, &pull.calls));
    ++pull.pages;
    auto page = ParseListPage(body);
    if (!page.ok()) {
      return absl::InternalError(
          absl::StrCat("invalid page from the bank: ", page.status().message()));
    }
    for (const nlohmann::json& record : page->data) on_record(record);
    seen += static_cast<int64_t>(page->data.size());
    if (page->next.empty()) {
      // Records only append while we read (new postings), so the last page's count
      // is the list's: anything else means a page was skipped or repeated.
      if (seen != page->total_records) {
        return absl::InternalError(absl::StrCat("pagination lost records: read ", seen,
                                                " of totalRecords ", page->total_records));
      }
      return absl::OkStatus();
    }
    if (n >= kMaxPages) return absl::InternalError("more than 100000 pages; giving up");
    LASTRO_ASSIGN_OR_RETURN(std::string next, client.PathUnderBase(page->next));
    if (next == path) return absl::InternalError("links.next points to the same page");
    path = std::move(next);
  }
}

std::string Date(absl::CivilDay d) { return absl::FormatCivilTime(d); }

}  // namespace

std::pair<absl::CivilDay, absl::CivilDay> PullPeriod(std::optional<absl::CivilDay> watermark,
                                                     absl::CivilDay today,
                                                     const PullOptions& options) {
  absl::CivilDay from = watermark ? std::min(*watermark, today) - options.overlap_days
                                  : today - (options.history_days - 1);
  from = std::max(from, today - 365);
  return {from, today};
}

std::string EscapePathSegment(std::string_view segment) {
  std::string out;
  for (unsigned char c : segment) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

StatusOr<ConsentPull> PullConsent(OpenFinanceClient& client, const ConsentToPull& consent,
                                  const PullOptions& options, const WatermarkLookup& watermark) {
  ConsentPull pull;
  pull.consent = consent;
  const std::string& id = consent.consent_id;
  // The outcome of a failed call: stop the run, or end this consent with a reason.
  auto end = [&](const Status& s, const std::string& what) -> StatusOr<ConsentPull> {
    const Verdict v = Classify(s);
    if (v == Verdict::kStop) return s;
    pull.outcome = v == Verdict::kSkip ? PullOutcome::kSkipped : PullOutcome::kFailed;
    pull.reason = absl::StrCat(what, ": ", s.message());
    pull.accounts.clear();
    return std::move(pull);
  };

  // 1. The consent, as the bank sees it now; its clock gives the period's end.
  auto body = client.Get(kConsents + EscapePathSegment(id), id, &pull.calls);
  if (!body.ok()) {
    if (absl::IsNotFound(body.status())) {
      pull.outcome = PullOutcome::kSkipped;
      pull.reason = "unknown at the bank (404)";
      return pull;
    }
    return end(body.status(), "consent check");
  }
  auto checked = ParseConsent(*body);
  if (!checked.ok()) return end(absl::InternalError(checked.status().message()), "consent check");
  if (std::string why; !ConsentUsable(*checked, &why)) {
    pull.outcome = PullOutcome::kSkipped;
    pull.reason = why;
    return pull;
  }
  const absl::CivilDay today =
      absl::ToCivilDay(absl::FromUnixMicros(checked->request_micros), options.zone);

  // 2. The accounts.
  std::vector<BankAccount> accounts;
  Status listed =
      ReadList(client, absl::StrCat(kAccounts, "?page-size=", options.page_size), id, pull,
               [&](const nlohmann::json& record) {
                 auto a = ParseAccount(record);
                 if (a.ok()) {
                   accounts.push_back(*std::move(a));
                 } else {
                   pull.invalid.push_back(absl::StrCat("account: ", a.status().message()));
                 }
               });
  if (!listed.ok()) return end(listed, "accounts");

  // 3. Per account: the balance, then the transactions since its watermark.
  for (const BankAccount& account : accounts) {
    PulledAccount out;
    out.account = account;
    const std::string base = absl::StrCat(kAccounts, "/", EscapePathSegment(account.account_id));
    auto balance_body = client.Get(base + "/balances", id, &pull.calls);
    if (!balance_body.ok()) return end(balance_body.status(), "balances");
    if (auto balance = ParseBalance(*balance_body); balance.ok()) {
      out.balance = *balance;
    } else {
      pull.invalid.push_back(
          absl::StrCat("balance of ", account.account_id, ": ", balance.status().message()));
    }
    std::tie(out.from, out.to) = PullPeriod(watermark(account.account_id), today, options);
    Status read =
        ReadList(client,
                 absl::StrCat(base, "/transactions?fromBookingDate=", Date(out.from),
                              "&toBookingDate=", Date(out.to), "&page-size=", options.page_size),
                 id, pull, [&](const nlohmann::json& record) {
                   auto t = ParseTransaction(record);
                   if (t.ok()) {
                     out.transactions.push_back(*std::move(t));
                     return;
                   }
                   QuarantinedRecord q;
                   q.raw = SanitizedRaw(record);
                   q.record_key = RecordKey(q.raw);
                   q.reason = std::string(t.status().message());
                   out.quarantined.push_back(std::move(q));
                 });
    if (!read.ok()) return end(read, "transactions");
    pull.accounts.push_back(std::move(out));
  }
  pull.outcome = PullOutcome::kPulled;
  return pull;
}

}  // namespace lastro::ingest
