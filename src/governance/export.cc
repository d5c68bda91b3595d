// Export(): everything held on one person (privacy.h).
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "governance/envelope.h"
#include "governance/keystore.h"
#include "governance/privacy.h"
#include "governance/requests_log.h"
#include "lake/engine.h"

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;
using lake::SqlIdent;
using lake::SqlString;
using nlohmann::json;

constexpr std::string_view kEncSuffix = "_enc";

// A published lake table as a read_parquet() over its current version (pinned: the
// symlink is resolved once), or "" when it has no files.
std::string PublishedTable(const fs::path& lake, const std::string& zone,
                           const std::string& table) {
  std::error_code ec;
  fs::path pinned = fs::canonical(lake / zone / table, ec);
  if (ec) return "";
  bool flat = false, nested = false;
  for (auto it = fs::recursive_directory_iterator(pinned, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().extension() != ".parquet") continue;
    (it->path().parent_path() == pinned ? flat : nested) = true;
  }
  if (!flat && !nested) return "";
  std::string glob = (pinned / (nested ? "*/*.parquet" : "*.parquet")).string();
  return absl::StrCat("read_parquet(", SqlString(glob),
                      ", hive_partitioning = ", nested ? "true" : "false",
                      ", union_by_name = true)");
}

// Reads rows as JSON objects, opening the customer's encrypted columns (`x_enc` BLOBs)
// into `x` in this process's memory: the plaintext never enters DuckDB.
class RowReader {
 public:
  RowReader(int64_t customer_id, const DataKey* key, bool erased)
      : customer_id_(customer_id), key_(key), erased_(erased) {}

  // SELECT * FROM `from` WHERE `where` ORDER BY `order` on `engine`.
  StatusOr<json> Rows(lake::Engine& engine, const std::string& from, const std::string& where,
                      const std::string& order) {
    json out = json::array();
    if (from.empty()) return out;
    LASTRO_ASSIGN_OR_RETURN(lake::QueryResult schema,
                            engine.Query(absl::StrCat("DESCRIBE SELECT * FROM ", from)));
    std::vector<std::string> names, types, select;
    for (size_t i = 0; i < schema.rows(); ++i) {
      std::string name = *schema.Text(i, 0), type = *schema.Text(i, 1);
      std::string col = SqlIdent(name);
      if (type == "BLOB") {
        select.push_back(absl::StrCat("to_base64(", col, ") AS ", col));
      } else if (type.ends_with("]") || type.starts_with("STRUCT") || type.starts_with("MAP") ||
                 type.starts_with("UNION") || type == "TIMESTAMP WITH TIME ZONE") {
        select.push_back(absl::StrCat("CAST(", col, " AS VARCHAR) AS ", col));
      } else {
        select.push_back(col);
      }
      names.push_back(std::move(name));
      types.push_back(std::move(type));
    }
    LASTRO_ASSIGN_OR_RETURN(
        lake::QueryResult r,
        engine.Query(absl::StrCat("SELECT ", absl::StrJoin(select, ", "), " FROM ", from, " WHERE ",
                                  where, order.empty() ? "" : " ORDER BY " + order)));
    for (size_t row = 0; row < r.rows(); ++row) {
      json o = json::object();
      for (size_t c = 0; c < names.size(); ++c) {
        const lake::Value& v = r.at(row, c);
        if (types[c] == "BLOB" && names[c].ends_with(kEncSuffix)) {
          std::string field = names[c].substr(0, names[c].size() - kEncSuffix.size());
          o[field] = Open(field, v);
          continue;
        }
        o[names[c]] = ToJson(v);
      }
      out.push_back(std::move(o));
    }
    rows_ += static_cast<int64_t>(out.size());
    return out;
  }

  int64_t rows() const { return rows_; }
  int64_t unreadable() const { return unreadable_; }
  int64_t sealed_without_key() const { return sealed_without_key_; }

 private:
  static json ToJson(const lake::Value& v) {
    if (std::holds_alternative<bool>(v)) return std::get<bool>(v);
    if (std::holds_alternative<int64_t>(v)) return std::get<int64_t>(v);
    if (std::holds_alternative<double>(v)) return std::get<double>(v);
    if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
    return nullptr;
  }

