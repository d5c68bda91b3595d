// LGPD requests end to end (docs/governance.md, "LGPD: erasure and export"): a real
// PostgreSQL, `lastro batch run`, `lastro refresh`, `lastro privacy export|erase`,
// `lastro keys rotate-master`, and the bytes of every file the lake holds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "batch_harness.h"
#include "governance/envelope.h"
#include "governance/keystore.h"

namespace lastro::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A person whose every identifier is distinctive enough to be found by a byte search.
struct Person {
  int64_t id = 0;
  std::string cpf, name, email, phone, birth_date;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file under `root` (the lake: zones, versions, runs, the catalog's
// DuckDB and Parquet files) whose bytes contain one of `needles`, as "file: needle".
std::vector<std::string> FilesHolding(const std::string& root,
                                      const std::vector<std::string>& needles, int* files) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    ++*files;
    std::string bytes = ReadAll(it->path());
    for (const std::string& n : needles) {
      if (bytes.find(n) != std::string::npos) found.push_back(it->path().string() + ": " + n);
    }
  }
  return found;
}

class PrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = BatchHarness::Create({.name = "privacy_e2e"});
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    ASSERT_TRUE(h_->Seed(3000, 400).ok());
    // Five customers get identifiers nobody else has (the CPF stays the seeded one).
    int64_t first = h_->PgCount("SELECT min(id) FROM customers");
    for (int i = 0; i < 5; ++i) {
      Person p;
      p.id = first + 17 * i;
      p.name = absl::StrCat("Zuleica Quintanilha Distinta ", i);
      p.email = absl::StrCat("zuleica.q", i, "@distinto-exemplo.com.br");
      p.phone = absl::StrCat("+55219876500", i);
      p.birth_date = absl::StrCat("1977-0", i + 1, "-1", i);
      ASSERT_TRUE(h_->PgExec(absl::StrCat("UPDATE customers SET full_name = '", p.name,
                                          "', email = '", p.email, "', phone = '", p.phone,
                                          "', birth_date = '", p.birth_date, "' WHERE id = ", p.id))
                      .ok());
      p.cpf = h_->PgText(absl::StrCat("SELECT cpf FROM customers WHERE id = ", p.id));
      people_.push_back(p);
    }
  }

  // Every identifier of every person (and of the seeded crowd) in any lake file.
  void ExpectNoPlaintextInTheLake(const std::string& when) {
    std::vector<std::string> needles = {"@example.com", "Cliente 1", "+551199999"};
    for (const Person& p : people_) {
      needles.insert(needles.end(), {p.name, p.email, p.phone, p.cpf, p.birth_date});
    }
    int files = 0;
    std::vector<std::string> found = FilesHolding(h_->lake_dir(), needles, &files);
    EXPECT_TRUE(found.empty()) << when << ": " << found.size() << " hits, first " << found[0];
    EXPECT_GT(files, 20) << when << ": the lake was searched";
  }

  json Export(int64_t id, int* exit_code = nullptr,
              const std::map<std::string, std::string>& env = {}) {
    CommandResult r = h_->Lastro({"privacy", "export", "--customer", std::to_string(id)}, env);
    if (exit_code) *exit_code = r.exit_code;
    if (r.exit_code != 0) return json{{"stderr", r.err}};
    return json::parse(r.out, nullptr, false);
  }

  std::string DailyVolume() {
    CommandResult r =
        h_->Lastro({"query", "--named", "finance.daily_volume", "--param", "from=2026-11-01",
                    "--param", "to=2026-11-07", "--format", "csv"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::string SilverTotals() {
    auto r = h_->Lake(
        "SELECT count(*)::VARCHAR || ':' || sum(amount_cents)::VARCHAR || ':' || "
        "count(DISTINCT customer_id)::VARCHAR FROM silver_requests");
    return r.ok() ? *r->Text(0, 0) : std::string(r.status().message());
  }

  std::unique_ptr<BatchHarness> h_;
  std::vector<Person> people_;
};

TEST_F(PrivacyTest, AnErasedPersonsPiiIsUnreadableEverywhereAndTotalsDoNotMove) {
  ASSERT_EQ(people_[0].cpf.size(), 11u);
  CommandResult batch = h_->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  CommandResult refresh = h_->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  ExpectNoPlaintextInTheLake("after the batch and the refresh");
  const std::string totals = SilverTotals(), volume = DailyVolume();

  // Export: the person's PII, decrypted, with their requests and history.
  const Person& target = people_[0];
  const Person& other = people_[1];
  json doc = Export(target.id);
  ASSERT_TRUE(doc.is_object() && doc.contains("contact")) << doc.dump();
  EXPECT_EQ(doc["erased"], false);
  EXPECT_EQ(doc["contact"]["full_name"], target.name);
  EXPECT_EQ(doc["contact"]["email"], target.email);
  EXPECT_EQ(doc["contact"]["phone"], target.phone);
  EXPECT_EQ(doc["contact"]["birth_date"], target.birth_date);
  int64_t pg_requests = h_->PgCount(
      absl::StrCat("SELECT count(*) FROM credit_requests WHERE customer_id = ", target.id));
  ASSERT_GT(pg_requests, 0);
  EXPECT_EQ(static_cast<int64_t>(doc["credit_requests"].size()), pg_requests);
  EXPECT_EQ(static_cast<int64_t>(doc["status_history"].size()),
            h_->PgCount(absl::StrCat("SELECT count(*) FROM credit_request_status_history h JOIN "
                                     "credit_requests r ON r.id = h.request_id WHERE "
                                     "r.customer_id = ",
                                     target.id)));
  EXPECT_FALSE(doc["customer"]["gold_dim_customer"].empty()) << doc["customer"].dump();
  EXPECT_EQ(doc["customer"]["silver"][0]["full_name"], target.name);
  EXPECT_EQ(doc["customer_tokens"].size(), 1u);
  EXPECT_FALSE(doc["consents"]["marketing_consent"].is_null());
  EXPECT_EQ(doc["unreadable_fields"], 0);
  EXPECT_EQ(doc.dump().find(target.cpf), std::string::npos) << "the lake holds no CPF";
  int code = 0;
  Export(999999999, &code);
  EXPECT_EQ(code, 2) << "nothing held: not found";

  // Erase, twice: the second time says so and changes nothing.
  CommandResult erase = h_->Lastro({"privacy", "erase", "--customer", std::to_string(target.id),
                                    "--reason", "ticket 42 from " + target.email});
  ASSERT_EQ(erase.exit_code, 0) << erase.err;
  json erased = json::parse(erase.out, nullptr, false);
  EXPECT_EQ(erased["status"], "erased");
  EXPECT_EQ(erased["key_destroyed"], true);
  CommandResult again = h_->Lastro({"privacy", "erase", "--customer", std::to_string(target.id)});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out, nullptr, false)["status"], "already_erased");
  std::string log = ReadAll(fs::path(h_->governance_dir()) / "privacy" / "requests.jsonl");
  EXPECT_NE(log.find(erased["request_id"].get<std::string>()), std::string::npos);
  EXPECT_NE(log.find("\"event\":\"completed\""), std::string::npos) << log;
  EXPECT_EQ(log.find(target.email), std::string::npos) << "the reason is redacted: " << log;
  // Every request is in the audit log too (exports and both erasures), without PII.
  std::string audit = ReadAll(fs::path(h_->governance_dir()) / "audit" / "audit.jsonl");
  const std::string subject = "\"subject\":\"customer " + std::to_string(target.id) + " request ";
  size_t erasures = 0;
  for (size_t at = audit.find("\"action\":\"privacy.erase\""); at != std::string::npos;
       at = audit.find("\"action\":\"privacy.erase\"", at + 1)) {
    ++erasures;
  }
  EXPECT_EQ(erasures, 2u) << audit;
  EXPECT_NE(audit.find("\"action\":\"privacy.export\""), std::string::npos) << audit;
  EXPECT_NE(audit.find(subject), std::string::npos) << audit;
  EXPECT_EQ(audit.find(target.email), std::string::npos);
  EXPECT_EQ(h_->Lastro({"audit", "verify"}).exit_code, 0);

  // The key is gone; the ciphertexts are still in the lake and no longer open.
  auto master = governance::MasterKey::Parse(kTestMasterKey);
  ASSERT_TRUE(master.ok());
  {
    auto store = governance::KeyStore::Open(governance::KeysDir(h_->governance_dir()), *master);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->State(target.id), governance::KeyState::kErased);
    EXPECT_EQ(*(*store)->KeyFor(target.id, false), nullptr);
    EXPECT_EQ((*store)->Summary().active, 399);
  }
  auto sealed = h_->Lake(absl::StrCat(
      "SELECT count(full_name_enc) FROM silver_customers WHERE customer_id = ", target.id));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->Int(0, 0), 1) << "crypto-shredding leaves the ciphertext, unreadable";
  doc = Export(target.id);
  EXPECT_EQ(doc["erased"], true) << doc.dump();
  EXPECT_TRUE(doc["contact"].is_null());
  EXPECT_TRUE(doc["customer"]["silver"][0]["full_name"].is_null());
  EXPECT_EQ(static_cast<int64_t>(doc["credit_requests"].size()), pg_requests)
      << "pseudonymous facts stay";
  for (const char* pii : {"Zuleica Quintanilha Distinta 0", "zuleica.q0@"}) {
    EXPECT_EQ(doc.dump().find(pii), std::string::npos);
  }
  json other_doc = Export(other.id);
  EXPECT_EQ(other_doc["contact"]["email"], other.email) << "others keep their keys";

  // The next batch re-reads everyone: the erased person gets NULL PII and no new key.
  CommandResult rerun = h_->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  auto latest = h_->Lake(absl::StrCat(
      "SELECT count(*) FILTER (WHERE id = ", target.id,
      "), count(full_name_enc) FILTER (WHERE id = ", target.id,
      "), count(full_name_enc) FILTER (WHERE id = ", other.id, ") FROM read_parquet('",
      h_->lake_dir(),
      "/bronze/customers/*/*.parquet') WHERE run_id = (SELECT max(run_id) FROM read_parquet('",
      h_->lake_dir(), "/bronze/customers/*/*.parquet'))"));
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->Int(0, 0), 1) << "the rerun extracted the erased customer";
  EXPECT_EQ(latest->Int(0, 1), 0) << "and stored no PII for them";
  EXPECT_EQ(latest->Int(0, 2), 1);
  auto silver_now = h_->Lake(absl::StrCat(
      "SELECT count(full_name_enc) FROM silver_customers WHERE customer_id = ", target.id));
  ASSERT_TRUE(silver_now.ok());
  EXPECT_EQ(silver_now->Int(0, 0), 0);
  {
    auto store = governance::KeyStore::Open(governance::KeysDir(h_->governance_dir()), *master);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->State(target.id), governance::KeyState::kErased) << "no new key";
    EXPECT_EQ((*store)->Summary().active, 399);
  }
  refresh = h_->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err;
  EXPECT_EQ(SilverTotals(), totals) << "aggregates are unchanged by the erasure";
  EXPECT_EQ(DailyVolume(), volume);
  ExpectNoPlaintextInTheLake("after the erasure, the rerun and the refresh");

  // Rotating the master key re-wraps the keys: the data stays, the new key opens it.
  std::string new_key_file = h_->dir() + "/new-master.key";
  std::ofstream(new_key_file) << std::string(64, 'b') << "\n";
  CommandResult rotate = h_->Lastro({"keys", "rotate-master", "--new-key-file", new_key_file});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_EQ(json::parse(rotate.out, nullptr, false)["active_keys"], 399) << rotate.out;
  Export(other.id, &code);
  EXPECT_EQ(code, 1) << "the old master key no longer opens the store";
  other_doc = Export(other.id, nullptr, {{"LASTRO_MASTER_KEY", std::string(64, 'b')}});
  EXPECT_EQ(other_doc["contact"]["full_name"], other.name) << other_doc.dump();
  doc = Export(target.id, nullptr, {{"LASTRO_MASTER_KEY", std::string(64, 'b')}});
  EXPECT_EQ(doc["erased"], true);
}

