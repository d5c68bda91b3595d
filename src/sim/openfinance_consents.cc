#include "sim/openfinance_consents.h"

#include <curl/curl.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "pg/connection.h"
#include "sim/openfinance_api.h"
#include "sim/openfinance_model.h"

namespace lastro::sim {
namespace {

using nlohmann::json;

constexpr int kAttempts = 5;

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Answer {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  long retry_after_s = 0;
};

Answer Post(const ConsentSeederOptions& o, const std::string& body) {
  Answer a;
  CURL* h = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!o.token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + o.token).c_str());
  }
  const std::string url =
      o.url.substr(0, o.url.find_last_not_of('/') + 1) + "/open-banking/consents/v3/consents";
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  a.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
  curl_off_t retry_after = 0;
  curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
  a.retry_after_s = static_cast<long>(retry_after);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return a;
}

// The bank's consent for one customer, retried through faults.
StatusOr<json> CreateAtBank(const ConsentSeederOptions& o, const std::string& cpf) {
  const std::string expires =
      of_internal::Rfc3339Ms(absl::ToUnixMillis(absl::Now() + absl::Hours(24) * o.validity_days));
  const std::string body = json{
      {"data",
       {{"loggedUser", {{"document", {{"identification", cpf}, {"rel", "CPF"}}}}},
        {"permissions", of_internal::KnownPermissions()},
        {"expirationDateTime",
         expires}}}}.dump();
  std::string last;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    Answer a = Post(o, body);
    if (a.code == CURLE_OK && a.status == 201) {
      json j = json::parse(a.body, nullptr, false);
      if (j.is_object() && j.contains("data") && j["data"].is_object()) return j["data"];
      return absl::UnavailableError("the bank answered 201 without a consent");
    }
    if (a.code == CURLE_OK && (a.status == 401 || a.status == 403)) {
      return absl::FailedPreconditionError(absl::StrCat("the bank refused our credentials (HTTP ",
                                                        a.status, "): check openfinance.token"));
    }
    if (a.code == CURLE_OK && a.status >= 400 && a.status < 500 && a.status != 429) {
      return absl::InvalidArgumentError(
          absl::StrCat("the bank rejected the consent request (HTTP ", a.status, ")"));
    }
    last = a.code != CURLE_OK ? curl_easy_strerror(a.code) : absl::StrCat("HTTP ", a.status);
    std::this_thread::sleep_for(a.retry_after_s > 0
                                    ? std::chrono::milliseconds(a.retry_after_s * 1000)
                                    : std::chrono::milliseconds(100 * attempt));
  }
  return absl::UnavailableError(
      absl::StrCat("the bank did not create a consent after ", kAttempts, " attempts: ", last));
}

std::string Text(const json& data, const char* key) {
  return data.contains(key) && data[key].is_string() ? data[key].get<std::string>() : "";
}

}  // namespace

StatusOr<ConsentSeederReport> SeedOpenFinanceConsents(const ConsentSeederOptions& o) {
  if (o.share < 0 || o.share > 1) return absl::InvalidArgumentError("share must be in [0, 1]");
  if (o.validity_days < 1 || o.validity_days > 365) {
    return absl::InvalidArgumentError("validity_days must be in 1..365");
  }
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("the bank's url must start with http:// or https://");
  }
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) return absl::InternalError("curl_global_init failed");
  LASTRO_ASSIGN_OR_RETURN(
      std::unique_ptr<pg::Connection> conn,
      pg::Connection::Connect(o.dsn, {.application_name = "lastro-sim-openfinance"}));
  std::string restrict;
  std::vector<pg::Param> params;
  if (!o.customers.empty()) {
    restrict = " AND c.id = ANY($1::bigint[])";
    params.push_back(pg::IntArrayLiteral(o.customers));
  }
  auto rows = conn->Exec(
      "SELECT c.id, c.cpf FROM customers c WHERE NOT EXISTS (SELECT 1 FROM "
      "open_finance_consents o WHERE o.customer_id = c.id)" +
          restrict + " ORDER BY c.id",
      params);
  if (!rows.ok() && rows.status().message().find("open_finance_consents") != std::string::npos) {
    return absl::FailedPreconditionError(
        "table open_finance_consents is missing: run `lastro db migrate` first");
  }
  LASTRO_RETURN_IF_ERROR(rows.status());

  ConsentSeederReport report;
  for (int i = 0; i < rows->rows(); ++i) {
    const int64_t customer_id = rows->GetInt(i, 0);
    ++report.customers;
    if (OfUnit(o.seed, absl::StrCat("consent|", customer_id)) >= o.share) continue;
    LASTRO_ASSIGN_OR_RETURN(json data, CreateAtBank(o, std::string(rows->Get(i, 1))));
    const std::string status = Text(data, "status");
    std::vector<std::optional<std::string>> permissions;
    if (data.contains("permissions") && data["permissions"].is_array()) {
      for (const json& p : data["permissions"]) {
        if (p.is_string()) permissions.push_back(p.get<std::string>());
      }
    }
    pg::Param reason;
    if (status == "REJECTED" && data.contains("rejection")) {
      reason = data["rejection"].value(json::json_pointer("/reason/code"), std::string("UNKNOWN"));
    }
    LASTRO_RETURN_IF_ERROR(
        conn->Exec("INSERT INTO open_finance_consents (consent_id, customer_id, status, "
                   "permissions, created_at, status_updated_at, expires_at, rejection_reason) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                   {Text(data, "consentId"), std::to_string(customer_id), status,
                    pg::TextArrayLiteral(permissions), Text(data, "creationDateTime"),
                    Text(data, "statusUpdateDateTime"), Text(data, "expirationDateTime"), reason})
            .status());
    ++report.created;
    (status == "AUTHORISED" ? report.authorised : report.rejected) += 1;
  }
  log::Info("open finance consents seeded", {{"customers", report.customers},
                                             {"created", report.created},
                                             {"authorised", report.authorised},
                                             {"rejected", report.rejected}});
  return report;
}

}  // namespace lastro::sim