  json Open(const std::string& column, const lake::Value& v) {
    if (!std::holds_alternative<std::string>(v)) return nullptr;
    if (erased_) return nullptr;  // shredded: there is no key to open it with
    if (key_ == nullptr) {
      ++sealed_without_key_;
      return nullptr;
    }
    const std::string& b64 = std::get<std::string>(v);
    std::string sealed(b64.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(sealed.data()), sealed.size(),
                          b64.data(), b64.size(), nullptr, &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
      ++unreadable_;
      return nullptr;
    }
    sealed.resize(len);
    StatusOr<std::string> plain = key_->Open(customer_id_, column, sealed);
    if (!plain.ok()) {
      ++unreadable_;
      log::Warn("privacy export: an encrypted field does not open",
                {{"customer_id", customer_id_}, {"column", column}});
      return nullptr;
    }
    return *plain;
  }

  int64_t customer_id_;
  const DataKey* key_;
  bool erased_;
  int64_t rows_ = 0, unreadable_ = 0, sealed_without_key_ = 0;
};

// Writes `text` to `path` (0600) atomically: aside, fsync, rename.
Status WritePrivateFile(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += absl::StrCat(".tmp.", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", tmp.string(), ": ", std::strerror(errno)));
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return absl::UnavailableError("cannot write " + path.string());
  }
  return absl::OkStatus();
}

// The newest row of `rows` by `updated_at` (rows are ordered by it), or null.
json Latest(const json& rows) { return rows.empty() ? json(nullptr) : rows.back(); }