// A lake written before contact PII was sealed: silver/customers without the new
// columns, bronze/customers files with the whole birth_date and no birth_year. The next
// batch merges into it, and the refresh derives the birth year from the old files.
TEST_F(PrivacyTest, ALakeWrittenBeforeSealingStillMergesAndRefreshes) {
  CommandResult first = h_->Lastro({"batch", "run", "--date", "2026-11-07"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const fs::path lake = h_->lake_dir();
  fs::path silver;
  for (const auto& f : fs::directory_iterator(fs::canonical(lake / "silver" / "customers"))) {
    silver = f.path();
  }
  fs::path bronze_dir = fs::canonical(lake / "bronze" / "customers") / "batch_date=2026-11-07";
  std::string bronze_glob = (bronze_dir / "*.parquet").string();
  auto old_bronze = h_->Lake(
      "COPY (SELECT id, customer_token, cpf_valid, make_date(birth_year, 6, 1) AS birth_date, "
      "state, acquisition_channel, created_at, updated_at - INTERVAL 1 DAY AS updated_at, "
      "'00000000-0000-7000-8000-000000000000' AS run_id FROM read_parquet('" +
      bronze_glob + "')) TO '" + (bronze_dir / "part-old-0.parquet").string() +
      "' (FORMAT parquet)");
  ASSERT_TRUE(old_bronze.ok()) << old_bronze.status();
  auto old_silver = h_->Lake(
      "COPY (SELECT customer_id, customer_token, state, acquisition_channel, birth_year, "
      "created_at, updated_at, run_id FROM read_parquet('" +
      silver.string() + "')) TO '" + silver.string() + ".old' (FORMAT parquet)");
  ASSERT_TRUE(old_silver.ok()) << old_silver.status();
  fs::rename(silver.string() + ".old", silver);

  CommandResult rerun = h_->Lastro({"batch", "run", "--from", "2026-11-01", "--to", "2026-11-07"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  auto merged =
      h_->Lake("SELECT count(*), count(email_enc), count(marketing_consent) FROM silver_customers");
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->Int(0, 0), 400);
  EXPECT_EQ(merged->Int(0, 1), 400);
  EXPECT_EQ(merged->Int(0, 2), 400);

  CommandResult refresh = h_->Lastro({"refresh"});
  ASSERT_EQ(refresh.exit_code, 0) << refresh.err << refresh.out;
  CommandResult dim =
      h_->Lastro({"query",
                  "SELECT count(*) FILTER (WHERE birth_year IS NULL) || '/' || count(*) || '/' || "
                  "count(DISTINCT customer_id) FROM dim_customer",
                  "--format", "csv"});
  ASSERT_EQ(dim.exit_code, 0) << dim.err;
  EXPECT_NE(dim.out.find("\n0/800/400"), std::string::npos)
      << "each customer has its old version (birth year from the old birth_date) and "
         "its current one: "
      << dim.out;
}

}  // namespace
}  // namespace lastro::testing