// The document itself; `reader` counts rows and unreadable fields.
StatusOr<json> Collect(const Config& config, int64_t id, RowReader& reader,
                       std::string* catalog_version) {
  const fs::path lake_dir = config.lake.dir;
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<lake::Engine> engine,
                          lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                              .threads = config.lake.threads}));
  LASTRO_RETURN_IF_ERROR(engine->Execute("SET TimeZone = 'UTC'"));
  auto table = [&](const std::string& zone, const std::string& name) {
    return PublishedTable(lake_dir, zone, name);
  };
  const std::string is_customer = absl::StrCat("customer_id = ", id);
  json doc;
  json& customer = doc["customer"];
  LASTRO_ASSIGN_OR_RETURN(customer["silver"], reader.Rows(*engine, table("silver", "customers"),
                                                          is_customer, "updated_at NULLS FIRST"));
  LASTRO_ASSIGN_OR_RETURN(customer["bronze"],
                          reader.Rows(*engine, table("bronze", "customers"),
                                      absl::StrCat("id = ", id), "updated_at NULLS FIRST, run_id"));
  std::string silver_requests = table("silver", "credit_requests");
  LASTRO_ASSIGN_OR_RETURN(doc["credit_requests"], reader.Rows(*engine, silver_requests, is_customer,
                                                              "created_at, request_id"));
  // The customer's request ids, from every place that holds requests.
  std::set<int64_t> request_ids;
  for (const json& r : doc["credit_requests"]) {
    if (r["request_id"].is_number_integer()) request_ids.insert(r["request_id"].get<int64_t>());
  }
  json& extracts = doc["bronze_extracts"];
  LASTRO_ASSIGN_OR_RETURN(
      extracts["credit_requests"],
      reader.Rows(*engine, table("bronze", "credit_requests"), is_customer, "id, run_id"));
  for (const json& r : extracts["credit_requests"]) {
    if (r["id"].is_number_integer()) request_ids.insert(r["id"].get<int64_t>());
  }
  std::string in_requests =
      request_ids.empty() ? "false"
                          : absl::StrCat("request_id IN (", absl::StrJoin(request_ids, ", "), ")");
  LASTRO_ASSIGN_OR_RETURN(doc["status_history"],
                          reader.Rows(*engine, table("silver", "credit_request_status_history"),
                                      in_requests, "changed_at, id"));
  LASTRO_ASSIGN_OR_RETURN(extracts["status_history"],
                          reader.Rows(*engine, table("bronze", "credit_request_status_history"),
                                      in_requests, "changed_at, id, run_id"));
  // Tokens: the CPF's keyed HMAC, as stored (pseudonymous; the CPF itself is not held).
  std::set<std::string> tokens;
  for (const char* zone : {"silver", "bronze"}) {
    for (const json& r : customer[zone]) {
      if (r.contains("customer_token") && r["customer_token"].is_string()) {
        tokens.insert(r["customer_token"].get<std::string>());
      }
    }
  }
  doc["customer_tokens"] = tokens;
  std::vector<std::string> token_literals;
  for (const std::string& t : tokens) token_literals.push_back(SqlString(t));
  LASTRO_ASSIGN_OR_RETURN(
      doc["bureau_scores"],
      reader.Rows(*engine, table("bronze", "bureau_scores"),
                  tokens.empty() ? "false"
                                 : absl::StrCat("customer_token IN (",
                                                absl::StrJoin(token_literals, ", "), ")"),
                  "score_date, fetched_at"));
  LASTRO_ASSIGN_OR_RETURN(doc["app_events"], reader.Rows(*engine, table("bronze", "app_events"),
                                                         is_customer, "occurred_at, event_id"));
  json& bank = doc["bank"];
  LASTRO_ASSIGN_OR_RETURN(bank["accounts"], reader.Rows(*engine, table("bronze", "bank_accounts"),
                                                        is_customer, "account_id"));
  LASTRO_ASSIGN_OR_RETURN(bank["balances"], reader.Rows(*engine, table("bronze", "bank_balances"),
                                                        is_customer, "updated_at, account_id"));
  LASTRO_ASSIGN_OR_RETURN(bank["transactions"],
                          reader.Rows(*engine, table("bronze", "bank_transactions"), is_customer,
                                      "booked_at, transaction_id"));
  LASTRO_ASSIGN_OR_RETURN(bank["quarantined_transactions"],
                          reader.Rows(*engine, table("quarantine", "bank_transactions"),
                                      is_customer, "ingested_at, record_key"));
  // Quarantined batch records that are about the customer or their requests.
  std::string quarantine_where =
      absl::StrCat("(table_name = 'customers' AND record_key = ", SqlString(std::to_string(id)),
                   ") OR (table_name = 'credit_requests' AND TRY_CAST(json_extract_string(record, "
                   "'$.customer_id') AS BIGINT) = ",
                   id, ")");
  if (!request_ids.empty()) {
    absl::StrAppend(&quarantine_where,
                    " OR (table_name = 'credit_request_status_history' AND TRY_CAST("
                    "json_extract_string(record, '$.request_id') AS BIGINT) IN (",
                    absl::StrJoin(request_ids, ", "), "))");
  }
  LASTRO_ASSIGN_OR_RETURN(doc["quarantine"],
                          reader.Rows(*engine, table("quarantine", "credit_requests"),
                                      quarantine_where, "quarantined_at, rule_id"));

  // The published catalog (gold), read-only, when there is one.
  customer["gold_dim_customer"] = json::array();
  doc["features_daily"] = json::array();
  std::error_code ec;
  fs::path pointer = lake_dir / "catalog";
  fs::path catalog = fs::canonical(pointer / "catalog.duckdb", ec);
  if (!ec) {
    *catalog_version = fs::read_symlink(pointer, ec).filename().string();
    LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<lake::Engine> gold,
                            lake::Engine::Open({.memory_limit = config.lake.memory_limit,
                                                .threads = config.lake.threads,
                                                .database = catalog,
                                                .read_only = true}));
    LASTRO_RETURN_IF_ERROR(gold->Execute("SET TimeZone = 'UTC'"));
    auto has = [&](const std::string& t) -> StatusOr<bool> {
      LASTRO_ASSIGN_OR_RETURN(
          lake::Value n,
          gold->QueryValue(absl::StrCat(
              "SELECT count(*) FROM information_schema.tables WHERE table_name = ", SqlString(t))));
      return std::get<int64_t>(n) > 0;
    };
    LASTRO_ASSIGN_OR_RETURN(bool dim, has("dim_customer"));
    if (dim) {
      LASTRO_ASSIGN_OR_RETURN(customer["gold_dim_customer"],
                              reader.Rows(*gold, "dim_customer", is_customer, "valid_from"));
    }
    LASTRO_ASSIGN_OR_RETURN(bool features, has("customer_features_daily"));
    if (features) {
      LASTRO_ASSIGN_OR_RETURN(doc["features_daily"], reader.Rows(*gold, "customer_features_daily",
                                                                 is_customer, "feature_date"));
    }
  }

  // Consents: marketing (the customer's latest record) and the Open Finance consents
  // the bank data was read under.
  json latest = Latest(customer["silver"]);
  if (latest.is_null()) latest = Latest(customer["bronze"]);
  std::set<std::string> consent_ids;
  for (const char* part : {"accounts", "balances", "transactions"}) {
    for (const json& r : bank[part]) {
      if (r.contains("consent_id") && r["consent_id"].is_string()) {
        consent_ids.insert(r["consent_id"].get<std::string>());
      }
    }
  }
  doc["consents"] = {
      {"marketing_consent", latest.is_object() && latest.contains("marketing_consent")
                                ? latest["marketing_consent"]
                                : json(nullptr)},
      {"open_finance_consent_ids", consent_ids}};
  json contact = nullptr;
  if (latest.is_object()) {
    contact = json::object();
    for (const char* f : {"full_name", "email", "phone", "birth_date"}) {
      contact[f] = latest.contains(f) ? latest[f] : json(nullptr);
    }
  }
  doc["contact"] = contact;
  return doc;
}

}  // namespace

StatusOr<ExportResult> Export(const Config& config, const ExportRequest& request) {
  if (request.customer_id < 1) {
    return absl::InvalidArgumentError("--customer must be a customer id (a positive integer)");
  }
  LASTRO_RETURN_IF_ERROR(InitSodium());
  const int64_t id = request.customer_id;
  // The customer's key, or their tombstone. Without a master key nothing opens.
  std::unique_ptr<KeyStore> keys;
  const DataKey* key = nullptr;
  bool erased = false;
  if (!config.governance.master_key.empty()) {
    LASTRO_ASSIGN_OR_RETURN(MasterKey master, MasterKey::Parse(config.governance.master_key));
    LASTRO_ASSIGN_OR_RETURN(keys, KeyStore::Open(KeysDir(config.governance.state_dir), master));
    erased = keys->State(id) == KeyState::kErased;
    LASTRO_ASSIGN_OR_RETURN(key, keys->KeyFor(id, /*create=*/false));
  }

  ExportResult out;
  out.request_id = internal::NewRequestId();
  const fs::path state_dir = config.governance.state_dir;
  LASTRO_RETURN_IF_ERROR(
      internal::AppendRequestLine(state_dir, {{"event", "requested"},
                                              {"request_id", out.request_id},
                                              {"type", "export"},
                                              {"customer_id", id},
                                              {"requested_at", internal::NowRfc3339()}}));
  auto finish = [&](const Status& status) -> Status {
    nlohmann::json line = {{"event", status.ok() ? "completed" : "failed"},
                           {"request_id", out.request_id},
                           {"type", "export"},
                           {"customer_id", id},
                           {"completed_at", internal::NowRfc3339()}};
    if (status.ok()) {
      line["done"] = {
          absl::StrCat("exported ", out.rows, " rows", out.output.empty() ? "" : " to a file")};
    } else {
      line["error"] = std::string(status.message());
    }
    Status logged = internal::AppendRequestLine(state_dir, line);
    if (request.audit) {
      request.audit({.action = "privacy.export",
                     .request_id = out.request_id,
                     .customer_id = id,
                     .ok = status.ok() && logged.ok(),
                     .detail = status.ok() ? absl::StrCat(out.rows, " rows")
                                           : std::string(status.message())});
    }
    return status.ok() ? logged : status;
  };

  RowReader reader(id, key, erased);
  std::string catalog_version;
  StatusOr<json> collected = Collect(config, id, reader, &catalog_version);
  if (!collected.ok()) return finish(collected.status());
  if (reader.rows() == 0) {
    return finish(absl::NotFoundError(
        absl::StrCat("nothing is held on customer ", id, " in the lake ", config.lake.dir)));
  }
  if (reader.sealed_without_key() > 0) {
    return finish(absl::FailedPreconditionError(absl::StrCat(
        "the lake holds encrypted PII of customer ", id,
        " and there is no key to open it: set LASTRO_MASTER_KEY (or LASTRO_MASTER_KEY_FILE)")));
  }
  json doc = {{"request_id", out.request_id},
              {"generated_at", internal::NowRfc3339()},
              {"customer_id", id},
              {"erased", erased}};
  doc["erased_at"] =
      erased ? json(internal::MicrosRfc3339(keys->RecordedAtMicros(id))) : json(nullptr);
  doc.update(*collected);
  if (erased) doc["contact"] = nullptr;
  doc["unreadable_fields"] = reader.unreadable();
  doc["sources"] = {
      {"lake", config.lake.dir},
      {"catalog_version", catalog_version.empty() ? json(nullptr) : json(catalog_version)}};
  doc["not_covered"] =
      "the operational database (PostgreSQL) holds the customer's live record, requests and "
      "Open Finance consents: the app answers for those";
  out.rows = reader.rows();
  out.document = std::move(doc);
  if (!request.output.empty()) {
    Status written = WritePrivateFile(request.output, out.document.dump(2) + "\n");
    if (!written.ok()) return finish(written);
    out.output = request.output;
  }
  LASTRO_RETURN_IF_ERROR(finish(absl::OkStatus()));
  return out;
}

}  // namespace lastro::governance
